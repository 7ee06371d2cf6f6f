/*
 * The text harness for terminal tests: every tests/vt/NAME.test file is a
 * script of bytes in and expected screen, attributes, cursor, scrollback and
 * replies out, run through the real vt + grid (tests/vt/README.md has the
 * format). Each file runs twice: with every PUSH as one write, and with every
 * PUSH fed one byte per write, which must give the same results.
 *
 *   build/tests/test_vtcases                  every tests/vt/NAME.test
 *   build/tests/test_vtcases FILE...          only these files
 *   build/tests/test_vtcases --corpus DIR     every file's input, as seeds
 *                                             for fuzz/fuzz_vt.c in DIR
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <glob.h>
#include <libgen.h>
#include <signal.h>
#include <unistd.h>

#include "util.h"
#include "vt.h"

#define VC_TIMEOUT 60           /* seconds per line before it counts as a hang */
#define VC_LINE_MAX 65536
#define VC_SEED_PUSH_MAX 2048   /* bytes of one PUSH kept in a fuzz seed */

struct vc_case {
	const char *path;
	int bytewise;           /* feed every PUSH one byte per vt_write */
	vt_t *vt;
	struct buf reply;       /* bytes the terminal answered, since last ?reply */
	int line;
	FILE *file;
	char *text;             /* the line being run */
	int stopped;            /* ended early: a failed check or a crash */
	int failed;             /* a check failed (vc_fail) */
};

/* Where a hang was detected, preformatted for the SIGALRM handler. */
static char vc_where[512];
static int vc_timeout = VC_TIMEOUT;   /* VTCASES_TIMEOUT overrides */

static void
vc_on_alarm(int sig)
{
	ssize_t n;

	(void)sig;
	n = write(2, vc_where, strlen(vc_where));
	(void)n;
	_exit(1);
}

static void
vc_set_where(const struct vc_case *c)
{
	snprintf(vc_where, sizeof vc_where,
	    "%s:%d: timed out after %d s (hang)%s\n", c->path, c->line,
	    vc_timeout, c->bytewise ? " [bytewise]" : "");
}

/* Report a failure at the current line of the test file and end the test. */
static void __attribute__((format(printf, 2, 3)))
vc_fail(struct vc_case *c, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	print_error("%s:%d: %s%s\n", c->path, c->line, msg,
	    c->bytewise ? " [bytewise]" : "");
	c->failed = 1;
	_fail(c->path, c->line);
}

static void
vc_on_output(const char *buf, size_t len, void *user)
{
	struct vc_case *c = user;

	buf_append(&c->reply, buf, len);
}

/* ---- quoted strings with C escapes ---- */

static void
vc_put_utf8(struct buf *b, uint32_t v)
{
	char u[4];
	size_t n;

	if (v < 0x80) {
		u[0] = (char)v;
		n = 1;
	} else if (v < 0x800) {
		u[0] = (char)(0xC0 | (v >> 6));
		u[1] = (char)(0x80 | (v & 0x3F));
		n = 2;
	} else if (v < 0x10000) {
		u[0] = (char)(0xE0 | (v >> 12));
		u[1] = (char)(0x80 | ((v >> 6) & 0x3F));
		u[2] = (char)(0x80 | (v & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (v >> 18));
		u[1] = (char)(0x80 | ((v >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((v >> 6) & 0x3F));
		u[3] = (char)(0x80 | (v & 0x3F));
		n = 4;
	}
	buf_append(b, u, n);
}

/* One escape after a backslash at *pp; appends its bytes. 0 or -1. */
static int
vc_unescape_one(const char **pp, struct buf *out)
{
	static const char from[] = "eabtnrfv0\\\"";
	static const char to[] = "\033\a\b\t\n\r\f\v\0\\\"";
	const char *p = *pp, *k = strchr(from, *p);
	char *end;
	unsigned long v;

	if (*p != '\0' && k != NULL) {
		buf_append(out, &to[k - from], 1);
		*pp = p + 1;
		return 0;
	}
	if (*p == 'x' && strchr("0123456789abcdefABCDEF", p[1]) != NULL &&
	    p[1] != '\0') {
		char hex[3] = { p[1], '\0', '\0' };

		if (p[2] != '\0' && strchr("0123456789abcdefABCDEF", p[2]))
			hex[1] = p[2];
		v = strtoul(hex, NULL, 16);
		buf_append(out, &(char){ (char)v }, 1);
		*pp = p + 1 + strlen(hex);
		return 0;
	}
	if (*p == 'u' && p[1] == '{') {
		v = strtoul(p + 2, &end, 16);
		if (end == p + 2 || *end != '}' || v > 0x10FFFF)
			return -1;
		vc_put_utf8(out, (uint32_t)v);
		*pp = end + 1;
		return 0;
	}
	return -1;
}

/* Parse "..." at *pp into out (appending); *pp moves past the quote. */
static int
vc_unquote(const char **pp, struct buf *out)
{
	const char *p = *pp;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != '"')
		return -1;
	while (*p != '"') {
		if (*p == '\0')
			return -1;
		if (*p == '\\') {
			p++;
			if (vc_unescape_one(&p, out) != 0)
				return -1;
		} else
			buf_append(out, p++, 1);
	}
	*pp = p + 1;
	return 0;
}

/* Length of the UTF-8 sequence at s (1 if it is not one) and its code point. */
static size_t
vc_utf8_at(const unsigned char *s, size_t avail, uint32_t *cp)
{
	size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
	size_t i;

	*cp = n == 1 ? s[0] : s[0] & (0x7F >> n);
	if (n > avail)
		return 1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 1;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	return n;
}

/* Bytes as a C string literal, for failure messages; invisible code points
 * (combining marks, zero-width, variation selectors) as \u{...}. */
static const char *
vc_quote(const char *s, size_t len, char *out, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0, i = 0, k;
	uint32_t cp;

	out[n++] = '"';
	while (i < len && n + 16 < size) {
		k = vc_utf8_at(u + i, len - i, &cp);
		if (u[i] == '\033')
			n += (size_t)snprintf(out + n, size - n, "\\e");
		else if (u[i] == '"' || u[i] == '\\')
			n += (size_t)snprintf(out + n, size - n, "\\%c", u[i]);
		else if (u[i] < 0x20 || u[i] == 0x7f || (k == 1 && u[i] >= 0x80))
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", u[i]);
		else if (k > 1 && ((cp >= 0x300 && cp < 0x370) ||
		    (cp >= 0x200B && cp < 0x2010) || (cp >= 0xFE00 && cp < 0xFE10)))
			n += (size_t)snprintf(out + n, size - n, "\\u{%x}", cp);
		else {
			memcpy(out + n, s + i, k);
			n += k;
		}
		i += k;
	}
	if (i < len)
		n += (size_t)snprintf(out + n, size - n, "...");
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

/* "STRING" [* N]: the string, repeated N times. Rest of line must be empty. */
static int
vc_string_arg(const char *p, struct buf *out)
{
	struct buf one = { 0 };
	long times = 1, i;
	char *end;

	if (vc_unquote(&p, &one) != 0) {
		buf_free(&one);
		return -1;
	}
	p += strspn(p, " \t");
	if (*p == '*') {
		times = strtol(p + 1, &end, 10);
		p = end;
	}
	p += strspn(p, " \t");
	if (*p != '\0' || times < 1 || times > 10000000) {
		buf_free(&one);
		return -1;
	}
	for (i = 0; i < times; i++)
		buf_append(out, one.data != NULL ? one.data : "", one.len);
	buf_free(&one);
	return 0;
}

/* ---- reading the grid ---- */

/* Cells as UTF-8 text: blanks are spaces, wide right halves skipped,
 * combining chars kept, trailing spaces trimmed. */
static void
vc_cells_text(const struct grid_cell *row, int cols, struct buf *out)
{
	int c, k;

	for (c = 0; c < cols; c++) {
		if (row[c].ch[0] == GRID_WIDE_CONT)
			continue;
		if (row[c].ch[0] == 0) {
			buf_append(out, " ", 1);
			continue;
		}
		for (k = 0; k < GRID_CHARS && row[c].ch[k] != 0; k++)
			vc_put_utf8(out, row[c].ch[k]);
	}
	while (out->len > 0 && out->data[out->len - 1] == ' ')
		out->len--;
}

static void
vc_color_desc(struct buf *b, const char *name, const struct grid_color *gc)
{
	if (gc->type == GRID_COLOR_INDEXED)
		buf_appendf(b, " %s=%u", name, gc->idx);
	else if (gc->type == GRID_COLOR_RGB)
		buf_appendf(b, " %s=#%02x%02x%02x", name, gc->r, gc->g, gc->b);
}

/* "bold dim italic underline[=STYLE] blink reverse conceal strike overline
 * fg=N bg=#rrggbb ul=N" in this order, only what is set; "none" when
 * nothing is. STYLE: double curly dotted dashed (single has none). */
static void
vc_attr_desc(const struct grid_cell *cell, struct buf *b)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {
		{ GRID_ATTR_BOLD, "bold" }, { GRID_ATTR_DIM, "dim" },
		{ GRID_ATTR_ITALIC, "italic" },
		{ GRID_ATTR_UNDERLINE, "underline" },
		{ GRID_ATTR_BLINK, "blink" }, { GRID_ATTR_REVERSE, "reverse" },
		{ GRID_ATTR_CONCEAL, "conceal" }, { GRID_ATTR_STRIKE, "strike" },
		{ GRID_ATTR_OVERLINE, "overline" },
	};
	static const char *const styles[] = {
		"", "", "=double", "=curly", "=dotted", "=dashed", "=?", "=?",
	};
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(names); i++)
		if (cell->attrs & names[i].bit)
			buf_appendf(b, " %s%s", names[i].name,
			    names[i].bit == GRID_ATTR_UNDERLINE ?
			    styles[GRID_UL_STYLE(cell->attrs)] : "");
	vc_color_desc(b, "fg", &cell->fg);
	vc_color_desc(b, "bg", &cell->bg);
	vc_color_desc(b, "ul", &cell->ul);
	if (b->len == 0)
		buf_appendf(b, " none");
}

/* ---- commands ---- */

static void
vc_init(struct vc_case *c, int rows, int cols, long sb)
{
	vt_free(c->vt);
	c->reply.len = 0;
	c->vt = vt_new(rows, cols, (size_t)sb, 64u << 20, vc_on_output, c);
}

static void
vc_push(struct vc_case *c, const char *args)
{
	struct buf in = { 0 };
	size_t i;

	if (vc_string_arg(args, &in) != 0) {
		buf_free(&in);
		vc_fail(c, "PUSH needs one quoted string (optionally * N)");
		return;
	}
	if (!c->bytewise)
		vt_write(c->vt, in.data != NULL ? in.data : "", in.len);
	else
		for (i = 0; i < in.len; i++)
			vt_write(c->vt, in.data + i, 1);
	buf_free(&in);
}

/* Compare got with the quoted expectation in args; fail naming what. */
static void
vc_expect_string(struct vc_case *c, const char *what, const char *args,
    const char *got, size_t got_len)
{
	struct buf want = { 0 };
	char qw[1024], qg[1024];

	if (vc_string_arg(args, &want) != 0) {
		buf_free(&want);
		vc_fail(c, "%s: expected = \"...\"", what);
		return;
	}
	if (want.len != got_len ||
	    (got_len > 0 && memcmp(want.data, got, got_len) != 0)) {
		vc_quote(want.data, want.len, qw, sizeof qw);
		vc_quote(got, got_len, qg, sizeof qg);
		buf_free(&want);
		vc_fail(c, "%s: want %s, got %s", what, qw, qg);
		return;
	}
	buf_free(&want);
}

static void
vc_expect_int(struct vc_case *c, const char *what, const char *args, long got)
{
	char *end;
	long want = strtol(args, &end, 10);

	if (end == args || end[strspn(end, " \t")] != '\0') {
		vc_fail(c, "%s: expected = NUMBER", what);
		return;
	}
	if (want != got)
		vc_fail(c, "%s: want %ld, got %ld", what, want, got);
}

/* Split "LHS = RHS" at the first " = "; returns RHS or NULL. */
static const char *
vc_rhs(char *s)
{
	char *eq = strstr(s, "=");

	if (eq == NULL)
		return NULL;
	*eq = '\0';
	return eq + 1 + strspn(eq + 1, " \t");
}

static void
vc_query_screen(struct vc_case *c, char *lhs, const char *rhs)
{
	grid_t *g = vt_grid(c->vt);
	struct buf text = { 0 };
	char what[64];
	int row;

	if (sscanf(lhs, "%d", &row) != 1 || row < 0 || row >= grid_rows(g)) {
		vc_fail(c, "?screen ROW: row must be 0..%d", grid_rows(g) - 1);
		return;
	}
	vc_cells_text(grid_row(g, row), grid_cols(g), &text);
	snprintf(what, sizeof what, "?screen %d", row);
	vc_expect_string(c, what, rhs, text.data != NULL ? text.data : "",
	    text.len);
	buf_free(&text);
}

static void
vc_query_cursor(struct vc_case *c, const char *rhs)
{
	int row, col, wr, wc;

	vt_cursor(c->vt, &row, &col, NULL);
	if (sscanf(rhs, "%d,%d", &wr, &wc) != 2) {
		vc_fail(c, "?cursor: expected = ROW,COL");
		return;
	}
	if (row != wr || col != wc)
		vc_fail(c, "?cursor: want %d,%d, got %d,%d", wr, wc, row, col);
}

static void
vc_query_attr(struct vc_case *c, char *lhs, const char *rhs)
{
	grid_t *g = vt_grid(c->vt);
	struct buf got = { 0 };
	char want[256];
	int row, col;
	size_t n;

	if (sscanf(lhs, "%d,%d", &row, &col) != 2 || row < 0 ||
	    row >= grid_rows(g) || col < 0 || col >= grid_cols(g)) {
		vc_fail(c, "?attr ROW,COL: outside the %dx%d screen",
		    grid_rows(g), grid_cols(g));
		return;
	}
	vc_attr_desc(&grid_row(g, row)[col], &got);
	snprintf(want, sizeof want, " %s", rhs);
	n = strlen(want);
	while (n > 0 && (want[n - 1] == ' ' || want[n - 1] == '\t'))
		want[--n] = '\0';
	if (strcmp(want, got.data) != 0)
		vc_fail(c, "?attr %d,%d: want \"%s\", got \"%s\"", row, col,
		    want + 1, got.data + 1);
	buf_free(&got);
}

static void
vc_query_scrollback(struct vc_case *c, char *lhs, const char *rhs)
{
	grid_t *g = vt_grid(c->vt);
	struct grid_cell *cells;
	struct buf text = { 0 };
	char what[64];
	long n;

	if (strncmp(lhs + strspn(lhs, " \t"), "count", 5) == 0) {
		vc_expect_int(c, "?scrollback count", rhs,
		    (long)grid_sb_count(g));
		return;
	}
	if (sscanf(lhs, "%ld", &n) != 1 || n < 0 ||
	    (size_t)n >= grid_sb_count(g)) {
		vc_fail(c, "?scrollback N: only %zu lines", grid_sb_count(g));
		return;
	}
	cells = xcalloc((size_t)grid_cols(g), sizeof *cells);
	grid_sb_line(g, (size_t)n, cells, grid_cols(g));
	vc_cells_text(cells, grid_cols(g), &text);
	free(cells);
	snprintf(what, sizeof what, "?scrollback %ld", n);
	vc_expect_string(c, what, rhs, text.data != NULL ? text.data : "",
	    text.len);
	buf_free(&text);
}

static void
vc_query_prop(struct vc_case *c, char *lhs, const char *rhs)
{
	char name[32] = "";

	sscanf(lhs, "%31s", name);
	if (strcmp(name, "title") == 0)
		vc_expect_string(c, "?prop title", rhs, vt_title(c->vt),
		    strlen(vt_title(c->vt)));
	else if (strcmp(name, "cursorvisible") == 0) {
		int vis;

		vt_cursor(c->vt, NULL, NULL, &vis);
		vc_expect_int(c, "?prop cursorvisible", rhs, vis);
	} else if (strcmp(name, "altscreen") == 0)
		vc_expect_int(c, "?prop altscreen", rhs, vt_altscreen(c->vt));
	else if (strcmp(name, "reverse") == 0)
		vc_expect_int(c, "?prop reverse", rhs, vt_reverse(c->vt));
	else if (strcmp(name, "mouse") == 0)
		vc_expect_int(c, "?prop mouse", rhs, vt_mouse_mode(c->vt));
	else if (strcmp(name, "paste") == 0)
		vc_expect_int(c, "?prop paste", rhs,
		    vt_bracketed_paste(c->vt));
	else if (strcmp(name, "bell") == 0)
		vc_expect_int(c, "?prop bell", rhs, vt_take_bell(c->vt));
	else if (strcmp(name, "cursorstyle") == 0)
		vc_expect_int(c, "?prop cursorstyle", rhs,
		    vt_cursor_style(c->vt));
	else if (strcmp(name, "titles") == 0)
		vc_expect_int(c, "?prop titles", rhs,
		    (long)vt_title_serial(c->vt));
	else
		vc_fail(c, "?prop: unknown property \"%s\"", name);
}

/* ?signal NAME: what the program said about itself (termsig.h), as text. */
static void
vc_query_signal(struct vc_case *c, char *lhs, const char *rhs)
{
	static const char *const sources[] = { "", "bel", "osc9", "osc777", "osc99" };
	const struct termsig_view *v = vt_signals(c->vt);
	char name[32] = "", text[TERMSIG_TEXT_MAX * 2];
	int idx = 0;

	sscanf(lhs, "%31s %d", name, &idx);
	if (strcmp(name, "status") == 0)
		snprintf(text, sizeof text, "%s%s%s%s%s", termsig_state_name(v->status.state),
		    v->status.kind[0] ? " " : "", v->status.kind,
		    v->status.msg[0] ? ": " : "", v->status.msg);
	else if (strcmp(name, "app") == 0)
		snprintf(text, sizeof text, "%s", v->status.app);
	else if (strcmp(name, "reporter") == 0)
		snprintf(text, sizeof text, "%d", v->reporter);
	else if (strcmp(name, "notify") == 0)
		snprintf(text, sizeof text, "%s%s%s", sources[v->notify.source],
		    v->notify.text[0] ? " " : "", v->notify.text);
	else if (strcmp(name, "notifications") == 0)
		snprintf(text, sizeof text, "%u", v->notify.count);
	else if (strcmp(name, "progress") == 0)
		snprintf(text, sizeof text, "%d %d", v->progress.state, v->progress.value);
	else if (strcmp(name, "sub") == 0 && idx >= 0 && idx < TERMSIG_SUBS)
		snprintf(text, sizeof text, "%s%s%s%s%s", v->sub[idx].id,
		    v->sub[idx].id[0] ? " " : "", termsig_state_name(v->sub[idx].state),
		    v->sub[idx].title[0] ? " " : "", v->sub[idx].title);
	else {
		vc_fail(c, "?signal: unknown signal \"%s\"", name);
		return;
	}
	vc_expect_string(c, "?signal", rhs, text, strlen(text));
}

/* "?wrapped ROW = 0|1" (screen row) or "?wrapped sb N = 0|1" (scrollback
 * line N): whether the line's text goes on in the next one. */
static void
vc_query_wrapped(struct vc_case *c, char *lhs, const char *rhs)
{
	grid_t *g = vt_grid(c->vt);
	long n;

	if (sscanf(lhs, " sb %ld", &n) == 1) {
		if (n < 0 || (size_t)n >= grid_sb_count(g)) {
			vc_fail(c, "?wrapped sb N: only %zu lines",
			    grid_sb_count(g));
			return;
		}
		vc_expect_int(c, "?wrapped sb", rhs,
		    grid_sb_wrapped(g, (size_t)n));
		return;
	}
	if (sscanf(lhs, "%ld", &n) != 1 || n < 0 || n >= grid_rows(g)) {
		vc_fail(c, "?wrapped ROW: row must be 0..%d", grid_rows(g) - 1);
		return;
	}
	vc_expect_int(c, "?wrapped", rhs, grid_row_wrapped(g, (int)n));
}

/* "#rrggbb" into rgb; 0, or -1 for anything else ("-": unknown). */
static int
vc_rgb(const char *s, uint8_t *rgb)
{
	unsigned v[3];
	int i;

	if (sscanf(s, "#%2x%2x%2x", &v[0], &v[1], &v[2]) != 3)
		return -1;
	for (i = 0; i < 3; i++)
		rgb[i] = (uint8_t)v[i];
	return 0;
}

/* COLORS FG BG: the default colours OSC 10/11 answer, "#rrggbb" or "-"
 * (unknown). */
static void
vc_colors(struct vc_case *c, const char *args)
{
	char fg[16] = "", bg[16] = "";
	uint8_t f[3], b[3];

	if (sscanf(args, "%15s %15s", fg, bg) != 2) {
		vc_fail(c, "COLORS #rrggbb|- #rrggbb|-");
		return;
	}
	vt_set_colors(c->vt, vc_rgb(fg, f) == 0 ? f : NULL,
	    vc_rgb(bg, b) == 0 ? b : NULL);
}

static void
vc_query(struct vc_case *c, const char *word, char *args)
{
	const char *rhs = vc_rhs(args);

	if (rhs == NULL) {
		vc_fail(c, "%s: expected \"= VALUE\"", word);
		return;
	}
	if (strcmp(word, "?screen") == 0)
		vc_query_screen(c, args, rhs);
	else if (strcmp(word, "?cursor") == 0)
		vc_query_cursor(c, rhs);
	else if (strcmp(word, "?attr") == 0)
		vc_query_attr(c, args, rhs);
	else if (strcmp(word, "?scrollback") == 0)
		vc_query_scrollback(c, args, rhs);
	else if (strcmp(word, "?reply") == 0) {
		vc_expect_string(c, "?reply", rhs,
		    c->reply.data != NULL ? c->reply.data : "", c->reply.len);
		c->reply.len = 0;
	} else if (strcmp(word, "?prop") == 0)
		vc_query_prop(c, args, rhs);
	else if (strcmp(word, "?signal") == 0)
		vc_query_signal(c, args, rhs);
	else if (strcmp(word, "?wrapped") == 0)
		vc_query_wrapped(c, args, rhs);
	else
		vc_fail(c, "unknown query %s", word);
}

/* MOUSE ROW COL BUTTON PRESSED: a mouse event at a cell, as the UI
 * forwards it (button 0: motion only). */
static void
vc_mouse(struct vc_case *c, const char *args)
{
	int row, col, button, pressed;

	if (sscanf(args, "%d %d %d %d", &row, &col, &button, &pressed) != 4) {
		vc_fail(c, "MOUSE ROW COL BUTTON PRESSED");
		return;
	}
	vt_mouse(c->vt, row, col, button, pressed, 0);
}

/* One line of a test file. */
static void
vc_line(struct vc_case *c, char *line)
{
	char word[32] = "", *args;
	int rows, cols, n = 0;
	long sb = 1000;

	line[strcspn(line, "\r\n")] = '\0';
	line += strspn(line, " \t");
	if (*line == '\0' || *line == '#')
		return;
	sscanf(line, "%31s%n", word, &n);
	args = line + n;
	if (word[0] == '?') {
		vc_query(c, word, args);
	} else if (strcmp(word, "PUSH") == 0) {
		vc_push(c, args);
	} else if (strcmp(word, "MOUSE") == 0) {
		vc_mouse(c, args);
	} else if (strcmp(word, "FOCUS") == 0) {
		vt_focus(c->vt, strstr(args, "in") != NULL);
	} else if (strcmp(word, "COLORS") == 0) {
		vc_colors(c, args);
	} else if (strcmp(word, "INIT") == 0 || strcmp(word, "RESIZE") == 0) {
		if (sscanf(args, "%d %d %ld", &rows, &cols, &sb) < 2 ||
		    rows < 1 || cols < 1 || rows > 1000 || cols > 1000) {
			vc_fail(c, "%s ROWS COLS%s", word,
			    word[0] == 'I' ? " [SCROLLBACK]" : "");
			return;
		}
		if (word[0] == 'I')
			vc_init(c, rows, cols, sb);
		else
			vt_resize(c->vt, rows, cols);
	} else
		vc_fail(c, "unknown command \"%s\"", word);
}

static void
vc_run(void **state)
{
	struct vc_case *c = *state;

	c->file = fopen(c->path, "r");
	if (c->file == NULL) {
		vc_fail(c, "cannot open");
		return;
	}
	c->text = xmalloc(VC_LINE_MAX);
	vc_init(c, 24, 80, 1000);
	c->line = 0;
	c->stopped = 1;
	while (fgets(c->text, VC_LINE_MAX, c->file) != NULL) {
		c->line++;
		vc_set_where(c);
		alarm((unsigned)vc_timeout);
		vc_line(c, c->text);
	}
	alarm(0);
	c->stopped = 0;
}

static int
vc_teardown(void **state)
{
	struct vc_case *c = *state;

	alarm(0);
	/* cmocka caught a signal: say which line of the file was running. */
	if (c->stopped && !c->failed)
		print_error("%s:%d: crashed here%s\n", c->path, c->line,
		    c->bytewise ? " [bytewise]" : "");
	if (c->file != NULL)
		fclose(c->file);
	c->file = NULL;
	free(c->text);
	c->text = NULL;
	vt_free(c->vt);
	c->vt = NULL;
	buf_free(&c->reply);
	memset(&c->reply, 0, sizeof c->reply);
	return 0;
}

/* ---- fuzz seeds ---- */

/* One line of a test file as fuzz_vt operations (fuzz/fuzz_vt.c). */
static void
vc_seed_line(char *line, struct buf *out)
{
	struct buf in = { 0 };
	char word[32] = "";
	int rows, cols, n = 0;
	size_t i;

	line[strcspn(line, "\r\n")] = '\0';
	if (sscanf(line, "%31s%n", word, &n) != 1 || word[0] == '#')
		return;
	if (word[0] == '?')
		buf_append(out, "\xff\x02", 2);
	else if (strcmp(word, "FOCUS") == 0)
		buf_append(out, strstr(line + n, "in") ? "\xff\x04" : "\xff\x05",
		    2);
	else if ((strcmp(word, "INIT") == 0 || strcmp(word, "RESIZE") == 0) &&
	    sscanf(line + n, "%d %d", &rows, &cols) == 2 && rows > 0 &&
	    cols > 0) {
		buf_append(out, word[0] == 'I' ? "\xff\x03" : "\xff\x01", 2);
		buf_append(out, &(char){ (char)(UTIL_MIN(rows, 256) - 1) }, 1);
		buf_append(out, &(char){ (char)(UTIL_MIN(cols, 256) - 1) }, 1);
	} else if (strcmp(word, "PUSH") == 0 &&
	    vc_string_arg(line + n, &in) == 0) {
		for (i = 0; i < in.len && i < VC_SEED_PUSH_MAX; i++) {
			buf_append(out, &in.data[i], 1);
			if ((unsigned char)in.data[i] == 0xFF)
				buf_append(out, "\xff", 1);
		}
		buf_append(out, "\xff\x00", 2);
	}
	buf_free(&in);
}

/* Write each file's PUSH, RESIZE and INIT lines to DIR/seed-NAME. */
static int
vc_corpus(const char *dir, char **files, size_t nfiles)
{
	char *line = xmalloc(VC_LINE_MAX), *name, *path, *copy;
	struct buf out = { 0 };
	FILE *f, *o;
	size_t i;
	int rc = 0;

	for (i = 0; i < nfiles; i++) {
		if ((f = fopen(files[i], "r")) == NULL) {
			fprintf(stderr, "%s: cannot open\n", files[i]);
			rc = 1;
			continue;
		}
		out.len = 0;
		while (fgets(line, VC_LINE_MAX, f) != NULL)
			vc_seed_line(line, &out);
		fclose(f);
		copy = xstrdup(files[i]);
		name = basename(copy);
		name[strcspn(name, ".")] = '\0';
		path = xasprintf("%s/seed-%s", dir, name);
		if ((o = fopen(path, "w")) == NULL ||
		    fwrite(out.data, 1, out.len, o) != out.len || fclose(o) != 0) {
			fprintf(stderr, "%s: cannot write\n", path);
			rc = 1;
		}
		free(path);
		free(copy);
	}
	buf_free(&out);
	free(line);
	return rc;
}

int
main(int argc, char **argv)
{
	glob_t gl = { 0 };
	char **files = argv + 1;
	size_t nfiles = (size_t)argc - 1, i;
	struct CMUnitTest *tests;
	struct vc_case *cases;
	const char *corpus = NULL;
	int rc;

	if (argc > 2 && strcmp(argv[1], "--corpus") == 0) {
		corpus = argv[2];
		files = argv + 3;
		nfiles = (size_t)argc - 3;
	}
	if (nfiles == 0) {
		glob("tests/vt/*.test", 0, NULL, &gl);
		files = gl.gl_pathv;
		nfiles = gl.gl_pathc;
	}
	if (nfiles == 0) {
		fprintf(stderr, "test_vtcases: no tests/vt/*.test (run from "
		    "the source tree)\n");
		return 1;
	}
	if (corpus != NULL) {
		rc = vc_corpus(corpus, files, nfiles);
		globfree(&gl);
		return rc;
	}
	if (getenv("VTCASES_TIMEOUT") != NULL)
		vc_timeout = atoi(getenv("VTCASES_TIMEOUT"));
	if (vc_timeout < 1)
		vc_timeout = VC_TIMEOUT;
	signal(SIGALRM, vc_on_alarm);
	tests = xcalloc(nfiles * 2, sizeof *tests);
	cases = xcalloc(nfiles * 2, sizeof *cases);
	for (i = 0; i < nfiles * 2; i++) {
		cases[i].path = files[i / 2];
		cases[i].bytewise = (int)(i % 2);
		tests[i].name = i % 2 ? xasprintf("%s [bytewise]", files[i / 2])
		    : xstrdup(files[i / 2]);
		tests[i].test_func = vc_run;
		tests[i].teardown_func = vc_teardown;
		tests[i].initial_state = &cases[i];
	}
	rc = _cmocka_run_group_tests("vtcases", tests, nfiles * 2, NULL, NULL);
	for (i = 0; i < nfiles * 2; i++)
		free((char *)tests[i].name);
	free(tests);
	free(cases);
	globfree(&gl);
	return rc;
}
