/*
 * vt: one virtual terminal. libvterm's *state* layer parses the child's
 * output (vterm_obtain_state + VTermStateCallbacks) and this module applies
 * it to a grid_t. It also encodes keys, mouse and paste toward the child and
 * hands libvterm's replies (DA, DSR, key bytes) to an output callback, which
 * must write them to the pty. Only vt.c includes <vterm.h>.
 */
#ifndef TOKMUX_VT_H
#define TOKMUX_VT_H

#include <stddef.h>
#include <stdint.h>

#include "grid.h"
#include "termsig.h"

typedef struct vt vt_t;

/* Bytes for the child (key presses, terminal replies). Never dropped. */
typedef void (*vt_output_fn)(const char *buf, size_t len, void *user);

enum vt_mouse_mode {
	VT_MOUSE_NONE = 0,
	VT_MOUSE_CLICK = 1,
	VT_MOUSE_DRAG = 2,
	VT_MOUSE_MOVE = 3,
};

/* Modifier bits, identical to VTermModifier. */
enum vt_mod {
	VT_MOD_SHIFT = 1,
	VT_MOD_ALT = 2,
	VT_MOD_CTRL = 4,
};

vt_t *vt_new(int rows, int cols, size_t sb_max_lines, size_t sb_max_bytes,
    vt_output_fn out, void *user);
void vt_free(vt_t *vt);

/* Parse child output. Consumes all len bytes; partial UTF-8 and escape
 * sequences are kept for the next call. */
void vt_write(vt_t *vt, const char *buf, size_t len);

/* Printable ASCII straight into the grid where libvterm would write it as
 * it is (on by default); off only for tests comparing both ways. */
void vt_set_text_path(vt_t *vt, int on);

/* Resize terminal and grid (call before TIOCSWINSZ). */
void vt_resize(vt_t *vt, int rows, int cols);

grid_t *vt_grid(vt_t *vt);
void vt_cursor(const vt_t *vt, int *row, int *col, int *visible);
const char *vt_title(const vt_t *vt);    /* "" when unset */
unsigned vt_title_serial(const vt_t *vt); /* changes whenever a title is set */
/* DECSCUSR cursor style: 0 the terminal's default, 1 blinking block,
 * 2 block, 3 blinking underline, 4 underline, 5 blinking bar, 6 bar. */
int vt_cursor_style(const vt_t *vt);
int vt_altscreen(const vt_t *vt);
int vt_reverse(const vt_t *vt);          /* DECSCNM reverse video */
int vt_mouse_mode(const vt_t *vt);       /* enum vt_mouse_mode */
int vt_bracketed_paste(const vt_t *vt);
int vt_take_bell(vt_t *vt);              /* returns 1 once per bell, then 0 */

/* What the program said about itself: OSC 7501 status reports,
 * notifications, progress, the bell (termsig.h). The terminal answers the
 * queries for them (OSC 7501 ; ?, OSC 99 p=?) in order with its other
 * replies. */
const struct termsig_view *vt_signals(const vt_t *vt);
/* A new program runs in the terminal (a restart): forget the old one's. */
void vt_signals_reset(vt_t *vt);

/* The default foreground and background (r, g, b) OSC 10 and 11 answer
 * with; NULL: unknown, not answered. */
void vt_set_colors(vt_t *vt, const uint8_t *fg, const uint8_t *bg);

/* The pane gained (1) or lost (0) focus: CSI I / CSI O to the child if it
 * asked for focus events (mode 1004). A child that turns the mode on later
 * is told the focus it has then. */
void vt_focus(vt_t *vt, int in);

/* Input toward the child. key is a VTermKey value (see input.c). */
void vt_key(vt_t *vt, int key, int mod);
void vt_unichar(vt_t *vt, uint32_t c, int mod);
void vt_paste(vt_t *vt, int start);      /* 1 = begin paste, 0 = end */
/* Mouse at cell (row, col), pane-relative. button 1-3, 4/5 = wheel up/down;
 * button 0 = motion only. */
void vt_mouse(vt_t *vt, int row, int col, int button, int pressed, int mod);

#endif
