/* Unit tests for palette: xterm's default 256 colours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "palette.h"

static void
expect(int idx, int r, int g, int b)
{
	int pr, pg, pb;

	palette_rgb(idx, &pr, &pg, &pb);
	assert_int_equal(pr, r);
	assert_int_equal(pg, g);
	assert_int_equal(pb, b);
}

static void
test_palette(void **state)
{
	(void)state;
	expect(0, 0, 0, 0);
	expect(1, 205, 0, 0);
	expect(7, 229, 229, 229);
	expect(12, 92, 92, 255);
	expect(15, 255, 255, 255);
	expect(16, 0, 0, 0);            /* the cube */
	expect(17, 0, 0, 95);
	expect(196, 255, 0, 0);
	expect(231, 255, 255, 255);
	expect(232, 8, 8, 8);           /* the greys */
	expect(255, 238, 238, 238);
	expect(256 + 1, 205, 0, 0);     /* modulo 256 */
}

static void
test_parse_rgb(void **state)
{
	uint8_t c[3];

	(void)state;
	assert_int_equal(palette_parse_rgb("rgb:ffff/0000/8080", c), 0);
	assert_int_equal(c[0], 255);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[2], 128);
	/* 1 to 4 hex digits, scaled; what follows the colour is not read */
	assert_int_equal(palette_parse_rgb("rgb:f/0/8\033\\", c), 0);
	assert_int_equal(c[2], 136);
	assert_int_equal(palette_parse_rgb("rgb:10/20/3", c), 0);
	assert_int_equal(c[0], 0x10);
	assert_int_equal(c[2], 0x33);
	assert_int_equal(palette_parse_rgb("rgb:ff/00", c), -1);
	assert_int_equal(palette_parse_rgb("rgb:fffff/0/0", c), -1);
	assert_int_equal(palette_parse_rgb("rgb:/0/0", c), -1);
	assert_int_equal(palette_parse_rgb("#ffffff", c), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_palette),
		cmocka_unit_test(test_parse_rgb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
