/* Unit tests for sidebar: humanizing, countdowns, bars, sparklines, state
 * detection, events, and the lines built from a stats snapshot (429 and 529
 * apart, cost against ceilings, estimates marked, rate-limit headroom). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
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
	sidebar_countdown(0, b, sizeof b);      assert_string_equal(b, "now");
	sidebar_countdown(45, b, sizeof b);     assert_string_equal(b, "45s");
	sidebar_countdown(59.4, b, sizeof b);   assert_string_equal(b, "59s");
	sidebar_countdown(185, b, sizeof b);    assert_string_equal(b, "3m05s");
	sidebar_countdown(7440, b, sizeof b);   assert_string_equal(b, "2h04m");
	sidebar_countdown(273600, b, sizeof b); assert_string_equal(b, "3d04h");
}

static void
test_level(void **state)
{
	(void)state;
	assert_int_equal(sidebar_level(0, 100, 0.8), 0);
	assert_int_equal(sidebar_level(79, 100, 0.8), 0);
	assert_int_equal(sidebar_level(80, 100, 0.8), 1);
	assert_int_equal(sidebar_level(99, 100, 0.8), 1);
	assert_int_equal(sidebar_level(100, 100, 0.8), 2);
	assert_int_equal(sidebar_level(150, 100, 0.8), 2);
	assert_int_equal(sidebar_level(50, 100, 0.5), 1);
	assert_int_equal(sidebar_level(70, 100, 0), 0);   /* 0: default 0.8 */
	assert_int_equal(sidebar_level(5, 0, 0.8), 0);    /* no limit */
	assert_int_equal(sidebar_level(5, -1, 0.8), 0);
}

static void
test_bar(void **state)
{
	(void)state;
	char b[128];
	sidebar_bar(0.5, 10, 0, b, sizeof b);
	assert_string_equal(b, "#####-----");
	sidebar_bar(0, 4, 0, b, sizeof b);
	assert_string_equal(b, "----");
	sidebar_bar(1.7, 4, 0, b, sizeof b);     /* clamped */
	assert_string_equal(b, "####");
	sidebar_bar(-1, 4, 0, b, sizeof b);
	assert_string_equal(b, "----");
	sidebar_bar(0.001, 4, 0, b, sizeof b);   /* anything spent shows */
	assert_string_equal(b, "#---");
	/* UTF-8: full blocks, an eighth block, light shade */
	size_t n = sidebar_bar(0.5, 4, 1, b, sizeof b);
	assert_string_equal(b, "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x91\xe2\x96\x91");
	assert_int_equal(n, 12);
	sidebar_bar(3.0 / 16, 2, 1, b, sizeof b);   /* 3 of 16 eighths */
	assert_string_equal(b, "\xe2\x96\x8d\xe2\x96\x91");   /* U+258D left three eighths */
	/* bounded by the buffer */
	n = sidebar_bar(1, 20, 1, b, 10);
	assert_true(n < 10);
	assert_int_equal(strlen(b), n);
}

static void
test_sparkline(void **state)
{
	(void)state;
	char b[128];
	int64_t v[6] = { 0, 1, 4, 8, 0, 2 };
	sidebar_sparkline(v, 6, 6, 0, b, sizeof b);
	/* max 8: 1 -> 1/8 '_', 4 -> 4/8 '=', 8 -> '#', 2 -> 2/8 '.' */
	assert_string_equal(b, " _=# .");
	/* width smaller than n keeps the newest values */
	sidebar_sparkline(v, 6, 3, 0, b, sizeof b);
	assert_string_equal(b, "# .");   /* 8, 0, 2 */
	/* UTF-8 heights U+2581..U+2588 */
	int64_t w[2] = { 1, 100 };
	sidebar_sparkline(w, 2, 2, 1, b, sizeof b);
	assert_string_equal(b, "\xe2\x96\x81\xe2\x96\x88");
	int64_t z[3] = { 0, 0, 0 };
	sidebar_sparkline(z, 3, 3, 1, b, sizeof b);
	assert_string_equal(b, "   ");
}

static void
test_events(void **state)
{
	(void)state;
	struct stats_counts b, a;
	memset(&b, 0, sizeof b);
	a = b;
	assert_int_equal(sidebar_events(&b, &a), 0);
	a.refused = 1;
	a.fallbacks = 2;
	a.err_429 = 1;
	a.err_529 = 5;     /* a 529 alone is no event: retries handle it */
	int ev = sidebar_events(&b, &a);
	assert_int_equal(ev, SIDEBAR_EV_CEILING | SIDEBAR_EV_FALLBACK | SIDEBAR_EV_PACED);
	assert_int_equal(sidebar_events(&a, &a), 0);
	char t[256];
	strcpy(a.last_model, "claude-haiku-4-5");
	sidebar_event_text(SIDEBAR_EV_FALLBACK, 2, "claude", &a, t, sizeof t);
	assert_string_equal(t, "pane 2 claude: fell back to claude-haiku-4-5");
	sidebar_event_text(SIDEBAR_EV_CEILING | SIDEBAR_EV_PACED, 1, "a", &a, t, sizeof t);
	assert_string_equal(t, "pane 1 a: ceiling reached: request refused, paced for a 429");
	sidebar_event_text(SIDEBAR_EV_PACED, 3, "pane 3", &a, t, sizeof t);
	assert_string_equal(t, "pane 3: paced for a 429");
}

static int
find(const struct sidebar_line *l, int n, const char *needle)
{
	for (int i = 0; i < n; i++)
		if (strstr(l[i].text, needle) != NULL)
			return i;
	return -1;
}

static int
utf8_cols(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static struct stats_snapshot snap;

static void
fill_snap(void)
{
	memset(&snap, 0, sizeof snap);
	snap.nroutes = 2;
	struct stats_counts *c = &snap.route[1];
	c->input_tokens = 12345;
	c->output_tokens = 678;
	c->cache_read_tokens = 4100000;
	c->cache_write_5m_tokens = 1000;
	c->cache_write_1h_tokens = 500;
	c->cost_micros = 4500000;      /* $4.50 of a $5 ceiling: warning */
	c->requests = 9;
	c->err_429 = 2;
	c->err_529 = 3;
	c->retries = 4;
	c->fallbacks = 1;
	c->tokens_per_min[0] = 500;   /* this minute */
	c->tokens_per_min[2] = 1000;
	strcpy(c->last_model, "claude-haiku-4-5");
	strcpy(c->last_model_asked, "claude-sonnet-4-5");
	strcpy(c->last_error, "overloaded_error");
	snap.total = *c;
	snap.cost_last_10min_micros = 1000000;    /* $6/h */
}

static void
test_build(void **state)
{
	(void)state;
	fill_snap();
	struct sidebar_pane panes[2] = {
		{ .name = "shell", .route = 0, .ceiling_micros = -1, .state = PANESTATE_IDLE },
		{ .name = "claude", .cmd = "claude", .route = 1, .focused = 1,
		  .ceiling_micros = 5000000, .state = PANESTATE_NEEDS_INPUT,
		  .state_text = "needs input: permission", .message = "approve Bash: make" },
	};
	struct rl_state rl;
	rl_state_init(&rl);
	strcpy(rl.key_hash, "abcdef0123456789");
	rl.updated = 1000;
	rl.requests = (struct rl_bucket){ .limit = 1000, .remaining = 50, .reset = 1030 };
	rl.w5h.utilization = 0.25;
	rl.w5h.reset = 1000 + 3600;
	struct sidebar_input in = { .snap = &snap, .panes = panes, .npanes = 2, .rl = &rl, .nrl = 1,
		.now = 1000, .utf8 = 0, .ceiling_micros = 10000000, .daily_ceiling_micros = 20000000,
		.daily_before_micros = 14000000, .warn_at = 0.8 };
	struct sidebar_line l[96];
	int n = sidebar_build(&in, 34, l, 96);
	for (int i = 0; i < n; i++) {
		/* every line fits the width */
		assert_true(utf8_cols(l[i].text) <= 34);
		for (int k = 0; k < l[i].nseg; k++)
			assert_true(l[i].seg[k].off + l[i].seg[k].len <= strlen(l[i].text));
	}
	assert_true(find(l, n, "total $4.50") >= 0);
	/* workspace $4.50 of $10: ok; day 14 + 4.50 of 20: warning */
	int ws = find(l, n, " ws  ");
	assert_true(ws >= 0);
	assert_non_null(strstr(l[ws].text, "$4.50/$10.00"));
	assert_int_equal(l[ws].nseg, 1);
	assert_int_equal(l[ws].seg[0].kind, SIDEBAR_BAR_OK);
	int day = find(l, n, " day ");
	assert_true(day >= 0);
	assert_non_null(strstr(l[day].text, "$18.50/$20.00"));
	assert_int_equal(l[day].seg[0].kind, SIDEBAR_BAR_WARN);
	/* burn $6/h; left: min(10 - 4.5, 20 - 18.5) = $1.50 -> 15 min */
	assert_true(find(l, n, "burn $6.00/h, 15m00s left") >= 0);
	int p = find(l, n, ">2 claude - claude");
	assert_true(p > 0);
	assert_int_equal(l[p].kind, SIDEBAR_TITLE);
	assert_true(find(l + p, n - p, "needs input: permission") >= 0);
	assert_true(find(l + p, n - p, "approve Bash: make") >= 0);
	/* it needs input: listed before pane 1 */
	assert_true(find(l, n, " 1 shell") > p);
	int m = find(l + p, n - p, "vclaude-haiku-4-5");   /* fallback marked */
	assert_true(m >= 0);
	assert_int_equal(l[p + m].kind, SIDEBAR_WARN);
	int c = find(l + p, n - p, "$4.50/$5.00");
	assert_true(c >= 0);
	assert_int_equal(l[p + c].seg[0].kind, SIDEBAR_BAR_WARN);
	assert_true(find(l + p, n - p, "in 12.3k out 678 cr 4.1M cw 1.5k") >= 0);
	int e = find(l + p, n - p, "9 req  429 2  529 3  retry 4");
	assert_true(e >= 0);
	assert_int_equal(l[p + e].kind, SIDEBAR_WARN);
	assert_true(find(l + p, n - p, "fallback 1  refused 0") >= 0);
	assert_true(find(l + p, n - p, "! overloaded_error") >= 0);
	/* sparkline: the newest minute last, peak labelled */
	int s = find(l + p, n - p, " 1.0k");
	assert_true(s >= 0);
	assert_int_equal(l[p + s].seg[0].kind, SIDEBAR_SPARK);
	assert_non_null(strstr(l[p + s].text, "# = 1.0k"));   /* 1000, 0, 500 */
	/* a subscription window: one gauge for the account, its panes named */
	assert_true(find(l, n, "subscription") >= 0);
	assert_true(find(l, n, "key abcdef01") < 0);
	int r = find(l, n, "50/1.0k 30s");
	assert_true(r >= 0);
	assert_int_equal(l[r].kind, SIDEBAR_WARN);   /* under 10% left */
	assert_int_equal(l[r].seg[0].kind, SIDEBAR_BAR_OVER);
	assert_true(find(l, n, "25% 1h00m") >= 0);
	assert_true(sidebar_ticking(&in));
	/* bounded output */
	assert_int_equal(sidebar_build(&in, 34, l, 3), 3);
	/* gateway off */
	in.snap = NULL;
	n = sidebar_build(&in, 34, l, 96);
	assert_true(find(l, n, "gateway off") >= 0);
	/* ... and the panes' states, the one that needs input first */
	int q = find(l, n, ">2 claude - claude");
	assert_true(q > 0);
	assert_int_equal(find(l + q, n - q, "needs input: permission"), 1);
	assert_true(find(l, n, " 1 shell") > q);
	assert_true(find(l, n, "$") < 0);
}

/* Subagent traffic under its pane (named by its status reports' title when
 * known), and accounts: one subscription gauge for the panes that share it,
 * the binding window marked, a warning past warn_at; an API key's buckets. */
static void
test_agents_and_accounts(void **state)
{
	(void)state;
	fill_snap();
	struct stats_counts *c = &snap.route[1];
	snprintf(c->sub[0].id, sizeof c->sub[0].id, "af3763406e9b14493");
	c->sub[0].requests = 2;
	c->sub[0].inflight = 1;
	c->sub[0].tokens = 12000;
	c->sub[0].cost_micros = 30000;
	snprintf(c->sub[1].id, sizeof c->sub[1].id, "aacac9cd22f8159f1");
	c->sub[1].requests = 1;
	snprintf(c->act.key_hash, sizeof c->act.key_hash, "abcdef0123456789");
	snprintf(snap.route[0].act.key_hash, sizeof snap.route[0].act.key_hash, "abcdef0123456789");
	struct termsig_view sig = { 0 };
	snprintf(sig.sub[2].id, sizeof sig.sub[2].id, "af3763406e9b14493");
	snprintf(sig.sub[2].title, sizeof sig.sub[2].title, "Research helper");
	struct sidebar_pane panes[2] = {
		{ .name = "a", .route = 0, .ceiling_micros = -1 },
		{ .name = "b", .route = 1, .ceiling_micros = -1, .sig = &sig, .state = PANESTATE_WORKING },
	};
	struct rl_state rl[2];
	rl_state_init(&rl[0]);
	strcpy(rl[0].key_hash, "abcdef0123456789");
	rl[0].updated = 1000;
	rl[0].w5h = (struct rl_window){ .utilization = 0.92, .reset = 1000 + 4800 };
	rl[0].w7d = (struct rl_window){ .utilization = 0.97, .reset = 1000 + 86400 };
	strcpy(rl[0].unified_claim, "five_hour");
	rl_state_init(&rl[1]);
	strcpy(rl[1].key_hash, "9999990123456789");
	rl[1].updated = 1000;
	rl[1].requests = (struct rl_bucket){ .limit = 1000, .remaining = 900, .reset = 1030 };
	struct sidebar_input in = { .snap = &snap, .panes = panes, .npanes = 2, .rl = rl, .nrl = 2,
		.now = 1000, .utf8 = 0, .ceiling_micros = -1, .daily_ceiling_micros = -1, .warn_at = 0.8 };
	struct sidebar_line l[96];
	int n = sidebar_build(&in, 34, l, 96);
	for (int i = 0; getenv("SIDEBAR_DUMP") && i < n; i++)
		printf("[%s]\n", l[i].text);
	int a = find(l, n, "+ Research hel 3 req 12.0k $0.03");
	assert_true(a >= 0);
	assert_int_equal(l[a].kind, SIDEBAR_TEXT);        /* in flight */
	int b = find(l, n, "+ aacac9cd22f8 1 req 0 $0.00");
	assert_true(b > a);
	assert_int_equal(l[b].kind, SIDEBAR_DIM);
	int sub = find(l, n, " subscription pane 1 2");
	assert_true(sub >= 0);
	/* the representative claim binds, not the fuller 7-day window */
	assert_true(find(l + sub, n - sub, "92% 1h20m *") >= 0);
	assert_true(find(l + sub, n - sub, "97% 1d00h") >= 0);
	int w = find(l + sub, n - sub, "! 5h limit 92%, resets 1h20m");
	assert_true(w >= 0);
	assert_int_equal(l[sub + w].kind, SIDEBAR_WARN);
	assert_true(find(l, n, " key 99999901") >= 0);
	/* no claim: the fuller window binds; below warn_at no warning */
	rl[0].unified_claim[0] = '\0';
	rl[0].w7d.utilization = 0.5;
	rl[0].w5h.utilization = 0.3;
	const char *label = NULL;
	assert_ptr_equal(ratelimit_binding(&rl[0], &label), &rl[0].w7d);
	assert_string_equal(label, "7d");
	n = sidebar_build(&in, 34, l, 96);
	assert_true(find(l, n, "50% 1d00h *") >= 0);
	assert_true(find(l, n, "! 7d limit") < 0);
	rl[0].w7d.utilization = rl[0].w5h.utilization = -1;
	assert_null(ratelimit_binding(&rl[0], &label));
}

static void
test_estimates(void **state)
{
	(void)state;
	fill_snap();
	snap.route[1].unpriced = 2;
	snap.route[1].inflight = 1;
	snap.route[1].policy.reserved_micros = 120000;   /* the policy's, live */
	snap.total = snap.route[1];
	struct sidebar_pane p = { .name = "x", .route = 1, .ceiling_micros = -1 };
	struct sidebar_input in = { .snap = &snap, .panes = &p, .npanes = 1, .now = 1000,
		.ceiling_micros = -1, .daily_ceiling_micros = -1 };
	struct sidebar_line l[64];
	int n = sidebar_build(&in, 40, l, 64);
	assert_true(find(l, n, "total ~$4.50") >= 0);
	assert_true(find(l, n, "~$4.50  no ceiling") >= 0);
	assert_true(find(l, n, "~ 2 unpriced req") >= 0);
	assert_true(find(l, n, "1 in flight, $0.12 reserved") >= 0);
	assert_false(sidebar_ticking(&in));
	/* zero ceilings block, and say so */
	p.ceiling_micros = 0;
	in.ceiling_micros = 0;
	in.daily_ceiling_micros = 0;
	n = sidebar_build(&in, 40, l, 64);
	assert_true(find(l, n, "~$4.50  blocked: ceiling $0") >= 0);
	assert_true(find(l, n, " ws  blocked: ceiling $0") >= 0);
	assert_true(find(l, n, " day blocked: ceiling $0") >= 0);
	/* the bar counts what the ceiling counts: the charges, at least the cost */
	p.ceiling_micros = 10000000;
	in.ceiling_micros = in.daily_ceiling_micros = -1;
	snap.route[1].policy.spent_micros = 6000000;
	n = sidebar_build(&in, 40, l, 64);
	assert_true(find(l, n, "~$6.00/$10.00") >= 0);
	p.ceiling_micros = -1;
	/* the conversation's model, the helper beside it; clamped requests */
	snprintf(snap.route[1].main_model, MODEL_ID_MAX, "claude-opus-5-5");
	snprintf(snap.route[1].main_model_asked, MODEL_ID_MAX, "claude-opus-5-5");
	snprintf(snap.route[1].helper_model, MODEL_ID_MAX, "claude-haiku-4-5-20251001");
	snprintf(snap.route[1].last_model, MODEL_ID_MAX, "claude-haiku-4-5-20251001");
	snap.route[1].clamped = 2;
	n = sidebar_build(&in, 40, l, 64);
	assert_true(find(l, n, "claude-opus-5-5 +haiku-4-5-20251001") >= 0);
	assert_true(find(l, n, "clamped 2 (limit lowered)") >= 0);
	/* an override is marked as set; pacing shows a countdown */
	p.override = "claude-haiku-4-5";
	p.paced_until = 1012;
	p.circuit_open = 1;
	n = sidebar_build(&in, 40, l, 64);
	assert_true(find(l, n, "claude-haiku-4-5 (set)") >= 0);
	assert_true(find(l, n, "paced: next in 12s") >= 0);
	assert_true(find(l, n, "circuit open") >= 0);
	assert_true(sidebar_ticking(&in));
}

/* Issue 14: rate-limit values from the network past any sense (a
 * retry-after of 3000000000, a reset in the year 10^20, a utilization of
 * 10^8) show as clamped, readable countdowns and a full bar. */
static void
test_huge_ratelimit_values(void **state)
{
	(void)state;
	fill_snap();
	struct sidebar_pane panes[1] = {
		{ .name = "claude", .cmd = "claude", .route = 1, .ceiling_micros = -1 },
	};
	struct rl_state rl;
	rl_state_init(&rl);
	strcpy(rl.key_hash, "abcdef0123456789");
	const char *h[][2] = {
		{ "retry-after", "3000000000" },
		{ "anthropic-ratelimit-unified-5h-utilization", "123456789" },
		{ "anthropic-ratelimit-unified-5h-reset", "99999999999999999999" },
		{ "anthropic-ratelimit-unified-status", "rejected" },
		{ "anthropic-ratelimit-unified-reset", "99999999999999999999" },
	};
	for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
		assert_int_equal(ratelimit_parse_header(&rl, h[i][0], h[i][1], 1000), 1);
	struct sidebar_input in = { .snap = &snap, .panes = panes, .npanes = 1, .rl = &rl,
		.nrl = 1, .now = 1000, .ceiling_micros = -1, .daily_ceiling_micros = -1,
		.warn_at = 0.8 };
	struct sidebar_line l[64];
	int n = sidebar_build(&in, 40, l, 64);
	for (int i = 0; i < n; i++)
		assert_true(utf8_cols(l[i].text) <= 40);
	/* the unified reset (8 days at most) is the latest "not before" */
	assert_true(find(l, n, "paced: next in 8d00h") >= 0);
	assert_true(find(l, n, "100%") >= 0);
	for (int i = 0; i < n; i++)
		assert_null(strstr(l[i].text, "-2147483648"));
	/* the retry-after alone: 15 minutes */
	rl_state_init(&rl);
	strcpy(rl.key_hash, "abcdef0123456789");
	assert_int_equal(ratelimit_parse_header(&rl, "retry-after", "3000000000", 1000), 1);
	n = sidebar_build(&in, 40, l, 64);
	assert_true(find(l, n, "paced: next in 15m00s") >= 0);
}

/* A worktree pane: its branch and change under its state; a note while
 * the worktree is made or after it failed; >= for a partial count. */
static void
test_worktree(void **state)
{
	(void)state;
	fill_snap();
	struct sidebar_pane p = { .name = "x", .route = 1, .ceiling_micros = -1,
		.wt = { .branch = "tokmux/x", .known = 1, .files = 3, .added = 12, .removed = 4 } };
	struct sidebar_input in = { .snap = &snap, .panes = &p, .npanes = 1, .now = 1000,
		.ceiling_micros = -1, .daily_ceiling_micros = -1 };
	struct sidebar_line l[64];
	int n = sidebar_build(&in, 40, l, 64);
	int b = find(l, n, "  tokmux/x");
	assert_true(b >= 0);
	assert_string_equal(l[b + 1].text, "  3 files +12 -4");
	in.utf8 = 1;
	p.wt.partial = 1;
	p.wt.files = 1;
	n = sidebar_build(&in, 40, l, 64);
	assert_true(find(l, n, "\xe2\x89\xa5 1 file +12 \xe2\x88\x92" "4") >= 0);
	/* not measured yet: the branch only */
	p.wt.known = 0;
	n = sidebar_build(&in, 40, l, 64);
	b = find(l, n, "  tokmux/x");
	assert_true(b >= 0);
	assert_int_equal(find(l, n, "1 file"), -1);
	/* a failure is an error line, no branch */
	p.wt = (struct sidebar_worktree){ .note = "worktree failed", .note_error = 1 };
	n = sidebar_build(&in, 40, l, 64);
	b = find(l, n, "worktree failed");
	assert_true(b >= 0);
	assert_int_equal(l[b].kind, SIDEBAR_ERROR);
	assert_int_equal(find(l, n, "tokmux/x"), -1);
	char fig[64];
	struct sidebar_worktree w = { .files = 0 };
	sidebar_diff_figures(&w, 0, fig, sizeof fig);
	assert_string_equal(fig, "0 files +0 -0");
}

static void
test_status(void **state)
{
	(void)state;
	fill_snap();
	struct sidebar_pane panes[2] = {
		{ .name = "a", .route = 0, .state = PANESTATE_IDLE },
		{ .name = "b", .route = 1, .state = PANESTATE_NEEDS_INPUT },
	};
	struct sidebar_input in = { .snap = &snap, .panes = panes, .npanes = 2, .now = 1000,
		.ceiling_micros = 10000000 };
	char b[512];
	sidebar_status(&in, 80, b, sizeof b);
	assert_string_equal(b, " tokmux $4.50/$10.00 | 9 req 429 2 529 3 | 1 idle $0.00 | "
	    "2 input $4.50 | Ctrl-g ? help");
	in.prefix_name = "Ctrl-a";   /* the configured prefix key */
	sidebar_status(&in, 80, b, sizeof b);
	assert_non_null(strstr(b, "| Ctrl-a ? help"));
}

/* A ledger that cannot be written shows at once: lines under the totals
 * and a word in the status bar; nothing when it writes. */
static void
test_ledger_failing(void **state)
{
	(void)state;
	fill_snap();
	struct sidebar_pane panes[1] = { { .name = "a", .route = 0, .state = PANESTATE_IDLE } };
	struct sidebar_input in = { .snap = &snap, .panes = panes, .npanes = 1, .now = 1000,
		.ceiling_micros = -1, .daily_ceiling_micros = -1 };
	struct sidebar_line lines[64];
	char b[512];
	int n = sidebar_build(&in, 40, lines, 64);
	for (int i = 0; i < n; i++)
		assert_null(strstr(lines[i].text, "ledger"));
	sidebar_status(&in, 80, b, sizeof b);
	assert_null(strstr(b, "LEDGER"));
	snap.ledger = (struct stats_ledger){ .failing = 1, .error = ENOSPC, .held = 3 };
	n = sidebar_build(&in, 40, lines, 64);
	int at = -1;
	for (int i = 0; i < n && at < 0; i++)
		if (strcmp(lines[i].text, " ! ledger not written:") == 0)
			at = i;
	assert_true(at >= 0 && at + 2 < n);
	assert_int_equal(lines[at].kind, SIDEBAR_ERROR);
	assert_string_equal(lines[at + 1].text, "   No space left on device");
	assert_string_equal(lines[at + 2].text, "   3 held, retrying");
	snap.ledger.lost = 5;
	n = sidebar_build(&in, 40, lines, 64);
	assert_string_equal(lines[at + 2].text, "   3 held, 5 lost");
	assert_int_equal(lines[at + 2].kind, SIDEBAR_ERROR);
	sidebar_status(&in, 80, b, sizeof b);
	assert_non_null(strstr(b, " | LEDGER NOT WRITTEN"));
	memset(&snap.ledger, 0, sizeof snap.ledger);
}

static void
test_recent(void **state)
{
	(void)state;
	struct stats_recent r;
	memset(&r, 0, sizeof r);
	strcpy(r.model, "claude-haiku-4-5");
	strcpy(r.model_asked, "claude-sonnet-4-5");
	r.input_tokens = 1200;
	r.output_tokens = 34;
	r.cost_micros = 1234;
	r.priced = 1;
	r.status = 200;
	r.retries = 3;
	r.n529 = 3;
	r.fallbacks = 1;
	char b[256], h[256];
	sidebar_recent_line(NULL, h, sizeof h);
	sidebar_recent_line(&r, b, sizeof b);
	assert_non_null(strstr(h, "model"));
	assert_non_null(strstr(b, "claude-haiku-4-5 (asked claude-sonnet-4-5)"));
	assert_non_null(strstr(b, "1.2k"));
	assert_non_null(strstr(b, "$0.0012"));
	assert_non_null(strstr(b, " 200 3 529 fb"));
	r.refused = 1;
	sidebar_recent_line(&r, b, sizeof b);
	assert_non_null(strstr(b, "refus"));
}

/* The team line: spent against the binding period's ceiling, in flight,
 * this member's share; the store's trouble, fail closed and open. */
static void
test_team_line(void **state)
{
	(void)state;
	fill_snap();
	struct stats_team *t = &snap.team;
	memset(t, 0, sizeof *t);
	struct sidebar_input in = { .snap = &snap, .now = 1000, .ceiling_micros = -1,
		.daily_ceiling_micros = -1, .warn_at = 0.8 };
	struct sidebar_line l[96];
	int n = sidebar_build(&in, 34, l, 96);
	assert_true(find(l, n, " team ") < 0);      /* no team budget: no line */
	*t = (struct stats_team){ .active = 1, .reachable = 1, .read = 1, .team = "acme",
		.member = "alice", .period = "week", .spent = 45000000, .inflight = 1200000,
		.ceiling = 50000000, .member_spent = 7000000, .member_ceiling = -1,
		.where = "redis 10.0.0.5:6379/0" };
	n = sidebar_build(&in, 34, l, 96);
	int k = find(l, n, " team acme week ");
	assert_true(k >= 0);
	assert_non_null(strstr(l[k].text, "$45.00/$50.00"));
	assert_int_equal(l[k].seg[0].kind, SIDEBAR_BAR_WARN);
	assert_true(find(l, n, "  $1.20 in flight") == k + 1);
	assert_true(find(l, n, "  alice (you) $7.00") == k + 2);
	for (int i = 0; i < n; i++)
		assert_true(utf8_cols(l[i].text) <= 34);
	t->member_ceiling = 10000000;
	n = sidebar_build(&in, 34, l, 96);
	assert_true(find(l, n, "  alice (you) $7.00/$10.00") >= 0);
	t->reachable = 0;
	snprintf(t->error, sizeof t->error, "team budget store unreachable at 10.0.0.5:6379");
	n = sidebar_build(&in, 34, l, 96);
	k = find(l, n, " team acme: store unreachable");
	assert_true(k >= 0);
	assert_int_equal(l[k].kind, SIDEBAR_ERROR);
	assert_true(find(l, n, "  redis 10.0.0.5:6379/0") == k + 1);
	assert_true(find(l, n, "  refusing requests") == k + 2);
	assert_true(find(l, n, " team acme week ") > k);    /* the last figures stay */
	t->fail_open = 1;
	n = sidebar_build(&in, 34, l, 96);
	k = find(l, n, " team acme: NOT enforced");
	assert_true(k >= 0);
	assert_int_equal(l[k].kind, SIDEBAR_WARN);
	memset(t, 0, sizeof *t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_humanize),
		cmocka_unit_test(test_countdown),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_bar),
		cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_huge_ratelimit_values),
		cmocka_unit_test(test_agents_and_accounts),
		cmocka_unit_test(test_estimates),
		cmocka_unit_test(test_worktree),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_recent),
		cmocka_unit_test(test_ledger_failing),
		cmocka_unit_test(test_team_line),
	};
	return cmocka_run_group_tests_name("sidebar", tests, NULL, NULL);
}
