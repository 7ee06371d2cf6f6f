/*
 * ui: the main loop. One thread polls stdin, every pty master, a signalfd
 * and the gateway's wake fd. Pane output is always drained into the vt (a
 * bounded budget per pane per iteration, for fairness); drawing is
 * coalesced to at most ~60 frames a second and touches only dirty rows.
 * Curses is used from this thread only.
 */
#include "ui.h"

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <term.h>
#include <unistd.h>

#include "input.h"
#include "layout.h"
#include "outer.h"
#include "palette.h"
#include "pane.h"
#include "render.h"
#include "util.h"

#define UI_MAX_PANES 4
#define UI_MAX_ROUTES STATS_MAX_ROUTES   /* gateway routes: one per pane ever opened */
#define UI_FRAME_MS 16
#define UI_QUERY_MS 200         /* the terminal's answer to OSC 10/11 at start */
#define UI_READ_BUDGET (256 * 1024)
#define UI_SIDEBAR_COLS 34
#define UI_MSG_MS 4000
#define UI_SIDEBAR_MIN_MS 250    /* gateway wakes redraw the sidebar at most 4 times a second */
#define UI_PROMPT_MAX 32
#define UI_PICK_MAX 64
#define UI_LIST_MAX 24

enum ui_mode {
	MODE_NORMAL,
	MODE_SCROLL,      /* scrollback view of the focused pane */
	MODE_HELP,        /* help overlay: any key closes */
	MODE_CONFIRM,     /* y/n question */
	MODE_PROMPT,      /* a line of input at the bottom (the ceiling) */
	MODE_PICK,        /* choose from a list (the model) */
	MODE_LIST,        /* a read-only overlay (last requests): any key closes */
};

enum confirm_what {
	CONFIRM_QUIT,
	CONFIRM_CLOSE,
};

struct ui_pane {
	pane_t *pane;
	WINDOW *win;
	int scroll;               /* lines back into scrollback, 0 = live */
	uint64_t scroll_base;     /* grid_sb_pushed() when scroll was set */
	int full;                 /* needs a full redraw */
	char *name;
	int route;                /* gateway route, -1 none */
	int64_t last_input_ms;    /* last key sent to the pane */
	int64_t seen_output_ms;   /* pane_last_output() at the last sidebar refresh */
	char state[64];           /* from the sidebar callback, for the title */
	int alert;
	int watch_output, watch_input;
	int belled;               /* rang while not focused: "[bell]" in the title */
	unsigned title_serial;    /* vt_title_serial() shown in the title */
};

struct ui;

struct ui_sidebar {
	struct ui *u;
	WINDOW *win;
	int rows, cols;
	int utf8;
	char status[512];         /* the one-line status bar text, "" none */
};

struct ui {
	const struct ui_options *o;
	const struct config *cfg;
	outer_t *outer;           /* what ncurses cannot draw (outer.c) */
	uint8_t fg[3], bg[3];     /* the terminal's default colours, for panes */
	int has_fg, has_bg;
	struct ui_pane p[UI_MAX_PANES];
	int n;                    /* panes open */
	int focus;
	int zoomed;               /* pane index or -1 */
	int sidebar_on;
	struct layout lay;
	int rows, cols;
	enum ui_mode mode;
	enum confirm_what confirm;
	int confirm_arg;
	input_t *in;
	render_t *render;
	int color;
	int utf8;
	int sigfd;
	int chrome_dirty;         /* titles, separators, status */
	int sidebar_dirty;
	int resized;
	int quit;
	char msg[256];
	int64_t msg_until;
	int64_t last_frame;
	struct ui_sidebar sb;
	int overlay_shown;     /* the bottom-row overlay is on screen */
	int64_t sb_due;        /* the sidebar callback asked to be called again then; 0 never */
	int64_t sb_drawn;      /* when the sidebar was last drawn */
	struct theme theme;
	attr_t sattr[THEME_SLOTS];
	short spair[THEME_SLOTS];
	/* MODE_PROMPT */
	int prompt_pane;
	char prompt_buf[UI_PROMPT_MAX + 1];
	char prompt_now[32];
	char prompt_err[96];
	/* MODE_PICK */
	int pick_pane, pick_n, pick_sel, pick_cur;
	const char *pick_ids[UI_PICK_MAX];
	/* MODE_LIST */
	char *list[UI_LIST_MAX];
	int list_n;
	char list_title[96];
};

/* ---- panes ---- */

static const char *
ui_pane_cmd(struct ui *u, int slot)
{
	if (slot < 4 && u->o->cmds[slot] != NULL)
		return u->o->cmds[slot];
	if (slot < u->cfg->npanes && u->cfg->panes[slot].cmd != NULL)
		return u->cfg->panes[slot].cmd;
	return NULL;
}

static char *
ui_pane_name(struct ui *u, int slot)
{
	if (slot < 4 && u->o->names[slot] != NULL)
		return xstrdup(u->o->names[slot]);
	if (slot < u->cfg->npanes && u->cfg->panes[slot].name != NULL)
		return xstrdup(u->cfg->panes[slot].name);
	return xasprintf("pane %d", slot + 1);
}

static void
ui_message(struct ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ui_message(struct ui *u, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(u->msg, sizeof u->msg, fmt, ap);
	va_end(ap);
	u->msg_until = util_now_ms() + UI_MSG_MS;
	u->chrome_dirty = 1;
}

static int
ui_open_pane(struct ui *u, int slot, int rows, int cols)
{
	char *env[16] = {0};
	int nenv = 0, route = -1;
	char *name = ui_pane_name(u, slot);
	const char *cmd = ui_pane_cmd(u, slot);
	if (u->o->env_fn != NULL)
		nenv = u->o->env_fn(u->o->user, slot, name, cmd, env, 15, &route);
	if (nenv < 0) {
		ui_message(u, "cannot start pane %d: no gateway route left (%d per session), "
		    "it would not be metered", slot + 1, UI_MAX_ROUTES);
		free(name);
		return -1;
	}
	struct pane_spec spec = {
		.name = name,
		.cmd = cmd,
		.rows = rows,
		.cols = cols,
		.sb_lines = (size_t)u->cfg->scrollback_lines,
		.sb_bytes = u->cfg->scrollback_bytes,
		.env = env,
	};
	char *err = NULL;
	pane_t *p = pane_new(&spec, &err);
	for (int i = 0; i < nenv; i++)
		free(env[i]);
	if (p == NULL) {
		ui_message(u, "cannot start pane %d: %s", slot + 1, err);
		free(err);
		free(name);
		return -1;
	}
	memset(&u->p[slot], 0, sizeof u->p[slot]);
	u->p[slot].pane = p;
	u->p[slot].name = name;
	u->p[slot].full = 1;
	u->p[slot].route = route;
	vt_set_colors(pane_vt(p), u->has_fg ? u->fg : NULL, u->has_bg ? u->bg : NULL);
	return 0;
}

static void
ui_close_pane(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	if (up->win)
		delwin(up->win);
	pane_free(up->pane);
	free(up->name);
	for (int i = idx; i < u->n - 1; i++)
		u->p[i] = u->p[i + 1];
	u->n--;
	memset(&u->p[u->n], 0, sizeof u->p[u->n]);
	if (u->zoomed == idx)
		u->zoomed = -1;
	else if (u->zoomed > idx)
		u->zoomed--;
	if (u->focus >= u->n)
		u->focus = u->n - 1;
	if (u->focus < 0)
		u->focus = 0;
	u->resized = 1;
}

/* ---- geometry ---- */

static void
ui_relayout(struct ui *u)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		if (ws.ws_row != LINES || ws.ws_col != COLS)
			resizeterm(ws.ws_row, ws.ws_col);
	}
	u->rows = LINES;
	u->cols = COLS;
	layout_compute(u->rows, u->cols, u->n, u->zoomed, u->sidebar_on ? UI_SIDEBAR_COLS : 0, &u->lay);
	for (int i = 0; i < u->n; i++) {
		struct ui_pane *up = &u->p[i];
		const struct layout_pane *lp = &u->lay.pane[i];
		if (up->win) {
			delwin(up->win);
			up->win = NULL;
		}
		if (!lp->visible || lp->body.h < 1 || lp->body.w < 1)
			continue;
		up->win = newwin(lp->body.h, lp->body.w, lp->body.y, lp->body.x);
		if (up->win == NULL)
			continue;
		pane_resize(up->pane, lp->body.h, lp->body.w);
		up->full = 1;
	}
	if (u->sb.win) {
		delwin(u->sb.win);
		u->sb.win = NULL;
	}
	if (u->lay.sidebar_visible && u->lay.sidebar.h > 0 && u->lay.sidebar.w > 0) {
		u->sb.win = newwin(u->lay.sidebar.h, u->lay.sidebar.w, u->lay.sidebar.y, u->lay.sidebar.x);
		u->sb.rows = u->lay.sidebar.h;
		u->sb.cols = u->lay.sidebar.w;
	}
	clearok(curscr, TRUE);
	u->chrome_dirty = 1;
	u->sidebar_dirty = 1;
	u->resized = 0;
}

/* ---- drawing ---- */

/* Theme slot of each sidebar line kind. */
static const int kind_slot[SIDEBAR_KINDS] = {
	[SIDEBAR_TEXT] = THEME_TEXT, [SIDEBAR_BOLD] = THEME_BOLD, [SIDEBAR_DIM] = THEME_DIM,
	[SIDEBAR_WARN] = THEME_WARN, [SIDEBAR_ERROR] = THEME_ERROR, [SIDEBAR_BAR_OK] = THEME_BAR_OK,
	[SIDEBAR_BAR_WARN] = THEME_BAR_WARN, [SIDEBAR_BAR_OVER] = THEME_BAR_OVER,
	[SIDEBAR_SPARK] = THEME_SPARKLINE, [SIDEBAR_TITLE] = THEME_BOLD,
};

/* A theme colour as a curses colour number for this terminal; -1 default. */
static int
ui_color_num(int c)
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
ui_colors_init(struct ui *u)
{
	const char *nc = getenv("NO_COLOR");
	if (u->o->theme != NULL)
		u->theme = *u->o->theme;
	else
		theme_builtin(&u->theme, nc != NULL && nc[0] != '\0');
	u->color = !u->theme.mono && has_colors() && start_color() == OK;
	if (u->color)
		use_default_colors();
	for (int i = 0; i < THEME_SLOTS; i++) {
		const struct theme_style *st = &u->theme.style[i];
		attr_t a = 0;
		if (st->attrs & THEME_A_BOLD) a |= A_BOLD;
		if (st->attrs & THEME_A_DIM) a |= A_DIM;
		if (st->attrs & THEME_A_REVERSE) a |= A_REVERSE;
		if (st->attrs & THEME_A_UNDERLINE) a |= A_UNDERLINE;
		u->sattr[i] = a;
		u->spair[i] = 0;
		if (u->color) {
			int fg = ui_color_num(st->fg), bg = ui_color_num(st->bg);
			int pair = fg < 0 && bg < 0 ? 0 : alloc_pair(fg, bg);
			u->spair[i] = pair > 0 && pair < 32768 ? (short)pair : 0;
		}
	}
}

static void
ui_style(struct ui *u, WINDOW *w, int slot, attr_t extra)
{
	wattr_set(w, u->sattr[slot] | extra, u->spair[slot], NULL);
}

/* Print s in win at (y, x), at most w columns, padding with spaces to w if
 * pad. Returns the columns used. */
static int
ui_putn(WINDOW *win, int y, int x, int w, const char *s, size_t len, int pad)
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
ui_put(WINDOW *win, int y, int x, int w, const char *s)
{
	ui_putn(win, y, x, w, s, strlen(s), 1);
}

static void
ui_draw_title(struct ui *u, int i)
{
	const struct layout_pane *lp = &u->lay.pane[i];
	struct ui_pane *up = &u->p[i];
	if (!lp->visible || lp->title.w < 1)
		return;
	char state[128];
	if (pane_exited(up->pane)) {
		char ex[48];
		pane_exit_text(up->pane, ex, sizeof ex);
		snprintf(state, sizeof state, "%s: r restart, x close", ex);
	} else if (up->scroll > 0) {
		snprintf(state, sizeof state, "scrollback -%d", up->scroll);
	} else {
		snprintf(state, sizeof state, "%s", up->state[0] ? up->state : "running");
	}
	const char *title = vt_title(pane_vt(up->pane));
	int focused = i == u->focus;
	const char *mark = focused ? (u->utf8 ? "\xe2\x96\xb6" : ">") : " ";
	/* the state comes before the command: it must survive a narrow pane */
	const char *dot = u->utf8 ? "\xc2\xb7" : "-";
	char head[256], st[160], rest[512];
	snprintf(head, sizeof head, "%s %d %s %s ", mark, i + 1, up->name, dot);
	snprintf(st, sizeof st, "%s%s%s", state, up->belled ? " [bell]" : "", u->zoomed == i ? " [zoom]" : "");
	snprintf(rest, sizeof rest, " %s %s%s%s", dot, pane_cmd(up->pane), title[0] ? " : " : "", title);
	WINDOW *w = stdscr;
	int y = lp->title.y, x = lp->title.x, width = lp->title.w;
	int slot = focused ? THEME_TITLE_FOCUS : THEME_TITLE;
	ui_style(u, w, slot, 0);
	int used = ui_putn(w, y, x, width, head, strlen(head), 0);
	if (up->alert && !pane_exited(up->pane) && up->scroll == 0)
		ui_style(u, w, THEME_WARN, A_REVERSE);
	used += ui_putn(w, y, x + used, width - used, st, strlen(st), 0);
	ui_style(u, w, slot, 0);
	ui_putn(w, y, x + used, width - used, rest, strlen(rest), 1);
	wattr_set(w, A_NORMAL, 0, NULL);
}

/* Separators: every cell of the pane area not covered by a pane; those
 * next to the focused pane in the focused border's style. */
static void
ui_draw_separators(struct ui *u)
{
	int area_w = u->lay.sidebar_visible ? u->lay.sidebar.x : u->cols;
	int area_h = u->lay.status_visible ? u->lay.status.y : u->rows;
	for (int y = 0; y < area_h; y++) {
		for (int x = 0; x < area_w; x++) {
			if (layout_pane_at(&u->lay, y, x) >= 0)
				continue;
			int near = u->n > 1 && (layout_pane_at(&u->lay, y, x - 1) == u->focus ||
			    layout_pane_at(&u->lay, y, x + 1) == u->focus);
			ui_style(u, stdscr, near ? THEME_BORDER_FOCUS : THEME_BORDER, 0);
			if (u->utf8)
				mvaddstr(y, x, "\xe2\x94\x82");
			else
				mvaddch(y, x, '|');
		}
	}
	ui_style(u, stdscr, THEME_BORDER, 0);
	if (u->lay.sidebar_visible && u->lay.sidebar.x > 0) {
		for (int y = 0; y < u->lay.sidebar.h; y++)
			mvaddch(u->lay.sidebar.y + y, u->lay.sidebar.x - 1 < area_w ? u->lay.sidebar.x : u->lay.sidebar.x - 1, ' ');
	}
	wattr_set(stdscr, A_NORMAL, 0, NULL);
}

/* What the status line says now, with its style; 0 if nothing urgent
 * (then the status bar shows the idle text, and the overlay is not drawn). */
static int
ui_status_text(struct ui *u, char *line, size_t len, int *slot, attr_t *extra)
{
	*slot = THEME_WARN;
	*extra = A_BOLD | A_REVERSE;
	if (u->mode == MODE_PROMPT) {
		snprintf(line, len, " pane %d ceiling (now %s; dollars, 'none' removes; Enter sets, Esc cancels): %s_%s%s",
		    u->prompt_pane + 1, u->prompt_now, u->prompt_buf, u->prompt_err[0] ? "  " : "",
		    u->prompt_err);
		*slot = THEME_STATUS;
		*extra = A_REVERSE;
	} else if (u->mode == MODE_CONFIRM) {
		if (u->confirm == CONFIRM_QUIT)
			snprintf(line, len, " Quit tokmux and end every pane? (y/n)");
		else
			snprintf(line, len, " Close pane %d (%s)? Its program is still running. (y/n)",
			    u->confirm_arg + 1, u->p[u->confirm_arg].name);
	} else if (util_now_ms() < u->msg_until) {
		snprintf(line, len, " %s", u->msg);
	} else if (input_prefix_pending(u->in)) {
		snprintf(line, len, " prefix: 1-4 focus, z zoom, [ scroll, b ceiling, f model, m requests, s sidebar, q quit, ? help");
		*slot = THEME_TEXT;
		*extra = A_REVERSE;
	} else if (u->mode == MODE_SCROLL) {
		snprintf(line, len, " scrollback: PgUp/PgDn, arrows, g/G, q or Esc leaves");
		*slot = THEME_TEXT;
		*extra = A_REVERSE;
	} else {
		if (u->sb.status[0] != '\0')
			snprintf(line, len, "%s", u->sb.status);
		else
			snprintf(line, len, " tokmux  %d pane%s  Ctrl-g ? help", u->n, u->n == 1 ? "" : "s");
		*slot = THEME_STATUS;
		*extra = 0;
		return 0;
	}
	return 1;
}

/* The status bar (narrow terminals) lives on stdscr. */
static void
ui_draw_status(struct ui *u)
{
	if (!u->lay.status_visible)
		return;
	char line[768];
	int slot;
	attr_t extra;
	ui_status_text(u, line, sizeof line, &slot, &extra);
	ui_style(u, stdscr, slot, extra);
	ui_put(stdscr, u->lay.status.y, u->lay.status.x, u->lay.status.w, line);
	wattr_set(stdscr, A_NORMAL, 0, NULL);
}

/* Without a status bar, prompts and messages overlay the bottom row, drawn
 * after the panes. When the overlay goes away the panes redraw that row. */
static void
ui_draw_overlay(struct ui *u)
{
	if (u->lay.status_visible)
		return;
	char line[768];
	int slot;
	attr_t extra;
	int show = ui_status_text(u, line, sizeof line, &slot, &extra);
	if (!show) {
		if (u->overlay_shown) {
			u->overlay_shown = 0;
			u->chrome_dirty = 1;
			for (int i = 0; i < u->n; i++)
				u->p[i].full = 1;
		}
		return;
	}
	WINDOW *w = newwin(1, u->cols, u->rows - 1, 0);
	if (w == NULL)
		return;
	ui_style(u, w, slot, extra);
	ui_put(w, 0, 0, u->cols, line);
	wnoutrefresh(w);
	delwin(w);
	u->overlay_shown = 1;
}

void
ui_sidebar_draw(struct ui_sidebar *sb, int row, const struct sidebar_line *l)
{
	if (sb->win == NULL || row < 0 || row >= sb->rows)
		return;
	struct ui *u = sb->u;
	int kind = l->kind >= 0 && l->kind < SIDEBAR_KINDS ? l->kind : SIDEBAR_TEXT;
	size_t len = strnlen(l->text, sizeof l->text), at = 0;
	int col = 0;
	/* segments in order of offset; text between them in the line's kind */
	for (int k = 0; k <= l->nseg && col < sb->cols; k++) {
		size_t off = k < l->nseg ? UTIL_MIN(l->seg[k].off, len) : len;
		if (off > at) {
			ui_style(u, sb->win, kind_slot[kind], 0);
			col += ui_putn(sb->win, row, col, sb->cols - col, l->text + at, off - at, 0);
			at = off;
		}
		if (k < l->nseg && col < sb->cols) {
			size_t sl = UTIL_MIN((size_t)l->seg[k].len, len - at);
			int sk = l->seg[k].kind < SIDEBAR_KINDS ? l->seg[k].kind : SIDEBAR_TEXT;
			ui_style(u, sb->win, kind_slot[sk], 0);
			col += ui_putn(sb->win, row, col, sb->cols - col, l->text + at, sl, 0);
			at += sl;
		}
	}
	wattr_set(sb->win, A_NORMAL, 0, NULL);
}

void
ui_sidebar_line(struct ui_sidebar *sb, int row, int kind, const char *text)
{
	struct sidebar_line l = { .kind = kind };
	snprintf(l.text, sizeof l.text, "%s", text);
	ui_sidebar_draw(sb, row, &l);
}

void
ui_sidebar_status(struct ui_sidebar *sb, const char *text)
{
	if (strcmp(sb->status, text) == 0)
		return;
	snprintf(sb->status, sizeof sb->status, "%s", text);
	sb->u->chrome_dirty = 1;
}

void
ui_sidebar_event(struct ui_sidebar *sb, const char *text, int ring)
{
	ui_message(sb->u, "%s", text);
	if (ring && sb->u->o->ring_bell)
		beep();
}

int
ui_sidebar_utf8(const struct ui_sidebar *sb)
{
	return sb->utf8;
}

/* Call the sidebar callback: it draws the sidebar (if shown), the status
 * line and the panes' states. */
static void
ui_refresh_sidebar(struct ui *u)
{
	int64_t now = util_now_ms();
	u->sb.u = u;
	u->sb.utf8 = u->utf8;
	if (u->sb.win != NULL)
		werase(u->sb.win);
	if (u->o->sidebar_fn == NULL) {
		ui_sidebar_line(&u->sb, 0, SIDEBAR_BOLD, " tokmux");
		ui_sidebar_line(&u->sb, 2, SIDEBAR_DIM, " metering gateway off");
		u->sb_due = 0;
	} else {
		struct ui_pane_info info[UI_MAX_PANES];
		for (int i = 0; i < u->n; i++) {
			info[i] = (struct ui_pane_info){
				.name = u->p[i].name,
				.cmd = pane_cmd(u->p[i].pane),
				.route = u->p[i].route,
				.focused = i == u->focus,
				.exited = pane_exited(u->p[i].pane),
				.last_output_ms = pane_last_output(u->p[i].pane),
				.last_input_ms = u->p[i].last_input_ms,
			};
		}
		int due = u->o->sidebar_fn(u->o->user, &u->sb, u->sb.win ? u->sb.rows : 0,
		    u->sb.cols, info, u->n);
		u->sb_due = due >= 0 ? now + due : 0;
		for (int i = 0; i < u->n; i++) {
			struct ui_pane *up = &u->p[i];
			if (strcmp(up->state, info[i].state) != 0 || up->alert != info[i].alert) {
				snprintf(up->state, sizeof up->state, "%s", info[i].state);
				up->alert = info[i].alert;
				u->chrome_dirty = 1;
			}
			up->watch_output = info[i].watch_output;
			up->watch_input = info[i].watch_input;
			up->seen_output_ms = info[i].last_output_ms;
		}
	}
	u->sb_drawn = now;
}

static const char *ui_help_lines[] = {
	"tokmux keys (prefix Ctrl-g, then:)",
	"",
	"  1-4          focus pane N (also Alt-1..Alt-4 without prefix)",
	"  arrows hjkl  focus the pane in that direction",
	"  z            zoom the focused pane / unzoom",
	"  [            scrollback: PgUp PgDn arrows g G, q or Esc leaves",
	"  c            new pane (up to 4)",
	"  x            close the focused pane (asks if it still runs)",
	"  r            restart the focused pane's command after it exited",
	"  b            set the focused pane's spend ceiling (a prompt line)",
	"  f            choose the focused pane's model override",
	"  m            the focused pane's last 20 requests",
	"  s            show / hide the sidebar",
	"  Ctrl-l       redraw the screen",
	"  q            quit (asks)",
	"  ?            this help",
	"  Ctrl-g       (twice) send Ctrl-g to the pane",
	"",
	"Mouse: click focuses a pane, the wheel scrolls its scrollback.",
	"",
	"Sidebar symbols:",
	"  \xe2\x96\xb6 / >        the focused pane",
	"  \xe2\x96\x88\xe2\x96\x88\xe2\x96\x91\xe2\x96\x91 / ##--  spent of a ceiling, or headroom left of a rate limit",
	"               (green fine, yellow past the warning, red at the limit)",
	"  ~            an estimate: unpriced models, reservations in flight",
	"  \xe2\x86\x93model / vmodel  a fallback model is in use",
	"  (set)        a model override chosen with f",
	"  429 / 529    rate-limited / overloaded answers, counted apart",
	"  in out cr cw tokens: input, output, cache read, cache write",
	"  \xe2\x96\x81\xe2\x96\x83\xe2\x96\x85\xe2\x96\x88         tokens per minute over the last 30 minutes",
	"  key 1a2b3c4d rate-limit headroom of an API key, time to reset",
	"  5h 7d        subscription usage windows",
	"  paced        held back after a 429; circuit open: stopped",
	"  states       working, waiting for you, idle, exited",
	"",
	"Press any key to close this help.",
};

/* A boxed overlay of lines, centred; sel >= 0 marks a selected line. */
static void
ui_draw_box(struct ui *u, const char *title, const char *const *text, int n, int sel, int mark)
{
	int maxw = title ? (int)strlen(title) : 0;
	for (int i = 0; i < n; i++)
		maxw = UTIL_MAX(maxw, (int)strlen(text[i]));
	int w = UTIL_MIN(maxw + 6, u->cols), h = UTIL_MIN(n + 2 + (title != NULL), u->rows);
	int y0 = (u->rows - h) / 2, x0 = (u->cols - w) / 2;
	WINDOW *win = newwin(h, w, y0, x0);
	if (win == NULL)
		return;
	werase(win);
	ui_style(u, win, THEME_BORDER_FOCUS, 0);
	if (h >= 3 && w >= 3) {
		if (u->utf8)
			box_set(win, WACS_VLINE, WACS_HLINE);   /* Unicode lines, not the ACS charset */
		else
			box(win, 0, 0);
	}
	ui_style(u, win, THEME_TEXT, 0);
	int top = title != NULL;
	if (title)
		ui_putn(win, 1, 2, w - 4, title, strlen(title), 0);
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
		ui_style(u, win, k == sel ? THEME_TITLE_FOCUS : THEME_TEXT, 0);
		ui_putn(win, 1 + top + i, 2, w - 4, line, strlen(line), sel >= 0);
	}
	wattr_set(win, A_NORMAL, 0, NULL);
	wnoutrefresh(win);
	delwin(win);
}

static void
ui_draw_help(struct ui *u)
{
	ui_draw_box(u, NULL, ui_help_lines, (int)UTIL_ARRAY_LEN(ui_help_lines), -1, -1);
}

static void
ui_draw_pick(struct ui *u)
{
	const char *names[UI_PICK_MAX];
	for (int i = 0; i < u->pick_n; i++)
		names[i] = u->pick_ids[i] ? u->pick_ids[i] : "(no override: the model the agent asks for)";
	char title[96];
	snprintf(title, sizeof title, "pane %d model (arrows/jk move, Enter sets, Esc cancels)",
	    u->pick_pane + 1);
	ui_draw_box(u, title, names, u->pick_n, u->pick_sel, u->pick_cur);
}

static void
ui_draw_list(struct ui *u)
{
	ui_draw_box(u, u->list_title, (const char *const *)u->list, u->list_n, -1, -1);
}

/* Gateway wakes redraw the sidebar at most every UI_SIDEBAR_MIN_MS. */
static int
ui_sidebar_ready(struct ui *u)
{
	return util_now_ms() - u->sb_drawn >= UI_SIDEBAR_MIN_MS;
}

static void
ui_draw(struct ui *u)
{
	/* first: the callback may change the panes' states in their titles */
	int sidebar_now = u->chrome_dirty || (u->sidebar_dirty && ui_sidebar_ready(u));
	if (sidebar_now)
		ui_refresh_sidebar(u);
	if (u->chrome_dirty) {
		for (int i = 0; i < u->n; i++)
			ui_draw_title(u, i);
		ui_draw_separators(u);
		ui_draw_status(u);
		wnoutrefresh(stdscr);
	}
	for (int i = 0; i < u->n; i++) {
		struct ui_pane *up = &u->p[i];
		if (up->win == NULL)
			continue;
		grid_t *g = vt_grid(pane_vt(up->pane));
		int full = up->full || u->chrome_dirty;
		if (up->scroll > 0) {
			/* keep the viewer's place as new lines arrive */
			uint64_t pushed = grid_sb_pushed(g);
			if (pushed != up->scroll_base) {
				up->scroll += (int)(pushed - up->scroll_base);
				up->scroll_base = pushed;
				size_t cnt = grid_sb_count(g);
				if ((size_t)up->scroll > cnt)
					up->scroll = (int)cnt;
				full = 1;
			}
		}
		if (!full && !grid_any_dirty(g))
			continue;
		render_grid(u->render, up->win, g, getmaxy(up->win), getmaxx(up->win), up->scroll,
		    vt_reverse(pane_vt(up->pane)), full);
		grid_clean(g);
		up->full = 0;
		wnoutrefresh(up->win);
	}
	/* after stdscr, which covers the sidebar's columns too */
	if (sidebar_now && u->sb.win != NULL)
		wnoutrefresh(u->sb.win);
	if (u->mode == MODE_HELP)
		ui_draw_help(u);
	else if (u->mode == MODE_PICK)
		ui_draw_pick(u);
	else if (u->mode == MODE_LIST)
		ui_draw_list(u);
	ui_draw_overlay(u);
	/* the cursor belongs to the focused pane, drawn last */
	int show = 0;
	if (u->mode == MODE_NORMAL && u->n > 0 && u->p[u->focus].win != NULL && u->p[u->focus].scroll == 0) {
		int r, c, vis;
		vt_t *vt = pane_vt(u->p[u->focus].pane);
		vt_cursor(vt, &r, &c, &vis);
		WINDOW *w = u->p[u->focus].win;
		if (vis && r < getmaxy(w) && c < getmaxx(w)) {
			wmove(w, r, c);
			wnoutrefresh(w);
			show = 1;
		}
	}
	curs_set(show);
	doupdate();
	if (u->n > 0)
		outer_cursor_style(u->outer, vt_cursor_style(pane_vt(u->p[u->focus].pane)));
	outer_flush(u->outer);
	u->chrome_dirty = 0;
	if (sidebar_now)
		u->sidebar_dirty = 0;
	u->last_frame = util_now_ms();
}

static int
ui_needs_draw(struct ui *u)
{
	if (u->chrome_dirty || (u->sidebar_dirty && ui_sidebar_ready(u)))
		return 1;
	for (int i = 0; i < u->n; i++) {
		if (u->p[i].full || grid_any_dirty(vt_grid(pane_vt(u->p[i].pane))))
			return 1;
	}
	return 0;
}

/* ---- actions ---- */

/* A BEL from a pane's program: the focused pane rings the terminal's bell,
 * another pane gets "[bell]" in its title until it is focused. */
static void
ui_pane_bell(struct ui *u, int i)
{
	if (!vt_take_bell(pane_vt(u->p[i].pane)))
		return;
	if (i == u->focus) {
		beep();
	} else if (!u->p[i].belled) {
		u->p[i].belled = 1;
		u->chrome_dirty = 1;
	}
}

static void
ui_set_focus(struct ui *u, int i)
{
	if (i < 0 || i >= u->n || i == u->focus)
		return;
	if (u->mode == MODE_SCROLL)
		u->mode = MODE_NORMAL;
	vt_focus(pane_vt(u->p[u->focus].pane), 0);
	u->focus = i;
	u->p[i].belled = 0;
	vt_focus(pane_vt(u->p[i].pane), 1);
	if (u->zoomed >= 0 && u->zoomed != i) {
		u->zoomed = i;
		u->resized = 1;
	}
	u->chrome_dirty = 1;
}

static void
ui_scroll(struct ui *u, int idx, int delta)
{
	struct ui_pane *up = &u->p[idx];
	grid_t *g = vt_grid(pane_vt(up->pane));
	if (vt_altscreen(pane_vt(up->pane)) && up->scroll == 0)
		return;   /* full-screen programs have no scrollback */
	long s = (long)up->scroll + delta;
	long max = (long)grid_sb_count(g);
	if (s > max)
		s = max;
	if (s < 0)
		s = 0;
	if (s == up->scroll)
		return;
	if (up->scroll == 0)
		up->scroll_base = grid_sb_pushed(g);
	up->scroll = (int)s;
	up->full = 1;
	u->chrome_dirty = 1;
	if (s == 0 && u->mode == MODE_SCROLL && idx == u->focus)
		u->mode = MODE_NORMAL;
}

static void
ui_new_pane(struct ui *u)
{
	if (u->n >= UI_MAX_PANES) {
		ui_message(u, "tokmux shows at most 4 panes");
		return;
	}
	if (ui_open_pane(u, u->n, 10, 40) == 0) {
		u->n++;
		u->focus = u->n - 1;
		u->zoomed = -1;
		u->resized = 1;
	}
}

static void
ui_ask_close(struct ui *u, int idx)
{
	if (pane_exited(u->p[idx].pane) || pane_closed(u->p[idx].pane)) {
		ui_close_pane(u, idx);
		if (u->n == 0)
			u->quit = 1;
		return;
	}
	u->mode = MODE_CONFIRM;
	u->confirm = CONFIRM_CLOSE;
	u->confirm_arg = idx;
	u->chrome_dirty = 1;
}

static void
ui_restart(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	if (!pane_exited(up->pane)) {
		ui_message(u, "pane %d is still running", idx + 1);
		return;
	}
	char *err = NULL;
	if (pane_restart(up->pane, &err) < 0) {
		ui_message(u, "restart failed: %s", err);
		free(err);
	}
	up->full = 1;
	u->chrome_dirty = 1;
}

/* Send an event that is meant for the focused pane's program. */
static void
ui_send(struct ui *u, const struct input_event *ev)
{
	if (u->n == 0)
		return;
	struct ui_pane *up = &u->p[u->focus];
	if (pane_exited(up->pane) && pane_closed(up->pane)) {
		/* nothing to type into: r restarts, x closes */
		if (ev->kind == INPUT_CHAR && (ev->ch == 'r' || ev->ch == 'R'))
			ui_restart(u, u->focus);
		else if (ev->kind == INPUT_CHAR && (ev->ch == 'x' || ev->ch == 'X'))
			ui_ask_close(u, u->focus);
		return;
	}
	if (up->scroll > 0) {
		up->scroll = 0;     /* typing returns to the live screen */
		up->full = 1;
		u->chrome_dirty = 1;
		if (u->mode == MODE_SCROLL)
			u->mode = MODE_NORMAL;
	}
	up->last_input_ms = util_now_ms();
	if (up->watch_input)
		u->sidebar_dirty = 1;
	vt_t *vt = pane_vt(up->pane);
	switch (ev->kind) {
	case INPUT_KEY: vt_key(vt, ev->key, ev->mod); break;
	case INPUT_CHAR: vt_unichar(vt, ev->ch, ev->mod); break;
	case INPUT_PASTE_START: vt_paste(vt, 1); break;
	case INPUT_PASTE_END: vt_paste(vt, 0); break;
	default: break;
	}
}

static void
ui_mouse(struct ui *u)
{
	MEVENT me;
	if (getmouse(&me) != OK)
		return;
	int idx = layout_pane_at(&u->lay, me.y, me.x);
	if (idx < 0 || idx >= u->n)
		return;
	struct ui_pane *up = &u->p[idx];
	const struct layout_pane *lp = &u->lay.pane[idx];
	vt_t *vt = pane_vt(up->pane);
	int row = me.y - lp->body.y, col = me.x - lp->body.x;
	int in_body = row >= 0 && col >= 0 && row < lp->body.h && col < lp->body.w;
	int forward = in_body && up->scroll == 0 && vt_mouse_mode(vt) != VT_MOUSE_NONE;
	int wheel = 0;
	if (me.bstate & BUTTON4_PRESSED)
		wheel = 4;
#ifdef BUTTON5_PRESSED
	else if (me.bstate & BUTTON5_PRESSED)
		wheel = 5;
#endif
	if (wheel) {
		if (forward) {
			vt_mouse(vt, row, col, wheel, 1, 0);
		} else {
			ui_set_focus(u, idx);
			ui_scroll(u, idx, wheel == 4 ? 3 : -3);
		}
		return;
	}
	int button = 0, pressed = 0;
	if (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) { button = 1; pressed = 1; }
	else if (me.bstate & BUTTON1_RELEASED) { button = 1; pressed = 0; }
	else if (me.bstate & (BUTTON2_PRESSED | BUTTON2_CLICKED)) { button = 2; pressed = 1; }
	else if (me.bstate & BUTTON2_RELEASED) { button = 2; pressed = 0; }
	else if (me.bstate & (BUTTON3_PRESSED | BUTTON3_CLICKED)) { button = 3; pressed = 1; }
	else if (me.bstate & BUTTON3_RELEASED) { button = 3; pressed = 0; }
	if (button && pressed)
		ui_set_focus(u, idx);
	if (forward && button) {
		vt_mouse(vt, row, col, button, pressed, 0);
		if (me.bstate & (BUTTON1_CLICKED | BUTTON2_CLICKED | BUTTON3_CLICKED))
			vt_mouse(vt, row, col, button, 0, 0);
	}
}

static void
ui_scroll_key(struct ui *u, const struct input_event *ev)
{
	int page = UTIL_MAX(1, pane_rows(u->p[u->focus].pane) - 1);
	if (ev->kind == INPUT_CHAR && (ev->ch == 'q' || ev->ch == 27)) {
		u->p[u->focus].scroll = 0;
		u->p[u->focus].full = 1;
		u->mode = MODE_NORMAL;
		u->chrome_dirty = 1;
		return;
	}
	if (ev->kind == INPUT_CHAR) {
		switch (ev->ch) {
		case 'k': ui_scroll(u, u->focus, 1); break;
		case 'j': ui_scroll(u, u->focus, -1); break;
		case 'b': case 2: ui_scroll(u, u->focus, page); break;
		case ' ': case 'f': case 6: ui_scroll(u, u->focus, -page); break;
		case 'g': ui_scroll(u, u->focus, 1 << 30); break;
		case 'G': ui_scroll(u, u->focus, -(1 << 30)); break;
		}
		return;
	}
	if (ev->kind != INPUT_KEY)
		return;
	if (input_key_is(ev, INPUT_KEYNAME_ESCAPE)) {
		u->p[u->focus].scroll = 0;
		u->p[u->focus].full = 1;
		u->mode = MODE_NORMAL;
		u->chrome_dirty = 1;
	} else if (input_key_is(ev, INPUT_KEYNAME_UP))
		ui_scroll(u, u->focus, 1);
	else if (input_key_is(ev, INPUT_KEYNAME_DOWN))
		ui_scroll(u, u->focus, -1);
	else if (input_key_is(ev, INPUT_KEYNAME_PAGEUP))
		ui_scroll(u, u->focus, page);
	else if (input_key_is(ev, INPUT_KEYNAME_PAGEDOWN))
		ui_scroll(u, u->focus, -page);
	else if (input_key_is(ev, INPUT_KEYNAME_HOME))
		ui_scroll(u, u->focus, 1 << 30);
	else if (input_key_is(ev, INPUT_KEYNAME_END))
		ui_scroll(u, u->focus, -(1 << 30));
}

/* ---- in-app controls ---- */

static void
ui_overlay_close(struct ui *u)
{
	u->mode = MODE_NORMAL;
	u->chrome_dirty = 1;
	for (int i = 0; i < u->n; i++)
		u->p[i].full = 1;
	clearok(curscr, TRUE);
}

/* The focused pane's route if the control can be used on it, else -1 (and
 * a message saying why). */
static int
ui_control_route(struct ui *u, const void *fn, const char *what)
{
	if (u->n == 0)
		return -1;
	if (fn == NULL) {
		ui_message(u, "%s: not available", what);
		return -1;
	}
	if (u->p[u->focus].route < 0) {
		ui_message(u, "pane %d goes past the gateway: no %s", u->focus + 1, what);
		return -1;
	}
	return u->p[u->focus].route;
}

static void
ui_ceiling_start(struct ui *u)
{
	const struct ui_controls *c = &u->o->controls;
	int route = ui_control_route(u, (const void *)c->set_ceiling, "ceiling");
	if (route < 0)
		return;
	int64_t cur = c->current_ceiling ? c->current_ceiling(u->o->user, route) : -1;
	if (cur >= 0)
		util_fmt_usd(cur, u->prompt_now, sizeof u->prompt_now);
	else
		snprintf(u->prompt_now, sizeof u->prompt_now, "none");
	u->mode = MODE_PROMPT;
	u->prompt_pane = u->focus;
	u->prompt_buf[0] = '\0';
	u->prompt_err[0] = '\0';
	u->chrome_dirty = 1;
}

static void
ui_ceiling_submit(struct ui *u)
{
	const char *s = u->prompt_buf;
	while (*s == ' ')
		s++;
	int64_t micros;
	if (*s == '\0' || strcmp(s, "none") == 0 || strcmp(s, "off") == 0) {
		micros = -1;
	} else if (util_parse_usd(s, &micros) < 0) {
		snprintf(u->prompt_err, sizeof u->prompt_err,
		    "[not a dollar amount: try 5 or 2.50, or none]");
		u->chrome_dirty = 1;
		return;
	}
	int idx = u->prompt_pane;
	u->mode = MODE_NORMAL;
	u->chrome_dirty = 1;
	if (idx >= u->n)
		return;
	char *err = NULL;
	if (u->o->controls.set_ceiling(u->o->user, u->p[idx].route, micros, &err) < 0) {
		ui_message(u, "pane %d ceiling not set: %s", idx + 1, err ? err : "refused");
		free(err);
		return;
	}
	char usd[24];
	util_fmt_usd(micros, usd, sizeof usd);
	if (micros < 0)
		ui_message(u, "pane %d ceiling removed", idx + 1);
	else
		ui_message(u, "pane %d ceiling set to %s", idx + 1, usd);
	u->sidebar_dirty = 1;
}

static void
ui_prompt_key(struct ui *u, const struct input_event *ev)
{
	size_t len = strlen(u->prompt_buf);
	if (input_key_is(ev, INPUT_KEYNAME_ESCAPE)) {
		u->mode = MODE_NORMAL;
	} else if (input_key_is(ev, INPUT_KEYNAME_ENTER)) {
		ui_ceiling_submit(u);
	} else if (input_key_is(ev, INPUT_KEYNAME_BACKSPACE)) {
		if (len > 0)
			u->prompt_buf[len - 1] = '\0';
		u->prompt_err[0] = '\0';
	} else if (ev->kind == INPUT_CHAR && ev->ch == 21) {     /* Ctrl-U */
		u->prompt_buf[0] = '\0';
	} else if (ev->kind == INPUT_CHAR && ev->ch >= 32 && ev->ch < 127 && len < UI_PROMPT_MAX) {
		u->prompt_buf[len] = (char)ev->ch;
		u->prompt_buf[len + 1] = '\0';
		u->prompt_err[0] = '\0';
	}
	u->chrome_dirty = 1;
}

static void
ui_model_start(struct ui *u)
{
	const struct ui_controls *c = &u->o->controls;
	int route = ui_control_route(u, (const void *)c->set_model, "model override");
	if (route < 0)
		return;
	u->pick_ids[0] = NULL;
	u->pick_n = 1;
	if (c->models != NULL)
		u->pick_n += c->models(u->o->user, u->pick_ids + 1, UI_PICK_MAX - 1);
	const char *cur = c->current_model ? c->current_model(u->o->user, route) : NULL;
	u->pick_cur = 0;
	for (int i = 1; cur != NULL && i < u->pick_n; i++)
		if (strcmp(u->pick_ids[i], cur) == 0)
			u->pick_cur = i;
	u->pick_sel = u->pick_cur;
	u->pick_pane = u->focus;
	u->mode = MODE_PICK;
	u->chrome_dirty = 1;
}

static void
ui_pick_key(struct ui *u, const struct input_event *ev)
{
	int up = input_key_is(ev, INPUT_KEYNAME_UP) || (ev->kind == INPUT_CHAR && ev->ch == 'k');
	int down = input_key_is(ev, INPUT_KEYNAME_DOWN) || (ev->kind == INPUT_CHAR && ev->ch == 'j');
	if (up && u->pick_sel > 0)
		u->pick_sel--;
	else if (down && u->pick_sel < u->pick_n - 1)
		u->pick_sel++;
	else if (input_key_is(ev, INPUT_KEYNAME_HOME))
		u->pick_sel = 0;
	else if (input_key_is(ev, INPUT_KEYNAME_END))
		u->pick_sel = u->pick_n - 1;
	else if (input_key_is(ev, INPUT_KEYNAME_ESCAPE) || (ev->kind == INPUT_CHAR && ev->ch == 'q'))
		ui_overlay_close(u);
	else if (input_key_is(ev, INPUT_KEYNAME_ENTER)) {
		ui_overlay_close(u);
		int idx = u->pick_pane;
		if (idx >= u->n)
			return;
		const char *model = u->pick_ids[u->pick_sel];
		char *err = NULL;
		if (u->o->controls.set_model(u->o->user, u->p[idx].route, model, &err) < 0) {
			ui_message(u, "pane %d model not set: %s", idx + 1, err ? err : "refused");
			free(err);
			return;
		}
		if (model != NULL)
			ui_message(u, "pane %d now uses %s", idx + 1, model);
		else
			ui_message(u, "pane %d: no model override", idx + 1);
		u->sidebar_dirty = 1;
	}
	u->chrome_dirty = 1;
}

static void
ui_list_free(struct ui *u)
{
	for (int i = 0; i < u->list_n; i++)
		free(u->list[i]);
	u->list_n = 0;
}

static void
ui_requests_start(struct ui *u)
{
	const struct ui_controls *c = &u->o->controls;
	int route = ui_control_route(u, (const void *)c->requests, "request list");
	if (route < 0)
		return;
	ui_list_free(u);
	u->list_n = c->requests(u->o->user, route, u->list, UI_LIST_MAX);
	if (u->list_n <= 1) {
		ui_list_free(u);
		ui_message(u, "pane %d has made no requests yet", u->focus + 1);
		return;
	}
	snprintf(u->list_title, sizeof u->list_title,
	    "pane %d %s: last requests, newest first (any key closes)", u->focus + 1, u->p[u->focus].name);
	u->mode = MODE_LIST;
	u->chrome_dirty = 1;
}

static void
ui_event(struct ui *u, const struct input_event *ev)
{
	if (ev->kind == INPUT_RESIZE) {
		u->resized = 1;
		return;
	}
	if (ev->kind == INPUT_MOUSE) {
		ui_mouse(u);
		return;
	}
	if (u->mode == MODE_HELP || u->mode == MODE_LIST) {
		if (ev->kind != INPUT_NONE) {
			ui_overlay_close(u);
			ui_list_free(u);
		}
		return;
	}
	if (u->mode == MODE_PROMPT) {
		ui_prompt_key(u, ev);
		return;
	}
	if (u->mode == MODE_PICK) {
		ui_pick_key(u, ev);
		return;
	}
	if (u->mode == MODE_CONFIRM) {
		if (ev->kind != INPUT_CHAR)
			return;
		int yes = ev->ch == 'y' || ev->ch == 'Y';
		u->mode = MODE_NORMAL;
		u->chrome_dirty = 1;
		if (!yes)
			return;
		if (u->confirm == CONFIRM_QUIT) {
			u->quit = 1;
		} else if (u->confirm_arg < u->n) {
			ui_close_pane(u, u->confirm_arg);
			if (u->n == 0)
				u->quit = 1;
		}
		return;
	}
	switch (ev->kind) {
	case INPUT_FOCUS: ui_set_focus(u, ev->arg); return;
	case INPUT_FOCUS_DIR: ui_set_focus(u, layout_neighbor(&u->lay, u->focus, ev->dy, ev->dx)); return;
	case INPUT_ZOOM:
		u->zoomed = u->zoomed >= 0 ? -1 : u->focus;
		u->resized = 1;
		return;
	case INPUT_SCROLL_MODE:
		if (u->n > 0 && !vt_altscreen(pane_vt(u->p[u->focus].pane))) {
			u->mode = MODE_SCROLL;
			u->chrome_dirty = 1;
		} else {
			ui_message(u, "no scrollback in a full-screen program");
		}
		return;
	case INPUT_NEW_PANE: ui_new_pane(u); return;
	case INPUT_CLOSE_PANE: if (u->n > 0) ui_ask_close(u, u->focus); return;
	case INPUT_RESTART: if (u->n > 0) ui_restart(u, u->focus); return;
	case INPUT_QUIT:
		u->mode = MODE_CONFIRM;
		u->confirm = CONFIRM_QUIT;
		u->chrome_dirty = 1;
		return;
	case INPUT_HELP:
		u->mode = MODE_HELP;
		u->chrome_dirty = 1;
		return;
	case INPUT_SIDEBAR:
		u->sidebar_on = !u->sidebar_on;
		u->resized = 1;
		return;
	case INPUT_REDRAW:
		clearok(curscr, TRUE);
		u->resized = 1;
		return;
	case INPUT_CEILING: ui_ceiling_start(u); return;
	case INPUT_MODEL: ui_model_start(u); return;
	case INPUT_REQUESTS: ui_requests_start(u); return;
	case INPUT_NONE:
		return;
	default:
		break;
	}
	if (u->mode == MODE_SCROLL) {
		ui_scroll_key(u, ev);
		return;
	}
	ui_send(u, ev);
}

static void
ui_read_input(struct ui *u)
{
	struct input_event ev[INPUT_EVENTS_MAX];
	wint_t wc;
	int rc, n;
	int was_pending = input_prefix_pending(u->in);
	for (int i = 0; i < 4096; i++) {
		rc = wget_wch(stdscr, &wc);
		if (rc == ERR)
			break;
		n = input_feed(u->in, rc, wc, ev, INPUT_EVENTS_MAX);
		for (int k = 0; k < n && !u->quit; k++)
			ui_event(u, &ev[k]);
	}
	n = input_flush(u->in, ev, INPUT_EVENTS_MAX);
	for (int k = 0; k < n && !u->quit; k++)
		ui_event(u, &ev[k]);
	if (was_pending || input_prefix_pending(u->in))
		u->chrome_dirty = 1;
}

/* ---- signals ---- */

static void
ui_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGWINCH);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void
ui_block_signals(void)
{
	sigset_t set;
	ui_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static int
ui_signals_open(void)
{
	sigset_t set;
	ui_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
ui_reap(struct ui *u)
{
	pid_t pid;
	int st;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < u->n; i++) {
			if (pane_pid(u->p[i].pane) == pid) {
				pane_set_exit(u->p[i].pane, st);
				u->chrome_dirty = 1;
			}
		}
	}
}

static void
ui_read_signals(struct ui *u)
{
	struct signalfd_siginfo si;
	while (read(u->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGWINCH: u->resized = 1; break;
		case SIGCHLD: ui_reap(u); break;
		case SIGINT: /* raw mode: ^C goes to panes; a signal means someone else sent it */
		case SIGTERM:
		case SIGHUP: u->quit = 1; break;
		}
	}
}

/* ---- the loop ---- */

static int
ui_poll_timeout(struct ui *u)
{
	int64_t now = util_now_ms();
	int t = -1;
	if (ui_needs_draw(u)) {
		int64_t due = u->last_frame + UI_FRAME_MS - now;
		t = due > 0 ? (int)due : 0;
	}
	if (u->msg_until > now) {
		int m = (int)(u->msg_until - now) + 1;
		if (t < 0 || m < t)
			t = m;
	}
	int64_t due = -1;
	if (u->sidebar_dirty)
		due = u->sb_drawn + UI_SIDEBAR_MIN_MS;
	if (u->sb_due > 0 && (due < 0 || u->sb_due < due))
		due = u->sb_due;
	if (due >= 0) {
		int m = due > now ? (int)(due - now) : 0;
		if (t < 0 || m < t)
			t = m;
	}
	return t;
}

static void
ui_loop(struct ui *u)
{
	struct pollfd pfd[3 + UI_MAX_PANES];
	int pidx[3 + UI_MAX_PANES];
	while (!u->quit && u->n > 0) {
		int n = 0;
		pfd[n++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = u->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = u->o->wake_fd, .events = POLLIN };
		for (int i = 0; i < u->n; i++) {
			int fd = pane_fd(u->p[i].pane);
			if (fd < 0)
				continue;
			pidx[n] = i;
			pfd[n++] = (struct pollfd){ .fd = fd,
			    .events = (short)(POLLIN | (pane_wants_write(u->p[i].pane) ? POLLOUT : 0)) };
		}
		int had_msg = u->msg_until > 0;
		int rc = poll(pfd, (nfds_t)n, ui_poll_timeout(u));
		if (rc < 0 && errno != EINTR)
			fatal("poll: %s", strerror(errno));
		if (had_msg && util_now_ms() >= u->msg_until) {
			u->msg_until = 0;
			u->chrome_dirty = 1;
			for (int i = 0; i < u->n; i++)
				u->p[i].full = u->lay.status_visible ? u->p[i].full : 1;
		}
		if (rc > 0 && (pfd[1].revents & POLLIN))
			ui_read_signals(u);
		if (rc > 0 && pfd[2].fd >= 0 && (pfd[2].revents & POLLIN)) {
			uint64_t v;
			while (read(pfd[2].fd, &v, sizeof v) > 0)
				;
			u->sidebar_dirty = 1;
		}
		/* panes before keys, so a pane that closes is not indexed after */
		for (int k = 3; rc > 0 && k < n; k++) {
			struct ui_pane *up = &u->p[pidx[k]];
			if (pfd[k].revents & POLLOUT)
				pane_flush(up->pane);
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				pane_read(up->pane, UI_READ_BUDGET);
				ui_pane_bell(u, pidx[k]);
				if (vt_title_serial(pane_vt(up->pane)) != up->title_serial) {
					up->title_serial = vt_title_serial(pane_vt(up->pane));
					u->chrome_dirty = 1;
				}
				if (up->watch_output && pane_last_output(up->pane) != up->seen_output_ms)
					u->sidebar_dirty = 1;
				if (pane_closed(up->pane)) {
					ui_reap(u);
					u->chrome_dirty = 1;
				}
			}
		}
		if (rc > 0 && (pfd[0].revents & POLLIN))
			ui_read_input(u);
		if (rc > 0 && (pfd[0].revents & (POLLHUP | POLLERR)))
			u->quit = 1;    /* the terminal went away */
		if (u->sb_due > 0 && util_now_ms() >= u->sb_due) {
			u->sb_due = 0;
			u->sidebar_dirty = 1;
		}
		if (u->resized)
			ui_relayout(u);
		if (ui_needs_draw(u) && util_now_ms() - u->last_frame >= UI_FRAME_MS)
			ui_draw(u);
	}
}

/* The panes' default colours (OSC 10/11): the terminal's own answer, else
 * what the theme is made for. */
static void
ui_default_colors(struct ui *u)
{
	const int c[2] = { u->theme.terminal.fg, u->theme.terminal.bg };
	uint8_t *rgb[2] = { u->fg, u->bg };
	int *has[2] = { &u->has_fg, &u->has_bg }, r, g, b;

	for (int i = 0; i < 2; i++) {
		if (*has[i] || c[i] < 0)
			continue;
		if (c[i] & THEME_RGB) {
			r = (c[i] >> 16) & 255, g = (c[i] >> 8) & 255, b = c[i] & 255;
		} else
			palette_rgb(c[i], &r, &g, &b);
		rgb[i][0] = (uint8_t)r, rgb[i][1] = (uint8_t)g, rgb[i][2] = (uint8_t)b;
		*has[i] = 1;
	}
}

static int
ui_curses_start(struct ui *u)
{
	outer_query_colors(STDIN_FILENO, STDOUT_FILENO, UI_QUERY_MS, u->fg, &u->has_fg,
	    u->bg, &u->has_bg);
	if (newterm(NULL, stdout, stdin) == NULL) {
		fprintf(stderr, "tokmux: cannot initialise the terminal (TERM=%s)\n",
		    getenv("TERM") ? getenv("TERM") : "(unset)");
		return -1;
	}
	const char *ed = getenv("ESCDELAY");
	set_escdelay(ed != NULL ? UTIL_MIN(atoi(ed), 25) : 25);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	meta(stdscr, TRUE);
	intrflush(stdscr, FALSE);
	mousemask(ALL_MOUSE_EVENTS, NULL);
	mouseinterval(0);
	ui_colors_init(u);
	ui_default_colors(u);
	u->outer = outer_new(STDOUT_FILENO);
	input_init_terminfo_keys();
	/* bracketed paste from the outer terminal */
	fputs("\033[?2004h", stdout);
	fflush(stdout);
	return 0;
}

static void
ui_curses_end(struct ui *u)
{
	outer_end(u->outer);
	outer_free(u->outer);
	fputs("\033[?2004l", stdout);
	fflush(stdout);
	endwin();
}

int
ui_run(const struct ui_options *o)
{
	struct ui u0, *u = &u0;
	memset(u, 0, sizeof *u);
	u->o = o;
	u->cfg = o->cfg;
	u->zoomed = -1;
	u->sidebar_on = 1;
	const char *cs = nl_langinfo(CODESET);
	u->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	u->sigfd = ui_signals_open();
	if (u->sigfd < 0) {
		fprintf(stderr, "tokmux: signalfd: %s\n", strerror(errno));
		return 1;
	}
	if (ui_curses_start(u) < 0)
		return 1;
	u->in = input_new(o->cfg->prefix_key);
	u->render = render_new(u->color);
	render_set_outer(u->render, u->outer);
	u->sb.u = u;
	int want = o->npanes < 1 ? 1 : (o->npanes > UI_MAX_PANES ? UI_MAX_PANES : o->npanes);
	for (int i = 0; i < want; i++) {
		if (ui_open_pane(u, u->n, 10, 40) == 0)
			u->n++;
	}
	ui_relayout(u);
	ui_draw(u);
	ui_loop(u);
	for (int i = u->n - 1; i >= 0; i--)
		ui_close_pane(u, i);
	if (u->sb.win)
		delwin(u->sb.win);
	ui_list_free(u);
	render_free(u->render);
	input_free(u->in);
	ui_curses_end(u);
	close(u->sigfd);
	if (u->n == 0 && u->msg[0] != '\0' && !u->quit)
		fprintf(stderr, "tokmux: %s\n", u->msg);
	return 0;
}
