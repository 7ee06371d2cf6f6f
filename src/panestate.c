/*
 * panestate: a pane's state from its signals, strongest first (see
 * panestate.h). Each source either decides the state or says nothing and
 * leaves it to the next, weaker one:
 *   report   OSC 7501: idle, done, working, blocked (kind, message), error
 *   notify   a notification or bell newer than the last key typed and the
 *            last request begun (the agent has not gone on since); OSC 9;4
 *            progress. Whether it means "needs input" or "turn over" is
 *            the gateway's word (how the last request stopped)
 *   gateway  a request in flight: working; else the agent's last finished
 *            request: an error, a turn that ended, or a tool call with
 *            nothing after it (the agent asks, unless it is still busy)
 *   screen   output that is neither a key's echo nor a resize's redraw
 */
#include "panestate.h"

#include <stdio.h>
#include <string.h>

#include "usage.h"
#include "util.h"

static void
panestate_set(struct panestate_out *o, enum panestate st, enum panestate_source src,
    const char *kind, const char *msg)
{
	o->state = st;
	o->source = src;
	snprintf(o->kind, sizeof o->kind, "%s", kind != NULL ? kind : "");
	snprintf(o->message, sizeof o->message, "%s", msg != NULL ? msg : "");
}

static void
panestate_due(struct panestate_out *o, int64_t ms)
{
	ms = UTIL_MAX(ms, 1);
	o->recheck_ms = o->recheck_ms < 0 ? ms : UTIL_MIN(o->recheck_ms, ms);
}

/* The program's own report. */
static int
panestate_report(const struct panestate_in *in, struct panestate_out *o)
{
	const struct termsig_view *s = in->sig;
	if (s == NULL || !s->reporter || s->status.state == TERMSIG_NONE)
		return 0;
	const struct termsig_status *st = &s->status;
	switch (st->state) {
	case TERMSIG_WORKING:
		panestate_set(o, PANESTATE_WORKING, PANESTATE_SRC_REPORT, NULL, st->msg);
		break;
	case TERMSIG_BLOCKED:
		panestate_set(o, PANESTATE_NEEDS_INPUT, PANESTATE_SRC_REPORT, st->kind, st->msg);
		break;
	case TERMSIG_ERROR:
		panestate_set(o, PANESTATE_ERROR, PANESTATE_SRC_REPORT, NULL,
		    st->msg[0] != '\0' || in->route.last_error == NULL ? st->msg : in->route.last_error);
		break;
	default:        /* idle, done */
		panestate_set(o, PANESTATE_IDLE, PANESTATE_SRC_REPORT, NULL, st->msg);
		break;
	}
	return 1;
}

/* The agent's last finished request failed (a refusal, an error status, no
 * answer); a request the agent itself gave up on (499) is no error. */
static int
panestate_route_failed(const struct panestate_route *r)
{
	if (r->last_end_ms == 0 || r->last_status == 499)
		return 0;
	return r->last_refused || r->last_status == 0 || r->last_status >= 400;
}

/* A notification or progress the agent sent since it last went on. */
static int
panestate_notify(const struct panestate_in *in, struct panestate_out *o)
{
	const struct termsig_view *s = in->sig;
	const struct panestate_route *r = &in->route;
	if (s == NULL)
		return 0;
	const struct termsig_notify *n = &s->notify;
	int64_t after = UTIL_MAX(in->last_input_ms, r->last_begin_ms);
	int echo = n->source == TERMSIG_BEL && in->last_input_ms > 0 &&
	    n->at_ms - in->last_input_ms < PANESTATE_BELL_ECHO_MS;
	const struct termsig_progress *p = &s->progress;
	if (p->at_ms > 0 && p->at_ms >= n->at_ms && p->state != 0) {
		if (p->state == 2)
			panestate_set(o, PANESTATE_ERROR, PANESTATE_SRC_NOTIFY, NULL, r->last_error);
		else
			panestate_set(o, PANESTATE_WORKING, PANESTATE_SRC_NOTIFY, NULL, NULL);
		return 1;
	}
	if (n->count == 0 || echo || n->at_ms <= after)
		return 0;
	if (r->known && panestate_route_failed(r))
		panestate_set(o, PANESTATE_ERROR, PANESTATE_SRC_NOTIFY, NULL,
		    n->text[0] ? n->text : r->last_error);
	else if (r->known && r->last_end_ms > 0 &&
	    usage_stop_kind(r->last_stop) == USAGE_STOP_END)
		panestate_set(o, PANESTATE_IDLE, PANESTATE_SRC_NOTIFY, NULL, n->text);
	else
		panestate_set(o, PANESTATE_NEEDS_INPUT, PANESTATE_SRC_NOTIFY, NULL, n->text);
	return 1;
}

/* Output that shows work: not a key's echo, not the redraw after a resize. */
static int
panestate_screen_busy(const struct panestate_in *in)
{
	int64_t out = in->last_output_ms;
	if (out == 0 || in->now_ms - out >= PANESTATE_QUIET_MS)
		return 0;
	if (in->last_input_ms > 0 && out >= in->last_input_ms &&
	    out - in->last_input_ms < PANESTATE_ECHO_MS)
		return 0;
	if (in->last_resize_ms > 0 && out >= in->last_resize_ms &&
	    out - in->last_resize_ms < PANESTATE_REDRAW_MS)
		return 0;
	return 1;
}

/* The last request stopped for a tool call: the agent runs it (a key was
 * typed since: the user answered; or it is early, or the screen is busy)
 * or, after a quiet while, probably asks for permission. */
static void
panestate_tool_wait(const struct panestate_in *in, struct panestate_out *o)
{
	const struct panestate_route *r = &in->route;
	int64_t quiet_since = UTIL_MAX(r->last_end_ms, r->last_activity_ms);
	if (in->last_input_ms > r->last_end_ms) {
		panestate_set(o, PANESTATE_WORKING, PANESTATE_SRC_GATEWAY, NULL, NULL);
		return;
	}
	if (panestate_screen_busy(in))
		quiet_since = UTIL_MAX(quiet_since, in->last_output_ms);
	if (in->now_ms - quiet_since < PANESTATE_TOOL_WAIT_MS) {
		panestate_set(o, PANESTATE_WORKING, PANESTATE_SRC_GATEWAY, NULL, NULL);
		panestate_due(o, quiet_since + PANESTATE_TOOL_WAIT_MS - in->now_ms);
		return;
	}
	panestate_set(o, PANESTATE_NEEDS_INPUT, PANESTATE_SRC_GATEWAY, NULL, NULL);
}

/* The route's requests. */
static int
panestate_gateway(const struct panestate_in *in, struct panestate_out *o)
{
	const struct panestate_route *r = &in->route;
	if (!r->known)
		return 0;
	if (r->inflight > 0) {
		panestate_set(o, PANESTATE_WORKING, PANESTATE_SRC_GATEWAY, NULL, NULL);
		return 1;
	}
	if (r->last_end_ms == 0)
		return 0;
	if (panestate_route_failed(r)) {
		panestate_set(o, PANESTATE_ERROR, PANESTATE_SRC_GATEWAY, NULL, r->last_error);
		return 1;
	}
	if (usage_stop_kind(r->last_stop) == USAGE_STOP_TOOL) {
		panestate_tool_wait(in, o);
		return 1;
	}
	/* the turn ended (or was cut by the limit, or the agent gave up on it) */
	panestate_set(o, PANESTATE_IDLE, PANESTATE_SRC_GATEWAY, NULL, NULL);
	return 1;
}

void
panestate_eval(const struct panestate_in *in, struct panestate_out *o)
{
	memset(o, 0, sizeof *o);
	o->recheck_ms = -1;
	o->work = in->route.begun + (in->sig != NULL ? in->sig->working : 0);
	if (in->exited) {
		panestate_set(o, PANESTATE_EXITED, PANESTATE_SRC_EXIT, NULL, NULL);
		return;
	}
	if (panestate_report(in, o) || panestate_notify(in, o) || panestate_gateway(in, o))
		return;
	if (panestate_screen_busy(in)) {
		panestate_set(o, PANESTATE_WORKING, PANESTATE_SRC_SCREEN, NULL, NULL);
		panestate_due(o, in->last_output_ms + PANESTATE_QUIET_MS - in->now_ms);
	} else {
		panestate_set(o, PANESTATE_IDLE, PANESTATE_SRC_SCREEN, NULL, NULL);
	}
}

const char *
panestate_name(enum panestate s)
{
	switch (s) {
	case PANESTATE_WORKING: return "working";
	case PANESTATE_NEEDS_INPUT: return "needs input";
	case PANESTATE_ERROR: return "error";
	case PANESTATE_EXITED: return "exited";
	default: return "idle";
	}
}

void
panestate_title(const struct panestate_out *o, char *buf, size_t len)
{
	const char *detail = o->state == PANESTATE_NEEDS_INPUT ? o->kind :
	    o->state == PANESTATE_ERROR ? o->message : "";
	snprintf(buf, len, "%s%s%s", panestate_name(o->state), detail[0] ? ": " : "", detail);
}

enum panestate_event
panestate_event(const struct panestate_out *prev, const struct panestate_out *next)
{
	int worked = next->work != prev->work;
	switch (next->state) {
	case PANESTATE_NEEDS_INPUT:
		return prev->state != PANESTATE_NEEDS_INPUT || worked ? PANESTATE_EV_NEEDS_INPUT :
		    PANESTATE_EV_NONE;
	case PANESTATE_IDLE:
		/* the screen's idle is no turn: a shell's command ended */
		if (next->source == PANESTATE_SRC_SCREEN)
			return PANESTATE_EV_NONE;
		/* a turn: work a stronger signal saw, or work done between looks
		 * (a program that starts draws on the screen: no turn) */
		return (prev->state == PANESTATE_WORKING && prev->source != PANESTATE_SRC_SCREEN) ||
		    (worked && prev->state == PANESTATE_IDLE) ||
		    (worked && prev->state == PANESTATE_WORKING) ?
		    PANESTATE_EV_TURN_DONE : PANESTATE_EV_NONE;
	case PANESTATE_ERROR:
		return prev->state != PANESTATE_ERROR || worked ? PANESTATE_EV_TURN_DONE :
		    PANESTATE_EV_NONE;
	default:
		return PANESTATE_EV_NONE;
	}
}

const char *
panestate_event_name(enum panestate_event ev, const struct panestate_out *next)
{
	if (ev == PANESTATE_EV_NEEDS_INPUT)
		return "needs-input";
	if (ev == PANESTATE_EV_TURN_DONE)
		return next->state == PANESTATE_ERROR ? "error" : "idle";
	return "";
}
