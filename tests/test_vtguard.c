/* Unit tests for vtguard: pane output in, what libvterm gets out, byte for
 * byte and piece by piece. Screen-level cases are in tests/vt/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "util.h"
#include "vtguard.h"

struct sink {
	struct buf all;         /* every byte passed on */
	struct buf reply;       /* answers the guard gave itself */
	int pieces;             /* sink calls */
	int bad_piece;          /* a call ended inside a sequence or character */
};

/* Length of the sequence starting at buf[0] == ESC, or 0 if it does not end
 * within len. */
static size_t
seq_len(const char *buf, size_t len)
{
	size_t j = 2;

	if (len < 2)
		return 0;
	if (buf[1] == '[') {
		while (j < len && !(buf[j] >= 0x40 && buf[j] <= 0x7E))
			j++;
		return j < len ? j + 1 : 0;
	}
	if (buf[1] == ']' || buf[1] == 'P') {
		for (; j < len; j++)
			if (buf[j] == '\a')
				return j + 1;
			else if (buf[j] == '\033')
				return j + 1 < len && buf[j + 1] == '\\' ? j + 2 : 0;
		return 0;
	}
	for (j = 1; j < len && buf[j] >= 0x20 && buf[j] <= 0x2F; j++)
		;
	return j < len ? j + 1 : 0;
}

/* A sink call must leave libvterm idle: whole sequences, whole characters. */
static int
piece_ok(const char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t i = 0, n, k;

	while (i < len) {
		if (buf[i] != '\033') {
			i++;
			continue;
		}
		n = seq_len(buf + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	for (k = 1; k <= 4 && k <= len; k++)
		if (u[len - k] >= 0xC0)
			return (u[len - k] >= 0xF0 ? 4 : u[len - k] >= 0xE0 ? 3 : 2)
			    == (int)k;
		else if (u[len - k] < 0x80)
			return 1;
	return 1;
}

static void
on_reply(const char *buf, size_t len, void *user)
{
	struct sink *s = user;

	buf_append(&s->reply, buf, len);
}

static void
on_piece(const char *buf, size_t len, void *user)
{
	struct sink *s = user;

	assert_true(len > 0 && len <= 16384);
	if (!piece_ok(buf, len))
		s->bad_piece = 1;
	buf_append(&s->all, buf, len);
	s->pieces++;
}

/* The answers the guard gave itself in the last filter_n(). */
static char last_reply[256];

/* Feed in through a fresh guard (width cols) in chunks of step bytes (0:
 * all at once); returns what came out, NUL-terminated, in a static buffer. */
static const char *
filter_n(const char *in, size_t len, size_t step, int cols, int *pieces)
{
	static char out[1 << 16];
	struct sink s = { 0 };
	vtguard_t *g = vtguard_new(on_piece, on_reply, &s);
	size_t off, n;

	vtguard_set_width(g, cols);
	for (off = 0; off < len; off += n) {
		n = step == 0 ? len : UTIL_MIN(step, len - off);
		vtguard_feed(g, in + off, n);
	}
	vtguard_free(g);
	assert_false(s.bad_piece);
	assert_true(s.all.len < sizeof out);
	memcpy(out, s.all.data != NULL ? s.all.data : "", s.all.len);
	out[s.all.len] = '\0';
	if (pieces != NULL)
		*pieces = s.pieces;
	snprintf(last_reply, sizeof last_reply, "%.*s", (int)s.reply.len,
	    s.reply.data != NULL ? s.reply.data : "");
	buf_free(&s.all);
	buf_free(&s.reply);
	return out;
}

static const char *
filter(const char *in)
{
	return filter_n(in, strlen(in), 0, 80, NULL);
}

/* As libvterm sees it after the byte-by-byte path: filtered again one byte
 * per feed, so every sequence is rewritten in its canonical form. */
static const char *
canonical(const char *out)
{
	return filter_n(out, strlen(out), 1, 80, NULL);
}

static void
test_text_and_controls_pass(void **state)
{
	static const char in[] = "hello\r\n\tw\x01orld\x7f\a caf\xc3\xa9 "
	    "\xe4\xb8\xad\xf0\x9f\x98\x80 \x00!";
	int pieces;

	(void)state;
	assert_memory_equal(filter_n(in, sizeof in - 1, 0, 80, &pieces), in,
	    sizeof in - 1);
	assert_int_equal(pieces, 1);
}

static void
test_csi_canonical(void **state)
{
	(void)state;
	/* A common CSI whole in one feed passes as is; held across feeds it is
	 * rewritten in canonical form. */
	assert_string_equal(filter("\033[01;002H"), "\033[01;002H");
	assert_string_equal(filter_n("\033[01;002H", 10, 1, 80, NULL),
	    "\033[1;2H");
	assert_string_equal(filter("\033[?25h\033[>c\033[ q"),
	    "\033[?25h\033[>c\033[ q");
	assert_string_equal(filter("\033[m\033[;5H"), "\033[m\033[;5H");
	/* libvterm ignores CSIs with longer leaders or intermediates. */
	assert_string_equal(filter("a\033[??1hb\033[1 !pc"), "abc");
	/* An invalid CSI is dropped with the byte that made it invalid, as
	 * libvterm drops it; what follows is text. */
	assert_string_equal(filter("a\033[1?hb\033[1\xc3m"), "ahbm");
	/* A control inside is executed at once; CAN cancels; ESC restarts. */
	assert_string_equal(filter("\033[1\n;2H"), "\n\033[1;2H");
	assert_string_equal(filter("\033[1;2\030x\033[3\033[4m"), "x\033[4m");
}

static void
test_csi_params_capped(void **state)
{
	char in[256], want[256];
	int i, n = 0, w = 0;

	(void)state;
	/* 40 parameters: libvterm gets the first 16. */
	n += snprintf(in + n, sizeof in - (size_t)n, "\033[");
	w += snprintf(want + w, sizeof want - (size_t)w, "\033[");
	for (i = 1; i <= 40; i++) {
		n += snprintf(in + n, sizeof in - (size_t)n, "%s%d",
		    i > 1 ? ";" : "", i);
		if (i <= 16)
			w += snprintf(want + w, sizeof want - (size_t)w,
			    "%s%d", i > 1 ? ";" : "", i);
	}
	snprintf(in + n, sizeof in - (size_t)n, "H");
	snprintf(want + w, sizeof want - (size_t)w, "H");
	assert_string_equal(filter(in), want);
	/* 16 bare semicolons: 16 empty parameters. */
	assert_string_equal(filter("\033[;;;;;;;;;;;;;;;;H"),
	    "\033[;;;;;;;;;;;;;;;H");
	/* Values capped at 65535, as in xterm. */
	assert_string_equal(filter("\033[99999999999999999999;65536;65535r"),
	    "\033[65535;65535;65535r");
}

static void
test_sgr_split(void **state)
{
	(void)state;
	/* 19 parameters: underline colour dropped, the rest fits in one. */
	assert_string_equal(
	    filter("\033[1;3;4;38;2;255;0;0;48;2;0;0;255;58;2;0;255;0m"),
	    "\033[1;3;4;38;2;255;0;0;48;2;0;0;255m");
	/* 14 + a 38;5;n that would cross the 16th slot moves whole. */
	assert_string_equal(
	    filter("\033[1;1;1;1;1;1;1;1;1;1;1;1;1;1;38;5;200;48;5;100m"),
	    "\033[1;1;1;1;1;1;1;1;1;1;1;1;1;1m\033[38;5;200;48;5;100m");
	/* Colon groups are items of their own, read as xterm reads them:
	 * libvterm gets the plain forms it reads right (4:3 is underlined, its
	 * style goes to the pen extension; 38:2::r:g:b is 38;2;r;g;b). */
	assert_string_equal(filter("\033[4:3;38:2::1:2:3;58:5:9;59;1m"),
	    "\033[4;38;2;1;2;3;1m");
	/* 17 empty parameters: each is a reset. */
	assert_string_equal(filter("\033[;;;;;;;;;;;;;;;;m"),
	    "\033[0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0m\033[0m");
	/* Only underline colour: nothing at all, not a reset. */
	assert_string_equal(filter("x\033[58;5;1m"), "x");
}

static void
test_rep(void **state)
{
	char want[128];

	(void)state;
	assert_string_equal(filter("\033[5b"), "");
	assert_string_equal(filter("a\033[3b"), "aaaa");
	assert_string_equal(filter("a\033[b\033[b"), "aa");
	assert_string_equal(filter("a\r\033[3b"), "a\r");
	assert_string_equal(filter("a\033[m\033[3b"), "a\033[m");
	assert_string_equal(filter("\xe4\xb8\xad\033[2b"),
	    "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad");
	/* The character before a cut, from an earlier feed, is repeated. */
	assert_string_equal(filter_n("x\033[2b", 5, 1, 80, NULL), "xxx");
	assert_string_equal(filter_n("\xe4\xb8\xad\033[1b", 7, 1, 80, NULL),
	    "\xe4\xb8\xad\xe4\xb8\xad");
	/* At most the terminal's width. */
	memset(want, 'z', 11);
	want[11] = '\0';
	assert_string_equal(filter_n("z\033[65535b", 9, 0, 10, NULL), want);
	/* With a leader it is not REP: passed on (libvterm ignores it). */
	assert_string_equal(filter("a\033[?3b"), "a\033[?3b");
}

static void
test_decrc_clamps(void **state)
{
	(void)state;
	assert_string_equal(filter("\0337x\0338"), "\0337x\0338\033[?h");
	assert_string_equal(filter("\033#8"), "\033#8");
	assert_string_equal(filter("\033(0\033 F\033M"), "\033(0\033 F\033M");
	/* Three intermediates: libvterm acts on none. */
	assert_string_equal(filter("a\033(((0b"), "ab");
	/* Bytes >= 0x80 inside an escape are ignored, as libvterm does. */
	assert_string_equal(filter("\033\xc3" "7"), "\0337");
}

static void
test_utf8(void **state)
{
	(void)state;
	/* C1 controls as UTF-8 are dropped. */
	assert_string_equal(filter("a\xc2\x85" "b\xc2\x9f\xc2\xa0"),
	    "ab\xc2\xa0");
	/* Invalid bytes: U+FFFD each maximal invalid part. */
	assert_string_equal(filter("\xff"), "\xef\xbf\xbd");
	assert_string_equal(filter("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(filter("\xed\xa0\x80"),
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(filter("\xe4\xb8z"), "\xef\xbf\xbdz");
	/* Cut by a control: U+FFFD, then the control; a later continuation
	 * byte cannot complete it. */
	assert_string_equal(filter("\xc2\n\x85"),
	    "\xef\xbf\xbd\n\xef\xbf\xbd");
	assert_string_equal(filter("\xc2\033[m\x85"),
	    "\xef\xbf\xbd\033[m\xef\xbf\xbd");
	/* Cut by the end of a feed: held, then whole. */
	assert_string_equal(filter_n("\xf0\x9f\x98\x80", 4, 1, 80, NULL),
	    "\xf0\x9f\x98\x80");
	assert_string_equal(filter_n("\xc2\x85", 2, 1, 80, NULL), "");
}

/* Combining marks that each start libvterm's text merge into one glyph:
 * after 16 in a row with no base between, they are dropped (the first one
 * here follows its base directly and does not count). */
static void
test_marks_bounded(void **state)
{
	char in[256], want[256];
	int i, n = 0, w = 0;

	(void)state;
	in[n++] = want[w++] = 'a';
	for (i = 0; i < 20; i++) {
		memcpy(in + n, "\xcc\x81\x01", 3);
		n += 3;
		memcpy(want + w, i < 17 ? "\xcc\x81\x01" : "\x01", i < 17 ? 3 : 1);
		w += i < 17 ? 3 : 1;
	}
	in[n] = want[w] = '\0';
	assert_string_equal(filter(in), want);
	/* A base between them starts the count again. */
	for (i = 0, n = 0; i < 20; i++) {
		memcpy(in + n, "e\x01\xcc\x81", 4);
		n += 4;
	}
	in[n] = '\0';
	assert_string_equal(filter(in), in);
	assert_string_equal(filter_n(in, (size_t)n, 1, 80, NULL), in);
}

static void
test_strings_whole(void **state)
{
	int pieces;

	(void)state;
	assert_string_equal(filter_n("\033]2;title\a", 10, 1, 80, &pieces),
	    "\033]2;title\a");
	assert_int_equal(pieces, 1);
	assert_string_equal(filter_n("\033P$qm\033\\", 7, 3, 80, &pieces),
	    "\033P$qm\033\\");
	assert_int_equal(pieces, 1);
	/* Controls inside are executed first; NUL and DEL are ignored. */
	assert_string_equal(filter_n("\033]2;a\rb\x00\x7f\a", 10, 0, 80, NULL),
	    "\r\033]2;ab\a");
	/* CAN cancels; ESC + anything but '\' abandons it for a new escape. */
	assert_string_equal(filter("\033]2;x\030y"), "y");
	assert_string_equal(filter("\033]2;x\033[1m"), "\033[1m");
	/* DECRQSS for a setting libvterm knows goes to it; for any other the
	 * guard answers "not valid" itself, after what came before. */
	assert_string_equal(filter("\033P$q\"q\033\\"), "\033P$q\"q\033\\");
	assert_string_equal(last_reply, "");
	assert_string_equal(filter("\033[c\033P$qx\033\\y"), "\033[cy");
	assert_string_equal(last_reply, "\033P0$r\033\\");
	/* ESC ESC drops the string; the ESC \ after it is a lone ST. */
	assert_string_equal(filter("\033]2;x\033\033\\z"), "\033\\z");
}

/* Any split of the input gives the same sequences out. */
static void
test_any_chunking(void **state)
{
	static const char in[] = "ab\033[1;31mc\033[;;;;;;;;;;;;;;;;;;;;mde\xc3"
	    "\xa9\033[3b\r\n\033]0;t\033\\\xe4\xb8\xad\xc2\x85\033[2b\0337"
	    "\033[10;10H\0338\033P$qr\033\\\xff\033[1;2;3;4;5;6;7;8;9;10;11;"
	    "12;13;14;15;16;17;18;19H!\033(0q\033[b\033(B\033[?12;25h\033[2;4:3;"
	    "58:5:1mX\033[4;24m\033[s\033[u\033[?69h\033[2;9s\033[?69l\033[5 q"
	    "\033[3J\033[?47h\033[?1049h\033[?1049l\016x\017\033[?3l\033[4;20h";
	char whole[4096];
	size_t len = sizeof in - 1, step;
	unsigned seed = 7, i;

	(void)state;
	snprintf(whole, sizeof whole, "%s",
	    canonical(filter_n(in, len, 0, 80, NULL)));
	for (step = 1; step < 12; step++)
		assert_string_equal(canonical(filter_n(in, len, step, 80, NULL)),
		    whole);
	/* Random cuts, fed through one guard. */
	for (i = 0; i < 200; i++) {
		struct sink s = { 0 };
		vtguard_t *g = vtguard_new(on_piece, on_reply, &s);
		size_t off = 0, n;

		while (off < len) {
			seed = seed * 1103515245u + 12345u;
			n = UTIL_MIN(len - off, 1 + (seed >> 16) % 9);
			vtguard_feed(g, in + off, n);
			off += n;
		}
		buf_append(&s.all, "", 1);
		assert_string_equal(canonical(s.all.data), whole);
		assert_false(s.bad_piece);
		buf_free(&s.all);
		buf_free(&s.reply);
		vtguard_free(g);
	}
}

/* Several modes in one DECSET/SM: one sequence each (libvterm 0.1.4
 * applies the first only); the ones handled here are rewritten. */
static void
test_modes(void **state)
{
	(void)state;
	assert_string_equal(filter("\033[?12;25h"), "\033[?12h\033[?25h");
	assert_string_equal(filter("\033[?1000;1006l"),
	    "\033[?1000l\033[?1006l");
	assert_string_equal(filter("\033[4;20h\033[;4l"), "\033[4h\033[20h\033[4l");
	/* one plain mode passes as it came */
	assert_string_equal(filter("\033[?25l\033[?2004h"), "\033[?25l\033[?2004h");
	/* 47 is 1047; entered again while shown, 1047 does nothing and 1049
	 * clears without saving the cursor again */
	assert_string_equal(filter("\033[?47h\033[?1047h\033[?1049h\033[?47l"),
	    "\033[?1047h\033[2J\033[?1047l");
	/* DECCOLM: margins, home, clear */
	assert_string_equal(filter("\033[?3h"), "\033[r\033[s\033[H\033[2J");
	/* missing modes do nothing */
	assert_string_equal(filter("\033[?;25h"), "\033[?25h");
}

/* CSI s / CSI u: DECSC / DECRC while DECLRMM is off, DECSLRM while on. */
static void
test_scosc_scorc(void **state)
{
	(void)state;
	assert_string_equal(filter("\033[s\033[u"), "\0337\0338\033[?h");
	assert_string_equal(filter("\033[?69h\033[2;9s\033[s\033[?69l\033[s"),
	    "\033[?69h\033[2;9s\033[s\033[?69l\0337");
}

/* DECSC/DECRC save and restore the character sets and shifts here. */
static void
test_charsets_saved(void **state)
{
	(void)state;
	assert_string_equal(filter("\033(0\0337\033(Bx\0338"),
	    "\033(0\0337\033(Bx\0338\033[?h\033(0");
	assert_string_equal(filter("\033)0\016\0337\017\0338"),
	    "\033)0\016\0337\017\0338\033[?h\016");
	assert_string_equal(filter("\033*0\033n\033}\0337\033*B\017\033~\0338"),
	    "\033*0\033n\033}\0337\033*B\017\033~\0338\033[?h\033*0\033n"
	    "\033}");
	/* a set libvterm does not know is not remembered (it ignores it) */
	assert_string_equal(filter("\0337\033(Z\0338"), "\0337\033(Z\0338\033[?h");
	/* 1049 and 1048 too; RIS forgets */
	assert_string_equal(filter("\033(0\033[?1048h\033(B\033[?1048l"),
	    "\033(0\033[?1048h\033(B\033[?1048l\033(0");
	assert_string_equal(filter("\033(0\0337\033c\0338"),
	    "\033(0\0337\033c\0338\033[?h");
}

struct events {
	struct sink s;
	char log[512];
};

static void
on_event(const struct vtguard_event *ev, void *user)
{
	struct events *e = user;
	size_t n = strlen(e->log);

	/* what had been passed on when it came, then the event */
	snprintf(e->log + n, sizeof e->log - n, "[%zu:%d:%d%s%s]",
	    e->s.all.len, ev->type, ev->arg, ev->pen->dim ? " dim" : "",
	    ev->pen->ul ? " ul" : "");
}

/* Events come in order with what libvterm got before them. */
static void
test_events(void **state)
{
	static const char in[] = "a\033[2mb\033[4:3;1mc\033[0md\033[5 qe\033[3Jf"
	    "\033[2m\0337\033[m\0338\033[cg";
	struct events e = { .log = "" };
	vtguard_t *g = vtguard_new(on_piece, on_reply, &e.s);

	(void)state;
	vtguard_set_events(g, on_event);
	vtguard_feed(g, in, sizeof in - 1);
	assert_string_equal(e.log, "[1:0:0 dim][2:0:0 dim ul][9:0:0]"
	    "[19:1:5][20:2:0][21:0:0 dim][23:0:0][33:0:0 dim]");
	vtguard_free(g);
	buf_free(&e.s.all);
	buf_free(&e.s.reply);
}

/* Queries libvterm 0.1.4 does not answer. */
static void
test_queries(void **state)
{
	static const uint8_t fg[3] = { 1, 2, 3 };
	struct sink s = { 0 };
	vtguard_t *g = vtguard_new(on_piece, on_reply, &s);
	static const char in[] = "\033[>q\033[18t\033[=c\033]10;?\a\033]11;?\a"
	    "\033]4;9;?\033\\\033[14t";

	(void)state;
	vtguard_set_size(g, 10, 40);
	vtguard_set_colors(g, fg, NULL);
	vtguard_feed(g, in, sizeof in - 1);
	buf_append(&s.reply, "", 1);
	assert_string_equal(s.reply.data, "\033P>|tokmux " TOKMUX_VERSION
	    "\033\\\033[8;10;40t\033P!|00000000\033\\\033]10;rgb:0101/0202/0303"
	    "\a\033]4;9;rgb:ffff/0000/0000\033\\");
	/* what is not answered here goes on to libvterm */
	buf_append(&s.all, "", 1);
	assert_string_equal(s.all.data, "\033[14t");
	vtguard_free(g);
	buf_free(&s.all);
	buf_free(&s.reply);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_controls_pass),
		cmocka_unit_test(test_csi_canonical),
		cmocka_unit_test(test_csi_params_capped),
		cmocka_unit_test(test_sgr_split),
		cmocka_unit_test(test_rep),
		cmocka_unit_test(test_decrc_clamps),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_marks_bounded),
		cmocka_unit_test(test_strings_whole),
		cmocka_unit_test(test_any_chunking),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_scosc_scorc),
		cmocka_unit_test(test_charsets_saved),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_queries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
