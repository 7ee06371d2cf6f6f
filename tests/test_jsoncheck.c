/* Unit tests for jsoncheck: the one-line "FILE: key PATH: expected WHAT"
 * error of every JSON validator, and each check's bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "jsoncheck.h"
#include "testmsg.h"
#include "util.h"

static void
test_fail_paths(void **state)
{
	(void)state;
	char *err = NULL;
	struct jsoncheck j = { "c.json", &err };
	assert_int_equal(jsoncheck_fail(&j, "panes[1]", "cmd", "a %s", "string"), -1);
	testmsg_expect(&err, "c.json: key panes[1].cmd: expected a string");
	jsoncheck_fail(&j, "panes[1].fallback", "[0]", "x");
	testmsg_expect(&err, "c.json: key panes[1].fallback[0]: expected x");
	jsoncheck_fail(&j, NULL, "port", "x");
	testmsg_expect(&err, "c.json: key port: expected x");
	jsoncheck_fail(&j, "prices.m", NULL, "x");
	testmsg_expect(&err, "c.json: key prices.m: expected x");
	jsoncheck_fail(&j, "", "port", "x");
	testmsg_expect(&err, "c.json: key port: expected x");
	/* without a file the message starts at "key" (the caller adds the file) */
	struct jsoncheck nofile = { NULL, &err };
	jsoncheck_fail(&nofile, "prices", "m", "x");
	testmsg_expect(&err, "key prices.m: expected x");
	/* no err pointer: the message is dropped, the result still -1 */
	struct jsoncheck quiet = { "c.json", NULL };
	assert_int_equal(jsoncheck_fail(&quiet, NULL, "k", "x"), -1);
}

static void
test_parse(void **state)
{
	(void)state;
	char *err = NULL;
	struct jsoncheck j = { "f.json", &err };
	const char *ok = "{\"a\": 1}";
	cJSON *o = jsoncheck_parse(&j, ok, strlen(ok));
	assert_non_null(o);
	assert_null(err);
	cJSON_Delete(o);
	const char *bad = "{\n  \"a\": 1,\n  \"b\": }";
	assert_null(jsoncheck_parse(&j, bad, strlen(bad)));
	testmsg_expect(&err, "f.json: invalid JSON at line 3, column 8");
	assert_null(jsoncheck_parse(&j, "", 0));
	testmsg_expect(&err, "f.json: invalid JSON at line 1, column 1");
	assert_null(jsoncheck_parse(&j, "[1]", 3));
	testmsg_expect(&err, "f.json: key (top level): expected a JSON object");
	/* only len bytes count */
	assert_non_null(o = jsoncheck_parse(&j, "{}garbage", 2));
	cJSON_Delete(o);
}

static void
test_keys(void **state)
{
	(void)state;
	static const char *const allowed[] = { "fg", "bg", "attrs", NULL };
	char *err = NULL;
	struct jsoncheck j = { "t.json", &err };
	cJSON *o = cJSON_Parse("{\"fg\": 1, \"bg\": 2}");
	assert_int_equal(jsoncheck_keys(&j, o, "title", allowed), 0);
	cJSON_AddNumberToObject(o, "colour", 3);
	assert_int_equal(jsoncheck_keys(&j, o, "title", allowed), -1);
	testmsg_expect(&err, "t.json: key title.colour: expected one of fg, bg, attrs (unknown key)");
	cJSON_Delete(o);
	o = cJSON_Parse("[1]");
	assert_int_equal(jsoncheck_keys(&j, o, "title", allowed), -1);
	testmsg_expect(&err, "t.json: key title: expected an object");
	cJSON_Delete(o);
}

static void
test_values(void **state)
{
	(void)state;
	char *err = NULL;
	struct jsoncheck j = { "s.json", &err };
	cJSON *o = cJSON_Parse("{\"i\": 7, \"f\": 1.5, \"big\": 1e30, \"s\": \"x\", \"e\": \"\","
	    " \"t\": true, \"n\": null}");
	const cJSON *i = cJSON_GetObjectItem(o, "i"), *f = cJSON_GetObjectItem(o, "f");
	const cJSON *big = cJSON_GetObjectItem(o, "big"), *s = cJSON_GetObjectItem(o, "s");
	const cJSON *e = cJSON_GetObjectItem(o, "e"), *t = cJSON_GetObjectItem(o, "t");
	const cJSON *n = cJSON_GetObjectItem(o, "n");
	int64_t v = 0;
	assert_int_equal(jsoncheck_int(&j, i, "r", "i", 0, 7, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(jsoncheck_int(&j, i, "r", "i", 8, 9, &v), -1);
	testmsg_expect(&err, "s.json: key r.i: expected a whole number from 8 to 9");
	assert_int_equal(jsoncheck_int(&j, f, "r", "f", 0, 9, &v), -1);    /* not whole */
	testmsg_expect(&err, "s.json: key r.f: expected a whole number from 0 to 9");
	assert_int_equal(jsoncheck_int(&j, big, NULL, "big", 0, INT64_MAX, &v), -1);
	testmsg_expect(&err, "s.json: key big: expected a whole number from 0 to 9223372036854775807");
	assert_int_equal(jsoncheck_int(&j, s, NULL, "s", 0, 9, &v), -1);
	testmsg_expect(&err, "s.json: key s: expected a whole number from 0 to 9");
	assert_int_equal(jsoncheck_int(&j, NULL, NULL, "absent", 0, 9, &v), -1);
	testmsg_expect(&err, "s.json: key absent: expected a whole number from 0 to 9");
	double d = 0;
	assert_int_equal(jsoncheck_number(&j, f, NULL, "f", 0, 2, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(jsoncheck_number(&j, f, NULL, "f", 0, 1, &d), -1);
	testmsg_expect(&err, "s.json: key f: expected a number from 0 to 1");
	int b = 0;
	assert_int_equal(jsoncheck_bool(&j, t, NULL, "t", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(jsoncheck_bool(&j, i, NULL, "i", &b), -1);
	testmsg_expect(&err, "s.json: key i: expected true or false");
	const char *str = NULL;
	assert_int_equal(jsoncheck_string(&j, s, NULL, "s", 1, &str), 0);
	assert_string_equal(str, "x");
	assert_int_equal(jsoncheck_string(&j, e, NULL, "e", 0, &str), 0);
	assert_int_equal(jsoncheck_string(&j, e, NULL, "e", 1, &str), -1);
	testmsg_expect(&err, "s.json: key e: expected a non-empty string");
	assert_int_equal(jsoncheck_string(&j, n, NULL, "n", 0, &str), -1);
	testmsg_expect(&err, "s.json: key n: expected a string");
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_paths),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_values),
	};
	return cmocka_run_group_tests_name("jsoncheck", tests, NULL, NULL);
}
