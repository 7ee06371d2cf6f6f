/*
 * fuzz_vt: pane output and resizes, interleaved, through the real terminal
 * (vtguard, libvterm's state layer, vt, grid and scrollback) as a pane feeds
 * it. Any crash, hang, sanitizer report or broken invariant is a finding.
 *
 * Input: bytes of pane output, in which 0xFF starts an operation (0xFF
 * never appears in UTF-8, so recorded output can be used as is):
 *   FF 00        end of a write: the bytes so far go to vt_write at once
 *   FF 01 R C    resize to R % 48 + 1 rows, C % 160 + 1 columns
 *   FF 02        read what the UI reads: cursor, title, modes, every row and
 *                scrollback line
 *   FF 03 R C    a fresh terminal of that size
 *   FF 04, FF 05 the pane gains, loses focus
 *   FF FF        one 0xFF byte of output
 *   FF other     nothing
 * The terminal starts at 12x40 with 200 lines of scrollback (small sizes
 * keep the fuzzer fast; resizes reach the rest); what is left at the end
 * is written too. tests/test_vtcases --corpus writes the
 * tests/vt cases in this form (fuzz/corpus/vt/seed-*).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grid.h"
#include "vt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_output(const char *buf, size_t len, void *user)
{
	(void)buf;
	(void)len;
	(void)user;
}

/* The cursor is on the grid; with all, a wide character's right half
 * follows it everywhere (a walk over the whole screen: not after every
 * operation, it would slow the fuzzer down). */
static void
fz_check(vt_t *vt, int all)
{
	grid_t *g = vt_grid(vt);
	int row, col, vis, r, c, rows = grid_rows(g), cols = grid_cols(g);

	vt_cursor(vt, &row, &col, &vis);
	if (row < 0 || row >= rows || col < 0 || col >= cols)
		abort();
	for (r = 0; all && r < rows; r++) {
		const struct grid_cell *cells = grid_row(g, r);

		for (c = 0; c + 1 < cols; c++)
			if (cells[c].width == 2 &&
			    cells[c + 1].ch[0] != GRID_WIDE_CONT)
				abort();
	}
}

/* Everything the UI reads from a pane. */
static void
fz_read(vt_t *vt)
{
	grid_t *g = vt_grid(vt);
	struct grid_cell *line = calloc((size_t)grid_cols(g), sizeof *line);
	volatile uint32_t sink = 0;
	size_t n;
	int r;

	sink += (uint32_t)strlen(vt_title(vt));
	sink += (uint32_t)(vt_altscreen(vt) + vt_reverse(vt) +
	    vt_mouse_mode(vt) + vt_bracketed_paste(vt) + vt_take_bell(vt) +
	    vt_cursor_style(vt)) + vt_title_serial(vt);
	for (r = 0; r < grid_rows(g); r++)
		sink += grid_row(g, r)[grid_cols(g) - 1].ch[0];
	for (n = 0; n < grid_sb_count(g); n++)
		if (grid_sb_line(g, n, line, grid_cols(g)) == 0)
			sink += line[0].ch[0] + (uint32_t)grid_sb_wrapped(g, n);
	grid_clean(g);
	free(line);
	(void)sink;
}

/* A terminal as a pane has it: the default colours known (OSC 10/11). */
static vt_t *
fz_new(int rows, int cols)
{
	static const uint8_t fg[3] = { 229, 229, 229 }, bg[3] = { 0, 0, 0 };
	vt_t *vt = vt_new(rows, cols, 200, 1u << 20, fz_output, NULL);

	vt_set_colors(vt, fg, bg);
	return vt;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vt_t *vt = fz_new(12, 40);
	char *buf = malloc(size + 1);
	size_t i = 0, n = 0;

	while (i < size) {
		uint8_t op;

		if (data[i] != 0xFF || i + 1 == size) {
			buf[n++] = (char)data[i++];
			continue;
		}
		op = data[i + 1];
		i += 2;
		if (op == 0xFF) {
			buf[n++] = (char)0xFF;
			continue;
		}
		vt_write(vt, buf, n);
		n = 0;
		if ((op == 1 || op == 3) && i + 2 <= size) {
			int rows = data[i] % 48 + 1, cols = data[i + 1] % 160 + 1;

			i += 2;
			if (op == 1)
				vt_resize(vt, rows, cols);
			else {
				vt_free(vt);
				vt = fz_new(rows, cols);
			}
		} else if (op == 2)
			fz_read(vt);
		else if (op == 4 || op == 5)
			vt_focus(vt, op == 4);
		fz_check(vt, op == 2);
	}
	vt_write(vt, buf, n);
	fz_check(vt, 1);
	fz_read(vt);
	vt_free(vt);
	free(buf);
	return 0;
}
