/*
 * sse: owns splitting an event stream into lines and lines into events
 * (the WHATWG "event stream interpretation", minus id/retry bookkeeping
 * nobody here needs). What an event means is the caller's business.
 */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

void
sse_init(struct sse *s, size_t cap, sse_event_fn fn, void *user)
{
	memset(s, 0, sizeof *s);
	s->fn = fn;
	s->user = user;
	s->cap = cap > 0 ? cap : SSE_CAP;
}

void
sse_free(struct sse *s)
{
	buf_free(&s->line);
	buf_free(&s->data);
}

/* A blank line: hand the block over and start the next. */
static void
sse_dispatch(struct sse *s)
{
	if (s->lines > 0) {
		struct sse_event ev = {
			.name = s->name,
			.data = s->has_data ? s->data.data : "",
			.len = s->has_data ? s->data.len : 0,
			.has_data = s->has_data,
			.overflow = s->overflow,
		};
		s->fn(s->user, &ev);
	}
	s->data.len = 0;
	s->has_data = 0;
	s->overflow = 0;
	s->lines = 0;
	s->name[0] = '\0';
}

/* The data: field's value joins the event's data (NUL-terminated). */
static void
sse_data(struct sse *s, const char *v, size_t vlen)
{
	if (s->data.len + vlen + 1 > s->cap) {
		s->overflow = 1;
		return;
	}
	if (s->has_data)
		buf_append(&s->data, "\n", 1);
	buf_append(&s->data, v, vlen);
	buf_append(&s->data, "", 1);   /* the NUL, not counted */
	s->data.len--;
	s->has_data = 1;
}

static void
sse_line(struct sse *s, const char *l, size_t n)
{
	if (n == 0) {
		sse_dispatch(s);
		return;
	}
	s->lines++;
	if (l[0] == ':')
		return;         /* comment */
	const char *colon = memchr(l, ':', n);
	size_t flen = colon != NULL ? (size_t)(colon - l) : n;
	const char *v = colon != NULL ? colon + 1 : l + n;
	size_t vlen = (size_t)(l + n - v);
	if (vlen > 0 && *v == ' ') {
		v++;
		vlen--;
	}
	if (flen == 4 && memcmp(l, "data", 4) == 0) {
		sse_data(s, v, vlen);
	} else if (flen == 5 && memcmp(l, "event", 5) == 0) {
		size_t k = UTIL_MIN(vlen, sizeof s->name - 1);
		memcpy(s->name, v, k);
		s->name[k] = '\0';
	}
	/* id:, retry:, unknown fields: ignored */
}

static void
sse_end_line(struct sse *s)
{
	if (!s->line_overflow) {
		sse_line(s, s->line.data != NULL ? s->line.data : "", s->line.len);
	} else {
		s->lines++;
		s->overflow = 1;
	}
	s->line.len = 0;
	s->line_overflow = 0;
}

void
sse_feed(struct sse *s, const char *data, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (s->last_cr) {
			s->last_cr = 0;
			if (data[i] == '\n') {
				i++;
				continue;
			}
		}
		size_t j = i;   /* the next line end */
		while (j < len && data[j] != '\n' && data[j] != '\r')
			j++;
		if (!s->line_overflow) {
			if (s->line.len + (j - i) > s->cap) {
				s->line_overflow = 1;
				s->line.len = 0;
			} else {
				buf_append(&s->line, data + i, j - i);
			}
		}
		if (j == len)
			break;
		s->last_cr = data[j] == '\r';
		sse_end_line(s);
		i = j + 1;
	}
}

struct sse_first_state {
	sse_event_fn fn;
	void *user;
	int seen;
};

static void
sse_first_event(void *user, const struct sse_event *ev)
{
	struct sse_first_state *f = user;
	if (!f->seen)
		f->fn(f->user, ev);
	f->seen = 1;
}

int
sse_first(const char *buf, size_t len, sse_event_fn fn, void *user)
{
	struct sse_first_state f = { fn, user, 0 };
	struct sse s;
	sse_init(&s, len + 2, sse_first_event, &f);
	sse_feed(&s, buf, len);
	sse_free(&s);
	return f.seen;
}
