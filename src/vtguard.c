/*
 * vtguard: the streaming filter in front of libvterm's parser (vtguard.h
 * says what it changes and why). Its states mirror libvterm 0.1.4's parser
 * (parser.c): ground, escape, CSI (leader, parameters, intermediates) and
 * OSC/DCS strings, with the same rules for C0 controls inside sequences
 * (executed at once), CAN/SUB (cancel), ESC (restart), NUL/DEL (ignored).
 */
#include "vtguard.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
	void *user;
	int cols;
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
	g->cols = 80;
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
vtguard_set_width(vtguard_t *g, int cols)
{
	g->cols = cols < 1 ? 1 : cols;
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
	vtguard_emit_raw(g, run, (size_t)(p - run));
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

/*
 * Parameters in the SGR item starting at i: a colon group (38:2::r:g:b),
 * 38/48/58 with their 5;n or 2;r;g;b, or one. Items are applied whole.
 */
static int
vtguard_sgr_item(const struct vtguard_csi *q, int i)
{
	int j = i, len = 1;

	if (q->sub[i]) {
		while (j < q->n - 1 && q->sub[j])
			j++;
		return j - i + 1;
	}
	if ((q->p[i] == 38 || q->p[i] == 48 || q->p[i] == 58) && i + 1 < q->n)
		len = q->p[i + 1] == 5 ? 3 : q->p[i + 1] == 2 ? 5 : 1;
	return UTIL_MIN(len, q->n - i);
}

/* SGR: as many sequences of at most VTGUARD_VT_PARAMS as its items need.
 * Underline colour (58, 59) is dropped: 0.1.4 would read its arguments as
 * attributes of their own (5 = blink). */
static void
vtguard_sgr(struct vtguard *g)
{
	const struct vtguard_csi *q = &g->csi;
	struct vtguard_csi out = { .final = 'm' };
	int i, len, k;

	for (i = 0; i < q->n; i += len) {
		len = vtguard_sgr_item(q, i);
		if (q->p[i] == 58 || q->p[i] == 59)
			continue;
		k = UTIL_MIN(len, VTGUARD_VT_PARAMS);
		if (out.n + k > VTGUARD_VT_PARAMS) {
			vtguard_emit_csi(g, &out, 0, out.n);
			out.n = 0;
		}
		memcpy(out.p + out.n, q->p + i, (size_t)k * sizeof *out.p);
		memcpy(out.sub + out.n, q->sub + i, (size_t)k);
		out.n += k;
		out.sub[out.n - 1] = 0;
	}
	if (out.n > 0)
		vtguard_emit_csi(g, &out, 0, out.n);
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

/*
 * A whole CSI from the byte-by-byte states: passed on, rewritten or
 * dropped by its final byte (and leader, intermediate). A new rule here
 * must also make vtguard_csi_fast decline the sequences it rewrites: the
 * fast path passes the common CSI on untouched without coming here.
 */
static void
vtguard_csi_dispatch(struct vtguard *g)
{
	const struct vtguard_csi *q = &g->csi;

	if (q->nleader > 1 || q->ninter > 1)
		return;
	if (q->leader == 0 && q->inter == 0 && q->final == 'm')
		vtguard_sgr(g);
	else if (q->leader == 0 && q->inter == 0 && q->final == 'b')
		vtguard_rep(g);
	else
		vtguard_emit_csi(g, q, 0, UTIL_MIN(q->n, VTGUARD_VT_PARAMS));
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

/* The next ESC or byte >= 0x80 from p (or end), sixteen bytes at a time. */
static const uint8_t *
vtguard_scan(const uint8_t *p, const uint8_t *end)
{
#ifdef __SSE2__
	const __m128i esc = _mm_set1_epi8(0x1B);
	__m128i v;
	int m;

	while (end - p >= 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)p);
		m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, esc), v));
		if (m != 0)
			return p + __builtin_ctz((unsigned)m);
		p += 16;
	}
#endif
	while (p < end && *p != 0x1B && *p < 0x80)
		p++;
	return p;
}

/*
 * The common CSI, whole in this feed at p (ESC [), which vtguard_csi_dispatch
 * would pass on unchanged (or as REP): at most 16 parameters,
 * none above 65535 or equal to 58 or 59 (which may be underline colour), one
 * leader and one intermediate at most, no control inside. Passed on as is
 * (REP expanded) and returns the byte after it; NULL for anything else,
 * which the byte-by-byte states then take and rewrite where needed. The
 * text run [run, p) before it has been passed on; its last character
 * matters only to REP.
 */
static const uint8_t *
vtguard_csi_fast(struct vtguard *g, const uint8_t *run, const uint8_t *p,
    const uint8_t *end)
{
	const uint8_t *i = p + 2;
	uint32_t v = 0, first = VTGUARD_MISSING;
	int digits = 0, n = 0, odd = 0;
	char leader = 0, inter = 0;

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
		if (n++ == 0 && digits > 0)
			first = v;
		odd |= digits > 5 || v > VTGUARD_PARAM_MAX || v - 58 < 2;
		if (i == end || (*i != ';' && *i != ':'))
			break;
		v = 0;
		digits = 0;
	}
	if (i < end && *i >= 0x20 && *i <= 0x2F)
		inter = (char)*i++;
	if (i == end || *i < 0x40 || *i > 0x7E || odd ||
	    n > VTGUARD_VT_PARAMS)
		return NULL;
	if (leader == 0 && inter == 0 && *i == 'b') {
		vtguard_run_last(g, run, p);
		g->csi.p[0] = first;
		vtguard_rep(g);
	} else
		vtguard_emit_raw(g, p, (size_t)(i + 1 - p));
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
		if (*p != 0x1B) {
			p = vtguard_u8(g, &run, p, end);
			continue;
		}
		if (p > run) {
			vtguard_emit_raw(g, run, (size_t)(p - run));
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
	memcpy(g->str + g->str_len, end, len);
	vtguard_emit(g, g->str, g->str_len + len);
	g->last_len = 0;
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
	buf[0] = '\033';
	memcpy(buf + 1, g->esc, (size_t)g->nesc);
	buf[1 + g->nesc] = (char)c;
	vtguard_emit(g, buf, (size_t)g->nesc + 2);
	/* DECRC restores a cursor saved before a shrink unchecked; libvterm
	 * clamps the cursor at the end of every CSI it handles, and CSI ? h
	 * (no mode) changes nothing else. */
	if (c == '8' && g->nesc == 0)
		vtguard_emit(g, "\033[?h", 4);
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
	else if (c != 0x00 && c != 0x7F)
		vtguard_emit(g, &c, 1);
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
