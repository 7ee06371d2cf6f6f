/*
 * ui: the multiplexer. One thread runs an evloop over the terminals
 * attached (none, one, or several: a session's clients), every pty master,
 * a signalfd and the gateway's wake fd. Owns the panes, focus, zoom,
 * scrollback mode, the y/n questions, the mouse, messages and when to
 * draw: pane output is always drained into the vt (a bounded budget per
 * pane per callback, for fairness); drawing is coalesced to at most ~60
 * frames a second and touches only dirty rows. Chrome draws what surrounds
 * the panes; dialog owns the metering dialogs. Curses is used from this
 * thread only.
 *
 * One curses SCREEN draws for every terminal: its output goes into a file in
 * memory whose bytes are copied to each terminal's queue (tty.h) after every
 * update, and its input is a pipe the keys of whichever terminal typed them
 * are forwarded into.
 * (One SCREEN, not one per terminal: ncurses keeps one window list for all
 * of its screens, so resizing or deleting one damages the others.) With no
 * terminal the panes run and are read, and nothing is drawn; a terminal
 * that attaches gets everything again (endwin, then a full repaint, which
 * the others see too).
 */
#include "ui.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "chrome.h"
#include "dialog.h"
#include "diffview.h"
#include "evloop.h"
#include "input.h"
#include "layout.h"
#include "notify.h"
#include "outer.h"
#include "palette.h"
#include "pane.h"
#include "render.h"
#include "tty.h"
#include "util.h"
#include "wtpane.h"

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
#define UI_DIFF_SLICE (128u << 10)  /* diff text laid out per loop iteration (~10 ms) */
#define UI_MAX_TERMS 16          /* terminals attached at once */
#define UI_KEYS_READ 4096        /* bytes of keys forwarded from a terminal per callback */
#define UI_PIPE_SIZE (1024 * 1024)   /* curses' key pipe */

/* The questions asked in dialog boxes: a box's tag is pane id * 4 + this. */
enum ui_ask {
	UI_ASK_NEW = 1,          /* Ctrl-g c: a worktree or a plain pane */
	UI_ASK_CLOSE = 2,        /* closing a worktree pane: keep or remove */
	UI_ASK_FORCE = 3,        /* removal would lose work: remove anyway? */
};

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
	WINDOW *win;
	int scroll;               /* lines back into scrollback, 0 = live */
	uint64_t scroll_base;     /* grid_sb_pushed() when scroll was set */
	int full;                 /* needs a full redraw */
	char *name;
	int route;                /* gateway route, -1 none */
	int64_t last_input_ms;    /* last key sent to the pane */
	int64_t seen_output_ms;   /* pane_last_output() at the last sidebar refresh */
	char state[128];          /* from the sidebar callback, for the title */
	int alert;
	int watch_output, watch_input;
	int belled;               /* rang while not focused: "[bell]" in the title */
	struct panestate_out pst; /* its state as last seen (panestate.h) */
	int marked;               /* needs the user or finished while not focused: "[!]" until focused */
	unsigned sig_serial;      /* vt_signals()->serial as last seen */
	int64_t resize_ms;        /* when its size last changed, 0 never */
	int64_t work_ms;          /* its last output that was no key's echo or resize's redraw */
	int fd;                   /* the pty master the loop watches, -1 none */
	unsigned title_serial;    /* vt_title_serial() shown in the title */
	int id;                   /* stable while the pane lives (indexes shift on close) */
	char *cmd;                /* its command, NULL: the shell */
	int worktree;             /* runs in its own git worktree (wtpane) */
	int closing;              /* its worktree is being removed; it closes after */
	enum worktree_keep keep;  /* what closing removes */
};

/* One attached terminal. */
struct ui_term {
	int id;
	tty_t *tty;
	int readonly;             /* its keys do nothing but detach */
	int ro_prefix;            /* read-only: the prefix key came last */
	int gone;                 /* 1 + enum ui_gone: it leaves before the next poll */
};

struct ui {
	const struct ui_options *o;
	const struct config *cfg;
	char prefix_name[16];     /* the prefix key as texts name it ("Ctrl-g") */
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
	input_t *in;
	render_t *render;
	outer_t *outer;           /* what ncurses cannot draw (outer.c) */
	uint8_t fg[3], bg[3];     /* the terminal's default colours, for panes */
	int has_fg, has_bg;
	chrome_t *chrome;
	dialog_t *dialog;
	int utf8;
	evloop_t *loop;
	int own_loop;
	struct ui_term *term[UI_MAX_TERMS];   /* the terminals attached */
	int nterms;
	int next_term;            /* the next terminal's id */
	struct ui_term *t;        /* the terminal whose keys are being read, NULL none */
	int prefix;               /* the prefix key's control code */
	SCREEN *scr;              /* curses, drawing for every terminal */
	char *scr_term;           /* its TERM */
	FILE *scr_in_f, *scr_out_f;   /* curses' ends: its keys, what it draws */
	int scr_keys;             /* where the terminals' keys go for curses to read */
	int scr_out;              /* what curses drew */
	int rejoin;               /* a terminal came (back): every terminal gets it all */
	int sigfd;
	int chrome_dirty;         /* titles, separators, status */
	int sidebar_dirty;
	int resized;
	int quit;
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
	pid_t *orphans;        /* children of closed panes, hung up but not yet reaped */
	int norphans;
	wtpanes_t *wt;         /* git per pane: worktrees, figures, branches; NULL: unavailable */
	char *wt_err;          /* why wt is NULL */
	char *cwd;             /* where worktree panes find their repository */
	int next_id;
	diffview_t *diff;      /* the diff overlay, or NULL */
	int diff_dirty;
	int64_t diff_timer;    /* lays out more of a big diff; 0 none */
	int quit_told;         /* said that quitting waits for git */
	notifier_t *notifier;  /* runs notify_command */
	int notify_method;     /* how the outer terminal is told (enum notify_method) */
};

/* ---- panes ---- */

static void ui_pane_watch(struct ui *u, int idx);
static void ui_on_pane(evloop_t *el, int fd, int revents, void *arg);
static void ui_terms_gone(struct ui *u);
static void ui_screen_puts(struct ui *u, const char *s);
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

static void ui_wt_start(struct ui *u, int idx);

static int
ui_open_pane(struct ui *u, int slot, int rows, int cols, int worktree)
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
		.defer = worktree,
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
	vt_set_colors(pane_vt(p), u->has_fg ? u->fg : NULL, u->has_bg ? u->bg : NULL);
	u->p[slot].fd = -1;      /* a deferred pane has no pty to watch yet */
	u->p[slot].id = ++u->next_id;
	u->p[slot].cmd = cmd != NULL ? xstrdup(cmd) : NULL;
	u->p[slot].worktree = worktree;
	if (u->wt != NULL)
		wtpane_add(u->wt, u->p[slot].id, route);
	if (worktree) {
		ui_wt_start(u, slot);
	} else {
		ui_pane_watch(u, slot);
		if (u->wt != NULL)
			wtpane_set_pid(u->wt, u->p[slot].id, pane_pid(p));
	}
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

static void
ui_close_pane(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	ui_pane_unwatch(u, idx);
	if (up->win)
		delwin(up->win);
	pid_t left = pane_free(up->pane);
	if (left > 0) {
		u->orphans = xrealloc(u->orphans, (size_t)(u->norphans + 1) * sizeof *u->orphans);
		u->orphans[u->norphans++] = left;
	}
	if (u->wt != NULL)
		wtpane_forget(u->wt, up->id);
	free(up->name);
	free(up->cmd);
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

/* The size of the terminals: the smallest width and height of them all
 * (every one shows the whole of it); with none, the last. */
static void
ui_area(struct ui *u)
{
	int rows = 0, cols = 0, r, c;
	for (int k = 0; k < u->nterms; k++) {
		if (tty_size(u->term[k]->tty, &r, &c) < 0)
			continue;
		rows = rows == 0 ? r : UTIL_MIN(rows, r);
		cols = cols == 0 ? c : UTIL_MIN(cols, c);
	}
	if (rows > 0 && cols > 0 && (rows != LINES || cols != COLS))
		resizeterm(rows, cols);
}

static void
ui_relayout(struct ui *u)
{
	ui_area(u);
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
		if (pane_rows(up->pane) != lp->body.h || pane_cols(up->pane) != lp->body.w)
			up->resize_ms = util_now_ms();      /* its program redraws: no work */
		pane_resize(up->pane, lp->body.h, lp->body.w);
		up->full = 1;
	}
	chrome_sidebar_place(u->chrome, u->lay.sidebar_visible ? &u->lay.sidebar : NULL);
	clearok(curscr, TRUE);
	u->chrome_dirty = 1;
	u->sidebar_dirty = 1;
	u->resized = 0;
}

/* ---- drawing ---- */

/* A worktree pane's branch for its title, or NULL. */
static const char *
ui_wt_branch(struct ui *u, const struct ui_pane *up)
{
	const struct wtpane_info *in = u->wt != NULL ? wtpane_info(u->wt, up->id) : NULL;
	return in != NULL ? in->branch : NULL;
}

/* What the sidebar shows of a pane's worktree. */
static struct sidebar_worktree
ui_wt_sidebar(struct ui *u, const struct ui_pane *up)
{
	struct sidebar_worktree w = { 0 };
	const struct wtpane_info *in = u->wt != NULL ? wtpane_info(u->wt, up->id) : NULL;
	if (!up->worktree || in == NULL) {
		if (up->worktree)
			w = (struct sidebar_worktree){ .note = "worktree unavailable", .note_error = 1 };
		return w;
	}
	w.branch = in->branch;
	w.known = in->known;
	w.partial = in->stat.partial;
	w.files = in->stat.files;
	w.added = in->stat.added;
	w.removed = in->stat.removed;
	if (in->state == WTPANE_CREATING)
		w.note = "making worktree...";
	else if (in->state == WTPANE_REMOVING)
		w.note = "removing worktree...";
	else if (in->state == WTPANE_FAILED)
		w = (struct sidebar_worktree){ .note = "worktree failed", .note_error = 1 };
	return w;
}

static void
ui_draw_title(struct ui *u, int i)
{
	const struct layout_pane *lp = &u->lay.pane[i];
	struct ui_pane *up = &u->p[i];
	if (!lp->visible)
		return;
	char ex[48];
	int exited = pane_exited(up->pane) && !up->closing;
	if (exited)
		pane_exit_text(up->pane, ex, sizeof ex);
	struct chrome_title t = {
		.number = i + 1,
		.name = up->name,
		.cmd = pane_cmd(up->pane),
		.vt_title = vt_title(pane_vt(up->pane)),
		.branch = ui_wt_branch(u, up),
		.exit_text = exited ? ex : NULL,
		.scroll = up->scroll,
		.state = up->closing ? "closing: removing its worktree" : up->state,
		.alert = up->alert,
		.belled = up->belled,
		.marked = up->marked,
		.zoomed = u->zoomed == i,
		.focused = i == u->focus,
	};
	chrome_draw_title(u->chrome, &lp->title, &t);
}

/* What the status line has to say; buffers for its texts are the caller's. */
static void
ui_status(struct ui *u, struct chrome_status *st, char *prompt, char *question, size_t len)
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
	st->prefix = input_prefix_pending(u->in);
	st->scrolling = u->mode == MODE_SCROLL;
	st->npanes = u->n;
	st->prefix_name = u->prefix_name;
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

/* Tell the user outside tokmux: the outer terminal (a notification or its
 * bell) and notify_command. */
static void
ui_notify(struct ui *u, int i, enum panestate_event ev, const struct panestate_out *st,
    const char *text)
{
	struct ui_pane *up = &u->p[i];
	if (u->notify_method == NOTIFY_BEL) {
		beep();
	} else if (u->notify_method != NOTIFY_OFF) {
		char seq[512];
		if (notify_sequence(u->notify_method, "tokmux", text, seq, sizeof seq) > 0)
			ui_screen_puts(u, seq);     /* every terminal attached */
	}
	struct notify_event ne = {
		.pane = i + 1, .name = up->name, .state = panestate_event_name(ev, st),
		.kind = st->kind, .message = st->message, .text = text,
	};
	notifier_run(u->notifier, &ne);
}

/* A pane's state as the sidebar callback found it: a change worth telling
 * (it needs input, its turn is over) marks the pane and tells the user,
 * once per change, unless it is the pane they look at. */
static void
ui_pane_state(struct ui *u, int i, const struct panestate_out *st)
{
	struct ui_pane *up = &u->p[i];
	enum panestate_event ev = panestate_event(&up->pst, st);
	up->pst = *st;
	if (ev == PANESTATE_EV_NONE || (i == u->focus && !u->cfg->notify_focused))
		return;
	char text[512], words[96];
	panestate_title(st, words, sizeof words);
	if (st->state == PANESTATE_IDLE)
		snprintf(words, sizeof words, "turn over");
	char dflt[24];
	snprintf(dflt, sizeof dflt, "pane %d", i + 1);
	snprintf(text, sizeof text, "pane %d%s%s: %s%s%s", i + 1,
	    strcmp(up->name, dflt) != 0 ? " " : "", strcmp(up->name, dflt) != 0 ? up->name : "", words,
	    st->message[0] != '\0' && st->state != PANESTATE_ERROR ? " - " : "",
	    st->state != PANESTATE_ERROR ? st->message : "");
	if (i != u->focus && !up->marked) {
		up->marked = 1;
		u->chrome_dirty = 1;
	}
	ui_message(u, "%s", text);
	ui_notify(u, i, ev, st, text);
}

/* How the user is told of a pane that needs them: the config's
 * notify_osc or what the outer terminal is known to show; notify_command. */
static void ui_notify_error(const char *msg, void *user);

static void
ui_notify_open(struct ui *u)
{
	const struct config *c = u->cfg;
	u->notify_method = c->notify_osc != NOTIFY_AUTO ? c->notify_osc :
	    (int)notify_method_detect(getenv("TERM_PROGRAM"), getenv("TERM"),
	    getenv("KITTY_WINDOW_ID"), getenv("TMUX"), getenv("STY"));
	char *err = NULL;
	u->notifier = notifier_new(c->notify_command, 0, ui_notify_error, u, &err);
	if (u->notifier == NULL) {
		ui_message(u, "notify_command will not run: %s", err);
		free(err);
	}
}

/* notify_command failed: say so. */
static void
ui_notify_error(const char *msg, void *user)
{
	ui_message(user, "%s", msg);
}

static void
ui_on_notifier(evloop_t *el, int fd, int revents, void *arg)
{
	struct ui *u = arg;
	notifier_dispatch(u->notifier);
}

/* Call the sidebar callback: it draws the sidebar (if shown), the status
 * line and the panes' states. */
static void
ui_refresh_sidebar(struct ui *u)
{
	int64_t now = util_now_ms();
	chrome_sidebar_begin(u->chrome);
	if (u->o->sidebar_fn == NULL) {
		chrome_sidebar_placeholder(u->chrome);
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
				.last_output_ms = u->p[i].work_ms,
				.last_input_ms = u->p[i].last_input_ms,
				.last_resize_ms = u->p[i].resize_ms,
				.sig = vt_signals(pane_vt(u->p[i].pane)),
				.wt = ui_wt_sidebar(u, &u->p[i]),
			};
		}
		int due = u->o->sidebar_fn(u->o->user, chrome_sidebar(u->chrome),
		    chrome_sidebar_rows(u->chrome), chrome_sidebar_cols(u->chrome), info, u->n);
		ui_sidebar_due(u, due);
		for (int i = 0; i < u->n; i++) {
			struct ui_pane *up = &u->p[i];
			if (strcmp(up->state, info[i].state) != 0 || up->alert != info[i].alert) {
				snprintf(up->state, sizeof up->state, "%.*s", (int)sizeof up->state - 1, info[i].state);
				up->alert = info[i].alert;
				u->chrome_dirty = 1;
			}
			up->watch_output = info[i].watch_output;
			up->watch_input = info[i].watch_input;
			up->seen_output_ms = pane_last_output(up->pane);
			ui_pane_state(u, i, &info[i].pst);
		}
	}
	char event[256];
	int rings;
	if (chrome_sidebar_take(u->chrome, event, sizeof event, &rings))
		u->chrome_dirty = 1;
	if (event[0] != '\0')
		ui_message(u, "%s", event);
	for (; rings > 0 && u->o->ring_bell; rings--)
		beep();
	u->sb_drawn = now;
}

/* Gateway wakes redraw the sidebar at most every UI_SIDEBAR_MIN_MS. */
static int
ui_sidebar_ready(struct ui *u)
{
	return util_now_ms() - u->sb_drawn >= UI_SIDEBAR_MIN_MS;
}

/* Render a pane's dirty rows (all rows if full) into its window and queue
 * it for doupdate(). touch: stdscr was queued over the pane's cells (the
 * titles and separators changed), so the whole window is queued again;
 * what it holds is still right, it need not be rendered again. */
static void
ui_draw_pane(struct ui *u, struct ui_pane *up, int full, int touch)
{
	grid_t *g = vt_grid(pane_vt(up->pane));
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
	if (touch)
		touchwin(up->win);
	if (full || grid_any_dirty(g)) {
		render_grid(u->render, up->win, g, getmaxy(up->win), getmaxx(up->win), up->scroll,
		    vt_reverse(pane_vt(up->pane)), full);
		grid_clean(g);
		up->full = 0;
	} else if (!touch) {
		return;
	}
	wnoutrefresh(up->win);
}

/* The cursor belongs to the focused pane, placed last. */
static void
ui_draw_cursor(struct ui *u)
{
	int show = 0;
	struct ui_pane *up = u->n > 0 ? &u->p[u->focus] : NULL;
	if (u->mode == MODE_NORMAL && !dialog_is_open(u->dialog) && u->diff == NULL && up != NULL &&
	    up->win != NULL && up->scroll == 0) {
		int r, c, vis;
		vt_cursor(pane_vt(up->pane), &r, &c, &vis);
		if (vis && r < getmaxy(up->win) && c < getmaxx(up->win)) {
			wmove(up->win, r, c);
			wnoutrefresh(up->win);
			show = 1;
		}
	}
	curs_set(show);
}

/* After doupdate(): what ncurses cannot draw, and the focused pane's
 * cursor style. */
static void
ui_draw_outer(struct ui *u)
{
	if (u->n > 0)
		outer_cursor_style(u->outer, vt_cursor_style(pane_vt(u->p[u->focus].pane)));
	outer_flush(u->outer);
}

static int64_t ui_on_diff_timer(evloop_t *el, int64_t id, void *arg);
static void ui_term_watch(struct ui *u, struct ui_term *t);

/* What curses wrote goes to every terminal. */
static void
ui_screen_out(struct ui *u)
{
	char buf[64 * 1024];
	ssize_t n;
	fflush(u->scr_out_f);
	off_t end = lseek(u->scr_out, 0, SEEK_CUR), at = 0;
	while (at < end && (n = pread(u->scr_out, buf, (size_t)UTIL_MIN(end - at,
	    (off_t)sizeof buf), at)) > 0) {
		at += n;
		for (int k = 0; k < u->nterms; k++) {
			struct ui_term *t = u->term[k];
			if (!t->gone && tty_write(t->tty, buf, (size_t)n) < 0)
				t->gone = 1 + UI_GONE_HANGUP;     /* writing to it failed: it is gone */
		}
	}
	if (end > 0) {
		ftruncate(u->scr_out, 0);
		lseek(u->scr_out, 0, SEEK_SET);
	}
	for (int k = 0; k < u->nterms; k++)
		ui_term_watch(u, u->term[k]);
}

/* Bytes of ours for every terminal, after what curses wrote. */
static void
ui_screen_puts(struct ui *u, const char *s)
{
	ui_screen_out(u);
	for (int k = 0; k < u->nterms; k++) {
		struct ui_term *t = u->term[k];
		if (s != NULL && s != (const char *)-1 && !t->gone && tty_write(t->tty, s, strlen(s)) < 0)
			t->gone = 1 + UI_GONE_HANGUP;
	}
}

/* A terminal came (back): curses starts over on all of them, as after a
 * suspend: its modes again, a cleared screen, every cell (the others see
 * it too). Returns 1 if so, for ui_frame_end(). */
static int
ui_frame_begin(struct ui *u)
{
	if (!u->rejoin)
		return 0;
	u->rejoin = 0;
	outer_end(u->outer);      /* its cursor style is sent again */
	endwin();
	return 1;
}

static void
ui_frame_end(struct ui *u, int rejoined)
{
	doupdate();
	ui_draw_outer(u);
	ui_screen_out(u);
	if (rejoined) {
		/* curses sends these when it next reads a key; a key pressed now
		 * needs them already: keypad mode, and bracketed paste (ours);
		 * and the terminal's colours are asked (its answer comes as keys) */
		ui_screen_puts(u, tigetstr("smkx"));
		ui_screen_puts(u, "\033[?2004h");
		outer_ask_colors(u->outer);
		ui_screen_out(u);
	}
}

/* The diff overlay covers the whole screen: drawn alone. */
static void
ui_draw_diff(struct ui *u)
{
	int rejoined = ui_frame_begin(u);
	diffview_draw(u->diff, u->render, u->chrome, u->rows, u->cols);
	curs_set(0);
	ui_frame_end(u, rejoined);
	u->diff_dirty = 0;
	u->last_frame = util_now_ms();
	if (diffview_pending(u->diff) && u->diff_timer == 0)
		u->diff_timer = evloop_add_timer(u->loop, 0, ui_on_diff_timer, u);
}

static void
ui_draw(struct ui *u)
{
	if (u->nterms == 0)
		return;        /* the next terminal gets it all */
	if (u->diff != NULL) {
		ui_draw_diff(u);
		return;
	}
	int rejoined = ui_frame_begin(u);
	/* first: the callback may change the panes' states in their titles */
	int sidebar_now = u->chrome_dirty || (u->sidebar_dirty && ui_sidebar_ready(u));
	if (sidebar_now)
		ui_refresh_sidebar(u);
	char prompt[256], question[256];
	struct chrome_status st;
	ui_status(u, &st, prompt, question, sizeof prompt);
	if (u->chrome_dirty) {
		for (int i = 0; i < u->n; i++)
			ui_draw_title(u, i);
		chrome_draw_separators(u->chrome, &u->lay, u->rows, u->cols, u->n, u->focus);
		chrome_draw_status(u->chrome, &u->lay, &st);
		wnoutrefresh(stdscr);
	}
	for (int i = 0; i < u->n; i++) {
		if (u->p[i].win != NULL)
			ui_draw_pane(u, &u->p[i], u->p[i].full, u->chrome_dirty);
	}
	/* after stdscr, which covers the sidebar's columns too */
	if (sidebar_now)
		chrome_sidebar_flush(u->chrome);
	dialog_draw(u->dialog, u->chrome, u->rows, u->cols);
	if (chrome_draw_overlay(u->chrome, &u->lay, u->rows, u->cols, &st)) {
		/* the overlay went away: the panes redraw the bottom row */
		for (int i = 0; i < u->n; i++)
			u->p[i].full = 1;
	}
	ui_draw_cursor(u);
	ui_frame_end(u, rejoined);
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
	if (u->n == 0 || u->p[u->focus].win == NULL || u->resized || u->diff != NULL ||
	    u->nterms == 0)
		return;     /* the next frame draws it */
	if (u->chrome_dirty || u->rejoin || chrome_overlay_shown(u->chrome)) {
		ui_draw(u);      /* titles or the bottom-row overlay change too: a whole frame */
		return;
	}
	ui_draw_pane(u, &u->p[u->focus], u->p[u->focus].full, 0);
	ui_draw_cursor(u);
	ui_frame_end(u, 0);
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
		ui_screen_out(u);
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
	u->p[i].marked = 0;
	vt_focus(pane_vt(u->p[i].pane), 1);
	if (u->zoomed >= 0 && u->zoomed != i) {
		u->zoomed = i;
		u->resized = 1;
	}
	u->chrome_dirty = 1;
}

/* Ctrl-g n: focus the next pane (after the focused one, round) that needs
 * input; else the next one marked (its turn ended while not looked at). */
static void
ui_next_input(struct ui *u)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 1; k <= u->n; k++) {
			int i = (u->focus + k) % u->n;
			struct ui_pane *up = &u->p[i];
			if (pass == 0 ? up->pst.state == PANESTATE_NEEDS_INPUT && i != u->focus :
			    up->marked) {
				ui_set_focus(u, i);
				return;
			}
		}
	}
	ui_message(u, u->n > 0 && u->p[u->focus].pst.state == PANESTATE_NEEDS_INPUT ?
	    "no other pane needs input" : "no pane needs input");
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
ui_new_pane(struct ui *u, int worktree)
{
	if (u->n >= TOKMUX_MAX_PANES) {
		ui_message(u, "tokmux shows at most %d panes", TOKMUX_MAX_PANES);
		return;
	}
	if (ui_open_pane(u, u->n, 10, 40, worktree) == 0) {
		u->n++;
		u->focus = u->n - 1;
		u->zoomed = -1;
		u->resized = 1;
	}
}

static int ui_wt_ask_close(struct ui *u, int idx);

static void
ui_ask_close(struct ui *u, int idx)
{
	if (ui_wt_ask_close(u, idx))
		return;
	if (!pane_started(u->p[idx].pane) || pane_exited(u->p[idx].pane) ||
	    pane_closed(u->p[idx].pane)) {
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
	if (up->closing) {
		ui_message(u, "pane %d is closing: its worktree is being removed", idx + 1);
		return;
	}
	if (up->worktree && !pane_started(up->pane)) {
		ui_wt_start(u, idx);      /* its worktree failed before: try again */
		return;
	}
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
	if (u->wt != NULL)
		wtpane_set_pid(u->wt, up->id, pane_pid(up->pane));
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
	if (up->closing)
		return;
	if ((pane_exited(up->pane) && pane_closed(up->pane)) || !pane_started(up->pane)) {
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

static void ui_wt_answer(struct ui *u, int tag, int chosen);

/* Act on what a dialog did. */
static void
ui_dialog_result(struct ui *u, const struct dialog_result *r)
{
	if (r->uncovered) {
		for (int i = 0; i < u->n; i++)
			u->p[i].full = 1;
		clearok(curscr, TRUE);
	}
	if (r->redraw || r->uncovered)
		u->chrome_dirty = 1;
	if (r->message[0] != '\0')
		ui_message(u, "%s", r->message);
	if (r->changed)
		u->sidebar_dirty = 1;
	if (r->answered)
		ui_wt_answer(u, r->tag, r->chosen);
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

static void ui_wt_ask_new(struct ui *u);
static void ui_wt_diff(struct ui *u, int idx);

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
	case INPUT_NEXT_INPUT: ui_next_input(u); return 1;
	case INPUT_NEW_PANE: ui_wt_ask_new(u); return 1;
	case INPUT_NEW_WT_PANE: ui_new_pane(u, 1); return 1;
	case INPUT_DIFF: if (u->n > 0) ui_wt_diff(u, u->focus); return 1;
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
		clearok(curscr, TRUE);
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

/* The terminal told its default colour (asked at start): the panes are
 * told it from now on instead of the theme's. */
static void
ui_term_color(struct ui *u, const struct input_event *ev)
{
	uint8_t *rgb = ev->arg == 10 ? u->fg : u->bg;

	rgb[0] = (uint8_t)(ev->ch >> 16);
	rgb[1] = (uint8_t)(ev->ch >> 8);
	rgb[2] = (uint8_t)ev->ch;
	*(ev->arg == 10 ? &u->has_fg : &u->has_bg) = 1;
	for (int i = 0; i < u->n; i++)
		vt_set_colors(pane_vt(u->p[i].pane), u->has_fg ? u->fg : NULL,
		    u->has_bg ? u->bg : NULL);
}

static void ui_diff_close(struct ui *u);

static void
ui_event(struct ui *u, const struct input_event *ev)
{
	if (ev->kind == INPUT_RESIZE) {
		u->resized = 1;
		return;
	}
	if (ev->kind == INPUT_TERM_COLOR) {
		ui_term_color(u, ev);
		return;
	}
	if (u->diff != NULL) {
		if (ev->kind != INPUT_MOUSE && diffview_key(u->diff, ev))
			ui_diff_close(u);
		u->diff_dirty = 1;
		return;
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

/* ---- worktree panes ---- */

static int
ui_pane_by_id(struct ui *u, int id)
{
	for (int i = 0; i < u->n; i++)
		if (u->p[i].id == id)
			return i;
	return -1;
}

/* A line of tokmux's own in a pane's screen (control bytes of git's
 * messages shown as '?'). */
static void
ui_vt_say(vt_t *vt, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
ui_vt_say(vt_t *vt, int error, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *c = line; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	const char *on = error ? "\033[1;31m" : "\033[2m";
	int row, col, vis;
	vt_cursor(vt, &row, &col, &vis);
	if (col > 0)
		vt_write(vt, "\r\n", 2);      /* after a prompt: a line of its own */
	vt_write(vt, on, strlen(on));
	vt_write(vt, line, strlen(line));
	vt_write(vt, "\033[m\r\n", 5);
}

/* Ask for pane idx's worktree; its program starts once it is made. */
static void
ui_wt_start(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	vt_t *vt = pane_vt(up->pane);
	const struct wtpane_info *in = u->wt != NULL ? wtpane_info(u->wt, up->id) : NULL;
	up->full = 1;
	u->chrome_dirty = 1;
	u->sidebar_dirty = 1;
	if (in == NULL || u->cwd == NULL) {
		ui_vt_say(vt, 1, "tokmux: worktree panes are not available: %s",
		    u->wt_err ? u->wt_err : "the current directory is unknown");
		return;
	}
	if (in->state == WTPANE_CREATING) {
		ui_message(u, "pane %d: its worktree is still being made", idx + 1);
		return;
	}
	ui_vt_say(vt, 0, "tokmux: making a worktree...");
	if (wtpane_create(u->wt, up->id, u->cwd, up->name) < 0)
		ui_vt_say(vt, 1, "tokmux: cannot make a worktree now");
}

/* The worktree is made: start the pane's program in it (setup first), or
 * say why there is none. */
static void
ui_wt_created(void *user, int id, const worktree_t *wt, const char *err)
{
	struct ui *u = user;
	int i = ui_pane_by_id(u, id);
	if (i < 0)
		return;
	struct ui_pane *up = &u->p[i];
	vt_t *vt = pane_vt(up->pane);
	up->full = 1;
	u->chrome_dirty = 1;
	u->sidebar_dirty = 1;
	if (wt == NULL) {
		ui_vt_say(vt, 1, "tokmux: no worktree for this pane: %s", err);
		ui_vt_say(vt, 0, "Press r to try again, x to close the pane.");
		return;
	}
	ui_vt_say(vt, 0, "tokmux: %s worktree %s on branch %s", worktree_fresh(wt) ? "new" : "reusing the",
	    worktree_path(wt), worktree_branch(wt));
	char **argv = worktree_pane_argv(wt, u->cfg->worktree_setup, u->cfg->nworktree_setup, up->cmd,
	    pane_shell());
	char *perr = NULL;
	if (pane_start(up->pane, worktree_path(wt), argv, &perr) < 0) {
		ui_vt_say(vt, 1, "tokmux: cannot start the pane: %s", perr);
		free(perr);
	} else {
		ui_pane_watch(u, i);
		wtpane_set_pid(u->wt, id, pane_pid(up->pane));
	}
	worktree_argv_free(argv);
}

static void
ui_wt_changed(void *user, int id)
{
	struct ui *u = user;
	u->sidebar_dirty = 1;
}

static void
ui_wt_where(void *user, int route, const char *branch, const char *worktree)
{
	struct ui *u = user;
	if (u->o->where_fn != NULL)
		u->o->where_fn(u->o->user, route, branch, worktree);
}

/* Ctrl-g D: the focused pane's diff against its branch point. */
static void
ui_wt_diff(struct ui *u, int idx)
{
	const struct wtpane_info *in = u->wt != NULL ? wtpane_info(u->wt, u->p[idx].id) : NULL;
	if (in == NULL || in->state == WTPANE_PLAIN || in->state == WTPANE_FAILED)
		ui_message(u, "pane %d has no worktree: no diff against a branch point", idx + 1);
	else if (in->state != WTPANE_READY || wtpane_diff(u->wt, u->p[idx].id) < 0)
		ui_message(u, "pane %d: its worktree is being made or removed", idx + 1);
	else
		ui_message(u, "pane %d: reading the diff...", idx + 1);
}

static void
ui_wt_diff_done(void *user, int id, const char *text, size_t len, int truncated, const char *err)
{
	struct ui *u = user;
	int i = ui_pane_by_id(u, id);
	if (i < 0)
		return;
	if (text == NULL) {
		ui_message(u, "pane %d diff: %s", i + 1, err);
		return;
	}
	const struct wtpane_info *in = wtpane_info(u->wt, id);
	char title[512], fig[96] = "";
	if (in != NULL && in->known) {
		struct sidebar_worktree w = ui_wt_sidebar(u, &u->p[i]);
		sidebar_diff_figures(&w, u->utf8, fig, sizeof fig);
	}
	snprintf(title, sizeof title, " %d %s [%s]: changes since it branched from %s  %s",
	    i + 1, u->p[i].name, in && in->branch ? in->branch : "?", in && in->base ? in->base : "?", fig);
	diffview_free(u->diff);
	u->diff = diffview_new(title, text, len, truncated);
	u->diff_dirty = 1;
	u->mode = MODE_NORMAL;
}

/* Lay out another slice of a big diff, between keys and frames. */
static int64_t
ui_on_diff_timer(evloop_t *el, int64_t id, void *arg)
{
	struct ui *u = arg;
	if (u->diff == NULL || !diffview_feed(u->diff, UI_DIFF_SLICE)) {
		u->diff_timer = 0;
		u->diff_dirty = u->diff != NULL;
		return EVLOOP_DONE;
	}
	u->diff_dirty = 1;
	return 0;
}

static void
ui_diff_close(struct ui *u)
{
	diffview_free(u->diff);
	u->diff = NULL;
	if (u->diff_timer != 0)
		evloop_del_timer(u->loop, u->diff_timer);
	u->diff_timer = 0;
	for (int i = 0; i < u->n; i++)
		u->p[i].full = 1;
	clearok(curscr, TRUE);
	u->chrome_dirty = 1;
	u->sidebar_dirty = 1;
}

/* Ctrl-g c: in a workspace that uses worktrees, a worktree or a plain
 * pane; else a plain pane at once. */
static void
ui_wt_ask_new(struct ui *u)
{
	int uses = u->o->worktrees;
	for (int i = 0; i < u->cfg->npanes; i++)
		uses |= u->cfg->panes[i].worktree;
	if (!uses || u->n >= TOKMUX_MAX_PANES) {
		ui_new_pane(u, 0);
		return;
	}
	char *name = ui_pane_name(u, u->n), clean[WORKTREE_NAME_MAX + 1];
	worktree_sanitize(name, clean);
	char title[96], wt[160], plain[PATH_MAX + 32];
	snprintf(title, sizeof title, "New pane %d (%s)", u->n + 1, name);
	snprintf(wt, sizeof wt, "in its own git worktree, on branch %s%s", WORKTREE_BRANCH_PREFIX, clean);
	snprintf(plain, sizeof plain, "a plain pane in %s", u->cwd ? u->cwd : "the current directory");
	const char *choices[] = { wt, plain };
	struct dialog_result r;
	dialog_open_choice(u->dialog, title, NULL, 0, choices, 2, UI_ASK_NEW, &r);
	ui_dialog_result(u, &r);
	free(name);
}

/* Closing a ready worktree pane asks what to keep; 1 if it asked. */
static int
ui_wt_ask_close(struct ui *u, int idx)
{
	struct ui_pane *up = &u->p[idx];
	if (up->closing) {
		ui_message(u, "pane %d is closing: its worktree is being removed", idx + 1);
		return 1;
	}
	const struct wtpane_info *in = u->wt != NULL ? wtpane_info(u->wt, up->id) : NULL;
	if (up->worktree && in != NULL && in->state == WTPANE_CREATING) {
		ui_message(u, "pane %d closed while git made its worktree (a worktree git finishes stays)",
		    idx + 1);
		ui_close_pane(u, idx);
		return 1;
	}
	if (!up->worktree || in == NULL || in->state != WTPANE_READY)
		return 0;
	char title[128], where[PATH_MAX + 160], both[160];
	snprintf(title, sizeof title, "Close pane %d (%s)? Esc keeps it open", idx + 1, up->name);
	snprintf(where, sizeof where, "It works in the worktree %s on branch %s.%s", in->path, in->branch,
	    pane_exited(up->pane) ? "" : " Its program is still running: closing ends it.");
	snprintf(both, sizeof both, "remove both: the worktree and the branch %s", in->branch);
	const char *text[] = { where };
	const char *choices[] = { "keep both: the worktree and the branch stay",
		"keep the branch, remove the worktree directory", both };
	struct dialog_result r;
	dialog_open_choice(u->dialog, title, text, 1, choices, 3, up->id * 4 + UI_ASK_CLOSE, &r);
	ui_dialog_result(u, &r);
	return 1;
}

/* End pane idx's program and remove its worktree as up->keep says; the
 * pane closes when git is done. */
static void
ui_wt_remove(struct ui *u, int idx, int force)
{
	struct ui_pane *up = &u->p[idx];
	if (!up->closing) {
		ui_pane_unwatch(u, idx);
		pane_hangup(up->pane);
		up->closing = 1;
	}
	up->full = 1;
	u->chrome_dirty = 1;
	u->sidebar_dirty = 1;
	if (wtpane_remove(u->wt, up->id, up->keep, force) < 0) {
		ui_message(u, "pane %d closed: its worktree could not be removed now", idx + 1);
		ui_close_pane(u, idx);
		return;
	}
	ui_vt_say(pane_vt(up->pane), 0, "tokmux: removing the worktree%s%s...",
	    up->keep == WORKTREE_REMOVE_BOTH ? " and its branch" : "", force ? " (force)" : "");
}

static void
ui_wt_removed(void *user, int id, int rc, const char *err)
{
	struct ui *u = user;
	int i = ui_pane_by_id(u, id);
	if (i < 0)
		return;
	if (rc == WORKTREE_NEED_FORCE) {
		char title[96];
		snprintf(title, sizeof title, "Pane %d: remove its worktree anyway?", i + 1);
		const char *text[] = { err };
		const char *choices[] = { "keep it: nothing is removed, the pane closes",
			"remove anyway: what is listed above is lost" };
		struct dialog_result r;
		dialog_open_choice(u->dialog, title, text, 1, choices, 2, id * 4 + UI_ASK_FORCE, &r);
		ui_dialog_result(u, &r);
		return;
	}
	if (rc == 0)
		ui_message(u, "pane %d closed: its worktree was removed%s", i + 1,
		    u->p[i].keep == WORKTREE_KEEP_BRANCH ? ", its branch kept" : " with its branch");
	else
		ui_message(u, "pane %d closed: its worktree was not removed: %s", i + 1, err);
	ui_close_pane(u, i);
}

/* The answer to a question box. */
static void
ui_wt_answer(struct ui *u, int tag, int chosen)
{
	int kind = tag % 4, i = ui_pane_by_id(u, tag / 4);
	if (kind == UI_ASK_NEW) {
		if (chosen >= 0)
			ui_new_pane(u, chosen == 0);
		return;
	}
	if (i < 0)
		return;
	struct ui_pane *up = &u->p[i];
	if (kind == UI_ASK_CLOSE && chosen == 0) {
		ui_message(u, "pane %d closed: its worktree and branch stay", i + 1);
		ui_close_pane(u, i);
	} else if (kind == UI_ASK_CLOSE && chosen > 0) {
		up->keep = chosen == 1 ? WORKTREE_KEEP_BRANCH : WORKTREE_REMOVE_BOTH;
		ui_wt_remove(u, i, 0);
	} else if (kind == UI_ASK_FORCE && chosen == 1) {
		ui_wt_remove(u, i, 1);
	} else if (kind == UI_ASK_FORCE) {
		ui_message(u, "pane %d closed: nothing was removed", i + 1);
		ui_close_pane(u, i);
	}
}

static void
ui_wt_open(struct ui *u)
{
	char dir[PATH_MAX];
	u->cwd = getcwd(dir, sizeof dir) != NULL ? xstrdup(dir) : NULL;
	struct wtpane_options wo = { .dir_template = u->cfg->worktree_dir };
	struct wtpane_hooks h = { .user = u, .created = ui_wt_created, .changed = ui_wt_changed,
		.diff = ui_wt_diff_done, .removed = ui_wt_removed, .where = ui_wt_where };
	u->wt = wtpanes_new(u->loop, &wo, &h, &u->wt_err);
}

static void
ui_wt_close(struct ui *u)
{
	if (u->diff != NULL)
		ui_diff_close(u);
	wtpanes_free(u->wt);
	u->wt = NULL;
	free(u->wt_err);
	free(u->cwd);
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

/* Collect the exit status of the panes' children, and of closed panes'
 * children, each by its own pid: never waitpid(-1), which would also take
 * the status of git processes that worker threads wait for. */
static void
ui_reap(struct ui *u)
{
	for (int i = 0; i < u->n; i++) {
		if (!pane_reap(u->p[i].pane))
			continue;
		u->chrome_dirty = 1;
		if (u->wt != NULL)      /* its pid may be someone else's from now on */
			wtpane_set_pid(u->wt, u->p[i].id, 0);
	}
	for (int i = 0; i < u->norphans; i++) {
		int st;
		pid_t r = waitpid(u->orphans[i], &st, WNOHANG);
		if (r == 0 || (r < 0 && errno == EINTR))
			continue;
		u->orphans[i--] = u->orphans[--u->norphans];     /* reaped, or not ours */
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

/* ---- the loop ---- */

static struct ui_term *
ui_term_by_fd(struct ui *u, int fd)
{
	for (int k = 0; k < u->nterms; k++)
		if (tty_in_fd(u->term[k]->tty) == fd || tty_out_fd(u->term[k]->tty) == fd)
			return u->term[k];
	return NULL;
}

/* What the loop watches a terminal for: keys, and room for output while
 * some is queued. */
static void
ui_term_watch(struct ui *u, struct ui_term *t)
{
	int in = tty_in_fd(t->tty), out = tty_out_fd(t->tty);
	int w = tty_queued(t->tty) > 0 ? EVLOOP_WRITE : 0;
	if (in == out) {
		evloop_set_events(u->loop, in, EVLOOP_READ | w);
	} else {
		evloop_set_events(u->loop, in, EVLOOP_READ);
		evloop_set_events(u->loop, out, w);
	}
}

/* A read-only terminal's keys go nowhere; only the prefix then d detaches it. */
static void
ui_term_readonly_keys(struct ui *u, struct ui_term *t, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (t->ro_prefix && buf[i] == 'd')
			t->gone = 1 + UI_GONE_DETACH;
		t->ro_prefix = buf[i] == (char)u->prefix;
	}
}

/* Keys from a terminal go to curses (through its key pipe) and are read
 * at once, as that terminal's. */
static void
ui_term_keys(struct ui *u, struct ui_term *t)
{
	char buf[UI_KEYS_READ];
	ssize_t n = tty_read(t->tty, buf, sizeof buf);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		t->gone = 1 + UI_GONE_HANGUP;     /* the terminal went away */
		return;
	}
	if (n < 0)
		return;
	if (t->readonly) {
		ui_term_readonly_keys(u, t, buf, (size_t)n);
		return;
	}
	if (util_write_all(u->scr_keys, buf, (size_t)n) < 0)
		return;
	u->t = t;
	ui_read_input(u);
	u->t = NULL;
}

static void
ui_on_terminal(evloop_t *el, int fd, int revents, void *arg)
{
	struct ui *u = arg;
	struct ui_term *t = ui_term_by_fd(u, fd);
	if (t == NULL || t->gone)
		return;
	if ((revents & EVLOOP_WRITE) && fd == tty_out_fd(t->tty)) {
		if (tty_flush(t->tty) < 0)
			t->gone = 1 + UI_GONE_HANGUP;
		else if (tty_caught_up(t->tty))
			u->rejoin = 1;    /* its output was dropped: it gets everything again */
		ui_term_watch(u, t);
	}
	if ((revents & (EVLOOP_READ | EVLOOP_HUP)) && fd == tty_in_fd(t->tty) && !t->gone)
		ui_term_keys(u, t);
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
		if (!u->term[k]->gone && !u->term[k]->readonly)
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

/* Output that may show work: not the echo of a key, not the redraw that a
 * resize asks for (an idle shell redraws its prompt). */
static void
ui_pane_output(struct ui_pane *up)
{
	int64_t now = util_now_ms();
	if (up->resize_ms > 0 && now - up->resize_ms < PANESTATE_REDRAW_MS)
		return;
	if (up->last_input_ms > 0 && now - up->last_input_ms < PANESTATE_ECHO_MS)
		return;
	up->work_ms = now;
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
	if (got > 0)
		ui_pane_output(up);
	if (vt_title_serial(pane_vt(up->pane)) != up->title_serial) {
		up->title_serial = vt_title_serial(pane_vt(up->pane));
		u->chrome_dirty = 1;
	}
	if (got > 0 && i == u->focus && u->echo_until != 0 && util_now_ms() <= u->echo_until) {
		u->echo_until = 0;
		ui_draw_echo(u);     /* now: before any other pane's callback */
	}
	ui_pane_bell(u, i);
	if (up->watch_output && pane_last_output(up->pane) != up->seen_output_ms)
		u->sidebar_dirty = 1;
	unsigned serial = vt_signals(pane_vt(up->pane))->serial;
	if (serial != up->sig_serial) {
		up->sig_serial = serial;      /* its program said something: its state may change */
		u->sidebar_dirty = 1;
	}
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
	if (u->rejoin)
		return frame;
	if (u->diff != NULL)
		return u->diff_dirty ? frame : -1;    /* the panes are covered */
	if (u->chrome_dirty)
		return frame;
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
	if ((u->quit || u->n == 0) && u->wt != NULL && wtpanes_busy(u->wt)) {
		if (!u->quit_told)     /* a removal cut short could leave half a worktree */
			ui_message(u, "waiting for git to finish removing a worktree...");
		u->quit_told = 1;
	} else if (u->quit || u->n == 0) {
		evloop_stop(el);
		return;
	}
	if (u->resized)
		ui_relayout(u);
	for (int i = 0; i < u->n; i++)     /* focus events: vt tells each change once */
		vt_focus(pane_vt(u->p[i].pane), i == u->focus);
	ui_frame(u);
	ui_watch_panes(u);
}

/* TOKMUX_TEST_CRASH=fatal or =abort, for tests/ui/crash.sh only: once the
 * workspace is up, a thread other than the UI's calls fatal() or abort(),
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

/* ---- the screen ---- */

/* Curses' settings for tokmux, on the current SCREEN. */
static void
ui_curses_setup(void)
{
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
}

/* The panes' default colours (OSC 10/11) until the terminal answers (if it
 * does; ui_term_color): what the theme is made for. */
static void
ui_default_colors(struct ui *u)
{
	const struct theme *t = chrome_theme(u->chrome);
	const int c[2] = { t->terminal.fg, t->terminal.bg };
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

/* Curses' ends: keys come in through a pipe (we write them), and what it
 * draws goes into a file in memory (we read and empty it after every
 * update): curses writes with blocking write(2), so a pipe would stop it
 * the moment one frame did not fit. */
static int
ui_screen_ends(struct ui *u, char **err)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0) {
		*err = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	int out = memfd_create("tokmux-screen", MFD_CLOEXEC);
	if (out < 0) {
		*err = xasprintf("memfd_create: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	fcntl(in[1], F_SETPIPE_SZ, UI_PIPE_SIZE);
	u->scr_in_f = fdopen(in[0], "r");
	u->scr_out_f = fdopen(dup(out), "w");     /* the same file and offset */
	u->scr_keys = in[1];
	u->scr_out = out;
	return 0;
}

static void
ui_screen_close(struct ui *u)
{
	if (u->scr == NULL)
		return;
	ui_diff_close(u);
	for (int i = 0; i < u->n; i++) {
		if (u->p[i].win != NULL)
			delwin(u->p[i].win);
		u->p[i].win = NULL;
	}
	outer_end(u->outer);
	outer_free(u->outer);
	u->outer = NULL;
	chrome_free(u->chrome);
	render_free(u->render);
	u->chrome = NULL;
	u->render = NULL;
	endwin();
	delscreen(u->scr);
	u->scr = NULL;
	fclose(u->scr_in_f);
	fclose(u->scr_out_f);
	close(u->scr_keys);
	close(u->scr_out);
	free(u->scr_term);
	u->scr_term = NULL;
}

/* Curses for terminals of type term, drawing into its file in memory. */
static int
ui_screen_open(struct ui *u, const char *term, char **err)
{
	if (term == NULL || term[0] == '\0')
		term = "xterm-256color";
	if (ui_screen_ends(u, err) < 0)
		return -1;
	u->scr = newterm(term, u->scr_out_f, u->scr_in_f);
	if (u->scr == NULL) {
		*err = xasprintf("cannot use the terminal type TERM=%s", term);
		fclose(u->scr_in_f);
		fclose(u->scr_out_f);
		close(u->scr_keys);
		close(u->scr_out);
		return -1;
	}
	ui_curses_setup();
	u->scr_term = xstrdup(term);
	u->chrome = chrome_new(u->o->theme, u->utf8);
	ui_default_colors(u);
	u->outer = outer_new(u->scr_out);      /* after curses' bytes: the same file and offset */
	u->render = render_new(chrome_color(u->chrome));
	render_set_outer(u->render, u->outer);
	input_init_terminfo_keys();
	resizeterm(u->rows, u->cols);
	u->resized = 1;
	return 0;
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

/* Let terminal t go: nothing more is written to it. */
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

/* The first terminal of a session may be of another type than the one
 * curses draws for: curses starts again for it. 0, or -1 with *err. */
static int
ui_screen_for(struct ui *u, const char *term, char **err)
{
	if (term == NULL || term[0] == '\0' || u->nterms > 0 || strcmp(term, u->scr_term) == 0)
		return 0;
	char *old = xstrdup(u->scr_term);
	ui_screen_close(u);
	int rc = ui_screen_open(u, term, err);
	if (rc < 0 && ui_screen_open(u, old, err) < 0)
		fatal("cannot start curses again for TERM=%s", old);
	free(old);
	return rc;
}

int
ui_attach(ui_t *u, const struct ui_term_spec *s, char **err)
{
	const char *crash = getenv("TOKMUX_TEST_CRASH");
	if (u->nterms >= UI_MAX_TERMS || ui_screen_for(u, s->term, err) < 0) {
		if (u->nterms >= UI_MAX_TERMS)
			*err = xasprintf("%d terminals are attached already", UI_MAX_TERMS);
		close(s->in_fd);
		close(s->out_fd);
		return -1;
	}
	tty_t *tty = tty_open(s->in_fd, s->out_fd, err);
	if (tty == NULL)
		return -1;
	struct ui_term *t = xcalloc(1, sizeof *t);
	if (u->next_term == 0 && crash != NULL &&
	    (strcmp(crash, "fatal") == 0 || strcmp(crash, "abort") == 0))
		evloop_add_timer(u->loop, 300, ui_on_crash_timer, (void *)crash);
	t->id = u->next_term++;
	t->tty = tty;
	t->readonly = s->readonly;
	u->term[u->nterms++] = t;
	evloop_add_fd(u->loop, tty_in_fd(tty), EVLOOP_READ, ui_on_terminal, u);
	if (tty_out_fd(tty) != tty_in_fd(tty))
		evloop_add_fd(u->loop, tty_out_fd(tty), 0, ui_on_terminal, u);
	u->rejoin = 1;
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

/* ---- the panes as they are now ---- */

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

/* ---- the workspace's life ---- */

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
	u->prefix = o->cfg->prefix_key >= 1 && o->cfg->prefix_key <= 31 ? o->cfg->prefix_key :
	    INPUT_PREFIX_DEFAULT;
	const char *cs = nl_langinfo(CODESET);
	u->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	u->sigfd = ui_signals_open();
	if (u->sigfd < 0) {
		*err = xasprintf("signalfd: %s", strerror(errno));
		free(u);
		return NULL;
	}
	if (ui_screen_open(u, o->term, err) < 0) {
		char *e2 = NULL;      /* an unknown TERM where the session started: the first terminal's counts */
		if (ui_screen_open(u, "xterm-256color", &e2) < 0) {
			free(e2);
			close(u->sigfd);
			free(u);
			return NULL;
		}
		free(*err);
		*err = NULL;
	}
	u->own_loop = loop == NULL;
	u->loop = loop != NULL ? loop : evloop_new();
	u->in = input_new(o->cfg->prefix_key);
	u->dialog = dialog_new(&o->controls, o->user);
	ui_notify_open(u);
	config_key_name(o->cfg->prefix_key, u->prefix_name, sizeof u->prefix_name);
	dialog_set_prefix(u->dialog, u->prefix_name);
	ui_wt_open(u);
	int want = o->npanes < 1 ? 1 : (o->npanes > TOKMUX_MAX_PANES ? TOKMUX_MAX_PANES : o->npanes);
	for (int i = 0; i < want; i++) {
		int wt = o->worktrees || (i < o->cfg->npanes && o->cfg->panes[i].worktree);
		if (ui_open_pane(u, u->n, u->rows, u->cols, wt) == 0)
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
	if (notifier_fd(u->notifier) >= 0)
		evloop_add_fd(u->loop, notifier_fd(u->notifier), EVLOOP_READ, ui_on_notifier, u);
	evloop_set_before_poll(u->loop, ui_before_poll, u);
	if (evloop_run(u->loop) < 0)
		fatal("poll: %s", strerror(errno));
	evloop_set_before_poll(u->loop, NULL, NULL);
	while (u->nterms > 0)
		ui_term_free(u, u->term[0]);
	if (u->n == 0 && u->msg[0] != '\0' && !u->quit)
		snprintf(u->exit_msg, sizeof u->exit_msg, "tokmux: %s", u->msg);
	for (int i = u->n - 1; i >= 0; i--)
		ui_close_pane(u, i);
	return 0;
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
	ui_wt_close(u);
	if (notifier_fd(u->notifier) >= 0)
		evloop_del_fd(u->loop, notifier_fd(u->notifier));
	notifier_free(u->notifier);
	dialog_free(u->dialog);
	input_free(u->in);
	ui_screen_close(u);
	evloop_del_fd(u->loop, u->sigfd);
	if (u->o->wake_fd >= 0)
		evloop_del_fd(u->loop, u->o->wake_fd);
	if (u->own_loop)
		evloop_free(u->loop);
	free(u->orphans);
	close(u->sigfd);
	free(u);
}
