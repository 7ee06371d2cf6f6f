/*
 * Unit tests for cli: every value parser at its bounds and with the exact
 * message a front end prints after "PROG: OPT: ", and cli_next's handling
 * of --help, --version, unknown options, missing values and values given to
 * options that take none (stdout and stderr captured).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "testmsg.h"
#include "util.h"

static void
test_port_and_long(void **state)
{
	(void)state;
	char *err = NULL;
	int port = -1;
	assert_int_equal(cli_parse_port("0", &port, &err), 0);
	assert_int_equal(port, 0);
	assert_int_equal(cli_parse_port("65535", &port, &err), 0);
	assert_int_equal(port, 65535);
	static const char *const bad[] = { "", "65536", "-1", "8080x", " 80", "0x50",
		"99999999999999999999" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		assert_int_equal(cli_parse_port(bad[i], &port, &err), -1);
		char *want = xasprintf("expected 0..65535, got \"%s\"", bad[i]);
		testmsg_expect(&err, want);
		free(want);
	}
	assert_int_equal(port, 65535);      /* untouched by a failure */
	long n;
	assert_int_equal(cli_parse_long("4", 1, 4, "a number of panes", &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(cli_parse_long("5", 1, 4, "a number of panes", &n, &err), -1);
	testmsg_expect(&err, "expected a number of panes from 1 to 4, got \"5\"");
	assert_int_equal(cli_parse_long("-3", -5, 5, NULL, &n, &err), 0);
	assert_int_equal(n, -3);
	assert_int_equal(cli_parse_long("x", 1, 200, NULL, &n, &err), -1);
	testmsg_expect(&err, "expected 1..200, got \"x\"");
}

static void
test_usd(void **state)
{
	(void)state;
	char *err = NULL, *name = NULL;
	int64_t m = 0;
	assert_int_equal(cli_parse_usd("1.50", &m, &err), 0);
	assert_int_equal(m, 1500000);
	assert_int_equal(cli_parse_usd("$2", &m, &err), 0);
	assert_int_equal(m, 2000000);
	/* one rule for zero everywhere: a zero ceiling is a ceiling (it blocks) */
	assert_int_equal(cli_parse_usd("0", &m, &err), 0);
	assert_int_equal(m, 0);
	static const char *const bad[] = { "", "-1", "abc", "1.5.0" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		assert_int_equal(cli_parse_usd(bad[i], &m, &err), -1);
		char *want = xasprintf("expected a dollar amount (0 blocks), got \"%s\"", bad[i]);
		testmsg_expect(&err, want);
		free(want);
	}
	assert_int_equal(cli_parse_name_usd("2=1.50", &name, &m, &err), 0);
	assert_string_equal(name, "2");
	assert_int_equal(m, 1500000);
	free(name);
	assert_int_equal(cli_parse_name_usd("my pane=$3", &name, &m, &err), 0);
	assert_string_equal(name, "my pane");
	assert_int_equal(m, 3000000);
	free(name);
	assert_int_equal(cli_parse_name_usd("a=b=0", &name, &m, &err), 0);   /* the last '=' */
	assert_string_equal(name, "a=b");
	assert_int_equal(m, 0);
	free(name);
	static const char *const bad_name[] = { "foo", "=2", "" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_name); i++) {
		assert_int_equal(cli_parse_name_usd(bad_name[i], &name, &m, &err), -1);
		char *want = xasprintf("expected NAME=USD (a pane or route name or number, then "
		    "dollars, e.g. 2=1.50), got \"%s\"", bad_name[i]);
		testmsg_expect(&err, want);
		free(want);
	}
	static const char *const bad_usd[] = { "2=", "2=-1", "2=abc" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad_usd); i++) {
		assert_int_equal(cli_parse_name_usd(bad_usd[i], &name, &m, &err), -1);
		char *want = xasprintf("expected a dollar amount after \"=\", got \"%s\"",
		    strchr(bad_usd[i], '=') + 1);
		testmsg_expect(&err, want);
		free(want);
	}
}

static void
test_duration(void **state)
{
	(void)state;
	static const struct { const char *s; int64_t ms; } ok[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "5m", 300000 }, { "1h", 3600000 },
		{ "90", 90000 }, { "0", 0 }, { "720h", 2592000000LL }, { "2592000", 2592000000LL },
	};
	char *err = NULL;
	int64_t ms;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(ok); i++) {
		if (cli_parse_duration(ok[i].s, &ms, &err) != 0)
			fail_msg("%s: %s", ok[i].s, err);
		assert_int_equal(ms, ok[i].ms);
	}
	static const char *const bad[] = { "", "s", "5x", "-5s", "1.5s", "5 s", "721h",
		"2592001", "99999999999999999999h", "5mm" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		if (cli_parse_duration(bad[i], &ms, &err) != -1)
			fail_msg("\"%s\" was accepted as %lld ms", bad[i], (long long)ms);
		char *want = xasprintf("expected a duration such as 500ms, 30s, 5m or 1h "
		    "(at most 30 days), got \"%s\"", bad[i]);
		testmsg_expect(&err, want);
		free(want);
	}
}

static void
test_date_and_choice(void **state)
{
	(void)state;
	char *err = NULL;
	double t = 0;
	assert_int_equal(cli_parse_date("2025-08-22", &t, &err), 0);
	assert_true(t == 1755820800.0);          /* TZ=UTC (main) */
	static const char *const bad[] = { "2025-02-30", "21/08/2025", "2025-8-22", "", "2025-13-01" };
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		assert_int_equal(cli_parse_date(bad[i], &t, &err), -1);
		char *want = xasprintf("expected a date YYYY-MM-DD, got \"%s\"", bad[i]);
		testmsg_expect(&err, want);
		free(want);
	}
	static const char *const by[] = { "day", "model", "pane", NULL };
	int idx = -1;
	assert_int_equal(cli_parse_choice("pane", by, &idx, &err), 0);
	assert_int_equal(idx, 2);
	assert_int_equal(cli_parse_choice("week", by, &idx, &err), -1);
	testmsg_expect(&err, "expected day, model or pane, got \"week\"");
	static const char *const two[] = { "anthropic", "openai", NULL };
	assert_int_equal(cli_parse_choice("", two, &idx, &err), -1);
	testmsg_expect(&err, "expected anthropic or openai, got \"\"");
}

static void
test_usage_text(FILE *f, const void *ctx)
{
	fprintf(f, "usage: test %s\n", (const char *)ctx);
}

enum { OPT_PORT = 256, OPT_FLAG };

static const struct option test_longopts[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "flag", no_argument, NULL, OPT_FLAG },
	{ NULL, 0, NULL, 0 },
};

struct parsed {
	int status;             /* -1: ran to the end of the options */
	int port, flag, verbose;
	int first_arg;          /* optind at the end */
	char out[256], err[256];
};

/* Run cli_next over a NULL-terminated argv as a front end would. */
static void
parse(struct parsed *p, char **argv)
{
	int argc = 0;
	while (argv[argc] != NULL)
		argc++;
	memset(p, 0, sizeof *p);
	p->status = -1;
	FILE *saved_out = stdout, *saved_err = stderr;
	stdout = fmemopen(p->out, sizeof p->out - 1, "w");
	stderr = fmemopen(p->err, sizeof p->err - 1, "w");
	struct cli cli;
	cli_init(&cli, "tokmux test", "v", test_longopts, test_usage_text);
	cli.usage_ctx = "ctx";
	char *e = NULL;
	int c;
	while (p->status == -1 && (c = cli_next(&cli, argc, argv)) != -1) {
		if (c == CLI_EXIT)
			p->status = cli.status;
		else if (c == 'v')
			p->verbose = 1;
		else if (c == OPT_FLAG)
			p->flag = 1;
		else if (c == OPT_PORT && cli_parse_port(optarg, &p->port, &e) < 0)
			p->status = cli_fail(&cli, e);
	}
	if (p->status == -1)
		p->status = cli_no_args(&cli, argc, argv) != 0 ? CLI_USAGE : -1;
	p->first_arg = optind;
	fclose(stdout);
	fclose(stderr);
	stdout = saved_out;
	stderr = saved_err;
}

static void
expect_parse(char **argv, int status, const char *out, const char *err)
{
	struct parsed p;
	parse(&p, argv);
	if (p.status != status || strcmp(p.out, out) != 0 || strcmp(p.err, err) != 0)
		fail_msg("%s...: status %d out \"%s\" err \"%s\"; wanted %d \"%s\" \"%s\"", argv[1],
		    p.status, p.out, p.err, status, out, err);
}

static void
test_next(void **state)
{
	(void)state;
	struct parsed p;
	parse(&p, (char *[]){ "test", "--port=8080", "-v", "--flag", NULL });
	assert_int_equal(p.status, -1);
	assert_int_equal(p.port, 8080);
	assert_true(p.verbose && p.flag);
	parse(&p, (char *[]){ "test", "--port", "0", NULL });
	assert_int_equal(p.status, -1);
	assert_int_equal(p.port, 0);
	/* options stop at the first other argument, and "--" */
	parse(&p, (char *[]){ "test", "--", "--port", NULL });
	assert_int_equal(p.status, CLI_USAGE);
	assert_string_equal(p.err, "tokmux test: unexpected argument \"--port\"\n");

	expect_parse((char *[]){ "test", "--help", NULL }, 0, "usage: test ctx\n", "");
	expect_parse((char *[]){ "test", "-h", NULL }, 0, "usage: test ctx\n", "");
	expect_parse((char *[]){ "test", "--version", NULL }, 0, "tokmux " TOKMUX_VERSION "\n", "");
	expect_parse((char *[]){ "test", "--port", "", NULL }, CLI_USAGE, "",
	    "tokmux test: --port: expected 0..65535, got \"\"\n");
	expect_parse((char *[]){ "test", "--port=", NULL }, CLI_USAGE, "",
	    "tokmux test: --port: expected 0..65535, got \"\"\n");
	expect_parse((char *[]){ "test", "--port", NULL }, CLI_USAGE, "",
	    "tokmux test: --port needs a value\n");
	expect_parse((char *[]){ "test", "--version=2", NULL }, CLI_USAGE, "",
	    "tokmux test: --version takes no value\n");
	expect_parse((char *[]){ "test", "--flag=1", NULL }, CLI_USAGE, "",
	    "tokmux test: --flag takes no value\n");
	expect_parse((char *[]){ "test", "--bogus", NULL }, CLI_USAGE, "",
	    "tokmux test: unknown option \"--bogus\" (try tokmux test --help)\n");
	expect_parse((char *[]){ "test", "-x", NULL }, CLI_USAGE, "",
	    "tokmux test: unknown option \"-x\" (try tokmux test --help)\n");
	expect_parse((char *[]){ "test", "-vx", NULL }, CLI_USAGE, "",
	    "tokmux test: unknown option \"-x\" (try tokmux test --help)\n");
	expect_parse((char *[]){ "test", "extra", NULL }, CLI_USAGE, "",
	    "tokmux test: unexpected argument \"extra\"\n");
	/* a second front end in the same process starts over */
	parse(&p, (char *[]){ "test", "-v", NULL });
	assert_int_equal(p.status, -1);
	assert_true(p.verbose);
	assert_int_equal(p.first_arg, 2);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_and_long),
		cmocka_unit_test(test_usd),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_date_and_choice),
		cmocka_unit_test(test_next),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
