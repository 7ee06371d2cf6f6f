/*
 * diffview: the text is fed to a vt as wide as the screen and as tall as
 * the body (LF becomes CR LF: git writes plain newlines); what scrolls off
 * its top is the grid's scrollback. The document is the scrollback (oldest
 * first) followed by the screen's used rows; "top" is the document line at
 * the body's first row, and render_grid draws from sb_count - top lines
 * back. A size change lays the text out again and keeps top.
 */
#include "diffview.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vt.h"

#define DIFFVIEW_SB_LINES (1u << 21)
#define DIFFVIEW_SB_BYTES (256u << 20)
#define DIFFVIEW_CHUNK 65536
#define DIFFVIEW_FIRST (64u << 10)    /* laid out at once when the size changes */

struct diffview {
	char *title;
	char *text;
	size_t len;
	int truncated;
	vt_t *vt;
	size_t fed;              /* bytes of text given to the vt so far */
	int rows, cols;          /* the screen size laid out for; 0 none yet */
	int body;                /* body rows */
	int lines;               /* document lines */
	int top;                 /* document line at the body's first row */
	int dropped;             /* the scrollback dropped the first lines */
	WINDOW *head, *win, *foot;
};

static void
diffview_reply(const char *buf, size_t len, void *user)
{
	(void)buf;
	(void)len;
	(void)user;       /* nobody to answer: the text is not a program */
}

diffview_t *
diffview_new(const char *title, const char *text, size_t len, int truncated)
{
	diffview_t *d = xcalloc(1, sizeof *d);
	d->title = xstrdup(title);
	d->text = xmalloc(len + 1);
	memcpy(d->text, text, len);
	d->text[len] = '\0';
	d->len = len;
	d->truncated = truncated;
	return d;
}

static void
diffview_windows_free(diffview_t *d)
{
	if (d->head != NULL)
		delwin(d->head);
	if (d->win != NULL)
		delwin(d->win);
	if (d->foot != NULL)
		delwin(d->foot);
	d->head = d->win = d->foot = NULL;
}

void
diffview_free(diffview_t *d)
{
	if (d == NULL)
		return;
	diffview_windows_free(d);
	if (d->vt != NULL)
		vt_free(d->vt);
	free(d->title);
	free(d->text);
	free(d);
}

/* Start laying the text out on a new vt of body x cols. */
static void
diffview_layout(diffview_t *d, int body, int cols)
{
	if (d->vt != NULL)
		vt_free(d->vt);
	d->vt = vt_new(body, cols, DIFFVIEW_SB_LINES, DIFFVIEW_SB_BYTES, diffview_reply, d);
	d->fed = 0;
	d->lines = 0;
	d->body = body;
}

int
diffview_feed(diffview_t *d, size_t max)
{
	if (d->vt == NULL)
		return 0;
	char out[2 * DIFFVIEW_CHUNK];
	size_t stop = d->fed + UTIL_MIN(max, d->len - d->fed);
	while (d->fed < stop) {
		size_t n = 0;
		for (size_t end = UTIL_MIN(stop, d->fed + DIFFVIEW_CHUNK); d->fed < end; d->fed++) {
			if (d->text[d->fed] == '\n')
				out[n++] = '\r';     /* git writes plain newlines */
			out[n++] = d->text[d->fed];
		}
		vt_write(d->vt, out, n);
	}
	grid_t *g = vt_grid(d->vt);
	int row, col, vis;
	vt_cursor(d->vt, &row, &col, &vis);
	d->lines = (int)grid_sb_count(g) + row + (col > 0);
	d->dropped = grid_sb_pushed(g) > grid_sb_count(g);
	return d->fed < d->len;
}

int
diffview_pending(const diffview_t *d)
{
	return d->vt == NULL || d->fed < d->len;
}

int
diffview_lines(const diffview_t *d)
{
	return d->lines;
}

/* The furthest top: the last page shows the end of the document. */
static int
diffview_max_top(const diffview_t *d)
{
	return UTIL_MAX(0, d->lines - d->body);
}

static void
diffview_scroll(diffview_t *d, int delta)
{
	long t = (long)d->top + delta;
	d->top = (int)UTIL_MAX(0, UTIL_MIN(t, (long)diffview_max_top(d)));
}

int
diffview_key(diffview_t *d, const struct input_event *ev)
{
	int page = UTIL_MAX(1, d->body - 1);
	if (input_key_is(ev, INPUT_KEYNAME_ESCAPE) || (ev->kind == INPUT_CHAR && (ev->ch == 'q' ||
	    ev->ch == 27)))
		return 1;
	if (ev->kind == INPUT_CHAR) {
		switch (ev->ch) {
		case 'k': diffview_scroll(d, -1); break;
		case 'j': case '\r': diffview_scroll(d, 1); break;
		case 'b': case 2: diffview_scroll(d, -page); break;
		case ' ': case 'f': case 6: diffview_scroll(d, page); break;
		case 'g': d->top = 0; break;
		case 'G': diffview_scroll(d, 1 << 30); break;
		}
	} else if (input_key_is(ev, INPUT_KEYNAME_UP)) {
		diffview_scroll(d, -1);
	} else if (input_key_is(ev, INPUT_KEYNAME_DOWN) || input_key_is(ev, INPUT_KEYNAME_ENTER)) {
		diffview_scroll(d, 1);
	} else if (input_key_is(ev, INPUT_KEYNAME_PAGEUP)) {
		diffview_scroll(d, -page);
	} else if (input_key_is(ev, INPUT_KEYNAME_PAGEDOWN)) {
		diffview_scroll(d, page);
	} else if (input_key_is(ev, INPUT_KEYNAME_HOME)) {
		d->top = 0;
	} else if (input_key_is(ev, INPUT_KEYNAME_END)) {
		diffview_scroll(d, 1 << 30);
	}
	return 0;
}

/* (Re)make the windows and the layout for rows x cols. */
static int
diffview_place(diffview_t *d, int rows, int cols)
{
	if (rows == d->rows && cols == d->cols && d->win != NULL)
		return 0;
	diffview_windows_free(d);
	d->rows = rows;
	d->cols = cols;
	if (rows < 3 || cols < 1)
		return -1;
	d->head = newwin(1, cols, 0, 0);
	d->win = newwin(rows - 2, cols, 1, 0);
	d->foot = newwin(1, cols, rows - 1, 0);
	if (d->head == NULL || d->win == NULL || d->foot == NULL) {
		diffview_windows_free(d);
		return -1;
	}
	diffview_layout(d, rows - 2, cols);
	diffview_feed(d, DIFFVIEW_FIRST);    /* the first pages at once */
	return 0;
}

void
diffview_draw(diffview_t *d, render_t *r, chrome_t *c, int rows, int cols)
{
	if (diffview_place(d, rows, cols) < 0)
		return;
	if (!diffview_pending(d))
		diffview_scroll(d, 0);      /* after a new size: keep top within the text */
	grid_t *g = vt_grid(d->vt);
	int sb = (int)grid_sb_count(g);
	werase(d->win);
	render_grid(r, d->win, g, d->body, cols, sb - d->top, 0, 1);
	char line[512];
	chrome_draw_bar(c, d->head, 0, cols, d->title);
	int last = UTIL_MIN(d->lines, d->top + d->body);
	if (diffview_pending(d))
		snprintf(line, sizeof line, " lines %d-%d of %d so far, laying out %d%%...  q closes",
		    UTIL_MIN(d->top + 1, last), last, d->lines, (int)(d->fed * 100 / UTIL_MAX(d->len, 1)));
	else if (d->lines == 0)
		snprintf(line, sizeof line, " no changes against the branch point  %s  q closes",
		    chrome_utf8(c) ? "\xc2\xb7" : "-");
	else
		snprintf(line, sizeof line, " lines %d-%d of %d%s%s  %s  arrows PgUp PgDn g G scroll, q closes",
		    d->top + 1, last, d->lines,
		    d->truncated ? "  (cut: the diff is longer than tokmux keeps)" : "",
		    d->dropped ? "  (the first lines were dropped)" : "",
		    chrome_utf8(c) ? "\xc2\xb7" : "-");
	chrome_draw_bar(c, d->foot, 0, cols, line);
	wnoutrefresh(d->head);
	wnoutrefresh(d->win);
	wnoutrefresh(d->foot);
}
