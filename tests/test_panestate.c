/*
 * Tests for panestate: each source decides when the stronger ones say
 * nothing and never over them; the gateway's truth (in flight, the stop
 * reason, a tool call and a quiet while); the screen's fallback (echo,
 * resize redraw); and the events a change is worth: once per change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "panestate.h"

#define T0 1000000    /* a clock far from 0 */

static struct termsig_view sig;

static struct panestate_in
base(void)
{
	memset(&sig, 0, sizeof sig);
	struct panestate_in in = { .sig = &sig, .now_ms = T0 };
	return in;
}

static struct panestate_out
eval(const struct panestate_in *in)
{
	struct panestate_out o;
	panestate_eval(in, &o);
	return o;
}

/* A route whose agent's last request finished at end with stop. */
static void
route_ended(struct panestate_in *in, int64_t end, const char *stop, int status)
{
	in->route = (struct panestate_route){ .known = 1, .last_begin_ms = end - 500,
		.last_end_ms = end, .last_stop = stop, .last_status = status,
		.last_error = "", .last_activity_ms = end, .begun = 1 };
}

static void
test_screen_fallback(void **state)
{
	(void)state;
	struct panestate_in in = base();
	struct panestate_out o = eval(&in);
	assert_int_equal(o.state, PANESTATE_IDLE);
	assert_int_equal(o.source, PANESTATE_SRC_SCREEN);
	assert_int_equal(o.recheck_ms, -1);
	/* output: working for a while, then idle by itself */
	in.last_output_ms = T0 - 500;
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_WORKING);
	assert_int_equal(o.recheck_ms, PANESTATE_QUIET_MS - 500);
	in.now_ms = T0 + PANESTATE_QUIET_MS;
	assert_int_equal(eval(&in).state, PANESTATE_IDLE);
	/* the echo of a key is no work */
	in = base();
	in.last_input_ms = T0 - 300;
	in.last_output_ms = T0 - 250;
	assert_int_equal(eval(&in).state, PANESTATE_IDLE);
	/* an idle shell redrawing its prompt after a resize is no work */
	in = base();
	in.last_resize_ms = T0 - 400;
	in.last_output_ms = T0 - 380;
	assert_int_equal(eval(&in).state, PANESTATE_IDLE);
	in.last_output_ms = T0 - 400 + PANESTATE_REDRAW_MS;    /* later output is */
	assert_int_equal(eval(&in).state, PANESTATE_WORKING);
	in.exited = 1;
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_EXITED);
	assert_string_equal(panestate_name(o.state), "exited");
}

static void
test_report_wins(void **state)
{
	(void)state;
	struct panestate_in in = base();
	route_ended(&in, T0 - 10000, "tool_use", 200);
	in.route.inflight = 1;
	sig.reporter = 1;
	sig.status.state = TERMSIG_BLOCKED;
	snprintf(sig.status.kind, sizeof sig.status.kind, "permission");
	snprintf(sig.status.msg, sizeof sig.status.msg, "approve Bash: touch x");
	struct panestate_out o = eval(&in);
	assert_int_equal(o.state, PANESTATE_NEEDS_INPUT);
	assert_int_equal(o.source, PANESTATE_SRC_REPORT);
	assert_string_equal(o.kind, "permission");
	assert_string_equal(o.message, "approve Bash: touch x");
	char title[64];
	panestate_title(&o, title, sizeof title);
	assert_string_equal(title, "needs input: permission");
	sig.status.state = TERMSIG_DONE;
	assert_int_equal(eval(&in).state, PANESTATE_IDLE);     /* over a request in flight */
	sig.status.state = TERMSIG_WORKING;
	in.route.inflight = 0;
	in.route.last_stop = "end_turn";
	assert_int_equal(eval(&in).state, PANESTATE_WORKING);
	/* an error report without a message takes the route's last error */
	sig.status.state = TERMSIG_ERROR;
	sig.status.msg[0] = '\0';
	in.route.last_error = "402 billing_error";
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_ERROR);
	assert_string_equal(o.message, "402 billing_error");
	panestate_title(&o, title, sizeof title);
	assert_string_equal(title, "error: 402 billing_error");
	/* cleared (the program left): the weaker signals again */
	sig.status.state = TERMSIG_NONE;
	in.route.last_stop = "end_turn";
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_IDLE);
	assert_int_equal(o.source, PANESTATE_SRC_GATEWAY);
}

static void
test_gateway_truth(void **state)
{
	(void)state;
	struct panestate_in in = base();
	in.route = (struct panestate_route){ .known = 1, .inflight = 1, .last_begin_ms = T0 - 100,
		.last_stop = "", .last_error = "" };
	in.last_output_ms = 0;
	struct panestate_out o = eval(&in);
	assert_int_equal(o.state, PANESTATE_WORKING);
	assert_int_equal(o.source, PANESTATE_SRC_GATEWAY);
	/* the turn ended */
	route_ended(&in, T0 - 100, "end_turn", 200);
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_IDLE);
	assert_int_equal(o.source, PANESTATE_SRC_GATEWAY);
	/* over a busy screen: stronger */
	in.last_output_ms = T0 - 10;
	assert_int_equal(eval(&in).state, PANESTATE_IDLE);
	/* a tool call: working while early or busy, then needs input */
	route_ended(&in, T0 - 1000, "tool_use", 200);
	in.last_output_ms = 0;
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_WORKING);
	assert_int_equal(o.recheck_ms, PANESTATE_TOOL_WAIT_MS - 1000);
	in.now_ms = T0 - 1000 + PANESTATE_TOOL_WAIT_MS;
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_NEEDS_INPUT);
	assert_int_equal(o.source, PANESTATE_SRC_GATEWAY);
	in.last_output_ms = in.now_ms - 100;        /* the tool prints: it runs */
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_WORKING);
	assert_int_equal(o.recheck_ms, PANESTATE_TOOL_WAIT_MS - 100);
	in.last_output_ms = 0;
	in.last_input_ms = in.now_ms - 50;          /* the user answered */
	assert_int_equal(eval(&in).state, PANESTATE_WORKING);
	/* a subagent's request after the tool call keeps it working */
	in.last_input_ms = 0;
	in.route.last_activity_ms = in.now_ms - 200;
	assert_int_equal(eval(&in).state, PANESTATE_WORKING);
	/* errors: refused, an error status, no answer; the agent's own hang-up is none */
	route_ended(&in, T0 - 100, "", 402);
	in.now_ms = T0;
	in.route.last_error = "tokmux: this request would exceed the ceiling";
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_ERROR);
	assert_string_equal(o.message, "tokmux: this request would exceed the ceiling");
	in.route.last_status = 0;
	assert_int_equal(eval(&in).state, PANESTATE_ERROR);
	in.route.last_status = 200;
	in.route.last_refused = 1;
	assert_int_equal(eval(&in).state, PANESTATE_ERROR);
	in.route.last_refused = 0;
	in.route.last_status = 499;
	assert_int_equal(eval(&in).state, PANESTATE_IDLE);
	/* a route that never finished a request says nothing: the screen does */
	in.route = (struct panestate_route){ .known = 1, .last_stop = "", .last_error = "" };
	in.last_output_ms = T0 - 5;
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_WORKING);
	assert_int_equal(o.source, PANESTATE_SRC_SCREEN);
}

static void
test_notifications(void **state)
{
	(void)state;
	struct panestate_in in = base();
	sig.notify = (struct termsig_notify){ TERMSIG_OSC9, "Claude needs your permission", T0 - 50, 1 };
	struct panestate_out o = eval(&in);
	assert_int_equal(o.state, PANESTATE_NEEDS_INPUT);
	assert_int_equal(o.source, PANESTATE_SRC_NOTIFY);
	assert_string_equal(o.message, "Claude needs your permission");
	/* the gateway says the turn ended: the notification is "turn over" */
	route_ended(&in, T0 - 1000, "end_turn", 200);
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_IDLE);
	assert_int_equal(o.source, PANESTATE_SRC_NOTIFY);
	/* a request begun after it: the agent went on */
	in.route.last_begin_ms = T0 - 10;
	in.route.inflight = 1;
	o = eval(&in);
	assert_int_equal(o.state, PANESTATE_WORKING);
	assert_int_equal(o.source, PANESTATE_SRC_GATEWAY);
	/* a key typed after it: the user saw it */
	in = base();
	sig.notify = (struct termsig_notify){ TERMSIG_OSC99, "Session done", T0 - 50, 1 };
	in.last_input_ms = T0 - 20;
	assert_int_equal(eval(&in).source, PANESTATE_SRC_SCREEN);
	/* a bell just after a key is its answer (tab completion), not a call */
	in = base();
	sig.notify = (struct termsig_notify){ TERMSIG_BEL, "", T0 - 50, 1 };
	in.last_input_ms = T0 - 60;
	assert_int_equal(eval(&in).source, PANESTATE_SRC_SCREEN);
	in.last_input_ms = T0 - 60 - PANESTATE_BELL_ECHO_MS;
	assert_int_equal(eval(&in).state, PANESTATE_NEEDS_INPUT);
	/* progress: working while on, error, and nothing once removed */
	in = base();
	sig.progress = (struct termsig_progress){ 3, 0, T0 - 10 };
	assert_int_equal(eval(&in).state, PANESTATE_WORKING);
	sig.progress.state = 2;
	assert_int_equal(eval(&in).state, PANESTATE_ERROR);
	sig.progress.state = 0;
	assert_int_equal(eval(&in).source, PANESTATE_SRC_SCREEN);
	/* a report beats a newer notification */
	sig.notify = (struct termsig_notify){ TERMSIG_OSC9, "x", T0 - 5, 2 };
	sig.reporter = 1;
	sig.status.state = TERMSIG_WORKING;
	assert_int_equal(eval(&in).source, PANESTATE_SRC_REPORT);
}

/* One event per change; none for the screen's idle; a change missed between
 * two looks (the agent worked in between) still counts. */
static void
test_events(void **state)
{
	(void)state;
	struct panestate_out idle = { .state = PANESTATE_IDLE, .source = PANESTATE_SRC_GATEWAY };
	struct panestate_out work = { .state = PANESTATE_WORKING, .source = PANESTATE_SRC_GATEWAY };
	struct panestate_out ask = { .state = PANESTATE_NEEDS_INPUT, .source = PANESTATE_SRC_REPORT };
	struct panestate_out err = { .state = PANESTATE_ERROR, .source = PANESTATE_SRC_GATEWAY };
	struct panestate_out scr = { .state = PANESTATE_IDLE, .source = PANESTATE_SRC_SCREEN };
	assert_int_equal(panestate_event(&work, &ask), PANESTATE_EV_NEEDS_INPUT);
	assert_int_equal(panestate_event(&ask, &ask), PANESTATE_EV_NONE);
	assert_int_equal(panestate_event(&work, &idle), PANESTATE_EV_TURN_DONE);
	assert_string_equal(panestate_event_name(PANESTATE_EV_TURN_DONE, &idle), "idle");
	assert_int_equal(panestate_event(&idle, &idle), PANESTATE_EV_NONE);
	assert_int_equal(panestate_event(&ask, &idle), PANESTATE_EV_NONE);
	assert_int_equal(panestate_event(&idle, &work), PANESTATE_EV_NONE);
	assert_int_equal(panestate_event(&work, &scr), PANESTATE_EV_NONE);
	/* a program that starts: its banner on the screen, then its report of idle */
	struct panestate_out drawing = { .state = PANESTATE_WORKING, .source = PANESTATE_SRC_SCREEN };
	struct panestate_out reported = { .state = PANESTATE_IDLE, .source = PANESTATE_SRC_REPORT };
	assert_int_equal(panestate_event(&drawing, &reported), PANESTATE_EV_NONE);
	reported.work = 1;        /* ... unless it worked in between */
	assert_int_equal(panestate_event(&drawing, &reported), PANESTATE_EV_TURN_DONE);
	assert_int_equal(panestate_event(&work, &err), PANESTATE_EV_TURN_DONE);
	assert_string_equal(panestate_event_name(PANESTATE_EV_TURN_DONE, &err), "error");
	assert_int_equal(panestate_event(&err, &err), PANESTATE_EV_NONE);
	assert_string_equal(panestate_event_name(PANESTATE_EV_NEEDS_INPUT, &ask), "needs-input");
	/* worked in between two looks */
	struct panestate_out idle2 = idle, ask2 = ask;
	idle2.work = ask2.work = 3;
	assert_int_equal(panestate_event(&idle, &idle2), PANESTATE_EV_TURN_DONE);
	assert_int_equal(panestate_event(&ask, &ask2), PANESTATE_EV_NEEDS_INPUT);
	assert_int_equal(panestate_event(&idle2, &idle2), PANESTATE_EV_NONE);
	/* work counts the route's requests and the program's turns */
	struct panestate_in in = base();
	in.route = (struct panestate_route){ .known = 1, .begun = 4, .last_stop = "", .last_error = "" };
	sig.working = 2;
	assert_int_equal(eval(&in).work, 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_screen_fallback),
		cmocka_unit_test(test_report_wins),
		cmocka_unit_test(test_gateway_truth),
		cmocka_unit_test(test_notifications),
		cmocka_unit_test(test_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
