/*
 * sidebar: turns a stats snapshot and rate-limit states into the lines of
 * the live sidebar (pure formatting, no curses: ui.c draws the lines).
 */
#ifndef TOKMUX_SIDEBAR_H
#define TOKMUX_SIDEBAR_H

#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"
#include "stats.h"

enum sidebar_kind {
	SIDEBAR_TEXT = 0,
	SIDEBAR_BOLD = 1,
	SIDEBAR_DIM = 2,
	SIDEBAR_WARN = 3,
	SIDEBAR_ERROR = 4,
};

struct sidebar_line {
	int kind;            /* enum sidebar_kind */
	char text[160];      /* UTF-8 */
};

struct sidebar_pane {
	const char *name;
	int route;           /* stats route, -1 if the pane has none */
	int focused;
	int exited;
};

struct sidebar_input {
	const struct stats_snapshot *snap;   /* NULL: gateway off */
	const struct sidebar_pane *panes;
	int npanes;
	const struct rl_state *rl;           /* rate-limit states, may be NULL */
	int nrl;
	double now;                          /* UNIX time, for countdowns */
	int utf8;
};

/* Fill out[] with at most max lines for a sidebar cols wide; returns count. */
int sidebar_build(const struct sidebar_input *in, int cols, struct sidebar_line *out, int max);

/* 950 -> "950", 12345 -> "12.3k", 4100000 -> "4.1M", 2.5e9 -> "2.5G". */
void sidebar_humanize(int64_t n, char *buf, size_t len);

/* Seconds -> "45s", "3m05s", "2h04m", "3d04h". Negative -> "now". */
void sidebar_countdown(double secs, char *buf, size_t len);

#endif
