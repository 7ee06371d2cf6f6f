/*
 * vtguard: a streaming filter between a pane's output and libvterm 0.1.4's
 * parser, which has no bound on CSI parameters and trusts its input in a
 * few other places. It holds every escape sequence until it is complete,
 * then passes it on whole, rewritten or dropped, the way xterm treats it:
 *
 * - CSI: at most 32 parameters are kept and values are capped at 65535, as
 *   in xterm; libvterm gets at most 16 (its array size; the 17th overwrote
 *   its callback pointers). SGR is split into several sequences at colour
 *   boundaries so nothing is lost; 58/59 (underline colour, which 0.1.4 reads
 *   as separate attributes) are dropped. CSIs with more than one leader or
 *   intermediate byte, which libvterm ignores, are dropped.
 * - REP (CSI n b) repeats the graphic character printed just before it, at
 *   most one row's width; with none (or after a control) it does nothing.
 *   libvterm's own REP loops forever when it has no previous character.
 * - DECRC (ESC 8) is followed by a no-op CSI, after which libvterm clamps
 *   the cursor: a position saved before the pane shrank is off the grid.
 * - UTF-8: C1 controls encoded as UTF-8 (U+0080..U+009F, which libvterm
 *   prints with width -1, moving the cursor left of column 0) are dropped;
 *   invalid or cut sequences become U+FFFD, so libvterm's decoder never
 *   holds a partial character across a control or a sequence.
 * - Combining marks: a mark that starts libvterm's text (after a control, a
 *   sequence or a write) is merged into the glyph before it, walking all of
 *   that glyph's marks each time (quadratic: a million marks kept apart by
 *   NULs took minutes). Past 16 such marks in a row with no base printed
 *   between, they are dropped; a cell shows at most 6 characters anyway.
 * - OSC and DCS strings are held (up to 4 KiB) and passed on whole; 0.1.4
 *   loses the start of a string split across writes. A DECRQSS (DCS $ q)
 *   for a setting 0.1.4 does not know is answered here, as xterm answers
 *   it ("not valid"): 0.1.4 formats that answer with "%.s" and an int where
 *   a char * belongs (undefined behaviour; glibc prints nothing for it,
 *   ASan's printf checks crash).
 *
 * - SGR is parsed whole (sgr.c): libvterm gets the plain SGR it reads
 *   right (colours in the ';' form, sub-parameters resolved), and the
 *   owner gets what it cannot keep (dim, conceal, overline, underline
 *   style and colour) as a pen event. DECSC/DECRC (ESC 7/8, CSI s/u while
 *   left/right margin mode is off, as xterm: libvterm took CSI s as
 *   DECSLRM, 1048, 1049) also save and restore that pen and the character
 *   sets, which libvterm 0.1.4 does not.
 * - Modes: DECSET/DECRST and SM/RM with several parameters are split (0.1.4
 *   applies only the first); 47 is 1047; 1049 or 1047 while the alternate
 *   screen is already shown does not save the cursor again (it would lose
 *   the primary screen's); DECCOLM (3) clears the screen and margins and
 *   homes the cursor, as when 132 columns are refused.
 * - Events for the owner: the pen, DECSCUSR cursor styles, CSI 3 J (clear
 *   scrollback).
 * - Queries 0.1.4 does not answer are answered here: OSC 10/11 (default
 *   colours, when known: vtguard_set_colors), OSC 4 (palette), XTVERSION
 *   (CSI > q), CSI 18 t (text area size), DA3 (CSI = c).
 *
 * Text and C0 controls pass through unchanged, in order. Sink calls hold
 * whole sequences and whole characters only, at most 16 KiB (libvterm 0.1.4
 * puts an array as long as its input on the stack, and shows a character
 * split across writes as U+FFFD), so libvterm's parser is idle between
 * calls and the owner may write its own queries to libvterm between feeds.
 * Remove once the supported distributions ship a libvterm that is fixed in
 * all of these (docs/ARCHITECTURE.md).
 */
#ifndef TOKMUX_VTGUARD_H
#define TOKMUX_VTGUARD_H

#include <stddef.h>
#include <stdint.h>

#include "sgr.h"

typedef struct vtguard vtguard_t;

/* Receives the filtered bytes, for vterm_input_write; or (reply) answers
 * the guard gives itself, for the child, in order with libvterm's. */
typedef void (*vtguard_sink_fn)(const char *buf, size_t len, void *user);

enum vtguard_event_type {
	VTGUARD_EV_PEN,                 /* pen: the pen extension from now on */
	VTGUARD_EV_CURSOR_STYLE,        /* arg: DECSCUSR 0..6 (0 = default) */
	VTGUARD_EV_CLEAR_SCROLLBACK,    /* CSI 3 J */
};

struct vtguard_event {
	int type;               /* enum vtguard_event_type */
	int arg;
	const struct sgr_ext *pen;
};

/* Called in order with the bytes passed on: the sink has been given
 * everything before it. */
typedef void (*vtguard_event_fn)(const struct vtguard_event *ev, void *user);

vtguard_t *vtguard_new(vtguard_sink_fn sink, vtguard_sink_fn reply,
    void *user);
void vtguard_free(vtguard_t *g);
void vtguard_set_events(vtguard_t *g, vtguard_event_fn fn);

/* Text runs (printable characters, C0 controls but no ESC, SO or SI, whole
 * valid UTF-8) go to fn instead of the sink whenever libvterm would write
 * their printable ASCII as it is, one cell per byte at the cursor: ASCII
 * invoked into GL, insert mode off, no left and right margins (DECLRMM
 * off). fn must give them to libvterm, or do what it would (vt.c). */
void vtguard_set_text(vtguard_t *g, vtguard_sink_fn fn);

/* The terminal's size: REP repeats at most a row, CSI 18 t answers it. */
void vtguard_set_width(vtguard_t *g, int cols);
void vtguard_set_size(vtguard_t *g, int rows, int cols);

/* The default foreground and background OSC 10 and 11 answer (r, g, b);
 * NULL: not known, not answered. */
void vtguard_set_colors(vtguard_t *g, const uint8_t *fg, const uint8_t *bg);

/* Filter len bytes of pane output into the sink. Sequences and UTF-8
 * characters cut by the end of buf are held until the next call. */
void vtguard_feed(vtguard_t *g, const char *buf, size_t len);

#endif
