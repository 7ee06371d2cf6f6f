/*
 * layout: the geometry of the tokmux screen (panes, separators, sidebar,
 * status bar). Pure functions over integers; see layout.h for the contract.
 *
 * Arrangements inside the pane area:
 *   1 pane  : the whole area
 *   2 panes : left | right        (stacked top / bottom when narrow)
 *   3 panes : left | top-right / bottom-right   (stacked when narrow)
 *   4 panes : 2 x 2 grid, reading order         (stacked when narrow)
 * "Narrow" means a column would get fewer than LAYOUT_MIN_COL_W columns.
 * A narrow area stacks the panes only when each still gets
 * LAYOUT_MIN_STACK_H rows; otherwise (tiny terminals) the columned
 * arrangement is kept, as it wastes fewer rows on titles.
 */
#include "layout.h"

#include <stdlib.h>
#include <string.h>

static struct rect
layout_mkrect(int y, int x, int h, int w)
{
	struct rect r = { y, x, h, w };
	return r;
}

int
layout_rect_contains(const struct rect *r, int y, int x)
{
	return y >= r->y && y < r->y + r->h && x >= r->x && x < r->x + r->w;
}

/* Split a into left | separator | right; the right part gets the odd column. */
static void
layout_split_cols(struct rect a, struct rect *l, struct rect *r)
{
	int lw = (a.w - 1) / 2;

	*l = layout_mkrect(a.y, a.x, a.h, lw);
	*r = layout_mkrect(a.y, a.x + lw + 1, a.h, a.w - lw - 1);
}

/* Split a into n rows of (nearly) equal height, top to bottom. */
static void
layout_split_rows(struct rect a, int n, struct rect *out)
{
	for (int i = 0; i < n; i++) {
		int y0 = a.y + a.h * i / n;
		int y1 = a.y + a.h * (i + 1) / n;
		out[i] = layout_mkrect(y0, a.x, y1 - y0, a.w);
	}
}

/* Whether n panes go in columns (1) or stacked rows (0). */
static int
layout_use_columns(struct rect a, int n)
{
	if (n < 2 || a.w < 3)
		return 0;
	if ((a.w - 1) / 2 >= LAYOUT_MIN_COL_W)
		return 1;
	return a.h / n < LAYOUT_MIN_STACK_H;
}

/* The cell (title + body) of each of the n panes inside area a. */
static void
layout_arrange(struct rect a, int n, struct rect *cell)
{
	struct rect l, r;

	if (n <= 1 || !layout_use_columns(a, n)) {
		if (n >= 1)
			layout_split_rows(a, n, cell);
		return;
	}
	layout_split_cols(a, &l, &r);
	if (n == 2) {
		cell[0] = l;
		cell[1] = r;
	} else if (n == 3) {
		cell[0] = l;
		layout_split_rows(r, 2, cell + 1);
	} else {
		struct rect lc[2], rc[2];
		layout_split_rows(l, 2, lc);
		layout_split_rows(r, 2, rc);
		cell[0] = lc[0];
		cell[1] = rc[0];
		cell[2] = lc[1];
		cell[3] = rc[1];
	}
}

/* Turn a cell into a title row and a body; too small cells are hidden. */
static void
layout_set_pane(struct layout_pane *p, struct rect c)
{
	memset(p, 0, sizeof *p);
	if (c.h < 2 || c.w < 1)
		return;
	p->visible = 1;
	p->title = layout_mkrect(c.y, c.x, 1, c.w);
	p->body = layout_mkrect(c.y + 1, c.x, c.h - 1, c.w);
}

/* Place the sidebar (or else the status bar) and return the pane area. */
static struct rect
layout_place_chrome(int rows, int cols, int sidebar_cols, struct layout *out)
{
	struct rect area = layout_mkrect(0, 0, rows, cols);

	if (sidebar_cols > 0 && cols >= LAYOUT_SIDEBAR_MIN_COLS &&
	    cols - sidebar_cols - 1 >= LAYOUT_MIN_COL_W) {
		out->sidebar_visible = 1;
		out->sidebar = layout_mkrect(0, cols - sidebar_cols, rows, sidebar_cols);
		area.w = cols - sidebar_cols - 1;   /* one separator column */
	} else if (rows >= 3) {
		out->status_visible = 1;
		out->status = layout_mkrect(rows - 1, 0, 1, cols);
		area.h = rows - 1;
	}
	return area;
}

void
layout_compute(int rows, int cols, int npanes, int zoomed, int sidebar_cols,
    struct layout *out)
{
	struct rect cell[TOKMUX_MAX_PANES];

	memset(out, 0, sizeof *out);
	if (rows < 0)
		rows = 0;
	if (cols < 0)
		cols = 0;
	if (npanes < 0)
		npanes = 0;
	if (npanes > TOKMUX_MAX_PANES)
		npanes = TOKMUX_MAX_PANES;
	out->npanes = npanes;
	if (rows == 0 || cols == 0)
		return;
	out->area = layout_place_chrome(rows, cols, sidebar_cols, out);

	if (zoomed >= 0 && zoomed < npanes) {
		layout_set_pane(&out->pane[zoomed], out->area);
		return;
	}
	layout_arrange(out->area, npanes, cell);
	for (int i = 0; i < npanes; i++)
		layout_set_pane(&out->pane[i], cell[i]);
}

int
layout_pane_at(const struct layout *l, int y, int x)
{
	for (int i = 0; i < l->npanes; i++) {
		const struct layout_pane *p = &l->pane[i];
		if (!p->visible)
			continue;
		if (layout_rect_contains(&p->title, y, x) ||
		    layout_rect_contains(&p->body, y, x))
			return i;
	}
	return -1;
}

/* The whole cell of a visible pane: title and body together. */
static struct rect
layout_pane_cell(const struct layout_pane *p)
{
	return layout_mkrect(p->title.y, p->title.x, p->title.h + p->body.h,
	    p->title.w);
}

/* Distance between the intervals [a0, a0+al) and [b0, b0+bl); 0 if they overlap. */
static int
layout_interval_gap(int a0, int al, int b0, int bl)
{
	if (b0 >= a0 + al)
		return b0 - (a0 + al) + 1;
	if (a0 >= b0 + bl)
		return a0 - (b0 + bl) + 1;
	return 0;
}

/*
 * Score of candidate c seen from f in direction (dy, dx), lower is better;
 * -1 if c does not lie in that direction. Ranks by the gap along the
 * direction, then by the misalignment across it, then by centre distance.
 */
static long
layout_neighbor_score(struct rect f, struct rect c, int dy, int dx)
{
	long along, across, centre;

	if (dx > 0)
		along = c.x - (f.x + f.w);
	else if (dx < 0)
		along = f.x - (c.x + c.w);
	else if (dy > 0)
		along = c.y - (f.y + f.h);
	else
		along = f.y - (c.y + c.h);
	if (along < 0)
		return -1;
	if (dx != 0) {
		across = layout_interval_gap(f.y, f.h, c.y, c.h);
		centre = labs((long)(2 * c.y + c.h) - (2 * f.y + f.h));
	} else {
		across = layout_interval_gap(f.x, f.w, c.x, c.w);
		centre = labs((long)(2 * c.x + c.w) - (2 * f.x + f.w));
	}
	return along * 1000000L + across * 1000L + (centre < 1000 ? centre : 999);
}

int
layout_neighbor(const struct layout *l, int from, int dy, int dx)
{
	long best_score = -1;
	int best = -1;

	if (from < 0 || from >= l->npanes || !l->pane[from].visible)
		return -1;
	if ((dy == 0) == (dx == 0))
		return -1;
	for (int i = 0; i < l->npanes; i++) {
		long s;
		if (i == from || !l->pane[i].visible)
			continue;
		s = layout_neighbor_score(layout_pane_cell(&l->pane[from]),
		    layout_pane_cell(&l->pane[i]), dy, dx);
		if (s >= 0 && (best_score < 0 || s < best_score)) {
			best_score = s;
			best = i;
		}
	}
	return best;
}
