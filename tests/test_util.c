/* Unit tests for util: dollar parsing and formatting, buffers, key hash,
 * reading a whole file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "testtmp.h"

/* util_random_hex: exactly the digits asked for, lowercase hex, NUL after,
 * different each time; more than one read's worth too. */
static void
test_random_hex(void **state)
{
	(void)state;
	char a[201], b[201];
	memset(a, 'X', sizeof a);
	util_random_hex(a, 24);
	assert_int_equal(strlen(a), 24);
	assert_int_equal(strspn(a, "0123456789abcdef"), 24);
	util_random_hex(b, 24);
	assert_string_not_equal(a, b);
	util_random_hex(a, 200);
	assert_int_equal(strlen(a), 200);
	assert_int_equal(strspn(a, "0123456789abcdef"), 200);
	util_random_hex(a, 0);
	assert_string_equal(a, "");
}

static void
test_parse_usd(void **state)
{
	(void)state;
	int64_t m;
	assert_int_equal(util_parse_usd("5", &m), 0);
	assert_int_equal(m, 5000000);
	assert_int_equal(util_parse_usd("1.50", &m), 0);
	assert_int_equal(m, 1500000);
	assert_int_equal(util_parse_usd("$0.000001", &m), 0);
	assert_int_equal(m, 1);
	assert_int_equal(util_parse_usd(".25", &m), 0);
	assert_int_equal(m, 250000);
	assert_int_equal(util_parse_usd("0.1234567", &m), 0);   /* extra digits dropped */
	assert_int_equal(m, 123456);
	assert_int_equal(util_parse_usd("-1", &m), -1);
	assert_int_equal(util_parse_usd("abc", &m), -1);
	assert_int_equal(util_parse_usd("1.5x", &m), -1);
	assert_int_equal(util_parse_usd("", &m), -1);
	assert_int_equal(util_parse_usd("1000000000", &m), -1);
}

static void
test_fmt_usd(void **state)
{
	(void)state;
	char b[32];
	util_fmt_usd(0, b, sizeof b);
	assert_string_equal(b, "$0.00");
	util_fmt_usd(5000000, b, sizeof b);
	assert_string_equal(b, "$5.00");
	util_fmt_usd(4985000, b, sizeof b);
	assert_string_equal(b, "$4.99");   /* half a cent rounds up */
	util_fmt_usd(1234, b, sizeof b);
	assert_string_equal(b, "$0.0012");
	util_fmt_usd(9999999, b, sizeof b);
	assert_string_equal(b, "$10.00");
	util_fmt_usd(-2500000, b, sizeof b);
	assert_string_equal(b, "-$2.50");
	/* the extremes (a saturated report total) print without overflowing */
	util_fmt_usd(INT64_MAX, b, sizeof b);
	assert_string_equal(b, "$9223372036854.78");
	util_fmt_usd(INT64_MIN, b, sizeof b);
	assert_string_equal(b, "-$9223372036854.78");
}

static void
test_utf8(void **state)
{
	(void)state;
	uint32_t cp;
	assert_int_equal(util_utf8_decode("a", &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(util_utf8_decode("", &cp), 1);
	assert_int_equal(cp, 0);
	assert_int_equal(util_utf8_decode("\xc3\xa9", &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(util_utf8_decode("\xe2\x80\xae", &cp), 3);
	assert_int_equal(cp, 0x202e);
	assert_int_equal(util_utf8_decode("\xf0\x9f\x98\x80", &cp), 4);
	assert_int_equal(cp, 0x1f600);
	static const char *const bad[] = {
		"\xff", "\x80", "\xc3", "\xc3x", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xe2\x80",
	};
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		if (util_utf8_decode(bad[i], &cp) != 0)
			fail_msg("bad sequence %zu decoded", i);
}

static void
test_buf(void **state)
{
	(void)state;
	struct buf b = {0};
	for (int i = 0; i < 1000; i++)
		buf_appendf(&b, "%d,", i);
	assert_true(b.len > 2000);
	assert_memory_equal(b.data, "0,1,2,", 6);
	buf_consume(&b, 2);
	assert_memory_equal(b.data, "1,2,", 4);
	buf_consume(&b, b.len + 10);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	assert_null(b.data);
}

static void
test_key_hash(void **state)
{
	(void)state;
	char a[17], b[17], c[17];
	util_key_hash("sk-ant-secret-1", a);
	util_key_hash("sk-ant-secret-1", b);
	util_key_hash("sk-ant-secret-2", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 16);
	assert_null(strstr(a, "secret"));
}

/* tokmux -v's log (pane routes, gateway events) is for its owner only,
 * whatever the umask. */
static void
test_log_private(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/tokmux-logtest-%d.log", (int)getpid());
	unlink(path);
	mode_t old = umask(022);
	util_log_open(path);
	umask(old);
	assert_true(util_log_enabled());
	log_debug("hello %d", 42);
	util_log_close();
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_true(st.st_size > 0);
	unlink(path);
}

static void
test_read_file(void **state)
{
	(void)state;
	char dir[64];
	testtmp_make(dir, sizeof dir, "util");
	char *path = xasprintf("%s/f.txt", dir), *err = NULL;
	FILE *f = fopen(path, "w");
	fputs("hello\nworld", f);
	fclose(f);
	size_t len = 0;
	char *text = util_read_file(path, 64, &len, &err);
	assert_non_null(text);
	assert_null(err);
	assert_int_equal(len, 11);
	assert_string_equal(text, "hello\nworld");   /* NUL-terminated */
	free(text);
	/* exactly max bytes is fine, one more is not */
	assert_non_null(text = util_read_file(path, 11, NULL, &err));
	free(text);
	assert_null(util_read_file(path, 10, NULL, &err));
	char *want = xasprintf("%s: larger than 10 bytes", path);
	assert_string_equal(err, want);
	free(want);
	free(err);
	/* an empty file is an empty string */
	fclose(fopen(path, "w"));
	assert_non_null(text = util_read_file(path, 10, &len, &err));
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
	free(path);
	/* a missing file: one line naming it and why */
	path = xasprintf("%s/missing.json", dir);
	assert_null(util_read_file(path, 10, NULL, &err));
	want = xasprintf("%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);
	free(want);
	free(err);
	free(path);
	assert_int_equal(testtmp_remove(dir), 0);
}

/* mkdir -p of a path's directory: every missing level 0700, existing
 * ones kept; a file in the way fails with ENOTDIR. */
static void
test_mkdir_parents(void **state)
{
	(void)state;
	char dir[256];
	testtmp_make(dir, sizeof dir, "mkdirp");
	char *p = xasprintf("%s/a/b/c/file.jsonl", dir);
	assert_int_equal(util_mkdir_parents(p), 0);
	char *c = xasprintf("%s/a/b/c", dir);
	struct stat st;
	assert_int_equal(stat(c, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(util_mkdir_parents(p), 0);      /* again: all there */
	assert_int_equal(util_mkdir_parents("plain.jsonl"), 0);   /* no directory part */
	FILE *f = fopen(p, "w");
	fclose(f);
	char *under = xasprintf("%s/x/y", p);            /* a file where a directory goes */
	errno = 0;
	assert_int_equal(util_mkdir_parents(under), -1);
	assert_int_equal(errno, ENOTDIR);
	free(under);
	free(c);
	free(p);
	assert_int_equal(testtmp_remove(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_usd),
		cmocka_unit_test(test_fmt_usd),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_key_hash),
		cmocka_unit_test(test_log_private),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_mkdir_parents),
		cmocka_unit_test(test_random_hex),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
