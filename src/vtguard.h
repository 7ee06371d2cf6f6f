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

typedef struct vtguard vtguard_t;

/* Receives the filtered bytes, for vterm_input_write; or (reply) answers
 * the guard gives itself, for the child, in order with libvterm's. */
typedef void (*vtguard_sink_fn)(const char *buf, size_t len, void *user);

vtguard_t *vtguard_new(vtguard_sink_fn sink, vtguard_sink_fn reply,
    void *user);
void vtguard_free(vtguard_t *g);

/* The terminal's width: the most one REP repeats. */
void vtguard_set_width(vtguard_t *g, int cols);

/* Filter len bytes of pane output into the sink. Sequences and UTF-8
 * characters cut by the end of buf are held until the next call. */
void vtguard_feed(vtguard_t *g, const char *buf, size_t len);

#endif
