/*
 * Tests for core: the agent name kept in the ledger is the program alone,
 * never its arguments (prompt text) nor VAR=value assignments (keys); and
 * through a real core, the ledger line of a pane started that way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "config.h"
#include "core.h"
#include "demo/mock.h"
#include "testtmp.h"
#include "util.h"

static void
check_name(const char *cmd, const char *want)
{
	char *got = core_agent_name(cmd);
	if (want == NULL) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
	free(got);
}

static void
test_agent_name(void **state)
{
	check_name(NULL, NULL);
	check_name("", NULL);
	check_name("   ", NULL);
	check_name("claude", "claude");
	check_name("  claude -p 'fix the bug'", "claude");
	check_name("/usr/local/bin/codex --model o3", "codex");
	check_name("aider;rm -rf x", "aider");
	/* assignments in front carry keys: skipped, quoted values too */
	check_name("ANTHROPIC_API_KEY=sk-ant-secret claude", "claude");
	check_name("A=1 OPENAI_API_KEY='sk secret' B=\"x y\" /opt/bin/codex exec", "codex");
	check_name("env ANTHROPIC_API_KEY=sk-ant-secret claude", "claude");
	check_name("env -i KEY=sk-secret opencode run", "opencode");
	check_name("KEY=sk-secret", NULL);
	/* not an assignment: '=' after a slash, or a name that is no identifier */
	check_name("./run=1 x", "run=1");
	(void)state;
}

/* A pane whose command line holds a key: its ledger line has the program
 * name and no trace of the key. */
static void
test_ledger_has_no_key_from_cmd(void **state)
{
	struct mock_options mo = { .port = 0, .quiet = 1 };
	char *err = NULL;
	mock_t *m = mock_start(&mo, &err);
	assert_non_null(m);
	char up[128], ledger[64], base[256];
	snprintf(up, sizeof up, "http://127.0.0.1:%d", mock_port(m));
	snprintf(ledger, sizeof ledger, "/tmp/tokmux-coretest-%d.jsonl", (int)getpid());
	unlink(ledger);
	struct config cfg;
	config_init(&cfg);
	struct core_options co = { .cfg = &cfg, .port = 0, .anthropic = up, .openai = up,
		.ledger = ledger, .wake_fd = -1, .no_metrics_token = 1 };
	core_t *c = core_start(&co, &err);
	if (c == NULL)
		fail_msg("core_start: %s", err);
	assert_true(core_add_pane(c, 1, "p1", "ANTHROPIC_API_KEY=sk-ant-cmdsecret claude -p hi",
	    base, sizeof base, NULL, 0) >= 0);

	char url[300];
	snprintf(url, sizeof url, "%s/v1/messages", base);
	CURL *h = curl_easy_init();
	struct curl_slist *l = curl_slist_append(NULL, "x-api-key: sk-ant-hdrsecret");
	l = curl_slist_append(l, "content-type: application/json");
	FILE *devnull = fopen("/dev/null", "w");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS,
	    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":5,\"messages\":[]}");
	curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_cleanup(h);
	curl_slist_free_all(l);
	fclose(devnull);
	core_stop(c);        /* settles the request, closes the ledger */
	mock_stop(m);
	config_free(&cfg);

	FILE *f = fopen(ledger, "r");
	assert_non_null(f);
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		n++;
		assert_non_null(strstr(line, "\"agent\":\"claude\""));
		assert_null(strstr(line, "secret"));
		assert_null(strstr(line, "sk-ant"));
	}
	fclose(f);
	unlink(ledger);
	assert_int_equal(n, 2);      /* the intent line and the outcome: no key in either */
	(void)state;
}

/* GET url with an optional Authorization header: the status. */
static long
get_status(const char *url, const char *auth)
{
	CURL *h = curl_easy_init();
	struct curl_slist *l = auth != NULL ? curl_slist_append(NULL, auth) : NULL;
	FILE *devnull = fopen("/dev/null", "w");
	long status = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	curl_slist_free_all(l);
	fclose(devnull);
	return status;
}

/* Issue 14: the core's /metrics needs the user's token, made on first use
 * in $XDG_STATE_HOME/tokmux/metrics-token; --no-metrics-token and
 * "metrics_token": false open it. */
static void
test_metrics_token(void **state)
{
	(void)state;
	char dir[64], ledger[128], url[256], auth[256], tok[129];
	testtmp_make(dir, sizeof dir, "coretok");
	setenv("XDG_STATE_HOME", dir, 1);
	snprintf(ledger, sizeof ledger, "%s/ledger.jsonl", dir);
	struct config cfg;
	config_init(&cfg);
	for (int run = 0; run < 3; run++) {
		struct core_options co = { .cfg = &cfg, .port = 0, .anthropic = "http://127.0.0.1:9",
			.ledger = ledger, .wake_fd = -1, .no_metrics_token = run == 1 };
		cfg.metrics_token = run != 2;
		char *err = NULL;
		core_t *c = core_start(&co, &err);
		if (c == NULL)
			fail_msg("core_start: %s", err);
		char base[256];
		assert_true(core_add_pane(c, 1, "p1", "sh", base, sizeof base, NULL, 0) >= 0);
		snprintf(url, sizeof url, "%.*s/metrics", (int)(strstr(base, "/p/") - base), base);
		if (run == 0) {
			assert_non_null(core_metrics_token_path(c));
			assert_non_null(strstr(core_metrics_token_path(c), dir));
			FILE *f = fopen(core_metrics_token_path(c), "r");
			assert_non_null(f);
			assert_non_null(fgets(tok, sizeof tok, f));
			fclose(f);
			tok[strcspn(tok, "\n")] = '\0';
			assert_int_equal(strlen(tok), 32);
			assert_int_equal(get_status(url, NULL), 401);
			snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
			assert_int_equal(get_status(url, auth), 200);
		} else {
			assert_null(core_metrics_token_path(c));
			assert_int_equal(get_status(url, NULL), 200);
		}
		core_stop(c);
	}
	config_free(&cfg);
	unsetenv("XDG_STATE_HOME");
	assert_int_equal(testtmp_remove(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_name),
		cmocka_unit_test(test_ledger_has_no_key_from_cmd),
		cmocka_unit_test(test_metrics_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
