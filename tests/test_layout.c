/* Unit tests for layout.c: arrangements, chrome, zoom, hit-testing,
 * directional neighbours and an invariant sweep over many terminal sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "layout.h"

static int
rect_empty(const struct rect *r)
{
	return r->h <= 0 || r->w <= 0;
}

static int
rects_overlap(const struct rect *a, const struct rect *b)
{
	if (rect_empty(a) || rect_empty(b))
		return 0;
	return a->x < b->x + b->w && b->x < a->x + a->w &&
	    a->y < b->y + b->h && b->y < a->y + a->h;
}

static int
rect_inside(const struct rect *r, int rows, int cols)
{
	return r->y >= 0 && r->x >= 0 && r->h >= 1 && r->w >= 1 &&
	    r->y + r->h <= rows && r->x + r->w <= cols;
}

/* Check every invariant of the contract; returns a description or NULL. */
static const char *
check_invariants(const struct layout *l, int rows, int cols, int npanes,
    int zoomed)
{
	struct rect all[2 * TOKMUX_MAX_PANES + 2];
	int n = 0;

	if (l->npanes != npanes)
		return "npanes";
	for (int i = 0; i < l->npanes; i++) {
		const struct layout_pane *p = &l->pane[i];
		if (!p->visible) {
			if (!rect_empty(&p->body) || !rect_empty(&p->title))
				return "hidden pane has rects";
			continue;
		}
		if (zoomed >= 0 && zoomed < npanes && i != zoomed)
			return "non-zoomed pane visible";
		if (p->body.h < 1 || p->body.w < 1)
			return "empty visible body";
		if (p->title.h != 1 || p->title.w != p->body.w ||
		    p->title.x != p->body.x || p->title.y + 1 != p->body.y)
			return "title not right above body";
		all[n++] = p->title;
		all[n++] = p->body;
	}
	if (l->sidebar_visible)
		all[n++] = l->sidebar;
	if (l->status_visible)
		all[n++] = l->status;
	if (l->sidebar_visible && l->status_visible)
		return "sidebar and status both shown";
	for (int i = 0; i < n; i++) {
		if (!rect_inside(&all[i], rows, cols))
			return "rect outside screen";
		for (int j = i + 1; j < n; j++)
			if (rects_overlap(&all[i], &all[j]))
				return "rects overlap";
	}
	return NULL;
}

static void
assert_ok(const struct layout *l, int rows, int cols, int npanes, int zoomed)
{
	const char *err = check_invariants(l, rows, cols, npanes, zoomed);
	if (err != NULL)
		fail_msg("%dx%d n=%d zoom=%d: %s", cols, rows, npanes, zoomed, err);
}

static void
test_one_pane_with_sidebar(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(50, 200, 1, -1, 40, &l);
	assert_ok(&l, 50, 200, 1, -1);
	assert_true(l.sidebar_visible);
	assert_false(l.status_visible);
	assert_int_equal(l.sidebar.x, 160);
	assert_int_equal(l.sidebar.w, 40);
	assert_int_equal(l.sidebar.h, 50);
	assert_true(l.pane[0].visible);
	assert_int_equal(l.pane[0].title.y, 0);
	assert_int_equal(l.pane[0].body.y, 1);
	assert_int_equal(l.pane[0].body.h, 49);
	/* one separator column between pane and sidebar */
	assert_int_equal(l.pane[0].body.w, 159);
}

static void
test_one_pane_no_sidebar(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(50, 200, 1, -1, 0, &l);
	assert_ok(&l, 50, 200, 1, -1);
	assert_false(l.sidebar_visible);
	assert_true(l.status_visible);
	assert_int_equal(l.status.y, 49);
	assert_int_equal(l.status.w, 200);
	assert_int_equal(l.pane[0].body.w, 200);
	assert_int_equal(l.pane[0].body.h, 48);
}

static void
test_two_side_by_side(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(50, 200, 2, -1, 40, &l);
	assert_ok(&l, 50, 200, 2, -1);
	struct rect a = l.pane[0].body, b = l.pane[1].body;
	assert_int_equal(a.y, b.y);
	assert_int_equal(a.h, b.h);
	assert_int_equal(a.x, 0);
	assert_int_equal(b.x, a.w + 1);         /* separator column */
	assert_int_equal(a.w + 1 + b.w, 159);
	assert_true(b.w - a.w >= 0 && b.w - a.w <= 1);
}

static void
test_two_stacked_when_narrow(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(24, 80, 2, -1, 30, &l);
	assert_ok(&l, 24, 80, 2, -1);
	assert_false(l.sidebar_visible);        /* < 100 columns */
	assert_true(l.status_visible);
	assert_int_equal(l.status.y, 23);
	struct rect a = l.pane[0].body, b = l.pane[1].body;
	assert_int_equal(a.w, 80);
	assert_int_equal(b.w, 80);
	assert_int_equal(l.pane[1].title.y, a.y + a.h);   /* title is the divider */
	assert_int_equal(b.y + b.h, 23);
	/* 81 columns is the narrowest area that goes side by side */
	layout_compute(24, 81, 2, -1, 0, &l);
	assert_int_equal(l.pane[0].body.y, l.pane[1].body.y);
	assert_int_equal(l.pane[0].body.w, 40);
	layout_compute(24, 80, 2, -1, 0, &l);
	assert_int_not_equal(l.pane[0].body.y, l.pane[1].body.y);
}

static void
test_three_panes(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(50, 200, 3, -1, 40, &l);
	assert_ok(&l, 50, 200, 3, -1);
	struct rect a = l.pane[0].body, b = l.pane[1].body, c = l.pane[2].body;
	assert_int_equal(a.h, 49);              /* left takes the full height */
	assert_int_equal(b.x, c.x);
	assert_int_equal(b.x, a.w + 1);
	assert_true(b.y < c.y);
	assert_int_equal(l.pane[2].title.y, b.y + b.h);
	assert_int_equal(c.y + c.h, 50);
	/* at 80x24 it stacks: each pane gets >= LAYOUT_MIN_STACK_H rows */
	layout_compute(24, 80, 3, -1, 0, &l);
	assert_ok(&l, 24, 80, 3, -1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(l.pane[i].body.w, 80);
		assert_true(l.pane[i].body.h + 1 >= LAYOUT_MIN_STACK_H);
	}
}

static void
test_four_grid(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(50, 200, 4, -1, 40, &l);
	assert_ok(&l, 50, 200, 4, -1);
	/* reading order: 0 1 / 2 3 */
	assert_int_equal(l.pane[0].body.y, l.pane[1].body.y);
	assert_int_equal(l.pane[2].body.y, l.pane[3].body.y);
	assert_int_equal(l.pane[0].body.x, l.pane[2].body.x);
	assert_int_equal(l.pane[1].body.x, l.pane[3].body.x);
	assert_true(l.pane[0].body.x < l.pane[1].body.x);
	assert_true(l.pane[0].body.y < l.pane[2].body.y);
	/* 80x24: stacking would give < 6 rows each, so the grid is kept */
	layout_compute(24, 80, 4, -1, 0, &l);
	assert_ok(&l, 24, 80, 4, -1);
	assert_int_equal(l.pane[0].body.y, l.pane[1].body.y);
	assert_int_equal(l.pane[0].body.w + l.pane[1].body.w + 1, 80);
	/* 80x60 stacks */
	layout_compute(60, 80, 4, -1, 0, &l);
	assert_ok(&l, 60, 80, 4, -1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(l.pane[i].body.w, 80);
}

static void
test_tiny(void **state)
{
	struct layout l;
	(void)state;

	for (int n = 1; n <= 4; n++) {
		layout_compute(6, 20, n, -1, 30, &l);
		assert_ok(&l, 6, 20, n, -1);
		for (int i = 0; i < n; i++)
			assert_true(l.pane[i].visible);
	}
	layout_compute(1, 1, 4, -1, 30, &l);
	assert_ok(&l, 1, 1, 4, -1);
	assert_false(l.status_visible);
	layout_compute(2, 1, 1, -1, 0, &l);
	assert_ok(&l, 2, 1, 1, -1);
	assert_true(l.pane[0].visible);
	assert_int_equal(l.pane[0].body.h, 1);
	layout_compute(0, 0, 2, -1, 0, &l);
	assert_false(l.pane[0].visible);
	layout_compute(-5, 10, 9, 7, -3, &l);     /* silly input clamps */
	assert_int_equal(l.npanes, 4);
	assert_false(l.pane[0].visible);
}

static void
test_sidebar_rules(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(30, 99, 1, -1, 30, &l);
	assert_false(l.sidebar_visible);
	assert_true(l.status_visible);
	layout_compute(30, 100, 1, -1, 30, &l);
	assert_true(l.sidebar_visible);
	assert_false(l.status_visible);
	assert_int_equal(l.sidebar.x + l.sidebar.w, 100);
	assert_int_equal(l.pane[0].body.w, 69);
	/* a sidebar that would squeeze the panes below the minimum is dropped */
	layout_compute(30, 100, 1, -1, 80, &l);
	assert_false(l.sidebar_visible);
	assert_true(l.status_visible);
	layout_compute(30, 200, 2, -1, 0, &l);
	assert_false(l.sidebar_visible);
	assert_true(l.status_visible);
}

static void
test_zoom(void **state)
{
	struct layout l, full;
	(void)state;

	layout_compute(50, 200, 1, -1, 40, &full);
	layout_compute(50, 200, 4, 2, 40, &l);
	assert_ok(&l, 50, 200, 4, 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(l.pane[i].visible, i == 2);
	assert_memory_equal(&l.pane[2].body, &full.pane[0].body, sizeof(struct rect));
	/* an out-of-range zoom is ignored */
	layout_compute(50, 200, 2, 5, 40, &l);
	assert_true(l.pane[0].visible && l.pane[1].visible);
}

static void
test_pane_at(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(50, 200, 4, -1, 40, &l);
	for (int i = 0; i < 4; i++) {
		struct layout_pane *p = &l.pane[i];
		assert_int_equal(layout_pane_at(&l, p->title.y, p->title.x), i);
		assert_int_equal(layout_pane_at(&l, p->body.y + p->body.h - 1,
		    p->body.x + p->body.w - 1), i);
	}
	/* separator column, sidebar and outside hit nothing */
	assert_int_equal(layout_pane_at(&l, 5, l.pane[0].body.w), -1);
	assert_int_equal(layout_pane_at(&l, 5, 170), -1);
	assert_int_equal(layout_pane_at(&l, 50, 0), -1);
	assert_int_equal(layout_pane_at(&l, -1, 0), -1);
	/* hidden panes are not hit */
	layout_compute(50, 200, 4, 1, 40, &l);
	assert_int_equal(layout_pane_at(&l, 0, 0), 1);
	assert_int_equal(layout_pane_at(&l, 40, 150), 1);
}

static void
test_neighbor(void **state)
{
	struct layout l;
	(void)state;

	layout_compute(50, 200, 4, -1, 40, &l);   /* 0 1 / 2 3 */
	assert_int_equal(layout_neighbor(&l, 0, 0, 1), 1);
	assert_int_equal(layout_neighbor(&l, 0, 1, 0), 2);
	assert_int_equal(layout_neighbor(&l, 0, -1, 0), -1);
	assert_int_equal(layout_neighbor(&l, 0, 0, -1), -1);
	assert_int_equal(layout_neighbor(&l, 3, 0, -1), 2);
	assert_int_equal(layout_neighbor(&l, 3, -1, 0), 1);
	assert_int_equal(layout_neighbor(&l, 1, 1, 0), 3);
	assert_int_equal(layout_neighbor(&l, 2, 0, 1), 3);
	assert_int_equal(layout_neighbor(&l, 0, 1, 1), -1);  /* not a direction */
	assert_int_equal(layout_neighbor(&l, 7, 0, 1), -1);

	layout_compute(50, 200, 3, -1, 40, &l);   /* 0 | 1 / 2 */
	assert_int_equal(layout_neighbor(&l, 1, 0, -1), 0);
	assert_int_equal(layout_neighbor(&l, 2, 0, -1), 0);
	assert_int_equal(layout_neighbor(&l, 1, 1, 0), 2);
	assert_int_equal(layout_neighbor(&l, 2, -1, 0), 1);
	int r = layout_neighbor(&l, 0, 0, 1);
	assert_true(r == 1 || r == 2);

	layout_compute(24, 80, 3, -1, 0, &l);     /* stacked */
	assert_int_equal(layout_neighbor(&l, 0, 1, 0), 1);
	assert_int_equal(layout_neighbor(&l, 1, 1, 0), 2);
	assert_int_equal(layout_neighbor(&l, 2, -1, 0), 1);
	assert_int_equal(layout_neighbor(&l, 1, 0, 1), -1);

	layout_compute(50, 200, 4, 0, 40, &l);    /* zoomed: nothing around */
	assert_int_equal(layout_neighbor(&l, 0, 0, 1), -1);
	assert_int_equal(layout_neighbor(&l, 1, 0, -1), -1);
}

/* Every size 1..250 x 1..80, every pane count, zoom and sidebar setting. */
static void
test_fuzz_invariants(void **state)
{
	static const int sidebars[] = { 0, 1, 30, 200 };
	struct layout l;
	long checked = 0;
	(void)state;

	for (int cols = 1; cols <= 250; cols++)
	for (int rows = 1; rows <= 80; rows++)
	for (int n = 0; n <= TOKMUX_MAX_PANES; n++)
	for (int z = -1; z < n; z++)
	for (size_t s = 0; s < sizeof sidebars / sizeof sidebars[0]; s++) {
		layout_compute(rows, cols, n, z, sidebars[s], &l);
		assert_ok(&l, rows, cols, n, z);
		/* every pane is shown once the terminal is reasonable */
		if (rows >= 6 && cols >= 20)
			for (int i = 0; i < n; i++)
				if (z < 0 || z == i)
					assert_true(l.pane[i].visible);
		checked++;
	}
	assert_true(checked > 1000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_pane_with_sidebar),
		cmocka_unit_test(test_one_pane_no_sidebar),
		cmocka_unit_test(test_two_side_by_side),
		cmocka_unit_test(test_two_stacked_when_narrow),
		cmocka_unit_test(test_three_panes),
		cmocka_unit_test(test_four_grid),
		cmocka_unit_test(test_tiny),
		cmocka_unit_test(test_sidebar_rules),
		cmocka_unit_test(test_zoom),
		cmocka_unit_test(test_pane_at),
		cmocka_unit_test(test_neighbor),
		cmocka_unit_test(test_fuzz_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
