/*
 * panestate: what a pane's agent is doing, from the strongest signal that
 * says so: the program's own status reports (OSC 7501), then its
 * notifications and progress (OSC 9/777/99, the bell, OSC 9;4), then the
 * gateway's truth about its route (a request in flight; the stop reason of
 * its last finished request), and the screen only when nothing else
 * knows. Also when a change of state is worth telling the user. Pure
 * functions: the caller gives the clock and keeps the previous state.
 */
#ifndef TOKMUX_PANESTATE_H
#define TOKMUX_PANESTATE_H

#include <stddef.h>
#include <stdint.h>

#include "termsig.h"

enum panestate {
	PANESTATE_IDLE,          /* nothing to do: the agent's turn is over, or a shell at rest */
	PANESTATE_WORKING,
	PANESTATE_NEEDS_INPUT,   /* waits for the user: a permission or a question */
	PANESTATE_ERROR,         /* the turn ended in an error (message: the last error) */
	PANESTATE_EXITED,
	PANESTATE_COUNT
};

/* Where a state came from, strongest first. */
enum panestate_source {
	PANESTATE_SRC_REPORT,    /* OSC 7501 */
	PANESTATE_SRC_NOTIFY,    /* a notification, the bell, OSC 9;4 progress */
	PANESTATE_SRC_GATEWAY,   /* the route's requests */
	PANESTATE_SRC_SCREEN,    /* output on the screen, or nothing at all */
	PANESTATE_SRC_EXIT,
};

/* A response that stopped for a tool call, with no request after it for
 * this long and a quiet screen: the agent probably asks for permission. */
#define PANESTATE_TOOL_WAIT_MS 3000
/* Output younger than this (and not a key's echo or a resize's redraw) is work. */
#define PANESTATE_QUIET_MS 2000
#define PANESTATE_ECHO_MS 150       /* output this soon after a key is its echo */
#define PANESTATE_REDRAW_MS 500     /* output this soon after a resize is its redraw */
#define PANESTATE_BELL_ECHO_MS 1000 /* a bell this soon after a key answers it (tab completion) */

/* The gateway's view of the pane's route (stats.h's stats_activity). */
struct panestate_route {
	int known;                  /* the pane has a gateway route */
	int64_t inflight;
	int64_t last_begin_ms;      /* 0 never */
	int64_t last_end_ms;        /* the agent's own last finished request, 0 never */
	const char *last_stop;      /* its stop reason, "" unknown */
	int last_status;            /* its status (0: transport error) */
	int last_refused;
	const char *last_error;     /* the route's last error, "" none */
	int64_t last_activity_ms;   /* any request began or ended (subagents' too), 0 never */
	uint64_t begun;             /* requests begun so far (finished + in flight) */
};

struct panestate_in {
	int exited;
	const struct termsig_view *sig;   /* may be NULL */
	struct panestate_route route;
	int64_t last_output_ms;     /* util_now_ms() of the pane's last output, 0 never */
	int64_t last_input_ms;      /* of the last key typed into it, 0 never */
	int64_t last_resize_ms;     /* of its last resize, 0 never */
	int64_t now_ms;
};

struct panestate_out {
	enum panestate state;
	enum panestate_source source;
	char kind[24];              /* with NEEDS_INPUT: permission, question... ("" unknown) */
	char message[TERMSIG_TEXT_MAX];   /* what the agent said, or the last error; "" none */
	int64_t recheck_ms;         /* the state may change by itself after this long; -1 never */
	uint64_t work;              /* turns and requests begun so far: a change between two
	                             * looks means the agent worked in between */
};

void panestate_eval(const struct panestate_in *in, struct panestate_out *out);

/* "working", "needs input", "idle", "error", "exited". */
const char *panestate_name(enum panestate s);

/* The title's words for a state: "needs input: permission", "error: 402
 * over the ceiling"... at most len bytes. */
void panestate_title(const struct panestate_out *o, char *buf, size_t len);

/* What a change from prev to next tells the user: 0 nothing, or the event. */
enum panestate_event {
	PANESTATE_EV_NONE,
	PANESTATE_EV_NEEDS_INPUT,   /* it now waits for the user */
	PANESTATE_EV_TURN_DONE,     /* its turn is over (or ended in an error) */
};
enum panestate_event panestate_event(const struct panestate_out *prev,
    const struct panestate_out *next);

/* The event's name for notify_command: "needs-input", "idle", "error". */
const char *panestate_event_name(enum panestate_event ev, const struct panestate_out *next);

#endif
