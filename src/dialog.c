/*
 * dialog: one dialog open at a time. The ceiling prompt edits a line shown
 * in the status bar; the model picker and the request list are boxes over
 * the panes; help is a fixed box. Every outcome goes back to the UI in a
 * struct dialog_result.
 */
#include "dialog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DIALOG_PROMPT_MAX 32
#define DIALOG_PICK_MAX 64
#define DIALOG_LIST_MAX 24

enum dialog_kind {
	DIALOG_NONE,
	DIALOG_HELP,       /* any key closes */
	DIALOG_CEILING,    /* a line of input at the bottom */
	DIALOG_MODEL,      /* choose from a list */
	DIALOG_REQUESTS,   /* read-only; any key closes */
	DIALOG_CHOICE,     /* a question: pick one of its choices */
};

struct dialog {
	struct dialog_controls ctl;
	void *user;
	char prefix[16];             /* the prefix key as texts name it */
	enum dialog_kind kind;
	int number;                  /* the target pane, 1-based */
	int route;
	/* DIALOG_CEILING */
	char prompt_buf[DIALOG_PROMPT_MAX + 1];
	char prompt_now[32];
	char prompt_err[96];
	/* DIALOG_MODEL */
	int pick_n, pick_sel, pick_cur;
	const char *pick_ids[DIALOG_PICK_MAX];
	/* DIALOG_REQUESTS */
	char *list[DIALOG_LIST_MAX];
	int list_n;
	char list_title[96];
	/* DIALOG_CHOICE: the lines are list[] (text, a blank, the choices) */
	char *choice_title;
	int choice_first, choice_n, choice_sel, choice_tag;
};

static const char *dialog_help_lines[] = {
	"tokmux keys (prefix Ctrl-g, then:)",
	"",
	"  1-" TOKMUX_MAX_PANES_STR "          focus pane N (also Alt-1..Alt-" TOKMUX_MAX_PANES_STR
	    " without prefix)",
	"  arrows hjkl  focus the pane in that direction",
	"  z            zoom the focused pane / unzoom",
	"  [            scrollback: PgUp PgDn arrows g G, q or Esc leaves",
	"  c            new pane (up to " TOKMUX_MAX_PANES_STR "; asks worktree or plain when -w is on)",
	"  C            new pane in its own git worktree and branch tokmux/<name>",
	"  x            close the focused pane (asks if it still runs; for a",
	"               worktree pane: keep both, keep the branch, or remove both)",
	"  D            the focused worktree pane's diff since its branch point",
	"  r            restart the focused pane's command after it exited",
	"  b            set the focused pane's spend ceiling (a prompt line)",
	"  f            choose the focused pane's model override",
	"  m            the focused pane's last 20 requests",
	"  n            the next pane that needs input (then one marked [!])",
	"  s            show / hide the sidebar",
	"  Ctrl-l       redraw the screen",
	"  d            detach: the session goes on without this terminal",
	"               (tokmux attach comes back, tokmux ls lists sessions)",
	"  q            quit (asks): ends the session and every pane",
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
	"  states       working, needs input (permission, question), idle (its",
	"               turn is over), error, exited; [!] it needed you or finished",
	"               while you looked elsewhere (notify_command, notify_osc)",
	"  \xe2\x86\xb3 agent      a subagent's requests, tokens and cost",
	"  subscription the 5-hour / 7-day windows of one account, all its panes",
	"",
	"Press any key to close this help.",
};

static void
dialog_message(struct dialog_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
dialog_message(struct dialog_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

dialog_t *
dialog_new(const struct dialog_controls *controls, void *user)
{
	dialog_t *d = xcalloc(1, sizeof *d);
	if (controls != NULL)
		d->ctl = *controls;
	d->user = user;
	snprintf(d->prefix, sizeof d->prefix, "Ctrl-g");
	return d;
}

void
dialog_set_prefix(dialog_t *d, const char *name)
{
	snprintf(d->prefix, sizeof d->prefix, "%s", name != NULL && name[0] ? name : "Ctrl-g");
}

static void
dialog_list_free(dialog_t *d)
{
	for (int i = 0; i < d->list_n; i++)
		free(d->list[i]);
	d->list_n = 0;
}

void
dialog_free(dialog_t *d)
{
	if (d == NULL)
		return;
	dialog_list_free(d);
	free(d->choice_title);
	free(d);
}

int
dialog_is_open(const dialog_t *d)
{
	return d->kind != DIALOG_NONE;
}

/* Close the open dialog; a box leaves something to redraw. */
static void
dialog_close(dialog_t *d, struct dialog_result *r)
{
	if (d->kind != DIALOG_CEILING)
		r->uncovered = 1;
	d->kind = DIALOG_NONE;
	r->redraw = 1;
	dialog_list_free(d);
}

/* Whether the control can be used on the target pane (else a message says why). */
static int
dialog_usable(const struct dialog_target *t, const void *fn, const char *what,
    struct dialog_result *r)
{
	memset(r, 0, sizeof *r);
	if (t == NULL)
		return 0;
	if (fn == NULL) {
		dialog_message(r, "%s: not available", what);
		return 0;
	}
	if (t->route < 0) {
		dialog_message(r, "pane %d goes past the gateway: no %s", t->number, what);
		return 0;
	}
	return 1;
}

void
dialog_open_help(dialog_t *d, struct dialog_result *r)
{
	memset(r, 0, sizeof *r);
	d->kind = DIALOG_HELP;
	r->redraw = 1;
}

/* ---- the ceiling prompt ---- */

void
dialog_open_ceiling(dialog_t *d, const struct dialog_target *t, struct dialog_result *r)
{
	if (!dialog_usable(t, (const void *)d->ctl.set_ceiling, "ceiling", r))
		return;
	int64_t cur = d->ctl.current_ceiling ? d->ctl.current_ceiling(d->user, t->route) : -1;
	if (cur >= 0)
		util_fmt_usd(cur, d->prompt_now, sizeof d->prompt_now);
	else
		snprintf(d->prompt_now, sizeof d->prompt_now, "none");
	d->kind = DIALOG_CEILING;
	d->number = t->number;
	d->route = t->route;
	d->prompt_buf[0] = '\0';
	d->prompt_err[0] = '\0';
	r->redraw = 1;
}

static void
dialog_ceiling_submit(dialog_t *d, struct dialog_result *r)
{
	const char *s = d->prompt_buf;
	while (*s == ' ')
		s++;
	int64_t micros;
	if (*s == '\0') {           /* an empty line keeps the ceiling */
		dialog_close(d, r);
		dialog_message(r, "pane %d ceiling kept (%s)", d->number, d->prompt_now);
		return;
	}
	if (strcmp(s, "none") == 0) {
		micros = -1;
	} else if (util_parse_usd(s, &micros) < 0) {
		snprintf(d->prompt_err, sizeof d->prompt_err,
		    "[not a dollar amount: try 5 or 2.50, 0 blocks, none removes]");
		return;
	}
	dialog_close(d, r);
	char *err = NULL;
	if (d->ctl.set_ceiling(d->user, d->route, micros, &err) < 0) {
		dialog_message(r, "pane %d ceiling not set: %s", d->number, err ? err : "refused");
		free(err);
		return;
	}
	char usd[24];
	util_fmt_usd(micros, usd, sizeof usd);
	if (micros < 0)
		dialog_message(r, "pane %d ceiling removed", d->number);
	else if (micros == 0)
		dialog_message(r, "pane %d ceiling set to $0.00: the pane is blocked", d->number);
	else
		dialog_message(r, "pane %d ceiling set to %s", d->number, usd);
	r->changed = 1;
}

static void
dialog_ceiling_key(dialog_t *d, const struct input_event *ev, struct dialog_result *r)
{
	size_t len = strlen(d->prompt_buf);
	if (input_key_is(ev, INPUT_KEYNAME_ESCAPE)) {
		dialog_close(d, r);
	} else if (input_key_is(ev, INPUT_KEYNAME_ENTER)) {
		dialog_ceiling_submit(d, r);
	} else if (input_key_is(ev, INPUT_KEYNAME_BACKSPACE)) {
		if (len > 0)
			d->prompt_buf[len - 1] = '\0';
		d->prompt_err[0] = '\0';
	} else if (ev->kind == INPUT_CHAR && ev->ch == 21) {     /* Ctrl-U */
		d->prompt_buf[0] = '\0';
	} else if (ev->kind == INPUT_CHAR && ev->ch >= 32 && ev->ch < 127 && len < DIALOG_PROMPT_MAX) {
		d->prompt_buf[len] = (char)ev->ch;
		d->prompt_buf[len + 1] = '\0';
		d->prompt_err[0] = '\0';
	}
	r->redraw = 1;
}

const char *
dialog_prompt(const dialog_t *d, char *buf, size_t len)
{
	if (d->kind != DIALOG_CEILING)
		return NULL;
	snprintf(buf, len, " pane %d ceiling (now %s; dollars, 0 blocks, 'none' removes, empty keeps; "
	    "Enter sets, Esc cancels): %s_%s%s",
	    d->number, d->prompt_now, d->prompt_buf, d->prompt_err[0] ? "  " : "", d->prompt_err);
	return buf;
}

/* ---- the model picker ---- */

void
dialog_open_model(dialog_t *d, const struct dialog_target *t, struct dialog_result *r)
{
	if (!dialog_usable(t, (const void *)d->ctl.set_model, "model override", r))
		return;
	d->pick_ids[0] = NULL;
	d->pick_n = 1;
	if (d->ctl.models != NULL)
		d->pick_n += d->ctl.models(d->user, d->pick_ids + 1, DIALOG_PICK_MAX - 1);
	const char *cur = d->ctl.current_model ? d->ctl.current_model(d->user, t->route) : NULL;
	d->pick_cur = 0;
	for (int i = 1; cur != NULL && i < d->pick_n; i++)
		if (strcmp(d->pick_ids[i], cur) == 0)
			d->pick_cur = i;
	d->pick_sel = d->pick_cur;
	d->number = t->number;
	d->route = t->route;
	d->kind = DIALOG_MODEL;
	r->redraw = 1;
}

static void
dialog_model_set(dialog_t *d, struct dialog_result *r)
{
	dialog_close(d, r);
	const char *model = d->pick_ids[d->pick_sel];
	char *err = NULL;
	if (d->ctl.set_model(d->user, d->route, model, &err) < 0) {
		dialog_message(r, "pane %d model not set: %s", d->number, err ? err : "refused");
		free(err);
		return;
	}
	if (model != NULL)
		dialog_message(r, "pane %d now uses %s", d->number, model);
	else
		dialog_message(r, "pane %d: no model override", d->number);
	r->changed = 1;
}

static void
dialog_model_key(dialog_t *d, const struct input_event *ev, struct dialog_result *r)
{
	int up = input_key_is(ev, INPUT_KEYNAME_UP) || (ev->kind == INPUT_CHAR && ev->ch == 'k');
	int down = input_key_is(ev, INPUT_KEYNAME_DOWN) || (ev->kind == INPUT_CHAR && ev->ch == 'j');
	if (up && d->pick_sel > 0)
		d->pick_sel--;
	else if (down && d->pick_sel < d->pick_n - 1)
		d->pick_sel++;
	else if (input_key_is(ev, INPUT_KEYNAME_HOME))
		d->pick_sel = 0;
	else if (input_key_is(ev, INPUT_KEYNAME_END))
		d->pick_sel = d->pick_n - 1;
	else if (input_key_is(ev, INPUT_KEYNAME_ESCAPE) || (ev->kind == INPUT_CHAR && ev->ch == 'q'))
		dialog_close(d, r);
	else if (input_key_is(ev, INPUT_KEYNAME_ENTER))
		dialog_model_set(d, r);
	r->redraw = 1;
}

/* ---- the request list ---- */

void
dialog_open_requests(dialog_t *d, const struct dialog_target *t, struct dialog_result *r)
{
	if (!dialog_usable(t, (const void *)d->ctl.requests, "request list", r))
		return;
	dialog_list_free(d);
	d->list_n = d->ctl.requests(d->user, t->route, d->list, DIALOG_LIST_MAX);
	if (d->list_n <= 1) {
		dialog_list_free(d);
		dialog_message(r, "pane %d has made no requests yet", t->number);
		return;
	}
	snprintf(d->list_title, sizeof d->list_title,
	    "pane %d %s: last requests, newest first (any key closes)", t->number, t->name);
	d->kind = DIALOG_REQUESTS;
	r->redraw = 1;
}

/* ---- a question with choices ---- */

#define DIALOG_WRAP 72

/* Append text to list[] in lines of at most DIALOG_WRAP bytes, broken at
 * spaces where it can. */
static void
dialog_list_wrap(dialog_t *d, const char *text)
{
	size_t len = strlen(text);
	while (d->list_n < DIALOG_LIST_MAX) {
		size_t n = len;
		if (n > DIALOG_WRAP) {
			n = DIALOG_WRAP;
			while (n > DIALOG_WRAP / 2 && text[n] != ' ')
				n--;
			if (text[n] != ' ')
				n = DIALOG_WRAP;
		}
		d->list[d->list_n++] = xstrndup(text, n);
		while (text[n] == ' ')
			n++;
		text += n;
		len -= UTIL_MIN(len, n);
		if (len == 0)
			break;
	}
}

void
dialog_open_choice(dialog_t *d, const char *title, const char *const *text, int ntext,
    const char *const *choices, int nchoices, int tag, struct dialog_result *r)
{
	memset(r, 0, sizeof *r);
	dialog_list_free(d);
	for (int i = 0; i < ntext; i++)
		dialog_list_wrap(d, text[i]);
	if (d->list_n > 0 && d->list_n < DIALOG_LIST_MAX)
		d->list[d->list_n++] = xstrdup("");
	nchoices = UTIL_MIN(nchoices, DIALOG_LIST_MAX - d->list_n);
	d->choice_first = d->list_n;
	for (int i = 0; i < nchoices; i++)
		d->list[d->list_n++] = xasprintf("%d  %s", i + 1, choices[i]);
	free(d->choice_title);
	d->choice_title = xstrdup(title);
	d->choice_n = nchoices;
	d->choice_sel = 0;
	d->choice_tag = tag;
	d->kind = DIALOG_CHOICE;
	r->redraw = 1;
}

static void
dialog_choice_answer(dialog_t *d, int chosen, struct dialog_result *r)
{
	dialog_close(d, r);
	r->answered = 1;
	r->chosen = chosen;
	r->tag = d->choice_tag;
}

static void
dialog_choice_key(dialog_t *d, const struct input_event *ev, struct dialog_result *r)
{
	int up = input_key_is(ev, INPUT_KEYNAME_UP) || (ev->kind == INPUT_CHAR && ev->ch == 'k');
	int down = input_key_is(ev, INPUT_KEYNAME_DOWN) || (ev->kind == INPUT_CHAR && ev->ch == 'j');
	if (up && d->choice_sel > 0)
		d->choice_sel--;
	else if (down && d->choice_sel < d->choice_n - 1)
		d->choice_sel++;
	else if (input_key_is(ev, INPUT_KEYNAME_ENTER))
		dialog_choice_answer(d, d->choice_sel, r);
	else if (input_key_is(ev, INPUT_KEYNAME_ESCAPE) || (ev->kind == INPUT_CHAR && (ev->ch == 'q' ||
	    ev->ch == 27)))
		dialog_choice_answer(d, -1, r);
	else if (ev->kind == INPUT_CHAR && ev->ch >= '1' && ev->ch < '1' + (uint32_t)d->choice_n)
		dialog_choice_answer(d, (int)(ev->ch - '1'), r);
	r->redraw = 1;
}

/* ---- keys and drawing ---- */

void
dialog_key(dialog_t *d, const struct input_event *ev, struct dialog_result *r)
{
	memset(r, 0, sizeof *r);
	switch (d->kind) {
	case DIALOG_HELP:
	case DIALOG_REQUESTS:
		if (ev->kind != INPUT_NONE)
			dialog_close(d, r);
		break;
	case DIALOG_CEILING: dialog_ceiling_key(d, ev, r); break;
	case DIALOG_MODEL: dialog_model_key(d, ev, r); break;
	case DIALOG_CHOICE: dialog_choice_key(d, ev, r); break;
	case DIALOG_NONE: break;
	}
}

/* line with every "Ctrl-g" named as prefix (malloc'd). */
static char *
dialog_with_prefix(const char *line, const char *prefix)
{
	struct buf b = { 0 };
	const char *p;
	while ((p = strstr(line, "Ctrl-g")) != NULL) {
		buf_append(&b, line, (size_t)(p - line));
		buf_append(&b, prefix, strlen(prefix));
		line = p + 6;
	}
	buf_append(&b, line, strlen(line));
	buf_append(&b, "", 1);
	return b.data;
}

void
dialog_draw(dialog_t *d, chrome_t *c, int rows, int cols)
{
	if (d->kind == DIALOG_HELP) {
		/* the keys as the config names them: "Ctrl-g" becomes the prefix */
		enum { N = (int)UTIL_ARRAY_LEN(dialog_help_lines) };
		char *lines[N];
		for (int i = 0; i < N; i++)
			lines[i] = dialog_with_prefix(dialog_help_lines[i], d->prefix);
		chrome_draw_box(c, rows, cols, NULL, (const char *const *)lines, N, -1, -1);
		for (int i = 0; i < N; i++)
			free(lines[i]);
	} else if (d->kind == DIALOG_MODEL) {
		const char *names[DIALOG_PICK_MAX];
		for (int i = 0; i < d->pick_n; i++)
			names[i] = d->pick_ids[i] ? d->pick_ids[i] : "(no override: the model the agent asks for)";
		char title[96];
		snprintf(title, sizeof title, "pane %d model (arrows/jk move, Enter sets, Esc cancels)",
		    d->number);
		chrome_draw_box(c, rows, cols, title, names, d->pick_n, d->pick_sel, d->pick_cur);
	} else if (d->kind == DIALOG_REQUESTS) {
		chrome_draw_box(c, rows, cols, d->list_title, (const char *const *)d->list, d->list_n, -1, -1);
	} else if (d->kind == DIALOG_CHOICE) {
		chrome_draw_box(c, rows, cols, d->choice_title, (const char *const *)d->list, d->list_n,
		    d->choice_first + d->choice_sel, -1);
	}
}
