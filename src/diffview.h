/*
 * diffview: the full-screen, scrollable overlay of a pane's diff in git's
 * own colours (Ctrl-g D). The text goes through a private vt and grid of
 * tokmux's own, the same terminal emulation the panes use, so whatever
 * bytes a changed file holds are drawn safely, and long lines wrap; the
 * view scrolls through that grid's scrollback and render draws it; a big
 * text is laid out a slice at a time, never holding up the keyboard. Owns
 * the text, the vt and its curses windows while open.
 */
#ifndef TOKMUX_DIFFVIEW_H
#define TOKMUX_DIFFVIEW_H

#include <stddef.h>

#include "chrome.h"
#include "input.h"
#include "render.h"

typedef struct diffview diffview_t;

/* title: the head line; text (copied): git's output; truncated: it was
 * cut (the foot says so). */
diffview_t *diffview_new(const char *title, const char *text, size_t len, int truncated);
void diffview_free(diffview_t *d);

/* A key: arrows/jk line, PgUp/PgDn/b/space page, Home/End/g/G ends; q or
 * Esc closes. Returns 1 when the view closes, else 0. */
int diffview_key(diffview_t *d, const struct input_event *ev);

/* Lines the text takes at the size last drawn, as far as it is laid out
 * (0 before the first draw). */
int diffview_lines(const diffview_t *d);

/* Laying the text out takes time for a big diff (libvterm parses a few
 * MiB in a few hundred ms): the first draw after a size change lays out
 * its first 64 KiB, then the UI gives it max bytes at a time between
 * other work until this returns 0. Returns 1 while text remains. */
int diffview_feed(diffview_t *d, size_t max);
/* Text remains to be laid out (or nothing was drawn yet). */
int diffview_pending(const diffview_t *d);

/* Draw over the whole screen (rows x cols); the text is laid out again
 * when the size changed. Queues the windows for doupdate(). */
void diffview_draw(diffview_t *d, render_t *r, chrome_t *c, int rows, int cols);

#endif
