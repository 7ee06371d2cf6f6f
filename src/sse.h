/*
 * sse: the one scanner of text/event-stream bodies (server-sent events)
 * for everything that reads a provider's stream. Fed in any chunking; LF,
 * CRLF and CR line ends; "data:" lines of an event joined by "\n";
 * comments, "id:" and "retry:" skipped. Each event goes to a callback when
 * the blank line that ends it arrives. Memory is bounded: a line or an
 * event's data longer than the cap is dropped and the event marked.
 */
#ifndef TOKMUX_SSE_H
#define TOKMUX_SSE_H

#include <stddef.h>

#include "util.h"

#define SSE_CAP (4u << 20)        /* longest line and event data kept */
#define SSE_NAME_MAX 64           /* an "event:" name is cut to this, with the NUL */

/* One event. Pointers are valid during the callback only. */
struct sse_event {
	const char *name;         /* the "event:" field, "" if none */
	const char *data;         /* "data:" lines joined by "\n", NUL-terminated */
	size_t len;
	int has_data;             /* at least one "data:" line */
	int overflow;             /* a line or the data was over the cap: data is not whole */
};

/* Called for every block of lines a blank line ends (also a block of
 * comments only: then has_data is 0). */
typedef void (*sse_event_fn)(void *user, const struct sse_event *ev);

/* The scanner's state: embed it, sse_init, sse_feed, sse_free. */
struct sse {
	sse_event_fn fn;
	void *user;
	size_t cap;
	struct buf line;          /* current line, without its terminator */
	int line_overflow;        /* line too long: dropping until its end */
	int last_cr;              /* previous byte was CR: skip a following LF */
	int lines;                /* lines in the current block */
	struct buf data;          /* data of the current event */
	int has_data;
	int overflow;
	char name[SSE_NAME_MAX];
};

/* cap 0: SSE_CAP. */
void sse_init(struct sse *s, size_t cap, sse_event_fn fn, void *user);
void sse_feed(struct sse *s, const char *data, size_t len);
void sse_free(struct sse *s);

/* The first event of buf (len bytes) into fn; 1 if buf holds a whole
 * event, 0 if not yet. */
int sse_first(const char *buf, size_t len, sse_event_fn fn, void *user);

#endif
