/*
 * termsig: what a program tells its terminal about itself besides the
 * screen: program status reports (OSC 7501, which Claude Code sends once
 * its query is answered and Codex sends unasked), desktop notifications
 * (OSC 9, OSC 777 notify, OSC 99 kitty), progress (OSC 9;4) and the bell.
 * One termsig per terminal: it parses the OSC strings libvterm leaves
 * alone, keeps the latest of each and answers the queries that ask for
 * them (OSC 7501 ; ?, OSC 99 p=?) through a callback, in stream order.
 * Text from the program is decoded (base64 where the protocol says so) and
 * cleaned: control characters and invalid UTF-8 never reach the screen.
 * No I/O and no clock of its own: times are the caller's.
 */
#ifndef TOKMUX_TERMSIG_H
#define TOKMUX_TERMSIG_H

#include <stddef.h>
#include <stdint.h>

#define TERMSIG_TEXT_MAX 256       /* bytes of a message or notification kept, with the NUL */
#define TERMSIG_SUBS 4             /* subagent statuses kept (OSC 7501 id=) */

/* OSC 7501 states. */
enum termsig_state {
	TERMSIG_NONE,        /* never reported, or cleared */
	TERMSIG_IDLE,
	TERMSIG_WORKING,
	TERMSIG_BLOCKED,     /* waits for the user: kind says why */
	TERMSIG_DONE,        /* its turn is over */
	TERMSIG_ERROR,
};

/* The latest status report of the program itself (no id=). */
struct termsig_status {
	int state;                    /* enum termsig_state */
	char kind[24];                /* with BLOCKED: permission, question, auth...; "" none */
	char app[32];                 /* app=, e.g. claude-code, codex */
	char msg[TERMSIG_TEXT_MAX];   /* msg=, decoded and cleaned; "" none */
	int progress;                 /* progress= 0..100, -1 none */
	int64_t at_ms;                /* when it came, 0 never */
};

/* A subagent's status (OSC 7501 with id=, e.g. Claude Code's Task agents;
 * the id is the x-claude-code-agent-id of its requests). */
struct termsig_sub {
	char id[48];                  /* "" unused */
	int state;
	char title[64];               /* title=, decoded and cleaned */
	int64_t at_ms;
};

enum termsig_source {
	TERMSIG_BEL = 1,
	TERMSIG_OSC9,
	TERMSIG_OSC777,
	TERMSIG_OSC99,
};

/* The latest notification (the bell included). */
struct termsig_notify {
	int source;                   /* enum termsig_source, 0 never */
	char text[TERMSIG_TEXT_MAX];  /* "title: body" or the text; "" for the bell */
	int64_t at_ms;
	unsigned count;               /* notifications so far */
};

/* OSC 9;4 progress. */
struct termsig_progress {
	int state;                    /* 0 none, 1 normal, 2 error, 3 indeterminate, 4 paused */
	int value;                    /* 0..100 */
	int64_t at_ms;
};

struct termsig_view {
	int reporter;                 /* the program has sent an OSC 7501 report */
	struct termsig_status status;
	struct termsig_sub sub[TERMSIG_SUBS];
	struct termsig_notify notify;
	struct termsig_progress progress;
	unsigned working;             /* "working" reports so far (turns begun) */
	unsigned serial;              /* changes with every signal */
};

typedef struct termsig termsig_t;

/* Answers for the program (the terminal's replies), in order with the
 * terminal's other replies: the caller writes them to the pty. */
typedef void (*termsig_reply_fn)(const char *buf, size_t len, void *user);

termsig_t *termsig_new(termsig_reply_fn reply, void *user);
void termsig_free(termsig_t *t);

/* One OSC string the terminal did not handle itself: cmd holds
 * "NUMBER;data" without the ESC ] and the terminator. Returns 1 if it was
 * a signal (or a query answered here), 0 if not. */
int termsig_osc(termsig_t *t, const char *cmd, size_t len, int64_t now_ms);

/* The program rang the bell. */
void termsig_bell(termsig_t *t, int64_t now_ms);

/* The program in the terminal was replaced (a restart): forget its reports. */
void termsig_reset(termsig_t *t);

const struct termsig_view *termsig_view(const termsig_t *t);

/* "idle", "working", "blocked", "done", "error", "" for none. */
const char *termsig_state_name(int state);

/* Decode base64 (standard alphabet, padding optional, no spaces) into out
 * (at most max bytes, NUL-terminated); -1 if s is not base64 or does not fit. */
int termsig_base64(const char *s, size_t len, char *out, size_t max);

/* Copy len bytes of program text into out (size max): valid UTF-8 only,
 * controls (C0, DEL, C1) as spaces, spaces collapsed and trimmed, cut at a
 * character boundary. Returns the length written. */
size_t termsig_clean(const char *s, size_t len, char *out, size_t max);

#endif
