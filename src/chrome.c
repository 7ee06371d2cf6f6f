/*
 * chrome: titles, separators, the status line and its overlay, boxed
 * overlays and the sidebar window, in the theme's styles. Owns the theme's
 * curses attributes and colour pairs, the sidebar's window and status text.
 * Called from the UI thread only, like all of curses.
 */
#include "chrome.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "render.h"
#include "util.h"

#define CHROME_STATUS_MAX 512
#define CHROME_EVENT_MAX 256

struct chrome_sidebar {
	chrome_t *c;
	WINDOW *win;
	int rows, cols;
	char status[CHROME_STATUS_MAX];   /* the status bar's idle text, "" none */
	int status_changed;
	char event[CHROME_EVENT_MAX];     /* the last event message, "" none */
	int rings;
};

struct chrome {
	struct theme theme;
	attr_t sattr[THEME_SLOTS];
	short spair[THEME_SLOTS];
	int color;
	int utf8;
	int overlay_shown;      /* the bottom-row overlay is on screen */
	struct chrome_sidebar sb;
};

/* Theme slot of each sidebar line kind. */
static const int chrome_kind_slot[SIDEBAR_KINDS] = {
	[SIDEBAR_TEXT] = THEME_TEXT, [SIDEBAR_BOLD] = THEME_BOLD, [SIDEBAR_DIM] = THEME_DIM,
	[SIDEBAR_WARN] = THEME_WARN, [SIDEBAR_ERROR] = THEME_ERROR, [SIDEBAR_BAR_OK] = THEME_BAR_OK,
	[SIDEBAR_BAR_WARN] = THEME_BAR_WARN, [SIDEBAR_BAR_OVER] = THEME_BAR_OVER,
	[SIDEBAR_SPARK] = THEME_SPARKLINE, [SIDEBAR_TITLE] = THEME_BOLD,
};

/* ---- styles ---- */

/* A theme colour as a curses colour number for this terminal; -1 default. */
static int
chrome_color_num(int c)
{
	if (c < 0)
		return -1;
	if (c & THEME_RGB)
		c = render_rgb_to_256((c >> 16) & 255, (c >> 8) & 255, c & 255);
	if (COLORS >= 256)
		return c;
	return render_256_to_basic(c, COLORS);
}

static void
chrome_styles_init(chrome_t *c)
{
	for (int i = 0; i < THEME_SLOTS; i++) {
		const struct theme_style *st = &c->theme.style[i];
		attr_t a = 0;
		if (st->attrs & THEME_A_BOLD) a |= A_BOLD;
		if (st->attrs & THEME_A_DIM) a |= A_DIM;
		if (st->attrs & THEME_A_REVERSE) a |= A_REVERSE;
		if (st->attrs & THEME_A_UNDERLINE) a |= A_UNDERLINE;
		c->sattr[i] = a;
		c->spair[i] = 0;
		if (c->color) {
			int fg = chrome_color_num(st->fg), bg = chrome_color_num(st->bg);
			int pair = fg < 0 && bg < 0 ? 0 : alloc_pair(fg, bg);
			c->spair[i] = pair > 0 && pair < 32768 ? (short)pair : 0;
		}
	}
}

chrome_t *
chrome_new(const struct theme *theme, int utf8)
{
	chrome_t *c = xcalloc(1, sizeof *c);
	const char *nc = getenv("NO_COLOR");
	if (theme != NULL)
		c->theme = *theme;
	else
		theme_builtin(&c->theme, nc != NULL && nc[0] != '\0');
	c->color = !c->theme.mono && has_colors() && start_color() == OK;
	if (c->color)
		use_default_colors();
	c->utf8 = utf8;
	c->sb.c = c;
	chrome_styles_init(c);
	return c;
}

const struct theme *
chrome_theme(const chrome_t *c)
{
	return &c->theme;
}

void
chrome_free(chrome_t *c)
{
	if (c == NULL)
		return;
	if (c->sb.win != NULL)
		delwin(c->sb.win);
	free(c);
}

int
chrome_color(const chrome_t *c)
{
	return c->color;
}

int
chrome_utf8(const chrome_t *c)
{
	return c->utf8;
}

/* Set win's attributes to the theme slot's style plus extra. */
static void
chrome_style(chrome_t *c, WINDOW *win, int slot, attr_t extra)
{
	wattr_set(win, c->sattr[slot] | extra, c->spair[slot], NULL);
}

/* Print len bytes of UTF-8 s in win at (y, x) in at most w columns, padding
 * with spaces to w if pad. Returns the columns used. */
static int
chrome_putn(WINDOW *win, int y, int x, int w, const char *s, size_t len, int pad)
{
	if (w <= 0)
		return 0;
	wmove(win, y, x);
	int used = 0;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	const char *p = s, *end = s + len;
	while (p < end && *p && used < w) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, p, (size_t)(end - p), &st);
		if (n == (size_t)-1 || n == (size_t)-2) {
			memset(&st, 0, sizeof st);
			waddch(win, '?');
			p++;
			used++;
			continue;
		}
		int cw = wcwidth(wc);
		if (cw < 0)
			cw = 1;
		if (used + cw > w)
			break;
		waddnstr(win, p, (int)n);
		used += cw;
		p += n;
	}
	for (; pad && used < w; used++)
		waddch(win, ' ');
	return used;
}

static void
chrome_put(WINDOW *win, int y, int x, int w, const char *s)
{
	chrome_putn(win, y, x, w, s, strlen(s), 1);
}

/* ---- titles and separators ---- */

void
chrome_draw_title(chrome_t *c, const struct rect *r, const struct chrome_title *t)
{
	if (r->w < 1)
		return;
	char state[128];
	if (t->exit_text != NULL)
		snprintf(state, sizeof state, "%s: r restart, x close", t->exit_text);
	else if (t->scroll > 0)
		snprintf(state, sizeof state, "scrollback -%d", t->scroll);
	else
		snprintf(state, sizeof state, "%s", t->state[0] ? t->state : "running");
	const char *mark = t->focused ? (c->utf8 ? "\xe2\x96\xb6" : ">") : " ";
	/* the state comes before the command: it must survive a narrow pane */
	const char *dot = c->utf8 ? "\xc2\xb7" : "-";
	char head[256], st[160], rest[512];
	snprintf(head, sizeof head, "%s %d %s %s ", mark, t->number, t->name, dot);
	snprintf(st, sizeof st, "%s%s%s%s", state, t->belled ? " [bell]" : "", t->marked ? " [!]" : "", t->zoomed ? " [zoom]" : "");
	snprintf(rest, sizeof rest, " %s %s%s%s%s%s", dot, t->branch ? "[" : "", t->branch ? t->branch : "",
	    t->branch ? "] " : "", t->cmd, t->vt_title[0] ? " : " : "");
	snprintf(rest + strlen(rest), sizeof rest - strlen(rest), "%s", t->vt_title);
	WINDOW *w = stdscr;
	int slot = t->focused ? THEME_TITLE_FOCUS : THEME_TITLE;
	chrome_style(c, w, slot, 0);
	int used = chrome_putn(w, r->y, r->x, r->w, head, strlen(head), 0);
	if (t->alert && t->exit_text == NULL && t->scroll == 0)
		chrome_style(c, w, THEME_WARN, A_REVERSE);
	used += chrome_putn(w, r->y, r->x + used, r->w - used, st, strlen(st), 0);
	chrome_style(c, w, slot, 0);
	chrome_putn(w, r->y, r->x + used, r->w - used, rest, strlen(rest), 1);
	wattr_set(w, A_NORMAL, 0, NULL);
}

/* Separators: every cell of the pane area not covered by a pane; those
 * next to the focused pane in the focused border's style. */
void
chrome_draw_separators(chrome_t *c, const struct layout *lay, int rows, int cols,
    int npanes, int focus)
{
	int area_w = lay->sidebar_visible ? lay->sidebar.x : cols;
	int area_h = lay->status_visible ? lay->status.y : rows;
	for (int y = 0; y < area_h; y++) {
		for (int x = 0; x < area_w; x++) {
			if (layout_pane_at(lay, y, x) >= 0)
				continue;
			int near = npanes > 1 && (layout_pane_at(lay, y, x - 1) == focus ||
			    layout_pane_at(lay, y, x + 1) == focus);
			chrome_style(c, stdscr, near ? THEME_BORDER_FOCUS : THEME_BORDER, 0);
			if (c->utf8)
				mvaddstr(y, x, "\xe2\x94\x82");
			else
				mvaddch(y, x, '|');
		}
	}
	chrome_style(c, stdscr, THEME_BORDER, 0);
	if (lay->sidebar_visible && lay->sidebar.x > 0) {
		for (int y = 0; y < lay->sidebar.h; y++)
			mvaddch(lay->sidebar.y + y, lay->sidebar.x - 1 < area_w ? lay->sidebar.x : lay->sidebar.x - 1, ' ');
	}
	wattr_set(stdscr, A_NORMAL, 0, NULL);
}

/* ---- the status line ---- */

/* What the status line says now, with its style; 0 if nothing urgent
 * (then the status bar shows the idle text, and the overlay is not drawn). */
static int
chrome_status_text(chrome_t *c, const struct chrome_status *st, char *line, size_t len,
    int *slot, attr_t *extra)
{
	*slot = THEME_WARN;
	*extra = A_BOLD | A_REVERSE;
	if (st->prompt != NULL) {
		snprintf(line, len, "%s", st->prompt);
		*slot = THEME_STATUS;
		*extra = A_REVERSE;
	} else if (st->question != NULL) {
		snprintf(line, len, "%s", st->question);
	} else if (st->message != NULL) {
		snprintf(line, len, " %s", st->message);
	} else if (st->prefix) {
		snprintf(line, len, " %s: 1-" TOKMUX_MAX_PANES_STR " focus, z zoom, [ scroll, "
		    "b ceiling, f model, m requests, s sidebar, q quit, ? help",
		    st->prefix_name != NULL ? st->prefix_name : "Ctrl-g");
		*slot = THEME_TEXT;
		*extra = A_REVERSE;
	} else if (st->scrolling) {
		snprintf(line, len, " scrollback: PgUp/PgDn, arrows, g/G, q or Esc leaves");
		*slot = THEME_TEXT;
		*extra = A_REVERSE;
	} else {
		if (c->sb.status[0] != '\0')
			snprintf(line, len, "%s", c->sb.status);
		else
			snprintf(line, len, " tokmux  %d pane%s  %s ? help", st->npanes,
			    st->npanes == 1 ? "" : "s", st->prefix_name != NULL ? st->prefix_name : "Ctrl-g");
		*slot = THEME_STATUS;
		*extra = 0;
		return 0;
	}
	return 1;
}

void
chrome_draw_status(chrome_t *c, const struct layout *lay, const struct chrome_status *st)
{
	if (!lay->status_visible)
		return;
	char line[768];
	int slot;
	attr_t extra;
	chrome_status_text(c, st, line, sizeof line, &slot, &extra);
	chrome_style(c, stdscr, slot, extra);
	chrome_put(stdscr, lay->status.y, lay->status.x, lay->status.w, line);
	wattr_set(stdscr, A_NORMAL, 0, NULL);
}

int
chrome_draw_overlay(chrome_t *c, const struct layout *lay, int rows, int cols,
    const struct chrome_status *st)
{
	if (lay->status_visible)
		return 0;
	char line[768];
	int slot;
	attr_t extra;
	if (!chrome_status_text(c, st, line, sizeof line, &slot, &extra)) {
		int gone = c->overlay_shown;
		c->overlay_shown = 0;
		return gone;
	}
	WINDOW *w = newwin(1, cols, rows - 1, 0);
	if (w == NULL)
		return 0;
	chrome_style(c, w, slot, extra);
	chrome_put(w, 0, 0, cols, line);
	wnoutrefresh(w);
	delwin(w);
	c->overlay_shown = 1;
	return 0;
}

int
chrome_overlay_shown(const chrome_t *c)
{
	return c->overlay_shown;
}

/* ---- boxes ---- */

void
chrome_draw_box(chrome_t *c, int rows, int cols, const char *title,
    const char *const *text, int n, int sel, int mark)
{
	int maxw = title ? (int)strlen(title) : 0;
	for (int i = 0; i < n; i++)
		maxw = UTIL_MAX(maxw, (int)strlen(text[i]));
	int w = UTIL_MIN(maxw + 6, cols), h = UTIL_MIN(n + 2 + (title != NULL), rows);
	WINDOW *win = newwin(h, w, (rows - h) / 2, (cols - w) / 2);
	if (win == NULL)
		return;
	werase(win);
	chrome_style(c, win, THEME_BORDER_FOCUS, 0);
	if (h >= 3 && w >= 3) {
		if (c->utf8)
			box_set(win, WACS_VLINE, WACS_HLINE);   /* Unicode lines, not the ACS charset */
		else
			box(win, 0, 0);
	}
	chrome_style(c, win, THEME_TEXT, 0);
	int top = title != NULL;
	if (title)
		chrome_putn(win, 1, 2, w - 4, title, strlen(title), 0);
	int room = h - 2 - top;
	int first = sel >= room ? sel - room + 1 : 0;
	for (int i = 0; i < room && first + i < n; i++) {
		int k = first + i;
		char line[256];
		if (sel >= 0)
			snprintf(line, sizeof line, "%s %s%s", k == sel ? ">" : " ", text[k],
			    k == mark ? "  (now)" : "");
		else
			snprintf(line, sizeof line, "%s", text[k]);
		chrome_style(c, win, k == sel ? THEME_TITLE_FOCUS : THEME_TEXT, 0);
		chrome_putn(win, 1 + top + i, 2, w - 4, line, strlen(line), sel >= 0);
	}
	wattr_set(win, A_NORMAL, 0, NULL);
	wnoutrefresh(win);
	delwin(win);
}

void
chrome_draw_bar(chrome_t *c, void *win, int y, int w, const char *text)
{
	WINDOW *wn = win != NULL ? win : stdscr;
	chrome_style(c, wn, THEME_TITLE_FOCUS, 0);
	chrome_putn(wn, y, 0, w, text, strlen(text), 1);
	wattr_set(wn, A_NORMAL, 0, NULL);
}

/* ---- the sidebar ---- */

void
chrome_sidebar_draw(struct chrome_sidebar *sb, int row, const struct sidebar_line *l)
{
	if (sb->win == NULL || row < 0 || row >= sb->rows)
		return;
	chrome_t *c = sb->c;
	int kind = l->kind >= 0 && l->kind < SIDEBAR_KINDS ? l->kind : SIDEBAR_TEXT;
	size_t len = strnlen(l->text, sizeof l->text), at = 0;
	int col = 0;
	/* segments in order of offset; text between them in the line's kind */
	for (int k = 0; k <= l->nseg && col < sb->cols; k++) {
		size_t off = k < l->nseg ? UTIL_MIN(l->seg[k].off, len) : len;
		if (off > at) {
			chrome_style(c, sb->win, chrome_kind_slot[kind], 0);
			col += chrome_putn(sb->win, row, col, sb->cols - col, l->text + at, off - at, 0);
			at = off;
		}
		if (k < l->nseg && col < sb->cols) {
			size_t sl = UTIL_MIN((size_t)l->seg[k].len, len - at);
			int sk = l->seg[k].kind < SIDEBAR_KINDS ? l->seg[k].kind : SIDEBAR_TEXT;
			chrome_style(c, sb->win, chrome_kind_slot[sk], 0);
			col += chrome_putn(sb->win, row, col, sb->cols - col, l->text + at, sl, 0);
			at += sl;
		}
	}
	wattr_set(sb->win, A_NORMAL, 0, NULL);
}

void
chrome_sidebar_line(struct chrome_sidebar *sb, int row, int kind, const char *text)
{
	struct sidebar_line l = { .kind = kind };
	snprintf(l.text, sizeof l.text, "%s", text);
	chrome_sidebar_draw(sb, row, &l);
}

void
chrome_sidebar_status(struct chrome_sidebar *sb, const char *text)
{
	if (strcmp(sb->status, text) == 0)
		return;
	snprintf(sb->status, sizeof sb->status, "%s", text);
	sb->status_changed = 1;
}

void
chrome_sidebar_event(struct chrome_sidebar *sb, const char *text, int ring)
{
	snprintf(sb->event, sizeof sb->event, "%s", text);
	if (ring)
		sb->rings++;
}

int
chrome_sidebar_utf8(const struct chrome_sidebar *sb)
{
	return sb->c->utf8;
}

struct chrome_sidebar *
chrome_sidebar(chrome_t *c)
{
	return &c->sb;
}

void
chrome_sidebar_place(chrome_t *c, const struct rect *r)
{
	if (c->sb.win) {
		delwin(c->sb.win);
		c->sb.win = NULL;
	}
	if (r == NULL || r->h <= 0 || r->w <= 0)
		return;
	c->sb.win = newwin(r->h, r->w, r->y, r->x);
	c->sb.rows = r->h;
	c->sb.cols = r->w;
}

int
chrome_sidebar_rows(const chrome_t *c)
{
	return c->sb.win != NULL ? c->sb.rows : 0;
}

int
chrome_sidebar_cols(const chrome_t *c)
{
	return c->sb.cols;
}

void
chrome_sidebar_begin(chrome_t *c)
{
	if (c->sb.win != NULL)
		werase(c->sb.win);
}

void
chrome_sidebar_placeholder(chrome_t *c)
{
	chrome_sidebar_line(&c->sb, 0, SIDEBAR_BOLD, " tokmux");
	chrome_sidebar_line(&c->sb, 2, SIDEBAR_DIM, " metering gateway off");
}

void
chrome_sidebar_flush(chrome_t *c)
{
	if (c->sb.win != NULL)
		wnoutrefresh(c->sb.win);
}

int
chrome_sidebar_take(chrome_t *c, char *event, size_t len, int *rings)
{
	int changed = c->sb.status_changed;
	snprintf(event, len, "%s", c->sb.event);
	*rings = c->sb.rings;
	c->sb.status_changed = 0;
	c->sb.event[0] = '\0';
	c->sb.rings = 0;
	return changed;
}
