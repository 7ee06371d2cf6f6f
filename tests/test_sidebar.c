/* Unit tests for sidebar: number humanizing, countdowns, and the lines built
 * from a stats snapshot (429 and 529 apart, cost, rate-limit headroom). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sidebar.h"

static void
test_humanize(void **state)
{
	(void)state;
	char b[16];
	sidebar_humanize(0, b, sizeof b);        assert_string_equal(b, "0");
	sidebar_humanize(950, b, sizeof b);      assert_string_equal(b, "950");
	sidebar_humanize(999, b, sizeof b);      assert_string_equal(b, "999");
	sidebar_humanize(1000, b, sizeof b);     assert_string_equal(b, "1.0k");
	sidebar_humanize(12345, b, sizeof b);    assert_string_equal(b, "12.3k");
	sidebar_humanize(999949, b, sizeof b);   assert_string_equal(b, "999.9k");
	sidebar_humanize(999950, b, sizeof b);   assert_string_equal(b, "1.0M");
	sidebar_humanize(4100000, b, sizeof b);  assert_string_equal(b, "4.1M");
	sidebar_humanize(2500000000LL, b, sizeof b); assert_string_equal(b, "2.5G");
	sidebar_humanize(-1500, b, sizeof b);    assert_string_equal(b, "-1.5k");
}

static void
test_countdown(void **state)
{
	(void)state;
	char b[16];
	sidebar_countdown(-3, b, sizeof b);     assert_string_equal(b, "now");
	sidebar_countdown(45, b, sizeof b);     assert_string_equal(b, "45s");
	sidebar_countdown(185, b, sizeof b);    assert_string_equal(b, "3m05s");
	sidebar_countdown(7440, b, sizeof b);   assert_string_equal(b, "2h04m");
	sidebar_countdown(273600, b, sizeof b); assert_string_equal(b, "3d04h");
}

static int
find(const struct sidebar_line *l, int n, const char *needle)
{
	for (int i = 0; i < n; i++)
		if (strstr(l[i].text, needle) != NULL)
			return i;
	return -1;
}

static void
test_build(void **state)
{
	(void)state;
	struct stats_snapshot snap;
	memset(&snap, 0, sizeof snap);
	snap.nroutes = 2;
	snap.route[1].input_tokens = 12345;
	snap.route[1].output_tokens = 678;
	snap.route[1].cache_read_tokens = 4100000;
	snap.route[1].cost_micros = 1234567;
	snap.route[1].requests = 9;
	snap.route[1].err_429 = 2;
	snap.route[1].err_529 = 3;
	snap.route[1].retries = 4;
	strcpy(snap.route[1].last_model, "claude-sonnet-4-5");
	snap.total = snap.route[1];
	struct sidebar_pane panes[2] = {
		{ .name = "shell", .route = 0 },
		{ .name = "claude", .route = 1, .focused = 1 },
	};
	struct rl_state rl;
	rl_state_init(&rl);
	strcpy(rl.key_hash, "abcdef0123456789");
	rl.updated = 1000;
	rl.requests = (struct rl_bucket){ .limit = 1000, .remaining = 50, .reset = 1030 };
	struct sidebar_input in = { .snap = &snap, .panes = panes, .npanes = 2, .rl = &rl, .nrl = 1,
		.now = 1000, .utf8 = 0 };
	struct sidebar_line l[64];
	int n = sidebar_build(&in, 34, l, 64);
	assert_true(n > 10);
	assert_true(find(l, n, "total $1.23") >= 0);
	int p = find(l, n, ">2 claude");
	assert_true(p > 0);
	assert_true(find(l + p, n - p, "in 12.3k  out 678") >= 0);
	assert_true(find(l + p, n - p, "cache r 4.1M") >= 0);
	int e = find(l + p, n - p, "429 2  529 3  retry 4");
	assert_true(e >= 0);
	assert_int_equal(l[p + e].kind, SIDEBAR_WARN);
	assert_true(find(l, n, "key abcdef01") >= 0);
	int r = find(l, n, "req 50/1.0k  reset 30s");
	assert_true(r >= 0);
	assert_int_equal(l[r].kind, SIDEBAR_WARN);   /* under 10% left */
	/* bounded output */
	assert_int_equal(sidebar_build(&in, 34, l, 3), 3);
	/* gateway off */
	in.snap = NULL;
	n = sidebar_build(&in, 34, l, 64);
	assert_true(find(l, n, "gateway off") >= 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_humanize),
		cmocka_unit_test(test_countdown),
		cmocka_unit_test(test_build),
	};
	return cmocka_run_group_tests_name("sidebar", tests, NULL, NULL);
}
