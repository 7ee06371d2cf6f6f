/*
 * outer: the outer terminal beyond ncurses (outer.h). Owns the capability
 * strings read once from terminfo, the cells marked during a frame, the
 * cursor style last sent and an output buffer.
 *
 * How marked cells stay right with ncurses' model of the screen: render
 * draws such a cell as close as ncurses can (colours mapped down, a plain
 * underline) with extra attribute bits no terminal shows (A_HORIZONTAL and
 * friends, a hash of what ncurses cannot say), so that any change of the
 * cell, including one only in what ncurses cannot say, differs for ncurses
 * and the cell is redrawn. After doupdate() each marked cell whose screen
 * cell (curscr) is still what render drew is written again, whole, with
 * the right attributes: at its place, with sgr0 first, then ncurses' state
 * is restored (attributes normal, cursor where it believes it is).
 */
#include "outer.h"

#include <curses.h>
#include <term.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

_Static_assert(sizeof(cchar_t) <= sizeof(((struct outer_cell *)0)->drawn),
    "outer_cell.drawn holds a cchar_t");

/* The strings for one attribute each; NULL when the terminal has none. */
struct outer_str {
	const char *sgr0, *op, *bold, *dim, *sitm, *smul, *blink, *rev;
	const char *smxx, *smol, *smulx, *setulc, *setaf, *setab;
	const char *setrgbf, *setrgbb, *ss, *se, *cup;
};

struct outer {
	int fd;
	struct outer_caps caps;
	struct outer_str s;
	int xenl;               /* the last column can be written without a scroll */
	struct outer_cell *marks;
	size_t nmarks, cap;
	int style_sent;         /* -1: never sent (the terminal's default) */
	int style_want;
	struct buf out;
};

/* A terminfo string capability, or NULL if absent or cancelled. */
static const char *
outer_str(const char *name)
{
	char *s = tigetstr((char *)name);

	return s == NULL || s == (char *)-1 || *s == '\0' ? NULL : s;
}

/* A boolean or a numeric (RGB may be either, or a string) capability. */
static int
outer_flag(const char *name)
{
	return tigetflag((char *)name) > 0 || tigetnum((char *)name) > 0 ||
	    outer_str(name) != NULL;
}

static void
outer_read_caps(struct outer *t)
{
	struct outer_str *s = &t->s;
	const char *ct = getenv("COLORTERM");

	s->sgr0 = outer_str("sgr0");
	s->op = outer_str("op");
	s->bold = outer_str("bold");
	s->dim = outer_str("dim");
	s->sitm = outer_str("sitm");
	s->smul = outer_str("smul");
	s->blink = outer_str("blink");
	s->rev = outer_str("rev");
	s->smxx = outer_str("smxx");
	s->smol = outer_str("Smol");
	s->smulx = outer_str("Smulx");
	s->setulc = outer_str("Setulc");
	s->setaf = outer_str("setaf");
	s->setab = outer_str("setab");
	s->setrgbf = outer_str("setrgbf");
	s->setrgbb = outer_str("setrgbb");
	s->ss = outer_str("Ss");
	s->se = outer_str("Se");
	s->cup = outer_str("cup");
	t->xenl = tigetflag("xenl") > 0;
	t->caps.strike = s->smxx != NULL;
	t->caps.overline = s->smol != NULL;
	t->caps.ulstyle = s->smulx != NULL;
	t->caps.ulcolor = s->setulc != NULL;
	t->caps.cursor_style = s->ss != NULL;
	t->caps.rgb = (s->setrgbf != NULL && s->setrgbb != NULL) ||
	    outer_flag("Tc") || outer_flag("RGB") || (ct != NULL &&
	    (strcmp(ct, "truecolor") == 0 || strcmp(ct, "24bit") == 0));
	/* Without sgr0 nothing here can start from a known state. */
	t->caps.cells = s->sgr0 != NULL && s->cup != NULL;
	if (!t->caps.cells)
		memset(&t->caps, 0, sizeof t->caps);
}

outer_t *
outer_new(int fd)
{
	struct outer *t = xcalloc(1, sizeof *t);

	t->fd = fd;
	t->style_sent = -1;
	outer_read_caps(t);
	log_debug("%s: strike %d overline %d ulstyle %d ulcolor %d rgb %d "
	    "cursor %d", __func__, t->caps.strike, t->caps.overline,
	    t->caps.ulstyle, t->caps.ulcolor, t->caps.rgb,
	    t->caps.cursor_style);
	return t;
}

void
outer_free(outer_t *t)
{
	if (t == NULL)
		return;
	free(t->marks);
	buf_free(&t->out);
	free(t);
}

const struct outer_caps *
outer_caps(const outer_t *t)
{
	return &t->caps;
}

void
outer_mark(outer_t *t, const struct outer_cell *cell)
{
	if (t->nmarks == t->cap) {
		t->cap = t->cap * 2 + 256;
		t->marks = xreallocarray(t->marks, t->cap, sizeof *t->marks);
	}
	t->marks[t->nmarks++] = *cell;
}

void
outer_cursor_style(outer_t *t, int style)
{
	t->style_want = style < 0 || style > 6 ? 0 : style;
}

/* Append a capability string (padding "$<..>" dropped: no delays here). */
static void
outer_put(struct outer *t, const char *s)
{
	const char *p;

	if (s == NULL)
		return;
	while ((p = strstr(s, "$<")) != NULL && strchr(p, '>') != NULL) {
		buf_append(&t->out, s, (size_t)(p - s));
		s = strchr(p, '>') + 1;
	}
	buf_append(&t->out, s, strlen(s));
}

static void
outer_put1(struct outer *t, const char *cap, long a)
{
	if (cap != NULL)
		outer_put(t, tiparm(cap, a));
}

/* A colour: palette index through setaf/setab, RGB through setrgbf/b or
 * the ISO form Tc and COLORTERM stand for. */
static void
outer_color(struct outer *t, int c, int fg)
{
	int r = (c >> 16) & 255, g = (c >> 8) & 255, b = c & 255;
	const char *rgb = fg ? t->s.setrgbf : t->s.setrgbb;
	char tmp[32];

	if (c < 0)
		return;
	if (!(c & OUTER_RGB)) {
		outer_put1(t, fg ? t->s.setaf : t->s.setab, c);
		return;
	}
	if (rgb != NULL) {
		outer_put(t, tiparm(rgb, r, g, b));
		return;
	}
	snprintf(tmp, sizeof tmp, "\033[%d;2;%d;%d;%dm", fg ? 38 : 48, r, g, b);
	outer_put(t, tmp);
}

/* The attributes of a cell, from a reset state. */
static void
outer_style(struct outer *t, const struct outer_cell *c)
{
	uint16_t a = c->attrs;
	int ul = GRID_UL_STYLE(a);

	outer_put(t, t->s.sgr0);
	outer_put(t, t->s.op);
	if (a & GRID_ATTR_BOLD)
		outer_put(t, t->s.bold);
	if (a & GRID_ATTR_DIM)
		outer_put(t, t->s.dim);
	if (a & GRID_ATTR_ITALIC)
		outer_put(t, t->s.sitm);
	if ((a & GRID_ATTR_UNDERLINE) && ul > 1 && t->caps.ulstyle)
		outer_put1(t, t->s.smulx, ul);
	else if (a & GRID_ATTR_UNDERLINE)
		outer_put(t, t->s.smul);
	if (a & GRID_ATTR_BLINK)
		outer_put(t, t->s.blink);
	if (a & GRID_ATTR_REVERSE)
		outer_put(t, t->s.rev);
	if ((a & GRID_ATTR_STRIKE) && t->caps.strike)
		outer_put(t, t->s.smxx);
	if ((a & GRID_ATTR_OVERLINE) && t->caps.overline)
		outer_put(t, t->s.smol);
	outer_color(t, c->fg, 1);
	outer_color(t, c->bg, 0);
	if (c->ul >= 0 && (a & GRID_ATTR_UNDERLINE) && t->caps.ulcolor)
		outer_put1(t, t->s.setulc, c->ul & 0xFFFFFF);
}

/* Whether the screen still shows what render drew for c. */
static int
outer_still_drawn(const struct outer_cell *c)
{
	cchar_t got;

	if (c->y < 0 || c->x < 0 || c->y >= LINES || c->x + c->width > COLS)
		return 0;
	if (mvwin_wch(curscr, c->y, c->x, &got) != OK)
		return 0;
	return memcmp(&got, c->drawn, sizeof got) == 0;
}

/* Same attributes and colours (the style need not be written again). */
static int
outer_same_style(const struct outer_cell *a, const struct outer_cell *b)
{
	return a->attrs == b->attrs && a->fg == b->fg && a->bg == b->bg &&
	    a->ul == b->ul;
}

/* Write the marked cells still shown; returns 1 if any was. */
static int
outer_write_marks(struct outer *t)
{
	const struct outer_cell *c, *prev = NULL;
	int y = -1, x = -1;
	size_t i;

	for (i = 0; i < t->nmarks; i++) {
		c = &t->marks[i];
		if (!outer_still_drawn(c))
			continue;
		/* the bottom-right cell scrolls a terminal without xenl */
		if (!t->xenl && c->y == LINES - 1 && c->x + c->width >= COLS)
			continue;
		if (c->y != y || c->x != x)
			outer_put(t, tiparm(t->s.cup, c->y, c->x));
		if (prev == NULL || !outer_same_style(prev, c) ||
		    c->y != y || c->x != x)
			outer_style(t, c);
		buf_append(&t->out, c->text, strlen(c->text));
		y = c->y;
		x = c->x + c->width;
		prev = c;
	}
	return prev != NULL;
}

/* The cursor style, if the focused pane changed it. */
static void
outer_write_style(struct outer *t)
{
	if (!t->caps.cursor_style || t->style_want == t->style_sent ||
	    (t->style_sent < 0 && t->style_want == 0))
		return;
	if (t->style_want == 0 && t->s.se != NULL)
		outer_put(t, t->s.se);
	else
		outer_put1(t, t->s.ss, t->style_want);
	t->style_sent = t->style_want;
}

/* Write the buffer to the terminal, all of it. */
static void
outer_send(struct outer *t)
{
	size_t off = 0;
	ssize_t n;

	while (off < t->out.len) {
		n = write(t->fd, t->out.data + off, t->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_debug("%s: %s", __func__, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	t->out.len = 0;
}

void
outer_flush(outer_t *t)
{
	int cy, cx, sy, sx;

	getyx(newscr, cy, cx);
	getyx(curscr, sy, sx);
	t->out.len = 0;
	if (t->nmarks > 0 && t->caps.cells && outer_write_marks(t)) {
		outer_put(t, t->s.sgr0);
		outer_put(t, t->s.op);
		/* ncurses left the attributes normal and the cursor at newscr's
		 * cursor after doupdate(): back to both */
		outer_put(t, tiparm(t->s.cup, cy, cx));
	}
	wmove(curscr, sy, sx);
	t->nmarks = 0;
	outer_write_style(t);
	if (t->out.len > 0)
		outer_send(t);
}

void
outer_end(outer_t *t)
{
	t->out.len = 0;
	if (t->style_sent > 0 && t->caps.cursor_style) {
		if (t->s.se != NULL)
			outer_put(t, t->s.se);
		else
			outer_put1(t, t->s.ss, 0);
	}
	t->style_sent = -1;
	if (t->out.len > 0)
		outer_send(t);
}

/* ---- default colours ---- */

void
outer_ask_colors(outer_t *t)
{
	static const char q[] = "\033]10;?\033\\\033]11;?\033\\";

	t->out.len = 0;
	buf_append(&t->out, q, sizeof q - 1);
	outer_send(t);
}
