/*
 * Tests for termsig: the pieces the terminal cases (tests/vt/signals.test)
 * do not reach: base64 and text cleaning at their bounds, long and hostile
 * strings, kitty chunks, subagent slots, times and the serial.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "termsig.h"
#include "util.h"

struct replies {
	char buf[1024];
	size_t len;
};

static void
on_reply(const char *buf, size_t len, void *user)
{
	struct replies *r = user;
	size_t n = UTIL_MIN(len, sizeof r->buf - 1 - r->len);
	memcpy(r->buf + r->len, buf, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

static int
osc(termsig_t *t, const char *s, int64_t now)
{
	return termsig_osc(t, s, strlen(s), now);
}

static void
test_base64(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(termsig_base64("aGk=", 4, out, sizeof out), 2);
	assert_string_equal(out, "hi");
	assert_int_equal(termsig_base64("aGk", 3, out, sizeof out), 2);      /* no padding */
	assert_int_equal(termsig_base64("", 0, out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(termsig_base64("a b=", 4, out, sizeof out), -1);
	assert_int_equal(termsig_base64("aGVsbG8gd29ybGQ=", 16, out, 6), -1);   /* too long */
	assert_int_equal(termsig_base64("aGk=", 4, out, 0), -1);
}

static void
test_clean(void **state)
{
	(void)state;
	char out[12];
	const char *s = "  a\tb\x1b[2J\x7f c\xc2\x85 d  ";
	assert_int_equal(termsig_clean(s, strlen(s), out, sizeof out), 11);
	assert_string_equal(out, "a b [2J c d");
	/* invalid UTF-8 dropped, a character never cut */
	s = "\xff\xfeok\xe2\x82";
	termsig_clean(s, strlen(s), out, sizeof out);
	assert_string_equal(out, "ok");
	s = "abcdefghij\xc3\xa9xyz";
	termsig_clean(s, strlen(s), out, sizeof out);
	assert_string_equal(out, "abcdefghij");      /* é does not fit whole */
	assert_int_equal(termsig_clean(s, strlen(s), out, 1), 0);
	assert_string_equal(out, "");
}

/* A report's text is bounded; a huge or broken one is cut, never overflows. */
static void
test_long_and_hostile(void **state)
{
	(void)state;
	termsig_t *t = termsig_new(NULL, NULL);
	struct buf b = { 0 };
	buf_append(&b, "7501;state=blocked:kind=", 24);
	for (int i = 0; i < 500; i++)
		buf_append(&b, "k", 1);
	buf_append(&b, ":msg=", 5);
	for (int i = 0; i < 3000; i++)
		buf_append(&b, "QUFB", 4);          /* "AAA" */
	assert_int_equal(termsig_osc(t, b.data, b.len, 5), 1);
	const struct termsig_view *v = termsig_view(t);
	assert_int_equal(v->status.state, TERMSIG_BLOCKED);
	assert_int_equal(strlen(v->status.kind), sizeof v->status.kind - 1);
	assert_int_equal(strlen(v->status.msg), TERMSIG_TEXT_MAX - 1);
	assert_int_equal(v->status.at_ms, 5);
	/* not a number, no ';', an empty OSC: not ours */
	assert_int_equal(osc(t, "x;y", 6), 0);
	assert_int_equal(osc(t, "7501", 6), 0);
	assert_int_equal(termsig_osc(t, "", 0, 6), 0);
	assert_int_equal(osc(t, "12345678;x", 6), 0);
	buf_free(&b);
	termsig_free(t);
}

static void
test_query_and_serial(void **state)
{
	(void)state;
	struct replies r = { .len = 0 };
	termsig_t *t = termsig_new(on_reply, &r);
	unsigned s0 = termsig_view(t)->serial;
	assert_int_equal(osc(t, "7501;?", 1), 1);
	assert_string_equal(r.buf, "\033]7501;?\033\\");
	assert_int_equal(termsig_view(t)->reporter, 0);
	assert_int_equal(osc(t, "7501;state=working:app=claude-code:progress=40", 2), 1);
	const struct termsig_view *v = termsig_view(t);
	assert_int_equal(v->reporter, 1);
	assert_int_equal(v->status.progress, 40);
	assert_true(v->serial != s0);
	unsigned s1 = v->serial;
	assert_int_equal(osc(t, "52;c;aGk=", 3), 0);        /* not ours: no change */
	assert_int_equal(termsig_view(t)->serial, s1);
	termsig_bell(t, 4);
	assert_int_equal(v->notify.source, TERMSIG_BEL);
	assert_int_equal(v->notify.at_ms, 4);
	assert_true(v->serial != s1);
	/* a restart forgets the program (the serial still changes) */
	unsigned s2 = v->serial;
	termsig_reset(t);
	assert_int_equal(v->reporter, 0);
	assert_int_equal(v->status.state, TERMSIG_NONE);
	assert_int_equal(v->notify.count, 0);
	assert_true(v->serial != s2);
	termsig_free(t);
}

/* More subagents than slots: the least recent report makes room. */
static void
test_subagent_slots(void **state)
{
	(void)state;
	termsig_t *t = termsig_new(NULL, NULL);
	char cmd[64];
	for (int i = 0; i < TERMSIG_SUBS + 2; i++) {
		snprintf(cmd, sizeof cmd, "7501;state=working:id=a%d", i);
		osc(t, cmd, 10 + i);
	}
	const struct termsig_view *v = termsig_view(t);
	int seen[TERMSIG_SUBS + 2] = { 0 };
	for (int i = 0; i < TERMSIG_SUBS; i++)
		seen[atoi(v->sub[i].id + 1)]++;
	assert_int_equal(seen[0] + seen[1], 0);
	for (int i = 2; i < TERMSIG_SUBS + 2; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(v->status.state, TERMSIG_NONE);
	/* the program's clear ends its subagents too */
	osc(t, "7501;state=clear", 30);
	for (int i = 0; i < TERMSIG_SUBS; i++)
		assert_string_equal(v->sub[i].id, "");
	termsig_free(t);
}

/* kitty chunks: a new id starts over; an unfinished one is not shown; a
 * chunk that is not base64 is taken as text. */
static void
test_kitty_chunks(void **state)
{
	(void)state;
	termsig_t *t = termsig_new(NULL, NULL);
	const struct termsig_view *v = termsig_view(t);
	osc(t, "99;i=1:d=0;Half", 1);
	osc(t, "99;i=2:d=0;Other", 2);
	assert_int_equal(v->notify.count, 0);
	osc(t, "99;i=2:d=0: title", 3);      /* 'd=0: title' is metadata: d stays "0" */
	osc(t, "99;i=2:p=body;Body", 4);
	assert_int_equal(v->notify.count, 1);
	assert_string_equal(v->notify.text, "Other: Body");
	osc(t, "99;i=3:p=body:e=1;not base64!", 5);
	assert_string_equal(v->notify.text, "not base64!");
	osc(t, "99;i=4:p=close;", 6);       /* nothing to show */
	assert_int_equal(v->notify.count, 2);
	termsig_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_long_and_hostile),
		cmocka_unit_test(test_query_and_serial),
		cmocka_unit_test(test_subagent_slots),
		cmocka_unit_test(test_kitty_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
