/*
 * vtguard: the streaming filter in front of libvterm's parser (vtguard.h
 * says what it changes and why). Its states mirror libvterm 0.1.4's parser
 * (parser.c): ground, escape, CSI (leader, parameters, intermediates) and
 * OSC/DCS strings, with the same rules for C0 controls inside sequences
 * (executed at once), CAN/SUB (cancel), ESC (restart), NUL/DEL (ignored).
 */
#include "vtguard.h"

#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cli.h"
#include "palette.h"
#include "util.h"

#define VTGUARD_PARAMS 32          /* parameters kept (xterm keeps 30) */
#define VTGUARD_VT_PARAMS 16       /* libvterm 0.1.4's CSI_ARGS_MAX */
#define VTGUARD_PARAM_MAX 65535u   /* xterm's MAX_I_PARAM */
#define VTGUARD_MISSING UINT32_MAX
#define VTGUARD_STR_MAX 4096       /* OSC/DCS bytes kept */
#define VTGUARD_ESC_INTER 2        /* ESC intermediates libvterm acts on */
#define VTGUARD_OUT_MAX 16384      /* bytes gathered for one sink call */
#define VTGUARD_MARKS_MAX 16       /* combining marks merged from apart */

enum vtguard_state {
	VTGUARD_GROUND,
	VTGUARD_ESC,
	VTGUARD_CSI,
	VTGUARD_STR,
	VTGUARD_STR_ESC,
};

enum vtguard_phase {
	VTGUARD_LEADER,
	VTGUARD_ARGS,
	VTGUARD_INTER,
};

/* The character sets (libvterm 0.1.4 keeps them but DECSC does not save
 * them): G0..G3 designations and which are invoked into GL and GR. */
struct vtguard_charsets {
	char g[4];              /* final byte: 'B' ASCII, '0' DEC graphics, 'A' UK */
	uint8_t gl, gr;
};

/* What DECSC saves here, beside what libvterm saves itself. */
struct vtguard_saved {
	struct vtguard_charsets cs;
	struct sgr_ext pen;
};

/* A CSI sequence as parsed: "ESC [ leader params inter final". */
struct vtguard_csi {
	int phase;              /* enum vtguard_phase */
	char leader;            /* first leader byte (< = > ?), or 0 */
	char inter;             /* first intermediate byte, or 0 */
	char final;
	int nleader, ninter;    /* libvterm ignores a CSI with more than one */
	int n;                  /* parameters */
	int over;               /* more than VTGUARD_PARAMS: the rest dropped */
	uint32_t p[VTGUARD_PARAMS];     /* value or VTGUARD_MISSING */
	uint8_t sub[VTGUARD_PARAMS];    /* followed by ':' rather than ';' */
};

struct vtguard {
	vtguard_sink_fn sink;
	vtguard_sink_fn reply;
	vtguard_event_fn event;
	vtguard_sink_fn text;   /* text runs, when libvterm shows them as ASCII */
	void *user;
	int rows, cols;
	struct sgr_ext pen;     /* the pen extension (SGR libvterm cannot keep) */
	struct vtguard_charsets cs;
	struct vtguard_saved saved;     /* DECSC's slot (one, as libvterm's) */
	int declrmm;            /* DECLRMM (69): CSI s is DECSLRM, not SCOSC */
	int irm;                /* insert mode (SM 4) may be on */
	int alt;                /* the alternate screen is shown */
	int has_fg, has_bg;     /* default colours known, for OSC 10/11 */
	uint8_t fg[3], bg[3];
	int state;              /* enum vtguard_state */
	char esc[VTGUARD_ESC_INTER];    /* intermediates after ESC */
	int nesc;
	struct vtguard_csi csi;
	char str[VTGUARD_STR_MAX + 2];  /* "ESC ]" or "ESC P", body, ST */
	size_t str_len;
	uint8_t u8[4];          /* a UTF-8 character cut by the end of a feed */
	int u8_len, u8_need;
	uint8_t last[4];        /* the graphic character REP repeats */
	int last_len;           /* 0: none */
	int marks;              /* combining marks merged from apart in a row */
	locale_t utf8;          /* C.UTF-8, for wcwidth(); 0 if there is none */
	const uint8_t *raw;     /* bytes of the current feed passed on as is */
	size_t raw_len;
	char out[VTGUARD_OUT_MAX];      /* bytes made here, gathered */
	size_t out_len;
};

static const char vtguard_fffd[] = "\xEF\xBF\xBD";

static const struct vtguard_charsets vtguard_cs_default = {
	.g = { 'B', 'B', 'B', 'B' }, .gl = 0, .gr = 1,
};


/*
 * Output goes to the sink in calls of at most VTGUARD_OUT_MAX bytes that
 * never split a sequence or a character: either a span of the input passed
 * on as is, with no copy, or bytes made here (rewritten sequences, held
 * ones), gathered.
 */
static void
vtguard_flush(struct vtguard *g)
{
	if (g->raw_len > 0)
		g->sink((const char *)g->raw, g->raw_len, g->user);
	g->raw_len = 0;
	if (g->out_len > 0)
		g->sink(g->out, g->out_len, g->user);
	g->out_len = 0;
}

/* Pass on len bytes of the current feed at p: text, or one sequence. Text
 * longer than a sink call is cut before a character. */
static void
vtguard_emit_raw(struct vtguard *g, const uint8_t *p, size_t len)
{
	size_t n;

	while (len > 0) {
		if (g->raw_len > 0 && g->raw + g->raw_len == p &&
		    g->raw_len + len <= VTGUARD_OUT_MAX) {
			g->raw_len += len;
			return;
		}
		vtguard_flush(g);
		n = len;
		if (n > VTGUARD_OUT_MAX)
			for (n = VTGUARD_OUT_MAX; (p[n] & 0xC0) == 0x80; n--)
				;
		g->raw = p;
		g->raw_len = n;
		p += n;
		len -= n;
	}
}

/* Pass on bytes made here (they need not outlive the call). */
static void
vtguard_emit(struct vtguard *g, const void *buf, size_t len)
{
	if (g->raw_len > 0 || g->out_len + len > VTGUARD_OUT_MAX)
		vtguard_flush(g);
	memcpy(g->out + g->out_len, buf, len);
	g->out_len += len;
}

/*
 * A text run of the current feed (no ESC, SO or SI in it): to the text
 * function when one is set and libvterm would write its printable ASCII as
 * it is, at the cursor, one cell each: ASCII invoked into GL, no insert
 * mode, no left and right margins. Else on as any bytes.
 */
static void
vtguard_text(struct vtguard *g, const uint8_t *p, size_t len)
{
	if (g->text == NULL || g->cs.g[g->cs.gl & 3] != 'B' || g->irm ||
	    g->declrmm) {
		vtguard_emit_raw(g, p, len);
		return;
	}
	vtguard_flush(g);
	while (len > VTGUARD_OUT_MAX) {     /* cut before a character */
		size_t n = VTGUARD_OUT_MAX;

		while ((p[n] & 0xC0) == 0x80)
			n--;
		g->text((const char *)p, n, g->user);
		p += n;
		len -= n;
	}
	g->text((const char *)p, len, g->user);
}

/* Answer the child; libvterm first gets (and answers) what came before. */
static void
vtguard_reply(struct vtguard *g, const char *buf, size_t len)
{
	vtguard_flush(g);
	g->reply(buf, len, g->user);
}

vtguard_t *
vtguard_new(vtguard_sink_fn sink, vtguard_sink_fn reply, void *user)
{
	struct vtguard *g = xcalloc(1, sizeof *g);

	g->sink = sink;
	g->reply = reply;
	g->user = user;
	g->rows = 24;
	g->cols = 80;
	g->cs = vtguard_cs_default;
	g->saved.cs = vtguard_cs_default;
	g->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	return g;
}

void
vtguard_free(vtguard_t *g)
{
	if (g == NULL)
		return;
	if (g->utf8 != (locale_t)0)
		freelocale(g->utf8);
	free(g);
}

void
vtguard_set_events(vtguard_t *g, vtguard_event_fn fn)
{
	g->event = fn;
}

void
vtguard_set_text(vtguard_t *g, vtguard_sink_fn fn)
{
	g->text = fn;
}

void
vtguard_set_width(vtguard_t *g, int cols)
{
	g->cols = cols < 1 ? 1 : cols;
}

void
vtguard_set_size(vtguard_t *g, int rows, int cols)
{
	g->rows = rows < 1 ? 1 : rows;
	vtguard_set_width(g, cols);
}

void
vtguard_set_colors(vtguard_t *g, const uint8_t *fg, const uint8_t *bg)
{
	g->has_fg = fg != NULL;
	g->has_bg = bg != NULL;
	if (fg != NULL)
		memcpy(g->fg, fg, 3);
	if (bg != NULL)
		memcpy(g->bg, bg, 3);
}

/* ---- UTF-8 ---- */

/* Length of the sequence lead starts (RFC 3629), or 0 if it starts none. */
static int
vtguard_u8_need(uint8_t lead)
{
	if (lead >= 0xC2 && lead <= 0xDF)
		return 2;
	if (lead >= 0xE0 && lead <= 0xEF)
		return 3;
	if (lead >= 0xF0 && lead <= 0xF4)
		return 4;
	return 0;
}

/* Whether b may be byte i (1..3) of the sequence lead starts: no overlong
 * forms, surrogates or code points past U+10FFFF. */
static int
vtguard_u8_cont(uint8_t lead, int i, uint8_t b)
{
	uint8_t lo = 0x80, hi = 0xBF;

	if (i == 1 && lead == 0xE0)
		lo = 0xA0;
	else if (i == 1 && lead == 0xED)
		hi = 0x9F;
	else if (i == 1 && lead == 0xF0)
		lo = 0x90;
	else if (i == 1 && lead == 0xF4)
		hi = 0x8F;
	return b >= lo && b <= hi;
}

/* U+0080..U+009F: a C1 control, not a graphic character. */
static int
vtguard_u8_c1(const uint8_t *s)
{
	return s[0] == 0xC2 && s[1] < 0xA0;
}

static void
vtguard_set_last(struct vtguard *g, const void *s, int len)
{
	memcpy(g->last, s, (size_t)len);
	g->last_len = len;
}

/* Remember the last character of the text run [run, p) for REP. */
static void
vtguard_run_last(struct vtguard *g, const uint8_t *run, const uint8_t *p)
{
	int k = 1;

	if (p == run)
		return;
	if (p[-1] >= 0x20 && p[-1] < 0x7F)
		vtguard_set_last(g, p - 1, 1);
	else if (p[-1] < 0x80)
		g->last_len = 0;        /* a control ended the run */
	else {
		/* Runs hold only whole, valid characters: find the lead byte. */
		while (k < 4 && p - k > run && (p[-k] & 0xC0) == 0x80)
			k++;
		vtguard_set_last(g, p - k, k);
	}
}

/* Pass on the text run [run, p) and remember its last character. */
static void
vtguard_run_end(struct vtguard *g, const uint8_t *run, const uint8_t *p)
{
	if (p == run)
		return;
	vtguard_text(g, run, (size_t)(p - run));
	vtguard_run_last(g, run, p);
	if (p[-1] >= 0x20 && p[-1] < 0x7F)
		g->marks = 0;   /* a base was printed */
}

/* An invalid sequence: U+FFFD in its place, as a decoder shows it. */
static void
vtguard_u8_bad(struct vtguard *g)
{
	vtguard_emit(g, vtguard_fffd, 3);
	vtguard_set_last(g, vtguard_fffd, 3);
}

/* The code point of the valid n-byte character at s. */
static uint32_t
vtguard_u8_cp(const uint8_t *s, int n)
{
	uint32_t cp = n == 1 ? s[0] : s[0] & (0x7F >> n);
	int i;

	for (i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3F);
	return cp;
}

/*
 * The valid n-byte character at p starts one of libvterm's text calls (after
 * a control, a sequence or a write: run is where this text began). A
 * combining mark there is merged into the glyph before it, and libvterm
 * walks all the marks that glyph has so far each time: a stream of marks
 * kept apart by NULs or sequences costs quadratic time (a hang). Returns 1
 * to drop the mark: more than VTGUARD_MARKS_MAX in a row with no base
 * printed between (a cell shows at most 6 characters anyway).
 */
static int
vtguard_mark_drop(struct vtguard *g, const uint8_t *run, const uint8_t *p,
    int n)
{
	const uint8_t *q = p;
	locale_t old;
	int w, k;

	/* An ASCII character printed just before the controls: a base. */
	for (k = 0; k < 8 && q > run && (q[-1] < 0x20 || q[-1] == 0x7F); k++)
		q--;
	if (q > run && q[-1] >= 0x20 && q[-1] < 0x7F)
		g->marks = 0;
	if (g->utf8 == (locale_t)0)
		return 0;
	old = uselocale(g->utf8);
	w = wcwidth((wchar_t)vtguard_u8_cp(p, n));
	uselocale(old);
	if (w != 0) {
		g->marks = 0;
		return 0;
	}
	return ++g->marks > VTGUARD_MARKS_MAX;
}

/* Continue a character cut by the end of the previous feed. */
static const uint8_t *
vtguard_u8_resume(struct vtguard *g, const uint8_t *p, const uint8_t *end)
{
	while (p < end && g->u8_len < g->u8_need) {
		if (!vtguard_u8_cont(g->u8[0], g->u8_len, *p)) {
			g->u8_len = 0;
			vtguard_u8_bad(g);
			return p;
		}
		g->u8[g->u8_len++] = *p++;
	}
	if (g->u8_len == g->u8_need) {
		if (vtguard_u8_c1(g->u8) ||
		    vtguard_mark_drop(g, g->u8, g->u8, g->u8_len))
			g->last_len = 0;
		else {
			vtguard_emit(g, g->u8, (size_t)g->u8_len);
			vtguard_set_last(g, g->u8, g->u8_len);
		}
		g->u8_len = 0;
	}
	return p;
}

/* The rest of vtguard_u8: four-byte characters, cut and invalid ones. */
static const uint8_t *
vtguard_u8_slow(struct vtguard *g, const uint8_t **run, const uint8_t *p,
    const uint8_t *end)
{
	int n = vtguard_u8_need(p[0]), i;

	for (i = 1; i < n; i++) {
		if (p + i == end) {
			vtguard_run_end(g, *run, p);
			memcpy(g->u8, p, (size_t)i);
			g->u8_len = i;
			g->u8_need = n;
			*run = end;
			return end;
		}
		if (!vtguard_u8_cont(p[0], i, p[i]))
			break;
	}
	if (n > 0 && i == n && !vtguard_u8_c1(p)) {
		if ((p == *run || p[-1] < 0x20 || p[-1] == 0x7F) &&
		    vtguard_mark_drop(g, *run, p, n)) {
			vtguard_run_end(g, *run, p);
			g->last_len = 0;
			*run = p + n;
		}
		return p + n;
	}
	vtguard_run_end(g, *run, p);
	if (n == 2 && i == n)
		g->last_len = 0;        /* C1 control: dropped */
	else {
		vtguard_u8_bad(g);
		i = n == 0 ? 1 : i;
	}
	*run = p + i;
	return p + i;
}

/*
 * A byte >= 0x80 at p in ground state. A valid character stays in the run;
 * anything else ends the run (*run moves past it): invalid bytes become
 * U+FFFD, C1 controls are dropped, a character cut by end is held.
 */
static const uint8_t *
vtguard_u8(struct vtguard *g, const uint8_t **run, const uint8_t *p,
    const uint8_t *end)
{
	int n;

	/* Valid two- and three-byte characters, the common ones, first. */
	if (p[0] >= 0xC2 && p[0] <= 0xDF && end - p >= 2 &&
	    (p[1] & 0xC0) == 0x80 && (p[0] != 0xC2 || p[1] >= 0xA0))
		n = 2;
	else if ((p[0] & 0xF0) == 0xE0 && end - p >= 3 &&
	    (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
	    (p[0] != 0xE0 || p[1] >= 0xA0) && (p[0] != 0xED || p[1] < 0xA0))
		n = 3;
	else
		return vtguard_u8_slow(g, run, p, end);
	if ((p == *run || p[-1] < 0x20 || p[-1] == 0x7F) &&
	    vtguard_mark_drop(g, *run, p, n)) {
		vtguard_run_end(g, *run, p);
		g->last_len = 0;
		*run = p + n;
	}
	return p + n;
}

/* ---- CSI ---- */

/* Decimal digits of v (at most 65535) at out; returns their count. */
static size_t
vtguard_put_uint(uint32_t v, char *out)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* Emit params [from, to) of q (at most VTGUARD_VT_PARAMS) as one CSI. */
static void
vtguard_emit_csi(struct vtguard *g, const struct vtguard_csi *q, int from,
    int to)
{
	char buf[8 + VTGUARD_VT_PARAMS * 6];
	size_t n = 0;
	int i;

	buf[n++] = '\033';
	buf[n++] = '[';
	if (q->leader != 0)
		buf[n++] = q->leader;
	for (i = from; i < to; i++) {
		if (i > from)
			buf[n++] = q->sub[i - 1] ? ':' : ';';
		if (q->p[i] != VTGUARD_MISSING)
			n += vtguard_put_uint(q->p[i], buf + n);
	}
	if (q->inter != 0)
		buf[n++] = q->inter;
	buf[n++] = q->final;
	vtguard_emit(g, buf, n);
}

/* Emit one CSI: leader, params p[0..n-1] (';'-separated), final. */
static void
vtguard_emit_params(struct vtguard *g, char leader, const uint32_t *p,
    int n, char final)
{
	struct vtguard_csi q = { .leader = leader, .final = final, .n = n };

	memcpy(q.p, p, (size_t)n * sizeof *p);
	vtguard_emit_csi(g, &q, 0, n);
}

/* Tell the owner, after libvterm has had everything before. */
static void
vtguard_event(struct vtguard *g, int type, int arg)
{
	struct vtguard_event ev = { .type = type, .arg = arg, .pen = &g->pen };

	vtguard_flush(g);
	if (g->event != NULL)
		g->event(&ev, g->user);
}

static void
vtguard_set_pen(struct vtguard *g, const struct sgr_ext *pen)
{
	if (memcmp(&g->pen, pen, sizeof *pen) == 0)
		return;
	g->pen = *pen;
	vtguard_event(g, VTGUARD_EV_PEN, 0);
}

/* SGR: the plain part to libvterm, in sequences of at most
 * VTGUARD_VT_PARAMS that never cut an item; the rest to the pen. */
static void
vtguard_sgr(struct vtguard *g)
{
	const struct vtguard_csi *q = &g->csi;
	struct sgr_out out = { .n = 0 };
	int i, j, from = 0;

	if (sgr_apply(q->p, q->sub, q->n, &g->pen, &out))
		vtguard_event(g, VTGUARD_EV_PEN, 0);
	for (i = 0; i < out.n; i = j) {
		for (j = i + 1; j < out.n && !out.start[j]; j++)
			;
		if (j - from > VTGUARD_VT_PARAMS) {
			vtguard_emit_params(g, 0, out.p + from, i - from, 'm');
			from = i;
		}
	}
	if (out.n > from)
		vtguard_emit_params(g, 0, out.p + from, out.n - from, 'm');
}

/* REP: the last graphic character again, count times (0 or missing: once),
 * at most one row's width. Nothing when there is none, as in xterm. */
static void
vtguard_rep(struct vtguard *g)
{
	char buf[512];
	uint32_t count = g->csi.p[0];
	size_t n = 0;

	if (g->last_len == 0)
		return;
	if (count == VTGUARD_MISSING || count == 0)
		count = 1;
	count = UTIL_MIN(count, (uint32_t)g->cols);
	while (count-- > 0) {
		if (n + (size_t)g->last_len > sizeof buf) {
			vtguard_emit(g, buf, n);
			n = 0;
		}
		memcpy(buf + n, g->last, (size_t)g->last_len);
		n += (size_t)g->last_len;
	}
	vtguard_emit(g, buf, n);
}

/* ---- saving the cursor, character sets ---- */

/* Bring libvterm's character sets from what they are (g->cs) to cs. */
static void
vtguard_set_charsets(struct vtguard *g, const struct vtguard_charsets *cs)
{
	static const char *const gl[] = { "\017", "\016", "\033n", "\033o" };
	static const char *const gr[] = { "", "\033~", "\033}", "\033|" };
	char buf[3] = { '\033', 0, 0 };
	int i;

	for (i = 0; i < 4; i++)
		if (g->cs.g[i] != cs->g[i]) {
			buf[1] = (char)("()*+"[i]);
			buf[2] = cs->g[i];
			vtguard_emit(g, buf, 3);
		}
	if (g->cs.gl != cs->gl)
		vtguard_emit(g, gl[cs->gl & 3], strlen(gl[cs->gl & 3]));
	if (g->cs.gr != cs->gr)
		vtguard_emit(g, gr[cs->gr & 3], strlen(gr[cs->gr & 3]));
	g->cs = *cs;
}

/* DECSC's part here (libvterm saves the cursor and its own pen). */
static void
vtguard_save(struct vtguard *g)
{
	g->saved.cs = g->cs;
	g->saved.pen = g->pen;
}

/* DECRC's part here, after libvterm's. */
static void
vtguard_restore(struct vtguard *g)
{
	struct vtguard_saved s = g->saved;

	vtguard_set_charsets(g, &s.cs);
	vtguard_set_pen(g, &s.pen);
}

/* DECSC (ESC 7, or SCOSC: CSI s). */
static void
vtguard_decsc(struct vtguard *g)
{
	vtguard_emit(g, "\0337", 2);
	vtguard_save(g);
}

/* DECRC (ESC 8, or SCORC: CSI u). libvterm restores a cursor saved before
 * a shrink unchecked; it clamps the cursor at the end of every CSI it
 * handles, and CSI ? h (no mode) changes nothing else. */
static void
vtguard_decrc(struct vtguard *g)
{
	vtguard_emit(g, "\0338\033[?h", 6);
	vtguard_restore(g);
}

/* RIS: everything kept here back to its power-on state. libvterm 0.1.4
 * leaves the alternate screen shown without saying so: leave it first. */
static void
vtguard_ris(struct vtguard *g)
{
	static const struct sgr_ext pen0;

	if (g->alt)
		vtguard_emit(g, "\033[?1047l", 8);
	vtguard_emit(g, "\033c", 2);
	g->cs = vtguard_cs_default;
	g->saved.cs = vtguard_cs_default;
	memset(&g->saved.pen, 0, sizeof g->saved.pen);
	g->declrmm = 0;
	g->irm = 0;
	g->alt = 0;
	vtguard_set_pen(g, &pen0);
	vtguard_event(g, VTGUARD_EV_CURSOR_STYLE, 0);
}

/* ---- modes ---- */

/* DEC private modes handled here rather than passed on as they are. */
static int
vtguard_mode_managed(uint32_t mode)
{
	return mode == 3 || mode == 47 || mode == 69 || mode == 1047 ||
	    mode == 1048 || mode == 1049;
}

/* The alternate screen (47, 1047, 1049) on or off. Entered while shown,
 * xterm only clears it for 1049 (the cursor it saves then goes to the
 * alternate screen's own slot, which libvterm does not have: saving it
 * would lose the primary screen's cursor). */
static void
vtguard_altscreen(struct vtguard *g, uint32_t mode, int set)
{
	char buf[16];

	if (set && g->alt) {
		if (mode == 1049)
			vtguard_emit(g, "\033[2J", 4);
		return;
	}
	snprintf(buf, sizeof buf, "\033[?%u%c", mode == 47 ? 1047u : mode,
	    set ? 'h' : 'l');
	vtguard_emit(g, buf, strlen(buf));
	if (mode == 1049 && set)
		vtguard_save(g);
	else if (mode == 1049)
		vtguard_restore(g);
	g->alt = set;
}

/* One DEC private mode set (h) or reset (l). */
static void
vtguard_decset(struct vtguard *g, uint32_t mode, int set)
{
	char buf[16];

	if (mode == VTGUARD_MISSING)
		return;
	if (mode == 47 || mode == 1047 || mode == 1049) {
		vtguard_altscreen(g, mode, set);
		return;
	}
	if (mode == 3) {        /* DECCOLM: 80/132 columns, refused */
		vtguard_emit(g, "\033[r\033[s\033[H\033[2J", 14);
		return;
	}
	if (mode == 69)
		g->declrmm = set;
	snprintf(buf, sizeof buf, "\033[?%u%c", mode, set ? 'h' : 'l');
	vtguard_emit(g, buf, strlen(buf));
	if (mode == 1048)
		(set ? vtguard_save : vtguard_restore)(g);
}

/* DECSET/DECRST (leader ?) or SM/RM: one sequence per mode (libvterm
 * 0.1.4 applies only the first). */
static void
vtguard_modes(struct vtguard *g)
{
	const struct vtguard_csi *q = &g->csi;
	int i;

	for (i = 0; i < q->n; i++) {
		if (q->leader == '?')
			vtguard_decset(g, q->p[i], q->final == 'h');
		else if (q->p[i] != VTGUARD_MISSING)
			vtguard_emit_params(g, 0, &q->p[i], 1, q->final);
	}
}

/* ---- queries ---- */

static void
vtguard_answer(struct vtguard *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
vtguard_answer(struct vtguard *g, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		vtguard_reply(g, buf, UTIL_MIN((size_t)n, sizeof buf - 1));
}

/* ---- CSI dispatch ---- */

#define VTGUARD_KEY(leader, inter, final) \
	((unsigned)(uint8_t)(leader) << 16 | (unsigned)(uint8_t)(inter) << 8 | \
	 (unsigned)(uint8_t)(final))

/*
 * Whether a CSI (no sub-parameters, at most VTGUARD_VT_PARAMS of them)
 * goes to libvterm exactly as it came. Both the fast path and the
 * byte-by-byte states ask this, so they always agree.
 */
static int
vtguard_csi_plain(const struct vtguard *g, unsigned key, const uint32_t *p,
    int n)
{
	switch (key) {
	case VTGUARD_KEY(0, 0, 'm'):
		return sgr_plain(p, n, &g->pen);
	case VTGUARD_KEY('?', 0, 'h'):
	case VTGUARD_KEY('?', 0, 'l'):
		return n == 1 && !vtguard_mode_managed(p[0]);
	case VTGUARD_KEY(0, 0, 'h'):
	case VTGUARD_KEY(0, 0, 'l'):
		return n == 1;
	case VTGUARD_KEY(0, 0, 'b'):            /* REP */
	case VTGUARD_KEY(0, 0, 's'):            /* SCOSC or DECSLRM */
	case VTGUARD_KEY(0, 0, 'u'):            /* SCORC */
	case VTGUARD_KEY(0, ' ', 'q'):          /* DECSCUSR */
	case VTGUARD_KEY('=', 0, 'c'):          /* DA3 */
	case VTGUARD_KEY('>', 0, 'q'):          /* XTVERSION */
		return 0;
	case VTGUARD_KEY(0, 0, 'J'):
		return p[0] != 3;
	case VTGUARD_KEY(0, 0, 't'):
		return p[0] != 18;
	default:
		return 1;
	}
}

/* The CSIs vtguard_csi_plain does not pass on as they are. */
static void
vtguard_csi_rewrite(struct vtguard *g, unsigned key)
{
	const struct vtguard_csi *q = &g->csi;
	uint32_t p0 = q->p[0] == VTGUARD_MISSING ? 0 : q->p[0];

	switch (key) {
	case VTGUARD_KEY(0, 0, 'm'): vtguard_sgr(g); break;
	case VTGUARD_KEY(0, 0, 'b'): vtguard_rep(g); break;
	case VTGUARD_KEY('?', 0, 'h'):
	case VTGUARD_KEY('?', 0, 'l'):
	case VTGUARD_KEY(0, 0, 'h'):
	case VTGUARD_KEY(0, 0, 'l'): vtguard_modes(g); break;
	case VTGUARD_KEY(0, 0, 's'):
		if (g->declrmm)
			vtguard_emit_csi(g, q, 0, UTIL_MIN(q->n, 2));
		else
			vtguard_decsc(g);
		break;
	case VTGUARD_KEY(0, 0, 'u'): vtguard_decrc(g); break;
	case VTGUARD_KEY(0, ' ', 'q'):
		vtguard_emit_csi(g, q, 0, 1);
		if (p0 <= 6)
			vtguard_event(g, VTGUARD_EV_CURSOR_STYLE, (int)p0);
		break;
	case VTGUARD_KEY(0, 0, 'J'):
		if (p0 == 3)
			vtguard_event(g, VTGUARD_EV_CLEAR_SCROLLBACK, 0);
		else
			vtguard_emit_csi(g, q, 0, 1);
		break;
	case VTGUARD_KEY('=', 0, 'c'):
		if (p0 == 0)
			vtguard_answer(g, "\033P!|00000000\033\\");
		break;
	case VTGUARD_KEY('>', 0, 'q'):
		if (p0 == 0)
			vtguard_answer(g, "\033P>|tokmux %s\033\\", TOKMUX_VERSION);
		break;
	case VTGUARD_KEY(0, 0, 't'):
		if (p0 == 18)
			vtguard_answer(g, "\033[8;%d;%dt", g->rows, g->cols);
		else
			vtguard_emit_csi(g, q, 0, UTIL_MIN(q->n, VTGUARD_VT_PARAMS));
		break;
	default:
		vtguard_emit_csi(g, q, 0, UTIL_MIN(q->n, VTGUARD_VT_PARAMS));
		break;
	}
}

/* Insert mode (SM/RM 4), as libvterm will have it after this CSI. */
static void
vtguard_track_irm(struct vtguard *g, unsigned key, const uint32_t *p, int n)
{
	int i;

	if (key != VTGUARD_KEY(0, 0, 'h') && key != VTGUARD_KEY(0, 0, 'l'))
		return;
	for (i = 0; i < n; i++)
		if (p[i] == 4)
			g->irm = key == VTGUARD_KEY(0, 0, 'h');
}

/*
 * A whole CSI from the byte-by-byte states: passed on, rewritten or
 * dropped by its final byte (and leader, intermediate). The fast path
 * (vtguard_csi_fast) passes on what vtguard_csi_plain says is plain
 * without coming here.
 */
static void
vtguard_csi_dispatch(struct vtguard *g)
{
	const struct vtguard_csi *q = &g->csi;
	unsigned key = VTGUARD_KEY(q->leader, q->inter, q->final);
	int i, colon = 0;

	if (q->nleader > 1 || q->ninter > 1)
		return;
	vtguard_track_irm(g, key, q->p, q->n);
	for (i = 0; i + 1 < q->n; i++)
		colon |= q->sub[i];
	if (!colon && q->n <= VTGUARD_VT_PARAMS &&
	    vtguard_csi_plain(g, key, q->p, q->n))
		vtguard_emit_csi(g, q, 0, q->n);
	else
		vtguard_csi_rewrite(g, key);
}

/* A parameter byte: digit, ';' or ':' (returns 1), else 0. */
static int
vtguard_csi_param(struct vtguard_csi *q, uint8_t c)
{
	uint32_t *v = &q->p[q->n - 1];

	if (c >= '0' && c <= '9') {
		if (!q->over) {
			*v = (*v == VTGUARD_MISSING ? 0 : *v) * 10 + (c - '0');
			*v = UTIL_MIN(*v, VTGUARD_PARAM_MAX);
		}
		return 1;
	}
	if (c != ';' && c != ':')
		return 0;
	if (q->n == VTGUARD_PARAMS) {
		q->over = 1;
		return 1;
	}
	q->sub[q->n - 1] = c == ':';
	q->p[q->n] = VTGUARD_MISSING;
	q->sub[q->n] = 0;
	q->n++;
	return 1;
}

/* One byte (not a control) of a CSI sequence. */
static void
vtguard_csi_byte(struct vtguard *g, uint8_t c)
{
	struct vtguard_csi *q = &g->csi;

	if (q->phase == VTGUARD_LEADER) {
		if (c >= 0x3C && c <= 0x3F) {
			q->leader = q->nleader++ == 0 ? (char)c : q->leader;
			return;
		}
		q->phase = VTGUARD_ARGS;
		q->n = 1;
		q->p[0] = VTGUARD_MISSING;
		q->sub[0] = 0;
	}
	if (q->phase == VTGUARD_ARGS) {
		if (vtguard_csi_param(q, c))
			return;
		q->phase = VTGUARD_INTER;
	}
	if (c >= 0x20 && c <= 0x2F) {
		q->inter = q->ninter++ == 0 ? (char)c : q->inter;
		return;
	}
	if (c >= 0x40 && c <= 0x7E) {
		q->final = (char)c;
		vtguard_csi_dispatch(g);
	}
	/* else an invalid CSI: libvterm drops it too */
	g->state = VTGUARD_GROUND;
	g->last_len = 0;
}

/* ---- ground state ---- */

/* The next ESC, SO, SI or byte >= 0x80 from p (or end), sixteen bytes at
 * a time. */
static const uint8_t *
vtguard_scan(const uint8_t *p, const uint8_t *end)
{
#ifdef __SSE2__
	const __m128i esc = _mm_set1_epi8(0x1B), fe = _mm_set1_epi8(-2);
	const __m128i shift = _mm_set1_epi8(0x0E);
	__m128i v, hit;
	int m;

	while (end - p >= 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)p);
		hit = _mm_or_si128(_mm_cmpeq_epi8(v, esc),
		    _mm_cmpeq_epi8(_mm_and_si128(v, fe), shift));
		m = _mm_movemask_epi8(_mm_or_si128(hit, v));
		if (m != 0)
			return p + __builtin_ctz((unsigned)m);
		p += 16;
	}
#endif
	while (p < end && *p != 0x1B && *p < 0x80 && (*p & 0xFE) != 0x0E)
		p++;
	return p;
}

/*
 * The common CSI, whole in this feed at p (ESC [), that vtguard_csi_plain
 * says goes to libvterm as it is (or REP): at most 16 parameters, none
 * above 65535, no sub-parameters, one leader and one intermediate at most,
 * no control inside. Passed on as is (REP expanded) and returns the byte
 * after it; NULL for anything else, which the byte-by-byte states then
 * take and rewrite where needed. The text run [run, p) before it has been
 * passed on; its last character matters only to REP.
 */
static const uint8_t *
vtguard_csi_fast(struct vtguard *g, const uint8_t *run, const uint8_t *p,
    const uint8_t *end)
{
	const uint8_t *i = p + 2;
	uint32_t v = 0, vals[VTGUARD_VT_PARAMS];
	int digits = 0, n = 0, odd = 0;
	char leader = 0, inter = 0;
	unsigned key;

	if (end - p < 3 || p[1] != '[')
		return NULL;
	if (*i >= 0x3C && *i <= 0x3F)
		leader = (char)*i++;
	for (;; i++) {
		if (i < end && (unsigned)(*i - '0') < 10) {
			v = v * 10 + (*i - '0');
			digits++;
			continue;
		}
		if (n == VTGUARD_VT_PARAMS)
			return NULL;
		vals[n++] = digits > 0 ? v : VTGUARD_MISSING;
		odd |= digits > 5 || v > VTGUARD_PARAM_MAX;
		if (i == end || *i != ';')
			break;
		v = 0;
		digits = 0;
	}
	if (i < end && *i >= 0x20 && *i <= 0x2F)
		inter = (char)*i++;
	if (i == end || *i < 0x40 || *i > 0x7E || odd)
		return NULL;
	key = VTGUARD_KEY(leader, inter, *i);
	if (key == VTGUARD_KEY(0, 0, 'h') || key == VTGUARD_KEY(0, 0, 'l')) {
		if (n != 1)
			return NULL;    /* one sequence per mode: the slow path */
		vtguard_track_irm(g, key, vals, n);
	}
	if (key == VTGUARD_KEY(0, 0, 'b')) {
		vtguard_run_last(g, run, p);
		g->csi.p[0] = vals[0];
		vtguard_rep(g);
	} else if (vtguard_csi_plain(g, key, vals, n))
		vtguard_emit_raw(g, p, (size_t)(i + 1 - p));
	else
		return NULL;
	g->last_len = 0;
	return i + 1;
}

/* Ground state: text and C0 controls pass through until an ESC. */
static const uint8_t *
vtguard_ground(struct vtguard *g, const uint8_t *p, const uint8_t *end)
{
	const uint8_t *run, *next;

	if (g->u8_len > 0) {
		p = vtguard_u8_resume(g, p, end);
		if (g->u8_len > 0)
			return p;
	}
	run = p;
	while ((p = vtguard_scan(p, end)) < end) {
		if (*p == 0x0E || *p == 0x0F) {
			/* LS1, LS0: passed on; the run before is in the
			 * set invoked until now */
			vtguard_run_end(g, run, p);
			run = p;
			g->cs.gl = *p == 0x0E;
			p++;
			continue;
		}
		if (*p != 0x1B) {
			p = vtguard_u8(g, &run, p, end);
			continue;
		}
		if (p > run) {
			vtguard_text(g, run, (size_t)(p - run));
			if (p[-1] >= 0x20 && p[-1] < 0x7F)
				g->marks = 0;   /* a base was printed */
		}
		next = vtguard_csi_fast(g, run, p, end);
		if (next == NULL) {
			vtguard_run_last(g, run, p);
			g->state = VTGUARD_ESC;
			g->nesc = 0;
			return p + 1;
		}
		run = p = next;
	}
	vtguard_run_end(g, run, p);
	return p;
}

/* ---- ESC and strings ---- */

static void
vtguard_str_begin(struct vtguard *g, uint8_t c)
{
	g->str[0] = '\033';
	g->str[1] = (char)c;
	g->str_len = 2;
	g->state = VTGUARD_STR;
}

/*
 * A DECRQSS request (DCS $ q Pt) for a setting libvterm 0.1.4 does not
 * answer itself: it would format its "not valid" answer with "%.s" and an
 * int where a char * belongs.
 */
static int
vtguard_decrqss_unknown(const struct vtguard *g)
{
	static const char *known[] = { "m", "r", "s", " q", "\"q" };
	const char *body = g->str + 2;
	size_t len = g->str_len - 2, i;

	if (g->str[1] != 'P' || len < 2 || memcmp(body, "$q", 2) != 0)
		return 0;
	for (i = 0; i < UTIL_ARRAY_LEN(known); i++)
		if (len - 2 == strlen(known[i]) &&
		    memcmp(body + 2, known[i], len - 2) == 0)
			return 0;
	return 1;
}

/* Answer OSC num (10, 11, or 4 with idx) with colour c, ended by st. */
static void
vtguard_osc_answer(struct vtguard *g, int num, int idx, const uint8_t *c,
    const char *st)
{
	char pre[16];

	if (num == 4)
		snprintf(pre, sizeof pre, "4;%d;", idx);
	else
		snprintf(pre, sizeof pre, "%d;", num);
	vtguard_answer(g, "\033]%srgb:%04x/%04x/%04x%s", pre, c[0] * 257u,
	    c[1] * 257u, c[2] * 257u, st);
}

/* The next ';'-separated item of s after *pp (NUL-terminated). */
static const char *
vtguard_osc_item(char **pp)
{
	char *p = *pp, *semi;

	if (p == NULL)
		return NULL;
	semi = strchr(p, ';');
	*pp = semi != NULL ? semi + 1 : NULL;
	if (semi != NULL)
		*semi = '\0';
	return p;
}

/*
 * OSC 10 and 11 (default foreground and background; "10;?;?" asks both)
 * and OSC 4 (palette) queries, which libvterm 0.1.4 does not answer:
 * answered here with the query's terminator. Returns 1 if the string asked
 * anything (it is not passed on; libvterm ignores these anyway).
 */
static int
vtguard_osc_query(struct vtguard *g, const char *st)
{
	char copy[VTGUARD_STR_MAX + 2], *p = copy;
	const char *item;
	int num, asked = 0, idx;
	uint8_t rgb[3];
	int r, gr, b;

	g->str[g->str_len] = '\0';
	if (g->str[1] != ']' || strchr(g->str + 2, '?') == NULL)
		return 0;
	/* parsed in a copy: a query that is not one of these goes on whole
	 * (OSC 7501 ; ?, OSC 99 p=?: termsig answers them) */
	memcpy(copy, g->str + 2, g->str_len - 1);
	num = atoi(vtguard_osc_item(&p));
	while (num == 4 && (item = vtguard_osc_item(&p)) != NULL) {
		idx = atoi(item);
		if ((item = vtguard_osc_item(&p)) == NULL || strcmp(item, "?") ||
		    idx < 0 || idx > 255)
			continue;
		palette_rgb(idx, &r, &gr, &b);
		rgb[0] = (uint8_t)r, rgb[1] = (uint8_t)gr, rgb[2] = (uint8_t)b;
		vtguard_osc_answer(g, 4, idx, rgb, st);
		asked = 1;
	}
	for (; (num == 10 || num == 11) &&
	    (item = vtguard_osc_item(&p)) != NULL; num++) {
		if (strcmp(item, "?") != 0)
			continue;
		asked = 1;
		if (num == 10 ? g->has_fg : g->has_bg)
			vtguard_osc_answer(g, num, 0, num == 10 ? g->fg : g->bg,
			    st);
	}
	return asked;
}

/* A string ended by BEL or ST (end): pass it on whole, in one write (0.1.4
 * loses the start of a string split across writes). */
static void
vtguard_str_end(struct vtguard *g, const char *end, size_t len)
{
	g->state = VTGUARD_GROUND;
	g->last_len = 0;
	if (vtguard_decrqss_unknown(g)) {
		vtguard_reply(g, "\033P0$r\033\\", 7);
		return;
	}
	if (vtguard_osc_query(g, len == 1 ? "\a" : "\033\\"))
		return;
	memcpy(g->str + g->str_len, end, len);
	vtguard_emit(g, g->str, g->str_len + len);
	g->last_len = 0;
}

/* ESC and one final byte that changes what is kept here; 1 if it was
 * passed on already. */
static int
vtguard_esc_kept(struct vtguard *g, uint8_t c)
{
	switch (c) {
	case '7': vtguard_decsc(g); return 1;
	case '8': vtguard_decrc(g); return 1;
	case 'c': vtguard_ris(g); return 1;
	case 'n': g->cs.gl = 2; break;          /* LS2 */
	case 'o': g->cs.gl = 3; break;          /* LS3 */
	case '~': g->cs.gr = 1; break;          /* LS1R */
	case '}': g->cs.gr = 2; break;          /* LS2R */
	case '|': g->cs.gr = 3; break;          /* LS3R */
	default: break;
	}
	return 0;
}

/* The final byte of "ESC intermediates final". */
static void
vtguard_esc_final(struct vtguard *g, uint8_t c)
{
	char buf[2 + VTGUARD_ESC_INTER];

	g->state = VTGUARD_GROUND;
	g->last_len = 0;
	if (g->nesc > VTGUARD_ESC_INTER)
		return;         /* libvterm acts on none of these */
	if (g->nesc == 0 && vtguard_esc_kept(g, c))
		return;
	/* SCS: the sets libvterm 0.1.4 knows (others it ignores) */
	if (g->nesc == 1 && g->esc[0] >= '(' && g->esc[0] <= '+' &&
	    (c == '0' || c == 'A' || c == 'B'))
		g->cs.g[g->esc[0] - '('] = (char)c;
	buf[0] = '\033';
	memcpy(buf + 1, g->esc, (size_t)g->nesc);
	buf[1 + g->nesc] = (char)c;
	vtguard_emit(g, buf, (size_t)g->nesc + 2);
}

/* One byte (not a control) after ESC. */
static void
vtguard_esc_byte(struct vtguard *g, uint8_t c)
{
	if (c == '[') {
		memset(&g->csi, 0, sizeof g->csi);
		g->state = VTGUARD_CSI;
	} else if (c == ']' || c == 'P')
		vtguard_str_begin(g, c);
	else if (c >= 0x20 && c <= 0x2F) {
		if (g->nesc < VTGUARD_ESC_INTER)
			g->esc[g->nesc] = (char)c;
		g->nesc += g->nesc <= VTGUARD_ESC_INTER;
	} else if (c >= 0x30 && c <= 0x7E)
		vtguard_esc_final(g, c);
	/* bytes >= 0x80 are ignored and the escape goes on, as in libvterm */
}

/* One byte (not a control) of an OSC or DCS string, or after its ESC. */
static void
vtguard_str_byte(struct vtguard *g, uint8_t c)
{
	if (g->state == VTGUARD_STR) {
		if (g->str_len < VTGUARD_STR_MAX)
			g->str[g->str_len++] = (char)c;
		return;
	}
	if (c == '\\') {
		vtguard_str_end(g, "\033\\", 2);
		return;
	}
	/* ESC and anything but '\': libvterm drops the string and starts an
	 * escape sequence with this byte. */
	g->state = VTGUARD_ESC;
	g->nesc = 0;
	vtguard_esc_byte(g, c);
}

/*
 * A C0 control, DEL or NUL while a sequence is held. Returns 0 if c is none
 * of these. ESC restarts, CAN and SUB cancel, NUL and DEL are ignored, BEL
 * ends a string; any other control is executed at once, as libvterm does.
 */
static int
vtguard_held_control(struct vtguard *g, uint8_t c)
{
	if (c >= 0x20 && c != 0x7F)
		return 0;
	if (c == 0x1B) {
		g->state = g->state == VTGUARD_STR ? VTGUARD_STR_ESC : VTGUARD_ESC;
		g->nesc = 0;
	} else if (c == 0x18 || c == 0x1A) {
		g->state = VTGUARD_GROUND;
		g->last_len = 0;
	} else if (c == 0x07 && g->state == VTGUARD_STR)
		vtguard_str_end(g, "\a", 1);
	else if (c != 0x00 && c != 0x7F) {
		if (c == 0x0E || c == 0x0F)
			g->cs.gl = c == 0x0E;
		vtguard_emit(g, &c, 1);
	}
	return 1;
}

void
vtguard_feed(vtguard_t *g, const char *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf, *end = p + len;

	while (p < end) {
		if (g->state == VTGUARD_GROUND) {
			p = vtguard_ground(g, p, end);
			continue;
		}
		if (vtguard_held_control(g, *p))
			;
		else if (g->state == VTGUARD_ESC)
			vtguard_esc_byte(g, *p);
		else if (g->state == VTGUARD_CSI)
			vtguard_csi_byte(g, *p);
		else
			vtguard_str_byte(g, *p);
		p++;
	}
	vtguard_flush(g);
}
