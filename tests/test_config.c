/* Unit tests for config: defaults, a full valid file, and one clear error
 * line (file, key, expectation) for each kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "notify.h"

static char *
write_tmp(const char *text)
{
	char *path = strdup("/tmp/tokmux-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Load text; return the error (malloc'd) or NULL on success. */
static char *
load_err(const char *text, struct config *c)
{
	char *path = write_tmp(text);
	char *err = NULL;
	config_init(c);
	int rc = config_load(c, path, &err);
	unlink(path);
	free(path);
	if (rc == 0) {
		assert_null(err);
		return NULL;
	}
	assert_non_null(err);
	return err;
}

static void
expect_error(const char *text, const char *needle)
{
	struct config c;
	char *err = load_err(text, &c);
	assert_non_null(err);
	if (strstr(err, needle) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, needle);
	assert_null(strchr(err, '\n'));    /* one line */
	assert_non_null(strstr(err, "tokmux-config-"));   /* names the file */
	free(err);
	config_free(&c);
}

static void
test_defaults(void **state)
{
	(void)state;
	struct config c;
	config_init(&c);
	assert_int_equal(c.prefix_key, 7);
	assert_int_equal(c.scrollback_lines, 10000);
	assert_string_equal(c.anthropic_upstream, "https://api.anthropic.com");
	assert_string_equal(c.openai_upstream, "https://api.openai.com");
	assert_int_equal(c.npanes, 0);
	assert_true(c.ceiling_micros < 0);
	assert_null(c.worktree_dir);
	assert_int_equal(c.nworktree_setup, 0);
	assert_int_equal(c.panes[0].worktree, 0);
	config_free(&c);
}

static void
test_full_file(void **state)
{
	(void)state;
	struct config c;
	char *err = load_err(
	    "{\n"
	    "  \"panes\": [\n"
	    "    {\"name\": \"claude\", \"cmd\": \"claude\", \"ceiling_usd\": 5,\n"
	    "     \"fallback\": [\"claude-sonnet-4-5\", \"claude-haiku-4-5\"]},\n"
	    "    {\"name\": \"shell\", \"ceiling_tokens\": 100000, \"downgrade_at\": 0.5}\n"
	    "  ],\n"
	    "  \"prefix\": \"C-a\",\n"
	    "  \"scrollback_lines\": 500,\n"
	    "  \"upstream\": {\"anthropic\": \"http://127.0.0.1:9/\", \"openai\": \"https://x.test\"},\n"
	    "  \"port\": 8123, \"ceiling_usd\": 12.5, \"daily_ceiling_usd\": 20, \"warn_at\": 0.75,\n"
	    "  \"theme\": \"light\", \"ledger\": \"/tmp/l.jsonl\", \"prices\": {\"m\": {\"input\": 1}}\n"
	    "}\n", &c);
	assert_null(err);
	assert_int_equal(c.npanes, 2);
	assert_string_equal(c.panes[0].name, "claude");
	assert_string_equal(c.panes[0].cmd, "claude");
	assert_int_equal(c.panes[0].ceiling_micros, 5000000);
	assert_int_equal(c.panes[0].nfallback, 2);
	assert_string_equal(c.panes[0].fallback[1], "claude-haiku-4-5");
	assert_null(c.panes[1].cmd);
	assert_int_equal(c.panes[1].ceiling_tokens, 100000);
	assert_true(c.panes[1].downgrade_at > 0.49 && c.panes[1].downgrade_at < 0.51);
	assert_int_equal(c.prefix_key, 1);
	assert_int_equal(c.scrollback_lines, 500);
	assert_string_equal(c.anthropic_upstream, "http://127.0.0.1:9");   /* trailing / trimmed */
	assert_int_equal(c.port, 8123);
	assert_int_equal(c.ceiling_micros, 12500000);
	assert_int_equal(c.daily_ceiling_micros, 20000000);
	assert_string_equal(c.theme, "light");
	assert_non_null(c.prices);
	assert_int_equal(config_find_pane(&c, "shell"), 1);
	assert_int_equal(config_find_pane(&c, "1"), 0);
	assert_int_equal(config_find_pane(&c, "3"), -1);
	assert_int_equal(config_find_pane(&c, "nope"), -1);
	config_free(&c);
}

static void
test_worktree_keys(void **state)
{
	(void)state;
	struct config c;
	char *err = load_err(
	    "{\"panes\": [{\"name\": \"a\", \"worktree\": true}, {\"name\": \"b\", \"worktree\": false}, {}],\n"
	    " \"worktree_dir\": \"~/trees/{repo_name}/{name}\",\n"
	    " \"worktree_setup\": [\"cp \\\"$TOKMUX_REPO/.env\\\" .\", \"npm ci\"]}\n", &c);
	assert_null(err);
	assert_int_equal(c.panes[0].worktree, 1);
	assert_int_equal(c.panes[1].worktree, 0);
	assert_int_equal(c.panes[2].worktree, 0);
	assert_string_equal(c.worktree_dir, "~/trees/{repo_name}/{name}");
	assert_int_equal(c.nworktree_setup, 2);
	assert_string_equal(c.worktree_setup[0], "cp \"$TOKMUX_REPO/.env\" .");
	assert_string_equal(c.worktree_setup[1], "npm ci");
	config_free(&c);
	expect_error("{\"panes\": [{\"worktree\": 1}]}", "key panes[0].worktree: expected true or false");
	expect_error("{\"worktree_dir\": \"trees\"}", "key worktree_dir: expected a directory template starting with /, ~/ or {repo}");
	expect_error("{\"worktree_dir\": 5}", "key worktree_dir: expected a directory template");
	expect_error("{\"worktree_dir\": \"/t/{branch}\"}", "key worktree_dir: expected only the placeholders {repo}, {repo_name} and {name}");
	expect_error("{\"worktree_dir\": \"{repo}/../x\"}", "key worktree_dir: expected a path without . or .. components");
	expect_error("{\"worktree_setup\": \"npm ci\"}", "key worktree_setup: expected an array of at most 16 shell commands");
	expect_error("{\"worktree_setup\": [\"ok\", \"\"]}", "key worktree_setup[1]: expected a non-empty string");
	expect_error("{\"worktree_setup\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}", "key worktree_setup: expected an array");
}

/* Pane states and notifications: notify_command, notify_osc, notify_focused,
 * claude_first_party; defaults and errors. */
static void
test_notify_keys(void **state)
{
	(void)state;
	struct config c;
	char *err = load_err("{}", &c);
	assert_null(err);
	assert_null(c.notify_command);
	assert_int_equal(c.notify_osc, NOTIFY_AUTO);
	assert_int_equal(c.notify_focused, 0);
	assert_int_equal(c.claude_first_party, -1);
	config_free(&c);
	err = load_err("{\"notify_command\": \"notify-send \\\"$TOKMUX_NOTIFY_TEXT\\\"\",\n"
	    " \"notify_osc\": \"osc777\", \"notify_focused\": true, \"claude_first_party\": false}", &c);
	assert_null(err);
	assert_string_equal(c.notify_command, "notify-send \"$TOKMUX_NOTIFY_TEXT\"");
	assert_int_equal(c.notify_osc, NOTIFY_OSC777);
	assert_int_equal(c.notify_focused, 1);
	assert_int_equal(c.claude_first_party, 0);
	config_free(&c);
	err = load_err("{\"notify_command\": null, \"notify_osc\": \"off\", \"claude_first_party\": \"auto\"}", &c);
	assert_null(err);
	assert_null(c.notify_command);
	assert_int_equal(c.notify_osc, NOTIFY_OFF);
	assert_int_equal(c.claude_first_party, -1);
	config_free(&c);
	expect_error("{\"notify_command\": \"\"}", "key notify_command: expected a non-empty string");
	expect_error("{\"notify_command\": [\"a\"]}", "key notify_command: expected a non-empty string");
	expect_error("{\"notify_osc\": \"osc8\"}", "key notify_osc: expected one of \"auto\", \"osc9\"");
	expect_error("{\"notify_focused\": \"yes\"}", "key notify_focused: expected true or false");
	expect_error("{\"claude_first_party\": 1}", "key claude_first_party: expected true, false or \"auto\"");
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("{\"panes\": 3}", "key panes: expected an array");
	expect_error("{\"panes\": [{\"cmd\": 42}]}", "key panes[0].cmd: expected a non-empty string");
	expect_error("{\"panes\": [{}, {\"name\": \"\"}]}", "key panes[1].name: expected a non-empty string");
	expect_error("{\"panes\": [{\"colour\": 1}]}", "key panes[0].colour: expected one of name, cmd");
	expect_error("{\"panes\": [5]}", "key panes[0]: expected an object");
	expect_error("{\"prefix\": \"x\"}", "key prefix: expected a control key");
	expect_error("{\"scrollback_lines\": -1}", "key scrollback_lines: expected a whole number from 0 to 1000000");
	expect_error("{\"scrollback_lines\": 1.5}", "key scrollback_lines: expected a whole number");
	expect_error("{\"upstream\": {\"anthropic\": \"ftp://x\"}}", "key upstream.anthropic: expected an http:// or https:// URL");
	expect_error("{\"upstream\": {\"gemini\": \"http://x\"}}", "key upstream.gemini");
	expect_error("{\"port\": 70000}", "key port: expected a whole number from 0 to 65535");
	expect_error("{\"ceiling_usd\": \"five\"}", "key ceiling_usd: expected a number of US dollars");
	expect_error("{\"warn_at\": 2}", "key warn_at: expected a number from 0 to 1");
	expect_error("{\"gateway\": 1}", "key gateway: expected true or false");
	expect_error("{\"bogus\": 1}", "key bogus: expected one of panes, prefix, scrollback_lines");
	expect_error("[1, 2]", "key (top level): expected a JSON object");
	expect_error("{\n  \"panes\": [\n  }", "invalid JSON at line 3");
	expect_error("", "invalid JSON at line 1");
}

/* Issue 14: a duplicate "fallback" of 8 models each overflowed the pane's
 * chain (a crash); {"port": 1e300} must be an error, not a conversion out
 * of range. Any key twice, at any depth, is an error naming it. */
static void
test_duplicates_and_huge(void **state)
{
	(void)state;
	expect_error("{\"panes\": [{\"fallback\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"], "
	    "\"fallback\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]}]}",
	    "key panes[0].fallback: expected the key once (it appears twice)");
	expect_error("{\"port\": 80, \"theme\": \"x\", \"port\": 81}",
	    "key port: expected the key once (it appears twice)");
	expect_error("{\"upstream\": {\"openai\": \"http://a\", \"openai\": \"http://b\"}}",
	    "key upstream.openai: expected the key once");
	expect_error("{\"prices\": {\"m\": {\"input\": 1, \"output\": 2}, \"m\": {\"input\": 1, \"output\": 2}}}",
	    "key prices.m: expected the key once");
	expect_error("{\"team_ceilings\": {\"opus\": {\"day\": 1, \"day\": 2}}}",
	    "key team_ceilings.opus.day: expected the key once");
	expect_error("{\"panes\": [{}, {\"name\": \"a\", \"name\": \"a\"}]}",
	    "key panes[1].name: expected the key once");
	expect_error("{\"port\": 1e300}", "key port: expected a whole number from 0 to 65535");
	expect_error("{\"port\": -1e300}", "key port: expected a whole number from 0 to 65535");
	expect_error("{\"scrollback_lines\": 1e19}", "key scrollback_lines: expected a whole number");
	expect_error("{\"min_output_tokens\": 9.3e18}", "key min_output_tokens: expected a whole number");
	expect_error("{\"ceiling_usd\": 1e300}", "key ceiling_usd: expected a number of US dollars");
	expect_error("{\"warn_at\": 1e300}", "key warn_at: expected a number from 0 to 1");
	expect_error("{\"panes\": [{\"ceiling_tokens\": 1e300}]}", "key panes[0].ceiling_tokens: expected a whole number");
	expect_error("{\"panes\": [{\"downgrade_at\": -1e300}]}", "key panes[0].downgrade_at: expected a number from 0 to 1");
	expect_error("{\"panes\": [{\"ceiling_usd\": 1e300}]}", "key panes[0].ceiling_usd: expected a number of US dollars");
	expect_error("{\"scrollback_mb\": 1e300}", "key scrollback_mb: expected a whole number");
	/* fuzz_config: a key with a newline or an escape made a message of two
	 * lines, or one that drives the terminal: control characters are shown */
	expect_error("{\"pane\\ns\": 1}", "key pane\\ns: expected one of");
	expect_error("{\"\\u001b[31mx\": 1}", "key \\x1b[31mx: expected one of");
	expect_error("{\"panes\": [{\"\\tname\": 1}]}", "key panes[0].\\tname: expected one of");
	/* the same key in two different objects is fine */
	struct config c;
	char *err = load_err("{\"panes\": [{\"name\": \"a\", \"fallback\": [\"x\"]}, "
	    "{\"name\": \"b\", \"fallback\": [\"y\"]}]}", &c);
	assert_null(err);
	assert_int_equal(c.panes[1].nfallback, 1);
	config_free(&c);
}

/* The gateway's bounds (issue 14): the bodies' memory, the metrics token. */
static void
test_gateway_keys(void **state)
{
	(void)state;
	expect_error("{\"body_memory_mb\": 1}", "key body_memory_mb: expected a whole number from 64 to 65536");
	expect_error("{\"body_memory_mb\": 1e300}", "key body_memory_mb: expected a whole number");
	expect_error("{\"metrics_token\": \"yes\"}", "key metrics_token: expected true or false");
	struct config d;
	assert_null(load_err("{\"metrics_token\": false, \"body_memory_mb\": 128}", &d));
	assert_int_equal(d.metrics_token, 0);
	assert_int_equal(d.body_memory, (size_t)128 << 20);
	config_free(&d);
	config_init(&d);
	assert_int_equal(d.metrics_token, 1);
	assert_int_equal(d.body_memory, 0);
	config_free(&d);
}

static void
test_missing_file(void **state)
{
	(void)state;
	struct config c;
	config_init(&c);
	char *err = NULL;
	assert_int_equal(config_load(&c, "/nonexistent/tokmux.json", &err), -1);
	assert_non_null(strstr(err, "/nonexistent/tokmux.json: cannot open"));
	free(err);
	config_free(&c);
}

static void
test_parse_key(void **state)
{
	(void)state;
	assert_int_equal(config_parse_key("C-g"), 7);
	assert_int_equal(config_parse_key("C-a"), 1);
	assert_int_equal(config_parse_key("c-B"), 2);
	assert_int_equal(config_parse_key("^b"), 2);
	assert_int_equal(config_parse_key("C-]"), 29);
	assert_int_equal(config_parse_key("g"), -1);
	assert_int_equal(config_parse_key("C-gg"), -1);
	assert_int_equal(config_parse_key("C-1"), -1);
	assert_int_equal(config_parse_key(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_worktree_keys),
		cmocka_unit_test(test_notify_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_duplicates_and_huge),
		cmocka_unit_test(test_gateway_keys),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_parse_key),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
