/*
 * vt: one virtual terminal. The child's output goes through the guard
 * (vtguard.c: what libvterm 0.1.4 must not see) into libvterm's state layer,
 * which parses it and calls back here; this module keeps the pen (SGR
 * state: libvterm's part from its callbacks, the rest from the guard's pen
 * events), applies glyphs, erases and scrolls to its grid_t, marks the rows
 * the cursor wraps from (for reflow on resize), and tracks terminal
 * properties (title, cursor visibility and style, alternate screen,
 * reverse video, mouse mode). libvterm's screen layer is not used: it
 * copies every row on each scrolled line. Spans of printable ASCII skip
 * libvterm's glyph path where it would write them as they are
 * (vt_text_span): the grid takes them, libvterm's cursor is moved over.
 */
#include "vt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vterm.h>

#include "util.h"
#include "vtguard.h"

/* Pen attributes the guard's pen events set (libvterm's callbacks the
 * others). */
/* Printable ASCII spans this long or longer skip libvterm's glyph path
 * (vt_text_span). */
#define VT_TEXT_MIN 5

#define VT_PEN_EXT (GRID_ATTR_DIM | GRID_ATTR_CONCEAL | GRID_ATTR_OVERLINE | \
	GRID_ATTR_UNDERLINE | GRID_UL_MASK)

struct vt {
	VTerm *vterm;
	vtguard_t *guard;       /* filters the child's output for libvterm */
	VTermState *state;
	grid_t *grid;
	struct grid_cell pen;   /* fg, bg, attrs of the current SGR state */
	int rows, cols;
	int cursor_visible;
	int cursor_style;       /* DECSCUSR 0..6, 0 = the terminal's default */
	unsigned title_serial;  /* changes with every title set */
	int last_row, last_end; /* the last glyph's row and end column */
	int moved;              /* the cursor moved away from after it since */
	int resize_after;       /* at resize: the cursor is past the last glyph */
	int resize_uncancelled; /* libvterm keeps a pending wrap to cancel */
	int altscreen;
	int reverse;
	int mouse;
	int bell;
	char *title;
	vt_output_fn out;
	void *user;
	int probing;            /* capturing libvterm's output in vt_probe() */
	char probe[64];
	size_t probe_len;
	unsigned long nwrites;  /* vt_write calls, to spot an idle child */
	int want_col;           /* cursor column before a narrowing cut it, or -1 */
	unsigned long want_at;  /* nwrites when want_col was taken */
	int alt_row;            /* primary cursor row saved on alt entry */
	int alt_pushed;         /* primary lines pushed since, while alt shown */
	termsig_t *sig;         /* the program's status reports and notifications */
	int focused;            /* the pane has the focus (vt_focus), -1 never told */
	int focus_mode;         /* the child asked for focus events (mode 1004) */
};

/* ---- libvterm state callbacks ---- */

static void
vt_color_from_vterm(struct grid_color *gc, const VTermColor *vc, int fg)
{
	memset(gc, 0, sizeof *gc);
	/* Default colours are RGB-typed in 0.1.4: test them first. */
	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(vc) : VTERM_COLOR_IS_DEFAULT_BG(vc))
		gc->type = GRID_COLOR_DEFAULT;
	else if (VTERM_COLOR_IS_INDEXED(vc)) {
		gc->type = GRID_COLOR_INDEXED;
		gc->idx = vc->indexed.idx;
	} else {
		gc->type = GRID_COLOR_RGB;
		gc->r = vc->rgb.red;
		gc->g = vc->rgb.green;
		gc->b = vc->rgb.blue;
	}
}

static int
vt_cb_putglyph(VTermGlyphInfo *info, VTermPos pos, void *user)
{
	struct vt *vt = user;
	int n = 0;

	while (n < VTERM_MAX_CHARS_PER_CELL && info->chars[n] != 0)
		n++;
	/* At column 0 of the next row with no cursor move since a glyph
	 * reached the right edge (a wide one that did not fit: one short of
	 * it): the text wrapped. */
	if (pos.col == 0 && !vt->moved && pos.row == vt->last_row + 1 &&
	    vt->last_end >= vt->cols - 1)
		grid_set_wrapped(vt->grid, pos.row - 1, 1);
	grid_put(vt->grid, pos.row, pos.col, info->chars, n, info->width,
	    &vt->pen);
	vt->last_row = pos.row;
	vt->last_end = pos.col + (info->width > 0 ? info->width : 1);
	vt->moved = 0;
	return 1;
}

static int
vt_cb_movecursor(VTermPos pos, VTermPos oldpos, int visible, void *user)
{
	struct vt *vt = user;

	/* After a run of text libvterm reports the cursor after the last
	 * glyph (on the last column while a wrap is pending). */
	if (pos.row != vt->last_row ||
	    pos.col != UTIL_MIN(vt->last_end, vt->cols - 1))
		vt->moved = 1;
	/* The renderer draws the cursor; both rows need a redraw. */
	grid_touch(vt->grid, oldpos.row);
	grid_touch(vt->grid, pos.row);
	return 1;
}

static int
vt_cb_scrollrect(VTermRect r, int downward, int rightward, void *user)
{
	struct vt *vt = user;

	grid_scroll(vt->grid, r.start_row, r.end_row, r.start_col, r.end_col,
	    downward, rightward, &vt->pen.bg);
	/* The last glyph's row went up with the text (a linefeed at the
	 * bottom before the wrapped glyph). */
	if (rightward == 0 && vt->last_row >= r.start_row &&
	    vt->last_row < r.end_row)
		vt->last_row -= downward;
	return 1;
}

static int
vt_cb_moverect(VTermRect dest, VTermRect src, void *user)
{
	struct vt *vt = user;

	grid_move(vt->grid, dest.start_row, dest.start_col, src.start_row,
	    src.start_col, src.end_row - src.start_row,
	    src.end_col - src.start_col);
	return 1;
}

/* Erase with the current background (BCE). DECSCA protection is not kept
 * in grid cells, so a selective erase clears protected cells too. */
static int
vt_cb_erase(VTermRect r, int selective, void *user)
{
	struct vt *vt = user;

	grid_erase(vt->grid, r.start_row, r.end_row, r.start_col, r.end_col,
	    &vt->pen.bg);
	return 1;
}

/* libvterm's part of the pen back to its defaults (the guard resets the
 * rest with a pen event). */
static int
vt_cb_initpen(void *user)
{
	struct vt *vt = user;
	uint16_t ext = vt->pen.attrs & VT_PEN_EXT;
	struct grid_color ul = vt->pen.ul;

	grid_blank_cell(&vt->pen, NULL);
	vt->pen.attrs = ext;
	vt->pen.ul = ul;
	return 1;
}

static void
vt_pen_flag(struct vt *vt, uint16_t bit, int on)
{
	if (on)
		vt->pen.attrs |= bit;
	else
		vt->pen.attrs &= (uint16_t)~bit;
}

static int
vt_cb_setpenattr(VTermAttr attr, VTermValue *val, void *user)
{
	struct vt *vt = user;

	switch (attr) {
	case VTERM_ATTR_BOLD:
		vt_pen_flag(vt, GRID_ATTR_BOLD, val->boolean);
		break;
	case VTERM_ATTR_UNDERLINE:
		break;          /* the guard's pen events carry its style */
	case VTERM_ATTR_ITALIC:
		vt_pen_flag(vt, GRID_ATTR_ITALIC, val->boolean);
		break;
	case VTERM_ATTR_BLINK:
		vt_pen_flag(vt, GRID_ATTR_BLINK, val->boolean);
		break;
	case VTERM_ATTR_REVERSE:
		vt_pen_flag(vt, GRID_ATTR_REVERSE, val->boolean);
		break;
	case VTERM_ATTR_STRIKE:
		vt_pen_flag(vt, GRID_ATTR_STRIKE, val->boolean);
		break;
	case VTERM_ATTR_FOREGROUND:
		vt_color_from_vterm(&vt->pen.fg, &val->color, 1);
		break;
	case VTERM_ATTR_BACKGROUND:
		vt_color_from_vterm(&vt->pen.bg, &val->color, 0);
		break;
	default:
		break;
	}
	return 1;
}

static int
vt_cb_settermprop(VTermProp prop, VTermValue *val, void *user)
{
	struct vt *vt = user;
	VTermPos pos;

	switch (prop) {
	case VTERM_PROP_CURSORVISIBLE:
		vt->cursor_visible = val->boolean;
		break;
	case VTERM_PROP_ALTSCREEN:
		/* The state layer erases the alternate screen on entry. */
		vt->altscreen = val->boolean ? 1 : 0;
		grid_set_alt(vt->grid, vt->altscreen);
		if (vt->altscreen) {
			/* 1049 saved the cursor just before this. */
			vterm_state_get_cursorpos(vt->state, &pos);
			vt->alt_row = pos.row;
		}
		vt->alt_pushed = 0;
		break;
	case VTERM_PROP_TITLE:
		free(vt->title);
		vt->title = xstrdup(val->string != NULL ? val->string : "");
		vt->title_serial++;
		break;
	case VTERM_PROP_REVERSE:
		vt->reverse = val->boolean ? 1 : 0;
		grid_mark_all_dirty(vt->grid);
		break;
	case VTERM_PROP_MOUSE:
		vt->mouse = val->number;
		break;
	default:
		break;
	}
	return 1;
}

static int
vt_cb_bell(void *user)
{
	struct vt *vt = user;

	vt->bell = 1;
	termsig_bell(vt->sig, util_now_ms());
	return 1;
}

/*
 * Lines to push off the top of the shown screen when it shrinks from orows
 * to rows, as libvterm's screen layer does: enough to keep row keep (the
 * cursor) and the non-blank rows below it visible, but never row keep
 * itself: the cursor must stay on screen (libvterm 0.1.4 crashes on a
 * negative row), so drawn rows below it that still do not fit are dropped.
 */
static int
vt_shrink_push_count(grid_t *g, int orows, int rows, int keep)
{
	int r, bottom = keep, n;

	for (r = orows - 1; r > keep && r >= rows; r--)
		if (!grid_row_blank(g, r)) {
			bottom = r;
			break;
		}
	n = bottom + 1 - rows;
	n = n > keep ? keep : n;
	return n > 0 ? n : 0;
}

/*
 * The primary screen while the alternate one is shown: push exactly the
 * lines that keep the row of the cursor saved on entry visible (libvterm
 * clamps that cursor to the last row when it restores it), and pull them
 * back as the screen grows, so the shell's screen returns whole.
 */
static void
vt_resize_hidden_primary(struct vt *vt, int orows, int rows)
{
	grid_t *g = vt->grid;
	int n;

	if (rows < orows) {
		n = vt->alt_row - (rows - 1);
		if (n <= 0)
			return;
		grid_set_alt(g, 0);
		grid_scroll(g, 0, orows, 0, grid_cols(g), n, 0, NULL);
		grid_set_alt(g, 1);
		vt->alt_row -= n;
		vt->alt_pushed += n;
	} else {
		for (n = orows; n < rows && vt->alt_pushed > 0; n++) {
			if (grid_sb_pop(g) != 0)
				break;
			vt->alt_row++;
			vt->alt_pushed--;
		}
	}
}

/*
 * libvterm clamps the cursor column when the screen narrows; an idle child
 * (a shell prompt) would find its cursor moved once the screen widens
 * again, over the prompt that narrowing no longer cuts (grid.c keeps the
 * hidden cells). Remember the column and give it back if nothing was
 * written meanwhile. Columns at the old right edge are skipped: libvterm
 * may hold a pending wrap there that it already accounts for.
 */
static void
vt_resize_cursor_col(struct vt *vt, const VTermPos *cur, int ocols, int cols,
    VTermPos *delta)
{
	if (vt->want_col >= 0 && vt->want_at != vt->nwrites)
		vt->want_col = -1;
	if (cols < ocols && cur->col >= cols && cur->col < ocols - 1 &&
	    vt->want_col < 0) {
		vt->want_col = cur->col;
		vt->want_at = vt->nwrites;
	} else if (cols > ocols && vt->want_col > cur->col) {
		delta->col += UTIL_MIN(vt->want_col, cols - 1) - cur->col;
		if (vt->want_col < cols)
			vt->want_col = -1;
	}
}

/*
 * The primary screen's new width: its lines (and scrollback) are rewrapped
 * and the cursor stays on its character (grid_reflow). libvterm, after this
 * callback, moves a cursor with a pending wrap one column right if there
 * is room, then adds delta: the column is set so that the sum lands where
 * the reflow put it. A pending wrap libvterm keeps is cancelled after
 * (vt_resize), the reflow having placed the cursor past the glyph already.
 */
static int
vt_resize_reflow(struct vt *vt, const VTermPos *cur, int cols, int *crow,
    VTermPos *delta)
{
	int ccol = cur->col, adj = vt->resize_after && cur->col < cols - 1;

	grid_reflow(vt->grid, cols, crow, &ccol, vt->resize_after);
	delta->col = ccol - (cur->col + adj);
	vt->resize_uncancelled = vt->resize_after && !adj;
	return 1;
}

/*
 * The state layer has already taken the new size. A new width rewraps the
 * primary screen (vt_resize_reflow); the alternate screen is not rewrapped:
 * narrowing hides columns without losing them (grid.c). Then, on shrink,
 * top lines of the primary screen go to scrollback (vt_shrink_push_count); on
 * grow, lines come back from scrollback. delta moves the cursor with the
 * content.
 */
static int
vt_cb_resize(int rows, int cols, VTermPos *delta, void *user)
{
	struct vt *vt = user;
	grid_t *g = vt->grid;
	VTermPos cur;
	int orows = grid_rows(g), ocols = grid_cols(g), n, r, crow, reflowed = 0;

	vterm_state_get_cursorpos(vt->state, &cur);
	crow = cur.row;
	if (!vt->altscreen && cols != ocols)
		reflowed = vt_resize_reflow(vt, &cur, cols, &crow, delta);
	if (vt->altscreen && rows < orows)
		vt_resize_hidden_primary(vt, orows, rows);
	else if (rows < orows) {
		n = vt_shrink_push_count(g, orows, rows, crow);
		if (n > 0) {
			grid_scroll(g, 0, orows, 0, grid_cols(g), n, 0, NULL);
			crow -= n;
		}
	}
	grid_resize(g, rows, cols);
	if (vt->altscreen && rows > orows)
		vt_resize_hidden_primary(vt, orows, rows);
	else if (rows > orows) {
		for (r = orows; r < rows; r++) {
			if (grid_sb_pop(g) != 0)
				break;
			crow++;
		}
	}
	delta->row = crow - cur.row;
	if (!reflowed)
		vt_resize_cursor_col(vt, &cur, ocols, cols, delta);
	/* libvterm clamps the cursor below the size only */
	delta->row = UTIL_MAX(delta->row, -cur.row);
	delta->col = UTIL_MAX(delta->col, -cur.col);
	vt->rows = rows;
	vt->cols = cols;
	return 1;
}

static const VTermStateCallbacks state_cbs = {
	.putglyph = vt_cb_putglyph,
	.movecursor = vt_cb_movecursor,
	.scrollrect = vt_cb_scrollrect,
	.moverect = vt_cb_moverect,
	.erase = vt_cb_erase,
	.initpen = vt_cb_initpen,
	.setpenattr = vt_cb_setpenattr,
	.settermprop = vt_cb_settermprop,
	.bell = vt_cb_bell,
	.resize = vt_cb_resize,
};

/* Replies and key bytes from libvterm: hand them all to the owner. */
static void
vt_cb_output(const char *s, size_t len, void *user)
{
	struct vt *vt = user;

	if (vt->probing) {
		size_t n = UTIL_MIN(len, sizeof vt->probe - 1 - vt->probe_len);

		memcpy(vt->probe + vt->probe_len, s, n);
		vt->probe_len += n;
		vt->probe[vt->probe_len] = '\0';
		return;
	}
	if (vt->out != NULL)
		vt->out(s, len, vt->user);
}

/* An OSC string libvterm 0.1.4 does not handle (it knows 0, 1 and 2): the
 * program's signals (termsig.c), which may answer through vt_sig_reply. */
static int
vt_osc(const char *command, size_t cmdlen, void *user)
{
	struct vt *vt = user;
	int ours = termsig_osc(vt->sig, command, cmdlen, util_now_ms());

	size_t n = 0;

	while (n < cmdlen && n < 8 && command[n] >= '0' && command[n] <= '9')
		n++;
	/* the number and size only: a notification may quote the prompt */
	log_debug("vt %p: OSC %.*s (%zu bytes)%s", (void *)vt, (int)n, command, cmdlen,
	    ours ? ": a signal" : "");
	return ours;
}

static const VTermParserCallbacks vt_fallbacks = {
	.osc = vt_osc,
};

/* termsig's answers: to the child now, before libvterm answers whatever
 * follows in the same output (Claude Code takes a DA1 reply that comes
 * before the OSC 7501 one as "no status reports"). */
static void
vt_sig_reply(const char *buf, size_t len, void *user)
{
	struct vt *vt = user;

	if (vt->out != NULL)
		vt->out(buf, len, vt->user);
}

/* Feed query to libvterm and capture its reply instead of sending it to the
 * child. Returns the reply (NUL-terminated, possibly empty). */
static const char *
vt_probe(struct vt *vt, const char *query)
{
	vt->probing = 1;
	vt->probe_len = 0;
	vt->probe[0] = '\0';
	vterm_input_write(vt->vterm, query, strlen(query));
	vt->probing = 0;
	return vt->probe;
}

/* Parse a DECRQSS reply "DCS 1 $ r a ; b <final> ST"; 0 on success. */
static int
vt_parse_decrqss(const char *reply, int *a, int *b)
{
	const char *p = strstr(reply, "$r");

	return p != NULL && sscanf(p + 2, "%d;%d", a, b) == 2 ? 0 : -1;
}

/*
 * libvterm 0.1.4 clamps the bottom (right) margin on resize but not the top
 * (left) one, and a later scroll in the inverted region makes it memmove a
 * negative size. After a shrink, ask for the margins (DECRQSS) and reset
 * any that became inverted, restoring the cursor. This writes into the
 * parser, which is idle: the guard holds any sequence the child left
 * half-sent until it is complete.
 */
static void
vt_fix_margins(struct vt *vt)
{
	VTermPos pos;
	char buf[64];
	int a, b, fixed = 0;

	vterm_state_get_cursorpos(vt->state, &pos);
	if (vt_parse_decrqss(vt_probe(vt, "\033P$qr\033\\"), &a, &b) == 0 &&
	    a >= b) {
		vt_probe(vt, "\033[r");
		fixed = 1;
	}
	/* With DECLRMM off the reply is 1;cols, never inverted, so CSI s
	 * below is DECSLRM, not save-cursor. */
	if (vt_parse_decrqss(vt_probe(vt, "\033P$qs\033\\"), &a, &b) == 0 &&
	    a >= b) {
		vt_probe(vt, "\033[s");
		fixed = 1;
	}
	if (fixed) {
		log_debug("%s: reset inverted margins after resize", __func__);
		snprintf(buf, sizeof buf, "\033[%d;%dH", pos.row + 1, pos.col + 1);
		vt_probe(vt, buf);
	}
}

/* The guard's output: into libvterm. Each call is at most 16 KiB (libvterm
 * 0.1.4's text handler puts an array as long as its input on the stack) and
 * ends between characters and sequences. */
static void
vt_guard_out(const char *buf, size_t len, void *user)
{
	struct vt *vt = user;

	/* vterm_input_write always consumes everything it is given. */
	vterm_input_write(vt->vterm, buf, len);
}

/*
 * A span of n printable ASCII characters at the cursor, with libvterm
 * writing ASCII as it is (vtguard_set_text): libvterm spends a few hundred
 * instructions a glyph (decode, width, combining, a callback), so the
 * middle of the part that fits in the row before its last column goes
 * straight into the grid, and libvterm's cursor is moved over it (CUF).
 * The first character goes through libvterm (a single shift, a pending
 * wrap), and the last (the glyph a combining mark would join), and the
 * row's last column and the next row's first (the wrap, which this module
 * marks), row after row. Lines of double width or height are left to
 * libvterm. Returns how many bytes at the end of the span it left for the
 * caller to write with what follows: libvterm joins a combining mark to
 * the glyph before only within one write when the cursor waits to wrap.
 */
static int
vt_text_span(struct vt *vt, const char *s, int n)
{
	VTermPos pos;
	const VTermLineInfo *li;
	char cuf[16];
	int k, m, len, v, d;

	while (n > 0) {
		vterm_state_get_cursorpos(vt->state, &pos);
		k = UTIL_MIN(n, vt->cols - 1 - pos.col);
		li = vterm_state_get_lineinfo(vt->state, pos.row);
		if (k < VT_TEXT_MIN || li->doublewidth || li->doubleheight)
			break;
		vterm_input_write(vt->vterm, s, 1);
		grid_put_ascii(vt->grid, pos.row, pos.col + 1, s + 1, k - 2,
		    &vt->pen);
		len = 0;
		cuf[len++] = '\033';
		cuf[len++] = '[';
		for (v = k - 2, d = 1; d * 10 <= v; d *= 10)
			;
		for (; d > 0; d /= 10)
			cuf[len++] = (char)('0' + v / d % 10);
		cuf[len++] = 'C';
		vterm_input_write(vt->vterm, cuf, (size_t)len);
		/* the last of the row, and the first of the next if it wraps */
		m = UTIL_MIN(n - k + 1, 3);
		if (k - 1 + m == n)
			return m;
		vterm_input_write(vt->vterm, s + k - 1, (size_t)m);
		s += k - 1 + m;
		n -= k - 1 + m;
	}
	return n;
}

/*
 * Whether the UTF-8 character at p (whole and valid: the guard passes no
 * other) is surely not one libvterm 0.1.4 joins to the glyph before (its
 * combining table is Markus Kuhn's): blocks with no combining or
 * zero-width character in that table.
 */
static int
vt_u8_not_combining(const unsigned char *p, const unsigned char *end)
{
	static const uint32_t ok[][2] = {
		{ 0x00A0, 0x02FF }, { 0x0370, 0x0482 }, { 0x2010, 0x2029 },
		{ 0x2030, 0x205F }, { 0x2070, 0x20CF }, { 0x2100, 0x2FFF },
		{ 0x3000, 0x3029 }, { 0x3030, 0x3098 }, { 0x309B, 0xA4CF },
		{ 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFF00, 0xFFEF },
		{ 0x1F000, 0x1FAFF }, { 0x20000, 0x3FFFD },
	};
	uint32_t cp;
	int n = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2, i;

	if (end - p < n)
		return 0;
	cp = *p & (0x7Fu >> n);
	for (i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3Fu);
	for (i = 0; i < (int)UTIL_ARRAY_LEN(ok); i++)
		if (cp >= ok[i][0] && cp <= ok[i][1])
			return 1;
	return 0;
}

/*
 * A text run from the guard (no ESC in it): spans of VT_TEXT_MIN or more
 * printable ASCII characters by vt_text_span, the rest to libvterm. libvterm
 * decodes text in stretches that a C0 control ends; one that starts with
 * ASCII ends at the first byte >= 0x80 too, one that starts above ASCII
 * (u8) goes on over ASCII, and a combining mark joins the glyph before it
 * in the same stretch even where, in a new one, it would not (at the right
 * edge). A span is cut out only where that cannot differ: not in the middle
 * of such a u8 stretch, unless a control, the end of the run or a character
 * that is surely no combining mark follows it.
 */
static void
vt_guard_text(const char *buf, size_t len, void *user)
{
	struct vt *vt = user;
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	const unsigned char *slow = p, *q;
	int u8 = 0;

	while (p < end) {
		if (*p < 0x20 || *p >= 0x7F) {
			u8 = *p >= 0x80 ? 1 : *p < 0x20 ? 0 : u8;
			p++;
			continue;
		}
		for (q = p; q < end && *q >= 0x20 && *q < 0x7F; q++)
			;
		if (q - p >= VT_TEXT_MIN && (!u8 || q == end || *q < 0x20 ||
		    (*q >= 0x80 && vt_u8_not_combining(q, end)))) {
			if (p > slow)
				vterm_input_write(vt->vterm, (const char *)slow,
				    (size_t)(p - slow));
			slow = q - vt_text_span(vt, (const char *)p, (int)(q - p));
		}
		p = q;
	}
	if (end > slow)
		vterm_input_write(vt->vterm, (const char *)slow,
		    (size_t)(end - slow));
}

/* Answers the guard gives itself: to the child, as libvterm's go. */
static void
vt_guard_reply(const char *buf, size_t len, void *user)
{
	struct vt *vt = user;

	if (vt->out != NULL)
		vt->out(buf, len, vt->user);
}

/* The pen extension (what libvterm 0.1.4 cannot keep) into the pen. */
static void
vt_pen_ext(struct vt *vt, const struct sgr_ext *e)
{
	uint16_t a = vt->pen.attrs & (uint16_t)~VT_PEN_EXT;

	if (e->dim)
		a |= GRID_ATTR_DIM;
	if (e->conceal)
		a |= GRID_ATTR_CONCEAL;
	if (e->overline)
		a |= GRID_ATTR_OVERLINE;
	if (e->ul != 0)
		a |= GRID_ATTR_UNDERLINE;
	if (e->ul > GRID_UL_SINGLE)
		a |= (uint16_t)(e->ul << GRID_UL_SHIFT);
	vt->pen.attrs = a;
	vt->pen.ul = e->ulc;
}

/* What the guard tells, in order with what libvterm has parsed. */
static void
vt_guard_event(const struct vtguard_event *ev, void *user)
{
	struct vt *vt = user;

	switch (ev->type) {
	case VTGUARD_EV_PEN:
		vt_pen_ext(vt, ev->pen);
		break;
	case VTGUARD_EV_CURSOR_STYLE:
		vt->cursor_style = ev->arg;
		break;
	case VTGUARD_EV_CLEAR_SCROLLBACK:
		grid_sb_clear(vt->grid);
		break;
	default:
		break;
	}
}

/* ---- public API ---- */

vt_t *
vt_new(int rows, int cols, size_t sb_max_lines, size_t sb_max_bytes,
    vt_output_fn out, void *user)
{
	struct vt *vt = xcalloc(1, sizeof *vt);

	vt->rows = rows < 1 ? 1 : rows;
	vt->cols = cols < 1 ? 1 : cols;
	vt->out = out;
	vt->user = user;
	vt->cursor_visible = 1;
	vt->want_col = -1;
	vt->title = xstrdup("");
	vt->grid = grid_new(vt->rows, vt->cols, sb_max_lines, sb_max_bytes);
	grid_blank_cell(&vt->pen, NULL);
	vt->vterm = vterm_new(vt->rows, vt->cols);
	if (vt->vterm == NULL)
		fatal("vterm_new failed");
	vterm_set_utf8(vt->vterm, 1);
	vterm_output_set_callback(vt->vterm, vt_cb_output, vt);
	vt->state = vterm_obtain_state(vt->vterm);
	vterm_state_set_callbacks(vt->state, &state_cbs, vt);
	vterm_state_set_unrecognised_fallbacks(vt->state, &vt_fallbacks, vt);
	vterm_state_reset(vt->state, 1);
	vt->sig = termsig_new(vt_sig_reply, vt);
	vt->focused = -1;
	vt->guard = vtguard_new(vt_guard_out, vt_guard_reply, vt);
	vtguard_set_events(vt->guard, vt_guard_event);
	vtguard_set_text(vt->guard, vt_guard_text);
	vtguard_set_size(vt->guard, vt->rows, vt->cols);
	vt->last_row = -1;
	return vt;
}

void
vt_free(vt_t *vt)
{
	if (vt == NULL)
		return;
	vtguard_free(vt->guard);
	termsig_free(vt->sig);
	vterm_free(vt->vterm);
	grid_free(vt->grid);
	free(vt->title);
	free(vt);
}

/* Tell the child the focus it has (mode 1004 is on). */
static void
vt_focus_report(struct vt *vt)
{
	if (vt->focused == 1)
		vterm_state_focus_in(vt->state);
	else if (vt->focused == 0)
		vterm_state_focus_out(vt->state);
	log_debug("vt %p: focus %s reported", (void *)vt, vt->focused ? "in" : "out");
}

/*
 * Whether the child asks for focus events: libvterm keeps mode 1004 to
 * itself and answers DECRQM for it, so ask it (the parser is idle between
 * feeds). A child that turns the mode on is told its focus at once:
 * OpenCode sends no attention notification until it knows it is not
 * focused.
 */
static void
vt_focus_check(struct vt *vt)
{
	int on = strstr(vt_probe(vt, "\033[?1004$p"), ";1$y") != NULL;

	if (on != vt->focus_mode)
		log_debug("vt %p: focus events %s", (void *)vt, on ? "on" : "off");
	if (on && !vt->focus_mode)
		vt_focus_report(vt);
	vt->focus_mode = on;
}

void
vt_write(vt_t *vt, const char *buf, size_t len)
{
	vt->nwrites++;
	vtguard_feed(vt->guard, buf, len);
	vt_focus_check(vt);
}

void
vt_set_text_path(vt_t *vt, int on)
{
	vtguard_set_text(vt->guard, on ? vt_guard_text : NULL);
}

/* Whether libvterm holds a pending wrap: the cursor on the last column
 * right after a glyph put there, with autowrap (DECAWM) on. */
static int
vt_pending_wrap(struct vt *vt)
{
	VTermPos pos;

	vterm_state_get_cursorpos(vt->state, &pos);
	if (vt->moved || vt->last_row != pos.row || vt->last_end < vt->cols ||
	    pos.col != vt->cols - 1)
		return 0;
	return strstr(vt_probe(vt, "\033[?7$p"), "?7;1$y") != NULL;
}

/* Cancel libvterm's pending wrap without moving the cursor: a move away
 * and back (a CSI that does not move it keeps the pending wrap). */
static void
vt_cancel_wrap(struct vt *vt)
{
	VTermPos pos;

	vterm_state_get_cursorpos(vt->state, &pos);
	vt_probe(vt, pos.col > 0 ? "\033[D\033[C" : "\033[C\033[D");
	vt->moved = 1;
}

void
vt_resize(vt_t *vt, int rows, int cols)
{
	int shrink;

	rows = rows < 1 ? 1 : rows;
	cols = cols < 1 ? 1 : cols;
	if (rows == vt->rows && cols == vt->cols)
		return;
	/* libvterm calls vt_cb_resize, which resizes the grid. */
	shrink = rows < vt->rows || cols < vt->cols;
	vt->resize_after = cols != vt->cols && vt_pending_wrap(vt);
	vt->resize_uncancelled = 0;
	vterm_set_size(vt->vterm, rows, cols);
	if (grid_rows(vt->grid) != rows || grid_cols(vt->grid) != cols)
		grid_resize(vt->grid, rows, cols);
	vt->rows = rows;
	vt->cols = cols;
	vtguard_set_size(vt->guard, rows, cols);
	if (vt->resize_uncancelled)
		vt_cancel_wrap(vt);
	/* the last glyph's place means nothing any more: no wrap to mark */
	vt->moved = 1;
	vt->last_row = -1;
	if (shrink)
		vt_fix_margins(vt);
}

grid_t *
vt_grid(vt_t *vt)
{
	return vt->grid;
}

void
vt_cursor(const vt_t *vt, int *row, int *col, int *visible)
{
	VTermPos pos;

	vterm_state_get_cursorpos(vt->state, &pos);
	if (row != NULL)
		*row = pos.row;
	if (col != NULL)
		*col = pos.col;
	if (visible != NULL)
		*visible = vt->cursor_visible;
}

const char *
vt_title(const vt_t *vt)
{
	return vt->title;
}

int
vt_altscreen(const vt_t *vt)
{
	return vt->altscreen;
}

unsigned
vt_title_serial(const vt_t *vt)
{
	return vt->title_serial;
}

int
vt_cursor_style(const vt_t *vt)
{
	return vt->cursor_style;
}

void
vt_set_colors(vt_t *vt, const uint8_t *fg, const uint8_t *bg)
{
	vtguard_set_colors(vt->guard, fg, bg);
}

int
vt_reverse(const vt_t *vt)
{
	return vt->reverse;
}

int
vt_mouse_mode(const vt_t *vt)
{
	return vt->mouse;
}

/*
 * libvterm 0.1.4 keeps mode 2004 private and reports no property for it.
 * vterm_keyboard_start_paste() emits CSI 200~ only when the mode is on and
 * changes no state, so probe it with the output captured.
 */
int
vt_bracketed_paste(const vt_t *cvt)
{
	struct vt *vt = (struct vt *)cvt;
	int on;

	vt->probing = 1;
	vt->probe_len = 0;
	vterm_keyboard_start_paste(vt->vterm);
	on = vt->probe_len > 0;
	vt->probing = 0;
	return on;
}

const struct termsig_view *
vt_signals(const vt_t *vt)
{
	return termsig_view(vt->sig);
}

void
vt_signals_reset(vt_t *vt)
{
	termsig_reset(vt->sig);
}

void
vt_focus(vt_t *vt, int in)
{
	if (vt->focused == (in != 0))
		return;
	vt->focused = in != 0;
	if (vt->focus_mode)
		vt_focus_report(vt);
}

int
vt_take_bell(vt_t *vt)
{
	int b = vt->bell;

	vt->bell = 0;
	return b;
}

void
vt_key(vt_t *vt, int key, int mod)
{
	vterm_keyboard_key(vt->vterm, (VTermKey)key, (VTermModifier)mod);
}

void
vt_unichar(vt_t *vt, uint32_t c, int mod)
{
	vterm_keyboard_unichar(vt->vterm, c, (VTermModifier)mod);
}

void
vt_paste(vt_t *vt, int start)
{
	if (start)
		vterm_keyboard_start_paste(vt->vterm);
	else
		vterm_keyboard_end_paste(vt->vterm);
}

/* libvterm 0.1.4 reports buttons even when the child never asked for mouse
 * events, so check the mode here. */
void
vt_mouse(vt_t *vt, int row, int col, int button, int pressed, int mod)
{
	if (vt->mouse == VT_MOUSE_NONE)
		return;
	vterm_mouse_move(vt->vterm, row, col, (VTermModifier)mod);
	if (button > 0)
		vterm_mouse_button(vt->vterm, button, pressed != 0,
		    (VTermModifier)mod);
}
