/*
 * Unit tests for sse: the same events whatever the chunking and line ends,
 * multi-line data, comments and unknown fields, names cut to size, lines
 * and data over the cap dropped and marked, and the first event of a
 * buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sse.h"
#include "util.h"

/* Events as one string: "name|data|flags\n" per event. */
static void
record(void *user, const struct sse_event *ev)
{
	struct buf *b = user;
	assert_int_equal(strlen(ev->data), ev->len);   /* NUL-terminated */
	buf_appendf(b, "%s|%s|%s%s\n", ev->name, ev->data, ev->has_data ? "d" : "-",
	    ev->overflow ? "o" : "");
}

static char *
scan(const char *in, size_t len, size_t chunk, size_t cap)
{
	struct buf out = { 0 };
	struct sse s;
	sse_init(&s, cap, record, &out);
	for (size_t i = 0; i < len; i += chunk)
		sse_feed(&s, in + i, UTIL_MIN(chunk, len - i));
	sse_free(&s);
	buf_append(&out, "", 1);
	return out.data;
}

static const char stream[] =
    "event: message_start\ndata: {\"a\":1}\n\n"
    ": a comment\n\n"
    "data: line one\ndata:line two\nid: 7\nretry: 10\nfoo: bar\n\n"
    "event: ping\n\n"
    "data\n\n"
    "data: [DONE]\n\n";

static const char expect[] =
    "message_start|{\"a\":1}|d\n"
    "||-\n"
    "|line one\nline two|d\n"
    "ping||-\n"
    "||d\n"
    "|[DONE]|d\n";

static void
test_any_chunking(void **state)
{
	for (size_t chunk = 1; chunk <= sizeof stream; chunk++) {
		char *got = scan(stream, sizeof stream - 1, chunk, 0);
		if (strcmp(got, expect) != 0)
			fail_msg("chunk %zu:\n%s", chunk, got);
		free(got);
	}
	(void)state;
}

/* The same stream with CRLF and CR line ends, split everywhere (a CRLF
 * split between two feeds is one line end, not two). */
static void
test_line_ends(void **state)
{
	static const char *const ends[] = { "\r\n", "\r" };
	for (size_t e = 0; e < UTIL_ARRAY_LEN(ends); e++) {
		struct buf b = { 0 };
		for (const char *s = stream; *s; s++) {
			if (*s == '\n')
				buf_append(&b, ends[e], strlen(ends[e]));
			else
				buf_append(&b, s, 1);
		}
		for (size_t chunk = 1; chunk <= b.len; chunk++) {
			char *got = scan(b.data, b.len, chunk, 0);
			if (strcmp(got, expect) != 0)
				fail_msg("end %zu chunk %zu:\n%s", e, chunk, got);
			free(got);
		}
		buf_free(&b);
	}
	(void)state;
}

static void
test_no_event_until_blank_line(void **state)
{
	char *got = scan("data: x\n", 8, 8, 0);
	assert_string_equal(got, "");
	free(got);
	/* blank lines alone make no events */
	got = scan("\n\n\r\n\n", 5, 1, 0);
	assert_string_equal(got, "");
	free(got);
	(void)state;
}

static void
test_caps(void **state)
{
	/* a long event name is cut, not overflowed */
	struct buf b = { 0 };
	buf_appendf(&b, "event: ");
	for (int i = 0; i < 200; i++)
		buf_append(&b, "n", 1);
	buf_appendf(&b, "\ndata: 1\n\n");
	char *got = scan(b.data, b.len, 7, 0);
	assert_int_equal(strcspn(got, "|"), SSE_NAME_MAX - 1);
	free(got);
	buf_free(&b);
	/* a line over the cap: the event is marked, the next one is whole */
	const char *big = "data: 0123456789abcdef\n\ndata: ok\n\n";
	got = scan(big, strlen(big), 3, 12);
	assert_string_equal(got, "||-o\n|ok|d\n");
	free(got);
	/* data over the cap across lines */
	const char *many = "data: 12345\ndata: 12345\ndata: 12345\n\ndata: ok\n\n";
	got = scan(many, strlen(many), 5, 14);
	assert_string_equal(got, "|12345\n12345|do\n|ok|d\n");
	free(got);
	(void)state;
}

static void
first_name(void *user, const struct sse_event *ev)
{
	snprintf(user, 64, "%s:%s", ev->name, ev->data);
}

static void
test_first(void **state)
{
	char got[64] = "";
	const char *two = "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n";
	assert_int_equal(sse_first(two, strlen(two), first_name, got), 1);
	assert_string_equal(got, "a:1");
	got[0] = '\0';
	assert_int_equal(sse_first(two, 12, first_name, got), 0);
	assert_string_equal(got, "");
	const char *crlf = "event: e\r\ndata: x\r\n\r\n";
	assert_int_equal(sse_first(crlf, strlen(crlf), first_name, got), 1);
	assert_string_equal(got, "e:x");
	assert_int_equal(sse_first("", 0, first_name, got), 0);
	(void)state;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_chunking),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_no_event_until_blank_line),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
