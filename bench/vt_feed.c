/*
 * vt_feed: throughput of tokmux's terminal model (libvterm state layer +
 * grid + scrollback) on 64 MB of mixed output (SGR colours, UTF-8, wide and
 * combining chars, long wrapping lines) at 200x49, against libvterm's state
 * layer alone with empty callbacks, on the same bytes in the same run.
 * Not built by make; build and run by hand:
 *
 *   make build/libtokmux.a
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/vt_feed.c build/libtokmux.a \
 *       -lvterm -o build/vt_feed && ./build/vt_feed [MB] [ext]
 *
 * or on a file (a corpus of bench/gen_corpus.py), fed in 64 KiB writes as a
 * pane's reads come: ./build/vt_feed -f FILE [COLS ROWS] (no memory part).
 *
 * With "ext" the text also has what libvterm 0.1.4 cannot keep (dim,
 * curly and coloured underlines, overline), which the guard parses itself
 * and reports to vt: its slow path, measured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vterm.h>

#include "vt.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);   /* CPU time: steadier on a busy machine */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned rng = 1;
static int ext;                 /* "ext": SGR the pen extension takes too */

static unsigned
rnd(unsigned n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

/* Append one line of mixed output. */
static size_t
gen_line(char *p)
{
	static const char *words[] = { "error", "src/main.c:42:", "warning",
	    "return", "café", "naïve", "中文字符", "e\xcc\x81t\xc3\xa9", "->",
	    "{", "}", "0x7ffe", "└──", "✓", "the", "quick", "brown", "fox" };
	size_t n = 0;
	unsigned len = rnd(10) == 0 ? 300 + rnd(300) : 10 + rnd(120), col = 0;

	while (col < len) {
		switch (rnd(8)) {
		case 0:
			n += (size_t)sprintf(p + n, "\033[%um", 31 + rnd(7));
			break;
		case 1:
			n += (size_t)sprintf(p + n, "\033[38;5;%um", rnd(256));
			break;
		case 2:
			n += (size_t)sprintf(p + n, "\033[38;2;%u;%u;%um",
			    rnd(256), rnd(256), rnd(256));
			break;
		case 3:
			n += (size_t)sprintf(p + n, "\033[0m");
			break;
		case 4:
			if (ext)
				n += (size_t)sprintf(p + n, "\033[2;4:3;58;5;%um",
				    rnd(256));
			break;
		case 5:
			if (ext)
				n += (size_t)sprintf(p + n, "\033[22;24;53m");
			break;
		default:
			break;
		}
		const char *w = words[rnd(sizeof words / sizeof *words)];

		n += (size_t)sprintf(p + n, "%s ", w);
		col += (unsigned)strlen(w) + 1;
	}
	n += (size_t)sprintf(p + n, "\033[0m\r\n");
	return n;
}

static long
rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f != NULL)
		fclose(f);
	return kb;
}

static void
discard(const char *buf, size_t len, void *user)
{
	(void)buf;
	(void)len;
	(void)user;
}

static int
nop_glyph(VTermGlyphInfo *i, VTermPos p, void *u)
{
	(void)i; (void)p; (void)u;
	return 1;
}

static int
nop_scroll(VTermRect r, int d, int ri, void *u)
{
	(void)r; (void)d; (void)ri; (void)u;
	return 1;
}

/* Feed FILE to vt alone (the part a profiler looks at). */
static int
feed_file(const char *path, int cols, int rows)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 20, len = 0, n;
	char *data = malloc(cap);
	double t0;

	if (f == NULL || data == NULL)
		return perror(path), 1;
	while ((n = fread(data + len, 1, cap - len, f)) > 0)
		if ((len += n) == cap)
			data = realloc(data, cap *= 2);
	fclose(f);
	/* the pty's ONLCR: "\n" arrives as "\r\n" */
	char *crlf = malloc(2 * len + 1);
	size_t m = 0;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			crlf[m++] = '\r';
		crlf[m++] = data[i];
	}
	free(data);
	data = crlf;
	len = m;
	vt_t *vt = vt_new(rows, cols, 10000, 64u << 20, discard, NULL);
	t0 = now();
	for (size_t off = 0; off < len; off += 65536)
		vt_write(vt, data + off, len - off < 65536 ? len - off : 65536);
	printf("%s: %zu bytes at %dx%d: tokmux vt+grid %.3f s CPU\n", path, len,
	    cols, rows, now() - t0);
	vt_free(vt);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 64, cap = mb << 20, len = 0;
	char *data = malloc(cap + 4096);
	double t0, t_state, t_vt;

	if (argc > 2 && strcmp(argv[1], "-f") == 0)
		return feed_file(argv[2], argc > 4 ? atoi(argv[3]) : 200,
		    argc > 4 ? atoi(argv[4]) : 49);
	ext = argc > 2 && strcmp(argv[2], "ext") == 0;
	while (len < cap)
		len += gen_line(data + len);

	/* Baseline: libvterm state layer, callbacks that do nothing. */
	VTerm *v = vterm_new(49, 200);
	VTermStateCallbacks cbs = { .putglyph = nop_glyph, .scrollrect = nop_scroll };
	vterm_set_utf8(v, 1);
	vterm_output_set_callback(v, discard, NULL);
	VTermState *st = vterm_obtain_state(v);
	vterm_state_set_callbacks(st, &cbs, NULL);
	vterm_state_reset(st, 1);
	t0 = now();
	for (size_t off = 0; off < len; off += 65536)
		vterm_input_write(v, data + off, len - off < 65536 ? len - off : 65536);
	t_state = now() - t0;
	vterm_free(v);

	/* tokmux: vt + grid + 10k-line scrollback. */
	vt_t *vt = vt_new(49, 200, 10000, 64u << 20, discard, NULL);
	t0 = now();
	for (size_t off = 0; off < len; off += 65536)
		vt_write(vt, data + off, len - off < 65536 ? len - off : 65536);
	t_vt = now() - t0;
	printf("%zu MB at 200x49: libvterm state alone %.2f s, tokmux vt+grid %.2f s "
	    "(%.2fx); scrollback %zu lines, %zu bytes\n", len >> 20, t_state, t_vt,
	    t_vt / t_state, grid_sb_count(vt_grid(vt)), grid_sb_bytes(vt_grid(vt)));
	vt_free(vt);

	/* Memory: four panes, each with a full 10,000-line scrollback. */
	long before = rss_kb();
	vt_t *panes[4];
	size_t per = len / 4;

	for (int i = 0; i < 4; i++) {
		panes[i] = vt_new(49, 200, 10000, 64u << 20, discard, NULL);
		vt_write(panes[i], data + i * per, per);
	}
	printf("4 panes x %zu scrollback lines: +%ld kB RSS (%zu+%zu+%zu+%zu bytes "
	    "of scrollback)\n", grid_sb_count(vt_grid(panes[0])),
	    rss_kb() - before, grid_sb_bytes(vt_grid(panes[0])),
	    grid_sb_bytes(vt_grid(panes[1])), grid_sb_bytes(vt_grid(panes[2])),
	    grid_sb_bytes(vt_grid(panes[3])));
	printf("total RSS %ld kB\n", rss_kb());
	for (int i = 0; i < 4; i++)
		vt_free(panes[i]);
	return 0;
}
