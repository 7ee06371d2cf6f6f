/* Unit tests for sgr: SGR parameters in, the plain SGR for libvterm and the
 * pen extension out. Screen-level cases are in tests/vt/attrs.test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sgr.h"

#define M SGR_MISSING

/* Parse "4:3;58;5;9" into params and sub flags. */
static int
parse(const char *s, uint32_t *p, uint8_t *sub)
{
	int n = 0;

	p[0] = M;
	sub[0] = 0;
	for (; *s; s++) {
		if (*s == ';' || *s == ':') {
			sub[n] = *s == ':';
			p[++n] = M;
			sub[n] = 0;
		} else
			p[n] = (p[n] == M ? 0 : p[n]) * 10 + (uint32_t)(*s - '0');
	}
	return n + 1;
}

/* What libvterm gets for s (with ext from *ext), as "a;b;c|d;e" with '|'
 * between items. Returns whether the pen extension changed. */
static int
run(const char *s, struct sgr_ext *ext, char *out, size_t size)
{
	uint32_t p[32];
	uint8_t sub[32];
	struct sgr_out o = { .n = 0 };
	int n = parse(s, p, sub), changed, i;
	size_t len = 0;

	changed = sgr_apply(p, sub, n, ext, &o);
	out[0] = '\0';
	for (i = 0; i < o.n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%u",
		    i == 0 ? "" : o.start[i] ? "|" : ";", o.p[i]);
	return changed;
}

static void
test_plain_passes(void **state)
{
	struct sgr_ext e = { 0 };
	char out[256];
	uint32_t p[32];
	uint8_t sub[32];
	int n;

	(void)state;
	assert_false(run("1;3;31;44;38;5;200;48;2;1;2;3;0", &e, out, sizeof out));
	assert_string_equal(out, "1|3|31|44|38;5;200|48;2;1;2;3|0");
	assert_true(sgr_ext_default(&e));
	n = parse("1;31;38;5;200;48;2;1;2;3;22;24;0", p, sub);
	assert_true(sgr_plain(p, n, &e));
	/* what the pen extension needs is never plain */
	n = parse("2", p, sub);
	assert_false(sgr_plain(p, n, &e));
	n = parse("38;5;300", p, sub);
	assert_false(sgr_plain(p, n, &e));
	n = parse("58;5;1", p, sub);
	assert_false(sgr_plain(p, n, &e));
	/* resets are plain only when there is nothing of the extension */
	e.dim = 1;
	n = parse("22", p, sub);
	assert_false(sgr_plain(p, n, &e));
	n = parse("0", p, sub);
	assert_false(sgr_plain(p, n, &e));
	n = parse("24", p, sub);
	assert_true(sgr_plain(p, n, &e));
}

static void
test_extension(void **state)
{
	struct sgr_ext e = { 0 };
	char out[256];

	(void)state;
	assert_true(run("2;8;53", &e, out, sizeof out));
	assert_string_equal(out, "");
	assert_true(e.dim && e.conceal && e.overline);
	assert_true(run("22;28;55", &e, out, sizeof out));
	assert_string_equal(out, "22");
	assert_true(sgr_ext_default(&e));
	/* underline styles: 4 and 4:1 single, 4:2..4:5, 21 double, off */
	assert_true(run("4:3", &e, out, sizeof out));
	assert_string_equal(out, "4");
	assert_int_equal(e.ul, GRID_UL_CURLY);
	run("21", &e, out, sizeof out);
	assert_int_equal(e.ul, GRID_UL_DOUBLE);
	run("4", &e, out, sizeof out);
	assert_int_equal(e.ul, GRID_UL_SINGLE);
	run("4:0", &e, out, sizeof out);
	assert_string_equal(out, "24");
	assert_int_equal(e.ul, 0);
	assert_false(run("4:6", &e, out, sizeof out));  /* unknown: ignored */
	assert_string_equal(out, "");
	/* underline colour, every form; 59 back to none */
	run("58;5;196", &e, out, sizeof out);
	assert_int_equal(e.ulc.type, GRID_COLOR_INDEXED);
	assert_int_equal(e.ulc.idx, 196);
	run("58:2::1:2:3", &e, out, sizeof out);
	assert_int_equal(e.ulc.type, GRID_COLOR_RGB);
	assert_int_equal(e.ulc.g, 2);
	run("59", &e, out, sizeof out);
	assert_int_equal(e.ulc.type, GRID_COLOR_DEFAULT);
	/* 0 resets all */
	run("2;4:5;53;58;5;1", &e, out, sizeof out);
	assert_true(run("0", &e, out, sizeof out));
	assert_string_equal(out, "0");
	assert_true(sgr_ext_default(&e));
}

static void
test_subparameters(void **state)
{
	struct sgr_ext e = { 0 };
	char out[256];

	(void)state;
	/* issue 19: 58's arguments were read as attributes (5 = blink) */
	run("4;58;5;196", &e, out, sizeof out);
	assert_string_equal(out, "4");
	/* the ITU form with an empty colour space, with one, without one */
	run("38:2::255:0:0", &e, out, sizeof out);
	assert_string_equal(out, "38;2;255;0;0");
	run("38:2:0:1:2:3;48:2:4:5:6", &e, out, sizeof out);
	assert_string_equal(out, "38;2;1;2;3|48;2;4;5;6");
	run("38:5:9;48:5:10;1", &e, out, sizeof out);
	assert_string_equal(out, "38;5;9|48;5;10|1");
	/* malformed: dropped whole, the rest applies */
	run("38:2:1:2;38;5;256;38:3:1:2:3;1", &e, out, sizeof out);
	assert_string_equal(out, "1");
	/* sub-parameters of other attributes: ignored */
	run("1:2;3", &e, out, sizeof out);
	assert_string_equal(out, "3");
	/* empty values in a colour are 0 */
	run("38;2;;255;", &e, out, sizeof out);
	assert_string_equal(out, "38;2;0;255;0");
	/* rapid blink is blink; fonts and unknown ones are dropped */
	run("6;10;73;1", &e, out, sizeof out);
	assert_string_equal(out, "5|1");
	/* empty and missing parameters reset */
	run(";", &e, out, sizeof out);
	assert_string_equal(out, "0|0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_passes),
		cmocka_unit_test(test_extension),
		cmocka_unit_test(test_subparameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
