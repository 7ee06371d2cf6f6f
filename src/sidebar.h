/*
 * sidebar: turns a stats snapshot, rate-limit states and what the policy
 * knows of each pane into the lines of the live sidebar and the one-line
 * status bar; also the small pure pieces they are made of (humanized
 * numbers, bars, sparklines, countdowns), pane state detection and the
 * events a person must not miss. No curses: ui.c draws the lines.
 */
#ifndef TOKMUX_SIDEBAR_H
#define TOKMUX_SIDEBAR_H

#include <stddef.h>
#include <stdint.h>

#include "panestate.h"
#include "ratelimit.h"
#include "stats.h"
#include "termsig.h"

enum sidebar_kind {
	SIDEBAR_TEXT = 0,
	SIDEBAR_BOLD = 1,
	SIDEBAR_DIM = 2,
	SIDEBAR_WARN = 3,
	SIDEBAR_ERROR = 4,
	SIDEBAR_BAR_OK = 5,
	SIDEBAR_BAR_WARN = 6,
	SIDEBAR_BAR_OVER = 7,
	SIDEBAR_SPARK = 8,
	SIDEBAR_TITLE = 9,      /* a pane's heading */
	SIDEBAR_KINDS
};

#define SIDEBAR_MAX_SEGS 4

/* A byte range of a line's text drawn in another kind (a bar, a sparkline). */
struct sidebar_seg {
	unsigned short off, len;
	unsigned char kind;
};

struct sidebar_line {
	int kind;            /* enum sidebar_kind */
	char text[160];      /* UTF-8 */
	int nseg;
	struct sidebar_seg seg[SIDEBAR_MAX_SEGS];
};

/* A worktree pane's branch and change (docs/WORKTREES.md). */
struct sidebar_worktree {
	const char *branch;      /* NULL: not a worktree pane (yet) */
	const char *note;        /* "making worktree...", ... or NULL */
	int note_error;          /* the note is an error */
	int known;               /* the figures were measured */
	int partial;             /* a lower bound: shown with a >= */
	int files;
	int64_t added, removed;  /* lines */
};

/* "3 files +12 -4" (U+2212 minus in UTF-8), "1 file", with a leading
 * ">= " (U+2265) when partial. */
void sidebar_diff_figures(const struct sidebar_worktree *w, int utf8, char *buf, size_t len);

struct sidebar_pane {
	const char *name;
	const char *cmd;         /* may be NULL */
	int route;               /* stats route, -1 if the pane has none */
	int focused;
	int exited;
	int state;               /* enum panestate */
	const char *state_text;  /* its words: "needs input: permission"; NULL: the state's name */
	const char *message;     /* what the agent said (needs input, error); NULL / "" none */
	const struct termsig_view *sig;   /* subagents' titles by id; may be NULL */
	/* from the policy (or the config until it is there) */
	int64_t ceiling_micros;  /* -1 none */
	const char *override;    /* model override, NULL / "" none */
	double paced_until;      /* UNIX time, 0 not paced */
	int circuit_open;
	struct sidebar_worktree wt;
};

struct sidebar_input {
	const struct stats_snapshot *snap;   /* NULL: gateway off */
	const struct sidebar_pane *panes;
	int npanes;
	const struct rl_state *rl;           /* rate-limit states, may be NULL */
	int nrl;
	double now;                          /* UNIX time, for countdowns */
	int utf8;
	int64_t ceiling_micros;              /* workspace ceiling, -1 / 0 none */
	int64_t daily_ceiling_micros;        /* -1 / 0 none */
	int64_t daily_before_micros;         /* spent today before this session (ledger) */
	double warn_at;                      /* warning fraction, 0: 0.8 */
	const char *prefix_name;             /* the prefix key, "Ctrl-g"; NULL: that */
};

/* Fill out[] with at most max lines for a sidebar cols wide; returns count.
 * Panes that need input come first. */
int sidebar_build(const struct sidebar_input *in, int cols, struct sidebar_line *out, int max);

/* The one-line summary shown instead of the sidebar on narrow terminals. */
void sidebar_status(const struct sidebar_input *in, int cols, char *buf, size_t len);

/* 1 if a line built now shows a countdown that ticks (redraw each second). */
int sidebar_ticking(const struct sidebar_input *in);

/* 950 -> "950", 12345 -> "12.3k", 4100000 -> "4.1M", 2.5e9 -> "2.5G". */
void sidebar_humanize(int64_t n, char *buf, size_t len);

/* Seconds -> "45s", "3m05s", "2h04m", "3d04h". Negative -> "now". */
void sidebar_countdown(double secs, char *buf, size_t len);

/* Level of used against limit: 0 ok, 1 at or past warn_at, 2 at or past the
 * limit. limit <= 0 is 0. */
int sidebar_level(int64_t used, int64_t limit, double warn_at);

/* A bar width cells wide filled to frac (clamped 0..1): UTF-8 full and
 * eighth blocks on light shade, or '#' on '-' in ASCII. Returns bytes written. */
size_t sidebar_bar(double frac, int width, int utf8, char *buf, size_t len);

/* Sparkline of n values oldest first, width cells (the newest width values
 * when n > width): blank for 0, else one of 8 heights scaled to the maximum
 * (a nonzero value is never blank). Returns bytes written. */
size_t sidebar_sparkline(const int64_t *vals, int n, int width, int utf8, char *buf, size_t len);

/* Events a person must not miss, from one pane's counts before and after. */
enum {
	SIDEBAR_EV_CEILING = 1,     /* a request was refused by a ceiling */
	SIDEBAR_EV_FALLBACK = 2,    /* the gateway fell back to another model */
	SIDEBAR_EV_PACED = 4,       /* a 429 was seen (the key is paced) */
};
int sidebar_events(const struct stats_counts *before, const struct stats_counts *after);
/* One line for the message bar, e.g. "pane 2 claude: ceiling reached". */
void sidebar_event_text(int events, int pane_no, const char *name,
    const struct stats_counts *c, char *buf, size_t len);

/* One overlay line for a recent request; the header when r is NULL. */
void sidebar_recent_line(const struct stats_recent *r, char *buf, size_t len);

#endif
