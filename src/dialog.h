/*
 * dialog: the metering dialogs over the workspace: the ceiling prompt on
 * the status line, the model picker, the list of a pane's last requests and
 * the help overlay. Owns their state and keys; reaches the metering core
 * only through the dialog_controls callbacks; draws with chrome. The UI
 * opens one, hands it every key while it is open, and acts on the result.
 */
#ifndef TOKMUX_DIALOG_H
#define TOKMUX_DIALOG_H

#include <stddef.h>
#include <stdint.h>

#include "chrome.h"
#include "input.h"

typedef struct dialog dialog_t;

/* In-app controls. Each may be NULL (the key then says so). Errors are
 * malloc'd one-line strings the dialog shows and frees. */
struct dialog_controls {
	/* Set route's ceiling in micro-dollars (-1: none). 0 or -1 with *err. */
	int (*set_ceiling)(void *user, int route, int64_t micros, char **err);
	/* route's ceiling now: micro-dollars, -1 none. */
	int64_t (*current_ceiling)(void *user, int route);
	/* Set route's model override (NULL: none, back to what the agent asks). */
	int (*set_model)(void *user, int route, const char *model, char **err);
	/* route's override now, NULL none. */
	const char *(*current_model)(void *user, int route);
	/* The priced models to choose from; ids stay valid while the UI runs. */
	int (*models)(void *user, const char **ids, int max);
	/* route's last requests as malloc'd lines, newest first; returns count. */
	int (*requests)(void *user, int route, char **lines, int max);
};

/* The pane a dialog is about. */
struct dialog_target {
	int number;          /* 1-based, for messages */
	const char *name;
	int route;           /* its gateway route, -1 none */
};

/* What opening a dialog, or a key in it, did: for the UI to act on. */
struct dialog_result {
	char message[256];   /* for the status line, "" none */
	int redraw;          /* the status line or the dialog changed */
	int uncovered;       /* a box closed: redraw what it covered */
	int changed;         /* metering state changed: refresh the sidebar */
	int answered;        /* a choice box was answered: chosen, tag */
	int chosen;          /* the choice picked (0-based), -1: cancelled */
	int tag;             /* the tag the box was opened with */
};

/* controls is copied; user is passed to every control. */
dialog_t *dialog_new(const struct dialog_controls *controls, void *user);
/* The prefix key as texts name it ("Ctrl-a"; default "Ctrl-g"). */
void dialog_set_prefix(dialog_t *d, const char *name);
void dialog_free(dialog_t *d);
int dialog_is_open(const dialog_t *d);     /* it takes every key */

/* Open a dialog; r is filled (a message says why one cannot open). */
void dialog_open_help(dialog_t *d, struct dialog_result *r);
void dialog_open_ceiling(dialog_t *d, const struct dialog_target *t, struct dialog_result *r);
void dialog_open_model(dialog_t *d, const struct dialog_target *t, struct dialog_result *r);
void dialog_open_requests(dialog_t *d, const struct dialog_target *t, struct dialog_result *r);

/* A question in a box: title, text lines (wrapped to fit), then the
 * choices, numbered; arrows/jk move, Enter or a choice's number picks,
 * Esc or q cancels. The answer comes back in a result with answered set,
 * chosen and tag (the caller's, to know which question it was). */
void dialog_open_choice(dialog_t *d, const char *title, const char *const *text, int ntext,
    const char *const *choices, int nchoices, int tag, struct dialog_result *r);

/* A key (any input event but mouse and resize) for the open dialog. */
void dialog_key(dialog_t *d, const struct input_event *ev, struct dialog_result *r);

/* The status line while the ceiling prompt is open (in buf), else NULL. */
const char *dialog_prompt(const dialog_t *d, char *buf, size_t len);
/* Draw the open box (help, model picker, request list), if any. */
void dialog_draw(dialog_t *d, chrome_t *c, int rows, int cols);

#endif
