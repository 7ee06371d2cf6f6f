/*
 * ui: the multiplexer. One thread runs an evloop over the terminals
 * attached (each a curses SCREEN of its own, see tty.h), every pty master,
 * a signalfd and the gateway's wake fd. Owns the panes, focus, zoom,
 * scrollback mode, the y/n questions, the mouse, messages and when to
 * draw: pane output is always drained into the vt (a bounded budget per
 * pane per callback, for fairness); drawing is coalesced to at most ~60
 * frames a second and touches only dirty rows, on every terminal in turn
 * (a terminal just attached, or one that fell behind, gets every cell).
 * With no terminal attached the panes still run and are read; nothing is
 * drawn. Chrome draws what surrounds the panes; dialog owns the metering
 * dialogs. Curses is used from this thread only.
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
#include <termios.h>
#include <unistd.h>

#include "chrome.h"
#include "dialog.h"
#include "evloop.h"
#include "input.h"
#include "layout.h"
#include "pane.h"
#include "render.h"
#include "tty.h"
#include "util.h"

#define UI_MAX_ROUTES STATS_MAX_ROUTES   /* gateway routes: one per pane ever opened */
#define UI_FRAME_MS 16
/* Bytes read from a pane per callback, in slices: between two slices the
 * read stops if a key is waiting (or, for another pane, the focused pane
 * has output), so parsing a busy pane's output never holds up the keyboard
 * for more than one slice. The focused pane reads bigger slices and more
 * of them: its output is what the user waits for. */
#define UI_READ_BUDGET (256 * 1024)
#define UI_READ_SLICE (64 * 1024)
#define UI_READ_BUDGET_OTHER (64 * 1024)
#define UI_READ_SLICE_OTHER (4 * 1024)
/* Output of the focused pane this soon after a key is its answer (the
 * echo): drawn at once, outside the frame cap, once per key. */
#define UI_ECHO_MS 100
/* While the answer to a key is awaited, the other panes wait this long at
 * most: they are neither read nor drawn. */
#define UI_ECHO_HOLD_MS 3
#define UI_SIDEBAR_COLS 34
#define UI_MSG_MS 4000
#define UI_SIDEBAR_MIN_MS 250    /* gateway wakes redraw the sidebar at most 4 times a second */
#define UI_MAX_TERMS 8            /* terminals attached at once */

/* What keys do when no dialog is open. */
enum ui_mode {
	MODE_NORMAL,
	MODE_SCROLL,      /* scrollback view of the focused pane */
	MODE_CONFIRM,     /* y/n question */
};

enum confirm_what {
	CONFIRM_QUIT,
	CONFIRM_CLOSE,
};

struct ui_pane {
	pane_t *pane;
	int scroll;               /* lines back into scrollback, 0 = live */
	uint64_t scroll_base;     /* grid_sb_pushed() when scroll was set */
	int full;                 /* needs a full redraw on every terminal */
	char *name;
	int route;                /* gateway route, -1 none */
	int64_t last_input_ms;    /* last key sent to the pane */
	int64_t seen_output_ms;   /* pane_last_output() at the last sidebar refresh */
	char state[64];           /* from the sidebar callback, for the title */
	int alert;
	int watch_output, watch_input;
	int belled;               /* rang while not focused: "[bell]" in the title */
	int fd;                   /* the pty master the loop watches, -1 none */
};

/* One attached terminal and what is drawn on it. */
struct ui_term {
	int id;
	tty_t *tty;
	chrome_t *chrome;         /* its styles and sidebar window */
	render_t *render;         /* its colour pairs */
	input_t *in;              /* its prefix key state */
	WINDOW *win[TOKMUX_MAX_PANES];   /* each pane's body, NULL: not shown */
	int full[TOKMUX_MAX_PANES];      /* the pane needs every row here */
	int rows, cols;           /* the terminal's size */
	int readonly;
	int all;                  /* draw everything: new, resized, Ctrl-l, caught up */
	int gone;                 /* 1 + enum ui_gone: it leaves before the next poll */
};

struct ui {
	const struct ui_options *o;
	const struct config *cfg;
	struct ui_pane p[TOKMUX_MAX_PANES];
	int n;                    /* panes open */
	int focus;
	int zoomed;               /* pane index or -1 */
	int sidebar_on;
	struct layout lay;
	int rows, cols;
	enum ui_mode mode;
	enum confirm_what confirm;
	int confirm_arg;
	struct ui_term *term[UI_MAX_TERMS];
	int nterms;
	int next_term;            /* the next terminal's id */
	struct ui_term *t;        /* the terminal whose keys are being read, NULL none */
	struct chrome_sidebar *sb;   /* what the sidebar callback drew last */
	dialog_t *dialog;
	int utf8;
	evloop_t *loop;
	int own_loop;
	int sigfd;
	int chrome_dirty;         /* titles, separators, status */
	int sidebar_dirty;
	int resized;
	int quit;
	int status;               /* the exit status */
	char exit_msg[300];       /* why it ended, "" the user quit */
	char msg[256];
	int64_t msg_timer;        /* the message shows until this timer runs; 0 none */
	int64_t last_frame;
	int64_t draw_timer;       /* wakes the loop for the next frame; 0 none */
	int64_t draw_at;          /* when draw_timer is due */
	int64_t echo_until;       /* a key went to the focused pane: its answer is awaited until then */
	int64_t hold_timer;       /* ends the other panes' wait for that answer; 0 none */
	int64_t sb_timer;      /* the sidebar callback asked to be called again; 0 never */
	int64_t sb_drawn;      /* when the sidebar was last drawn */
};

/* ---- panes ---- */

static void ui_pane_watch(struct ui *u, int idx);
static void ui_on_pane(evloop_t *el, int fd, int revents, void *arg);
static void ui_on_terminal(evloop_t *el, int fd, int revents, void *arg);
static void ui_on_term_out(evloop_t *el, int fd, int revents, void *arg);
static void ui_beep(struct ui *u);
static int64_t ui_on_crash_timer(evloop_t *el, int64_t id, void *arg);

static const char *
ui_pane_cmd(struct ui *u, int slot)
{
	if (slot < TOKMUX_MAX_PANES && u->o->cmds[slot] != NULL)
		return u->o->cmds[slot];
	if (slot < u->cfg->npanes && u->cfg->panes[slot].cmd != NULL)
		return u->cfg->panes[slot].cmd;
	return NULL;
}

static char *
ui_pane_name(struct ui *u, int slot)
{
	if (slot < TOKMUX_MAX_PANES && u->o->names[slot] != NULL)
		return xstrdup(u->o->names[slot]);
	if (slot < u->cfg->npanes && u->cfg->panes[slot].name != NULL)
		return xstrdup(u->cfg->panes[slot].name);
	return xasprintf("pane %d", slot + 1);
}

/* A message leaves the status line (or the overlay on the bottom row). */
static int64_t
ui_on_msg_timer(evloop_t *el, int64_t id, void *arg)
{
	struct ui *u = arg;
	u->msg_timer = 0;
	u->chrome_dirty = 1;
	for (int i = 0; i < u->n && !u->lay.status_visible; i++)
		u->p[i].full = 1;
	return EVLOOP_DONE;
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
	if (u->msg_timer != 0)
		evloop_del_timer(u->loop, u->msg_timer);
	u->msg_timer = evloop_add_timer(u->loop, UI_MSG_MS, ui_on_msg_timer, u);
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
	if (slot < TOKMUX_MAX_PANES) {
		spec.cwd = u->o->cwds[slot];
		spec.confirm = u->o->confirms[slot];
		spec.decline = u->o->declines[slot];
	}
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
	ui_pane_watch(u, slot);
	return 0;
}

/* The loop watches the pane's pty (again, after a restart). */
static void
ui_pane_watch(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	up->fd = pane_fd(up->pane);
	if (up->fd >= 0)
		evloop_add_fd(u->loop, up->fd, EVLOOP_READ, ui_on_pane, u);
}

static void
ui_pane_unwatch(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	if (up->fd >= 0)
		evloop_del_fd(u->loop, up->fd);
	up->fd = -1;
}

/* Every terminal's pane windows go (the next layout makes them again). */
static void
ui_drop_windows(struct ui *u)
{
	for (int k = 0; k < u->nterms; k++) {
		struct ui_term *t = u->term[k];
		tty_select(t->tty);
		for (int i = 0; i < TOKMUX_MAX_PANES; i++) {
			if (t->win[i] != NULL)
				delwin(t->win[i]);
			t->win[i] = NULL;
		}
	}
}

static void
ui_close_pane(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	ui_pane_unwatch(u, idx);
	ui_drop_windows(u);
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

/* The panes' area: the smallest of the terminals' sizes in each dimension
 * (every terminal shows all of it); with none, the last one. */
static void
ui_area(struct ui *u)
{
	int rows = 0, cols = 0;
	for (int k = 0; k < u->nterms; k++) {
		struct ui_term *t = u->term[k];
		tty_size(t->tty, &t->rows, &t->cols);
		rows = rows == 0 ? t->rows : UTIL_MIN(rows, t->rows);
		cols = cols == 0 ? t->cols : UTIL_MIN(cols, t->cols);
	}
	if (rows > 0 && cols > 0) {
		u->rows = rows;
		u->cols = cols;
	}
}

/* A terminal's windows for the layout; everything on it is drawn again. */
static void
ui_term_layout(struct ui *u, struct ui_term *t)
{
	tty_select(t->tty);
	for (int i = 0; i < TOKMUX_MAX_PANES; i++) {
		if (t->win[i] != NULL)
			delwin(t->win[i]);
		t->win[i] = NULL;
	}
	for (int i = 0; i < u->n; i++) {
		const struct layout_pane *lp = &u->lay.pane[i];
		if (lp->visible && lp->body.h >= 1 && lp->body.w >= 1)
			t->win[i] = newwin(lp->body.h, lp->body.w, lp->body.y, lp->body.x);
	}
	chrome_sidebar_place(t->chrome, u->lay.sidebar_visible ? &u->lay.sidebar : NULL);
	t->all = 1;
}

static void
ui_relayout(struct ui *u)
{
	ui_area(u);
	layout_compute(u->rows, u->cols, u->n, u->zoomed, u->sidebar_on ? UI_SIDEBAR_COLS : 0, &u->lay);
	for (int i = 0; i < u->n; i++) {
		const struct layout_pane *lp = &u->lay.pane[i];
		if (!lp->visible || lp->body.h < 1 || lp->body.w < 1)
			continue;
		pane_resize(u->p[i].pane, lp->body.h, lp->body.w);
		u->p[i].full = 1;
	}
	for (int k = 0; k < u->nterms; k++)
		ui_term_layout(u, u->term[k]);
	u->chrome_dirty = 1;
	u->sidebar_dirty = 1;
	u->resized = 0;
}

/* ---- drawing ---- */

static void
ui_draw_title(struct ui *u, struct ui_term *t, int i)
{
	const struct layout_pane *lp = &u->lay.pane[i];
	struct ui_pane *up = &u->p[i];
	if (!lp->visible)
		return;
	char ex[48];
	int exited = pane_exited(up->pane);
	if (exited)
		pane_exit_text(up->pane, ex, sizeof ex);
	struct chrome_title ti = {
		.number = i + 1,
		.name = up->name,
		.cmd = pane_cmd(up->pane),
		.vt_title = vt_title(pane_vt(up->pane)),
		.exit_text = exited ? ex : NULL,
		.scroll = up->scroll,
		.state = up->state,
		.alert = up->alert,
		.belled = up->belled,
		.zoomed = u->zoomed == i,
		.focused = i == u->focus,
	};
	chrome_draw_title(t->chrome, &lp->title, &ti);
}

/* What the status line has to say on terminal t; buffers for its texts
 * are the caller's. */
static void
ui_status(struct ui *u, struct ui_term *t, struct chrome_status *st, char *prompt,
    char *question, size_t len)
{
	memset(st, 0, sizeof *st);
	st->prompt = dialog_prompt(u->dialog, prompt, len);
	if (u->mode == MODE_CONFIRM) {
		if (u->confirm == CONFIRM_QUIT)
			snprintf(question, len, " Quit tokmux and end every pane? (y/n)");
		else
			snprintf(question, len, " Close pane %d (%s)? Its program is still running. (y/n)",
			    u->confirm_arg + 1, u->p[u->confirm_arg].name);
		st->question = question;
	}
	if (u->msg_timer != 0)
		st->message = u->msg;
	st->idle = chrome_sidebar_idle(u->sb);
	st->prefix = input_prefix_pending(t->in);
	st->scrolling = u->mode == MODE_SCROLL;
	st->npanes = u->n;
}

static int64_t
ui_on_sidebar_timer(evloop_t *el, int64_t id, void *arg)
{
	struct ui *u = arg;
	u->sb_timer = 0;
	u->sidebar_dirty = 1;
	return EVLOOP_DONE;
}

/* Call the sidebar callback again in ms milliseconds (-1: not unless
 * something happens). */
static void
ui_sidebar_due(struct ui *u, int ms)
{
	if (u->sb_timer != 0)
		evloop_del_timer(u->loop, u->sb_timer);
	u->sb_timer = ms >= 0 ? evloop_add_timer(u->loop, ms, ui_on_sidebar_timer, u) : 0;
}

/* Call the sidebar callback: it draws the sidebar (if shown), the status
 * line and the panes' states. */
static void
ui_refresh_sidebar(struct ui *u)
{
	int64_t now = util_now_ms();
	int rows = u->lay.sidebar_visible ? u->lay.sidebar.h : 0;
	int cols = u->lay.sidebar_visible ? u->lay.sidebar.w : UI_SIDEBAR_COLS;
	chrome_sidebar_begin(u->sb, rows, cols);
	if (u->o->sidebar_fn == NULL) {
		chrome_sidebar_placeholder(u->sb);
		ui_sidebar_due(u, -1);
	} else {
		struct ui_pane_info info[TOKMUX_MAX_PANES];
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
		int due = u->o->sidebar_fn(u->o->user, u->sb, rows, cols, info, u->n);
		ui_sidebar_due(u, due);
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
	char event[256];
	int rings;
	if (chrome_sidebar_take(u->sb, event, sizeof event, &rings))
		u->chrome_dirty = 1;
	if (event[0] != '\0')
		ui_message(u, "%s", event);
	for (; rings > 0 && u->o->ring_bell; rings--)
		ui_beep(u);
	u->sb_drawn = now;
}

/* Gateway wakes redraw the sidebar at most every UI_SIDEBAR_MIN_MS. */
static int
ui_sidebar_ready(struct ui *u)
{
	return util_now_ms() - u->sb_drawn >= UI_SIDEBAR_MIN_MS;
}

/* A pane in scrollback keeps the viewer's place as new lines arrive. */
static void
ui_scroll_follow(struct ui *u, struct ui_pane *up)
{
	grid_t *g = vt_grid(pane_vt(up->pane));
	if (up->scroll == 0)
		return;
	uint64_t pushed = grid_sb_pushed(g);
	if (pushed != up->scroll_base) {
		up->scroll += (int)(pushed - up->scroll_base);
		up->scroll_base = pushed;
		size_t cnt = grid_sb_count(g);
		if ((size_t)up->scroll > cnt)
			up->scroll = (int)cnt;
		up->full = 1;
	}
}

/* Render pane i's dirty rows (all rows if full) into its window on the
 * current terminal and queue it for doupdate(). touch: stdscr was queued
 * over the pane's cells (the titles and separators changed), so the whole
 * window is queued again; what it holds is still right, it need not be
 * rendered again. The caller cleans the grid once every terminal drew. */
static void
ui_draw_pane(struct ui *u, struct ui_term *t, int i, int full, int touch)
{
	struct ui_pane *up = &u->p[i];
	WINDOW *win = t->win[i];
	grid_t *g = vt_grid(pane_vt(up->pane));
	if (touch)
		touchwin(win);
	if (full || grid_any_dirty(g)) {
		render_grid(t->render, win, g, getmaxy(win), getmaxx(win), up->scroll,
		    vt_reverse(pane_vt(up->pane)), full);
		t->full[i] = 0;
	} else if (!touch) {
		return;
	}
	wnoutrefresh(win);
}

/* The cursor belongs to the focused pane, placed last. */
static void
ui_draw_cursor(struct ui *u, struct ui_term *t)
{
	int show = 0;
	struct ui_pane *up = u->n > 0 ? &u->p[u->focus] : NULL;
	WINDOW *win = u->n > 0 ? t->win[u->focus] : NULL;
	if (u->mode == MODE_NORMAL && !dialog_is_open(u->dialog) && up != NULL &&
	    win != NULL && up->scroll == 0) {
		int r, c, vis;
		vt_cursor(pane_vt(up->pane), &r, &c, &vis);
		if (vis && r < getmaxy(win) && c < getmaxx(win)) {
			wmove(win, r, c);
			wnoutrefresh(win);
			show = 1;
		}
	}
	curs_set(show);
}

/* The frame is on the terminal's screen: out to the terminal. A terminal
 * that cannot be written to any more leaves. */
static void
ui_term_out(struct ui *u, struct ui_term *t)
{
	doupdate();
	if (tty_flush(t->tty) < 0 && !t->gone)
		t->gone = 1 + UI_GONE_HANGUP;
	else if (tty_queued(t->tty) > 0)
		evloop_set_events(u->loop, tty_out_fd(t->tty), EVLOOP_WRITE);
}

/* One frame on terminal t; sidebar_now: the sidebar's record changed. A
 * terminal whose output is piling up is skipped, and drawn whole once it
 * has caught up. */
static void
ui_draw_term(struct ui *u, struct ui_term *t, int sidebar_now)
{
	if (t->gone)
		return;
	if (tty_queued(t->tty) > TTY_BEHIND) {
		t->all = 1;
		return;
	}
	tty_select(t->tty);
	int all = t->all, chrome = u->chrome_dirty || all;
	if (all) {
		clearok(curscr, TRUE);
		erase();       /* what lies outside the panes' area, on a bigger terminal */
	}
	char prompt[256], question[256];
	struct chrome_status st;
	ui_status(u, t, &st, prompt, question, sizeof prompt);
	if (chrome) {
		for (int i = 0; i < u->n; i++)
			ui_draw_title(u, t, i);
		chrome_draw_separators(t->chrome, &u->lay, u->rows, u->cols, u->n, u->focus);
		chrome_draw_status(t->chrome, &u->lay, &st);
		wnoutrefresh(stdscr);
	}
	for (int i = 0; i < u->n; i++) {
		if (t->win[i] != NULL)
			ui_draw_pane(u, t, i, u->p[i].full || t->full[i] || all, chrome);
	}
	/* after stdscr, which covers the sidebar's columns too */
	if (sidebar_now || all)
		chrome_sidebar_paint(t->chrome, u->sb);
	dialog_draw(u->dialog, t->chrome, u->rows, u->cols);
	if (chrome_draw_overlay(t->chrome, &u->lay, u->rows, u->cols, &st)) {
		/* the overlay went away: the panes redraw the bottom row */
		for (int i = 0; i < u->n; i++)
			t->full[i] = 1;
	}
	ui_draw_cursor(u, t);
	ui_term_out(u, t);
	t->all = 0;
}

/* Every terminal has drawn what the grids hold: they are clean. */
static void
ui_frame_done(struct ui *u)
{
	for (int i = 0; i < u->n; i++) {
		grid_clean(vt_grid(pane_vt(u->p[i].pane)));
		u->p[i].full = 0;
	}
}

static void
ui_draw(struct ui *u)
{
	/* first: the callback may change the panes' states in their titles */
	int sidebar_now = u->chrome_dirty || (u->sidebar_dirty && ui_sidebar_ready(u));
	if (sidebar_now)
		ui_refresh_sidebar(u);
	for (int i = 0; i < u->n; i++)
		ui_scroll_follow(u, &u->p[i]);
	for (int k = 0; k < u->nterms; k++)
		ui_draw_term(u, u->term[k], sidebar_now);
	ui_frame_done(u);
	u->chrome_dirty = 0;
	if (sidebar_now)
		u->sidebar_dirty = 0;
	u->last_frame = util_now_ms();
}

/* The focused pane's answer to a key, drawn now rather than at the next
 * frame, alone: the other panes' output keeps its frame cap. */
static void
ui_draw_echo(struct ui *u)
{
	if (u->n == 0 || u->resized)
		return;     /* the next frame draws it */
	struct ui_pane *up = &u->p[u->focus];
	ui_scroll_follow(u, up);
	int whole = u->chrome_dirty || up->full;
	for (int k = 0; k < u->nterms && !whole; k++) {
		struct ui_term *t = u->term[k];
		whole = t->all || t->full[u->focus] || chrome_overlay_shown(t->chrome);
	}
	if (whole) {
		ui_draw(u);      /* titles, the bottom-row overlay or a new terminal: a whole frame */
		return;
	}
	for (int k = 0; k < u->nterms; k++) {
		struct ui_term *t = u->term[k];
		if (tty_queued(t->tty) > TTY_BEHIND)
			t->all = 1;
		if (t->gone || t->win[u->focus] == NULL || t->all)
			continue;
		tty_select(t->tty);
		ui_draw_pane(u, t, u->focus, 0, 0);
		ui_draw_cursor(u, t);
		ui_term_out(u, t);
	}
	grid_clean(vt_grid(pane_vt(up->pane)));
}

/* ---- actions ---- */

/* The terminal bell, on every terminal. */
static void
ui_beep(struct ui *u)
{
	for (int k = 0; k < u->nterms; k++) {
		struct ui_term *t = u->term[k];
		if (t->gone)
			continue;
		tty_select(t->tty);
		beep();
		ui_term_out(u, t);
	}
}

/* Every terminal shows everything again (a box that covered it closed). */
static void
ui_redraw_all(struct ui *u)
{
	for (int i = 0; i < u->n; i++)
		u->p[i].full = 1;
	for (int k = 0; k < u->nterms; k++)
		u->term[k]->all = 1;
}

/* A BEL from a pane's program: the focused pane rings the terminal's bell,
 * another pane gets "[bell]" in its title until it is focused. */
static void
ui_pane_bell(struct ui *u, int i)
{
	if (!vt_take_bell(pane_vt(u->p[i].pane)))
		return;
	if (i == u->focus) {
		ui_beep(u);
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
	u->focus = i;
	u->p[i].belled = 0;
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
	if (u->n >= TOKMUX_MAX_PANES) {
		ui_message(u, "tokmux shows at most %d panes", TOKMUX_MAX_PANES);
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
	ui_pane_unwatch(u, idx);
	if (pane_restart(up->pane, &err) < 0) {
		ui_message(u, "restart failed: %s", err);
		free(err);
	}
	ui_pane_watch(u, idx);
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
	u->echo_until = up->last_input_ms + UI_ECHO_MS;
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

/* ---- dialogs ---- */

/* Act on what a dialog did. */
static void
ui_dialog_result(struct ui *u, const struct dialog_result *r)
{
	if (r->uncovered)
		ui_redraw_all(u);
	if (r->redraw || r->uncovered)
		u->chrome_dirty = 1;
	if (r->message[0] != '\0')
		ui_message(u, "%s", r->message);
	if (r->changed)
		u->sidebar_dirty = 1;
}

/* Open a metering dialog about the focused pane. */
static void
ui_dialog_open(struct ui *u, enum input_kind kind)
{
	struct dialog_result r;
	struct dialog_target t;
	const struct dialog_target *tp = NULL;
	if (u->n > 0) {
		t = (struct dialog_target){ .number = u->focus + 1, .name = u->p[u->focus].name,
			.route = u->p[u->focus].route };
		tp = &t;
	}
	switch (kind) {
	case INPUT_CEILING: dialog_open_ceiling(u->dialog, tp, &r); break;
	case INPUT_MODEL: dialog_open_model(u->dialog, tp, &r); break;
	case INPUT_REQUESTS: dialog_open_requests(u->dialog, tp, &r); break;
	default: dialog_open_help(u->dialog, &r); break;
	}
	if (dialog_is_open(u->dialog))
		u->mode = MODE_NORMAL;     /* a dialog ends scrollback mode */
	ui_dialog_result(u, &r);
}

/* A y/n answer to the open question. */
static void
ui_confirm_key(struct ui *u, const struct input_event *ev)
{
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
}

/* A command from the prefix key (or Alt-N); 0 if ev is none. */
static int
ui_command(struct ui *u, const struct input_event *ev)
{
	switch (ev->kind) {
	case INPUT_FOCUS: ui_set_focus(u, ev->arg); return 1;
	case INPUT_FOCUS_DIR: ui_set_focus(u, layout_neighbor(&u->lay, u->focus, ev->dy, ev->dx)); return 1;
	case INPUT_ZOOM:
		u->zoomed = u->zoomed >= 0 ? -1 : u->focus;
		u->resized = 1;
		return 1;
	case INPUT_SCROLL_MODE:
		if (u->n > 0 && !vt_altscreen(pane_vt(u->p[u->focus].pane))) {
			u->mode = MODE_SCROLL;
			u->chrome_dirty = 1;
		} else {
			ui_message(u, "no scrollback in a full-screen program");
		}
		return 1;
	case INPUT_NEW_PANE: ui_new_pane(u); return 1;
	case INPUT_CLOSE_PANE: if (u->n > 0) ui_ask_close(u, u->focus); return 1;
	case INPUT_RESTART: if (u->n > 0) ui_restart(u, u->focus); return 1;
	case INPUT_QUIT:
		u->mode = MODE_CONFIRM;
		u->confirm = CONFIRM_QUIT;
		u->chrome_dirty = 1;
		return 1;
	case INPUT_SIDEBAR:
		u->sidebar_on = !u->sidebar_on;
		u->resized = 1;
		return 1;
	case INPUT_REDRAW:
		if (u->t != NULL)
			u->t->all = 1;
		u->resized = 1;
		return 1;
	case INPUT_DETACH:
		if (u->o->term_gone == NULL)
			ui_message(u, "this workspace is not a session: it cannot detach (q quits)");
		else if (u->t != NULL)
			u->t->gone = 1 + UI_GONE_DETACH;
		return 1;
	case INPUT_HELP: case INPUT_CEILING: case INPUT_MODEL: case INPUT_REQUESTS:
		ui_dialog_open(u, ev->kind);
		return 1;
	case INPUT_NONE:
		return 1;
	default:
		return 0;
	}
}

static void
ui_event(struct ui *u, const struct input_event *ev)
{
	if (ev->kind == INPUT_RESIZE) {
		u->resized = 1;
		return;
	}
	if (u->t != NULL && u->t->readonly) {
		if (ev->kind == INPUT_DETACH)
			ui_command(u, ev);
		return;     /* a read-only client watches */
	}
	if (ev->kind == INPUT_MOUSE) {
		ui_mouse(u);
		return;
	}
	if (dialog_is_open(u->dialog)) {
		struct dialog_result r;
		dialog_key(u->dialog, ev, &r);
		ui_dialog_result(u, &r);
		return;
	}
	if (u->mode == MODE_CONFIRM) {
		ui_confirm_key(u, ev);
		return;
	}
	if (ui_command(u, ev))
		return;
	if (u->mode == MODE_SCROLL) {
		ui_scroll_key(u, ev);
		return;
	}
	ui_send(u, ev);
}

/* Keys from terminal t. Returns how many were read. */
static int
ui_read_input(struct ui *u, struct ui_term *t)
{
	struct input_event ev[INPUT_EVENTS_MAX];
	wint_t wc;
	int rc, n, i;
	int was_pending = input_prefix_pending(t->in);
	tty_select(t->tty);
	u->t = t;
	for (i = 0; i < 4096 && !t->gone; i++) {
		rc = wget_wch(stdscr, &wc);
		if (rc == ERR)
			break;
		n = input_feed(t->in, rc, wc, ev, INPUT_EVENTS_MAX);
		for (int k = 0; k < n && !u->quit; k++)
			ui_event(u, &ev[k]);
	}
	n = input_flush(t->in, ev, INPUT_EVENTS_MAX);
	for (int k = 0; k < n && !u->quit; k++)
		ui_event(u, &ev[k]);
	u->t = NULL;
	if (was_pending || input_prefix_pending(t->in))
		u->chrome_dirty = 1;
	return i;
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
		case SIGTERM: u->quit = 1; break;
		case SIGHUP:   /* a session's server has no terminal of its own to lose */
			if (u->o->term_gone == NULL)
				u->quit = 1;
			break;
		}
	}
}

/* ---- terminals ---- */

static struct ui_term *
ui_term_by_id(struct ui *u, int id)
{
	for (int k = 0; k < u->nterms; k++)
		if (u->term[k]->id == id)
			return u->term[k];
	return NULL;
}

/* Let terminal t go: its windows, its SCREEN, its descriptors. */
static void
ui_term_free(struct ui *u, struct ui_term *t)
{
	int k = 0;
	while (k < u->nterms && u->term[k] != t)
		k++;
	if (k == u->nterms)
		return;
	evloop_del_fd(u->loop, tty_in_fd(t->tty));
	evloop_del_fd(u->loop, tty_out_fd(t->tty));
	tty_select(t->tty);
	for (int i = 0; i < TOKMUX_MAX_PANES; i++)
		if (t->win[i] != NULL)
			delwin(t->win[i]);
	chrome_free(t->chrome);
	render_free(t->render);
	input_free(t->in);
	tty_close(t->tty);
	free(t);
	for (; k < u->nterms - 1; k++)
		u->term[k] = u->term[k + 1];
	u->nterms--;
	u->resized = 1;       /* the panes' area may grow */
}

/* Terminals that left by themselves (the detach key, a hang-up): the
 * workspace goes on without them, or, on its own terminal, ends. */
static void
ui_terms_gone(struct ui *u)
{
	for (int k = 0; k < u->nterms; k++) {
		struct ui_term *t = u->term[k];
		if (!t->gone)
			continue;
		int id = t->id, why = t->gone - 1;
		ui_term_free(u, t);
		k--;
		if (u->o->term_gone != NULL)
			u->o->term_gone(u->o->term_user, id, (enum ui_gone)why);
		else
			u->quit = 1;      /* the terminal went away */
	}
}

int
ui_attach(ui_t *u, const struct ui_term_spec *s, char **err)
{
	if (u->nterms >= UI_MAX_TERMS) {
		*err = xasprintf("%d terminals are attached already", UI_MAX_TERMS);
		close(s->in_fd);
		close(s->out_fd);
		return -1;
	}
	struct tty_spec ts = { .in_fd = s->in_fd, .out_fd = s->out_fd, .term = s->term };
	tty_t *tty = tty_open(&ts, err);
	if (tty == NULL)
		return -1;
	struct ui_term *t = xcalloc(1, sizeof *t);
	const char *crash = getenv("TOKMUX_TEST_CRASH");
	if (u->next_term == 0 && crash != NULL &&
	    (strcmp(crash, "fatal") == 0 || strcmp(crash, "abort") == 0))
		evloop_add_timer(u->loop, 300, ui_on_crash_timer, (void *)crash);
	t->id = u->next_term++;
	t->tty = tty;
	t->readonly = s->readonly;
	t->chrome = chrome_new(u->o->theme, u->utf8);
	t->render = render_new(chrome_color(t->chrome));
	t->in = input_new(u->cfg->prefix_key);
	input_init_terminfo_keys();
	tty_puts(tty, "\033[?2004h");       /* bracketed paste from the terminal */
	t->all = 1;
	u->term[u->nterms++] = t;
	evloop_add_fd(u->loop, tty_in_fd(tty), EVLOOP_READ, ui_on_terminal, u);
	evloop_add_fd(u->loop, tty_out_fd(tty), 0, ui_on_term_out, u);
	u->resized = 1;
	return t->id;
}

void
ui_detach(ui_t *u, int id)
{
	struct ui_term *t = ui_term_by_id(u, id);
	if (t != NULL)
		ui_term_free(u, t);
}

void
ui_term_resized(ui_t *u, int id)
{
	if (ui_term_by_id(u, id) != NULL)
		u->resized = 1;
}

int
ui_term_count(const ui_t *u)
{
	return u->nterms;
}

/* ---- the loop ---- */

static struct ui_term *
ui_term_by_fd(struct ui *u, int fd)
{
	for (int k = 0; k < u->nterms; k++)
		if (tty_in_fd(u->term[k]->tty) == fd || tty_out_fd(u->term[k]->tty) == fd)
			return u->term[k];
	return NULL;
}

/* Keys from a terminal, or it went away. */
static void
ui_on_terminal(evloop_t *el, int fd, int revents, void *arg)
{
	struct ui *u = arg;
	struct ui_term *t = ui_term_by_fd(u, fd);
	if (t == NULL || t->gone)
		return;
	int got = (revents & EVLOOP_READ) ? ui_read_input(u, t) : 0;
	if ((revents & EVLOOP_HUP) && got == 0 && !t->gone)
		t->gone = 1 + UI_GONE_HANGUP;
}

/* A terminal takes more of its queued output. */
static void
ui_on_term_out(evloop_t *el, int fd, int revents, void *arg)
{
	struct ui *u = arg;
	struct ui_term *t = ui_term_by_fd(u, fd);
	if (t == NULL || t->gone)
		return;
	if (tty_flush(t->tty) < 0)
		t->gone = 1 + UI_GONE_HANGUP;
	if (tty_queued(t->tty) == 0)
		evloop_set_events(el, fd, 0);     /* one that fell behind is drawn whole now */
}

static void
ui_on_signal(evloop_t *el, int fd, int revents, void *arg)
{
	ui_read_signals(arg);
}

static void
ui_on_wake(evloop_t *el, int fd, int revents, void *arg)
{
	struct ui *u = arg;
	uint64_t v;
	while (read(fd, &v, sizeof v) > 0)
		;
	u->sidebar_dirty = 1;
}

/* Until when the other panes wait for the answer to a key (util_now_ms()
 * time), or 0: they do not. */
static int64_t
ui_echo_hold(struct ui *u)
{
	if (u->echo_until == 0)
		return 0;
	int64_t end = u->echo_until - UI_ECHO_MS + UI_ECHO_HOLD_MS;
	return util_now_ms() < end ? end : 0;
}

/* Whether a key, or (for another pane than the focused one) the focused
 * pane's output, waits to be read: a read of pane i in slices stops for it. */
static int
ui_read_wanted(struct ui *u, int i)
{
	struct pollfd pfd[UI_MAX_TERMS + 1];
	nfds_t n = 0;
	for (int k = 0; k < u->nterms; k++)
		if (!u->term[k]->gone)
			pfd[n++] = (struct pollfd){ .fd = tty_in_fd(u->term[k]->tty), .events = POLLIN };
	if (i != u->focus && u->p[u->focus].fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = u->p[u->focus].fd, .events = POLLIN };
	return poll(pfd, n, 0) > 0;
}

/* Read pane i's output into its vt, one slice at a time (at least one). */
static size_t
ui_pane_read(struct ui *u, int i)
{
	int focused = i == u->focus;
	size_t budget = focused ? UI_READ_BUDGET : UI_READ_BUDGET_OTHER;
	size_t slice = focused ? UI_READ_SLICE : UI_READ_SLICE_OTHER;
	size_t total = 0;
	while (total < budget) {
		size_t got = pane_read(u->p[i].pane, slice);
		total += got;
		if (got < slice || pane_closed(u->p[i].pane) || ui_read_wanted(u, i))
			break;
	}
	return total;
}

static void
ui_on_pane(evloop_t *el, int fd, int revents, void *arg)
{
	struct ui *u = arg;
	int i = 0;
	while (i < u->n && u->p[i].fd != fd)
		i++;
	if (i == u->n)
		return;
	struct ui_pane *up = &u->p[i];
	if (revents & EVLOOP_WRITE)
		pane_flush(up->pane);
	if (!(revents & (EVLOOP_READ | EVLOOP_HUP)))
		return;
	if (i != u->focus && ui_echo_hold(u) > 0)
		return;     /* the key just typed came in this same iteration: it goes first */
	size_t got = ui_pane_read(u, i);
	if (got > 0 && i == u->focus && u->echo_until != 0 && util_now_ms() <= u->echo_until) {
		u->echo_until = 0;
		ui_draw_echo(u);     /* now: before any other pane's callback */
	}
	ui_pane_bell(u, i);
	if (up->watch_output && pane_last_output(up->pane) != up->seen_output_ms)
		u->sidebar_dirty = 1;
	if (pane_closed(up->pane)) {
		ui_pane_unwatch(u, i);
		ui_reap(u);
		u->chrome_dirty = 1;
	}
}

/* When the next frame may be drawn (util_now_ms() time); -1: nothing to
 * draw. Frames come at most every UI_FRAME_MS; a sidebar that only the
 * gateway's wakes made dirty waits UI_SIDEBAR_MIN_MS after the last one. */
static int64_t
ui_frame_due(struct ui *u)
{
	int64_t frame = u->last_frame + UI_FRAME_MS;
	if (u->nterms == 0)
		return -1;       /* nothing to draw on: the next terminal gets it all */
	if (u->chrome_dirty)
		return frame;
	for (int k = 0; k < u->nterms; k++) {
		struct ui_term *t = u->term[k];
		if (t->gone || tty_queued(t->tty) > TTY_BEHIND)
			continue;
		if (t->all)
			return frame;
		for (int i = 0; i < u->n; i++)
			if (t->full[i])
				return frame;
	}
	for (int i = 0; i < u->n; i++) {
		if (u->p[i].full || grid_any_dirty(vt_grid(pane_vt(u->p[i].pane))))
			return frame;
	}
	if (u->sidebar_dirty)
		return UTIL_MAX(frame, u->sb_drawn + UI_SIDEBAR_MIN_MS);
	return -1;
}

/* The draw timer only wakes the loop; the before-poll hook draws. */
static int64_t
ui_on_draw_timer(evloop_t *el, int64_t id, void *arg)
{
	struct ui *u = arg;
	u->draw_timer = 0;
	return EVLOOP_DONE;
}

static int64_t
ui_on_hold_timer(evloop_t *el, int64_t id, void *arg)
{
	struct ui *u = arg;
	u->hold_timer = 0;
	return EVLOOP_DONE;
}

/* What each pane's pty is polled for, and in which order: the keyboard
 * first (it was added first), then the focused pane, then the others;
 * those are not polled at all while the answer to a key is awaited (a
 * timer ends that wait). */
static void
ui_watch_panes(struct ui *u)
{
	int64_t hold = ui_echo_hold(u);
	if (hold > 0 && u->hold_timer == 0)
		u->hold_timer = evloop_add_timer(u->loop, hold - util_now_ms(), ui_on_hold_timer, u);
	else if (hold == 0 && u->hold_timer != 0) {
		evloop_del_timer(u->loop, u->hold_timer);     /* the answer came first */
		u->hold_timer = 0;
	}
	for (int i = 0; i < u->n; i++) {
		if (u->p[i].fd < 0)
			continue;
		int ev = EVLOOP_READ | (pane_wants_write(u->p[i].pane) ? EVLOOP_WRITE : 0);
		evloop_set_events(u->loop, u->p[i].fd, i != u->focus && hold > 0 ? 0 : ev);
		evloop_set_priority(u->loop, u->p[i].fd, i == u->focus ? 1 : 2);
	}
}

/* Draw a frame if one is due, else set the timer for it. A frame waits a
 * little while the answer to a key is awaited, and while a key waits to be
 * read (unless the frame is late by a whole frame already): both come
 * first, and drawing the other panes could take a millisecond. */
static void
ui_frame(struct ui *u)
{
	int64_t now = util_now_ms(), due = ui_frame_due(u);
	int64_t hold = ui_echo_hold(u);
	if (due >= 0 && hold > 0)
		due = UTIL_MAX(due, hold);
	if (due >= 0 && due <= now) {
		if (now - due < UI_FRAME_MS && ui_read_wanted(u, u->focus))
			return;       /* poll() returns at once for the key */
		ui_draw(u);
		due = ui_frame_due(u);
	}
	if (u->draw_timer != 0 && u->draw_at != due) {
		evloop_del_timer(u->loop, u->draw_timer);
		u->draw_timer = 0;
	}
	if (due >= 0 && u->draw_timer == 0) {
		u->draw_timer = evloop_add_timer(u->loop, due - util_now_ms(), ui_on_draw_timer, u);
		u->draw_at = due;
	}
}

/* Once per loop iteration, after the callbacks: lay out, draw a frame if
 * one is due, and set what each pane's pty is polled for. */
static void
ui_before_poll(evloop_t *el, void *arg)
{
	struct ui *u = arg;
	ui_terms_gone(u);
	if (u->quit || u->n == 0) {
		evloop_stop(el);
		return;
	}
	if (u->resized)
		ui_relayout(u);
	ui_frame(u);
	ui_watch_panes(u);
}

/* TOKMUX_TEST_CRASH=fatal or =abort, for tests/ui/crash.sh only: once the
 * first terminal is attached, a thread other than the UI's calls fatal() or abort(),
 * to show that the outer terminal is restored whoever fails. */
static void *
ui_crash_thread(void *arg)
{
	if (strcmp(arg, "abort") == 0)
		abort();
	fatal("test crash from another thread (TOKMUX_TEST_CRASH=%s)", (const char *)arg);
}

static int64_t
ui_on_crash_timer(evloop_t *el, int64_t id, void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, ui_crash_thread, arg) == 0)
		pthread_detach(t);
	return EVLOOP_DONE;
}

/* The panes as they are now. */

int
ui_pane_count(const ui_t *u)
{
	return u->n;
}

int
ui_pane_get(const ui_t *u, int i, struct ui_pane_info *info)
{
	if (i < 0 || i >= u->n)
		return -1;
	const struct ui_pane *up = &u->p[i];
	*info = (struct ui_pane_info){
		.name = up->name,
		.cmd = pane_cmd(up->pane),
		.route = up->route,
		.focused = i == u->focus,
		.exited = pane_exited(up->pane),
		.last_output_ms = pane_last_output(up->pane),
		.last_input_ms = up->last_input_ms,
	};
	return 0;
}

pid_t
ui_pane_foreground(const ui_t *u, int i)
{
	return i >= 0 && i < u->n ? pane_foreground(u->p[i].pane) : -1;
}

ui_t *
ui_new(const struct ui_options *o, evloop_t *loop, char **err)
{
	struct ui *u = xcalloc(1, sizeof *u);
	u->o = o;
	u->cfg = o->cfg;
	u->zoomed = -1;
	u->sidebar_on = 1;
	u->rows = o->rows > 0 ? o->rows : 24;
	u->cols = o->cols > 0 ? o->cols : 80;
	const char *cs = nl_langinfo(CODESET);
	u->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	u->sigfd = ui_signals_open();
	if (u->sigfd < 0) {
		*err = xasprintf("signalfd: %s", strerror(errno));
		free(u);
		return NULL;
	}
	u->own_loop = loop == NULL;
	u->loop = loop != NULL ? loop : evloop_new();
	u->sb = chrome_sidebar_new(u->utf8);
	u->dialog = dialog_new(&o->controls, o->user);
	int want = o->npanes < 1 ? 1 : (o->npanes > TOKMUX_MAX_PANES ? TOKMUX_MAX_PANES : o->npanes);
	for (int i = 0; i < want; i++) {
		if (ui_open_pane(u, u->n, 10, 40) == 0)
			u->n++;
	}
	ui_relayout(u);
	return u;
}

int
ui_run(ui_t *u)
{
	evloop_add_fd(u->loop, u->sigfd, EVLOOP_READ, ui_on_signal, u);
	if (u->o->wake_fd >= 0)
		evloop_add_fd(u->loop, u->o->wake_fd, EVLOOP_READ, ui_on_wake, u);
	evloop_set_before_poll(u->loop, ui_before_poll, u);
	if (u->nterms > 0)
		ui_draw(u);
	if (evloop_run(u->loop) < 0)
		fatal("poll: %s", strerror(errno));
	evloop_set_before_poll(u->loop, NULL, NULL);
	while (u->nterms > 0)
		ui_term_free(u, u->term[0]);
	if (u->n == 0 && u->msg[0] != '\0' && !u->quit)
		snprintf(u->exit_msg, sizeof u->exit_msg, "tokmux: %s", u->msg);
	for (int i = u->n - 1; i >= 0; i--)
		ui_close_pane(u, i);
	return u->status;
}

void
ui_quit(ui_t *u)
{
	u->quit = 1;
}

const char *
ui_exit_message(const ui_t *u)
{
	return u->exit_msg;
}

void
ui_free(ui_t *u)
{
	if (u == NULL)
		return;
	while (u->nterms > 0)
		ui_term_free(u, u->term[0]);
	for (int i = u->n - 1; i >= 0; i--)
		ui_close_pane(u, i);
	dialog_free(u->dialog);
	chrome_sidebar_free(u->sb);
	evloop_del_fd(u->loop, u->sigfd);
	if (u->o->wake_fd >= 0)
		evloop_del_fd(u->loop, u->o->wake_fd);
	if (u->own_loop)
		evloop_free(u->loop);
	close(u->sigfd);
	free(u);
}
