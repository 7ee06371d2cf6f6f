/* Unit tests for resume: which headers name a conversation (and for whom),
 * the ids that are safe, and the command that continues one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resume.h"

/* Headers as name, value pairs, NULL-terminated. */
static const char *
get(void *ctx, const char *name)
{
	const char *const *h = ctx;
	for (; h[0] != NULL; h += 2)
		if (strcasecmp(h[0], name) == 0)
			return h[1];
	return NULL;
}

static void
test_headers(void **state)
{
	(void)state;
	char agent[RESUME_AGENT_MAX], id[RESUME_ID_MAX];
	const char *claude[] = { "X-Claude-Code-Session-Id", "0cbc29af-3488-40c0-9290-a0e1ee6efaba",
		"User-Agent", "claude-cli/2.1", NULL };
	assert_int_equal(resume_from_headers(get, (void *)claude, agent, id), 1);
	assert_string_equal(agent, "claude");
	assert_string_equal(id, "0cbc29af-3488-40c0-9290-a0e1ee6efaba");
	const char *opencode[] = { "User-Agent", "opencode/1.18.33 ai-sdk", "x-session-id",
		"ses_dc9bb0b0affe8534UZmAmeSFF7", "session-id", "ses_dc9bb0b0affe8534UZmAmeSFF7", NULL };
	assert_int_equal(resume_from_headers(get, (void *)opencode, agent, id), 1);
	assert_string_equal(agent, "opencode");
	assert_string_equal(id, "ses_dc9bb0b0affe8534UZmAmeSFF7");
	const char *codex[] = { "originator", "codex_cli_rs", "session-id",
		"01a23644-d205-7911-9800-a1fca1f38d23", NULL };
	assert_int_equal(resume_from_headers(get, (void *)codex, agent, id), 1);
	assert_string_equal(agent, "codex");
	/* x-session-id from someone else, session-id without codex's originator: nobody's */
	const char *other[] = { "User-Agent", "curl/8", "x-session-id", "abc", "session-id", "abc", NULL };
	assert_int_equal(resume_from_headers(get, (void *)other, agent, id), 0);
	/* an id that is not a plain token is not taken */
	const char *bad[] = { "x-claude-code-session-id", "abc; rm -rf /", NULL };
	assert_int_equal(resume_from_headers(get, (void *)bad, agent, id), 0);
	const char *none[] = { NULL };
	assert_int_equal(resume_from_headers(get, (void *)none, agent, id), 0);
}

static void
test_ids(void **state)
{
	(void)state;
	assert_true(resume_id_ok("0cbc29af-3488-40c0-9290-a0e1ee6efaba"));
	assert_true(resume_id_ok("ses_dc9b.x:1"));
	assert_false(resume_id_ok(""));
	assert_false(resume_id_ok("-rf"));
	assert_false(resume_id_ok("a b"));
	assert_false(resume_id_ok("a'b"));
	assert_false(resume_id_ok("$(x)"));
	char longid[RESUME_ID_MAX + 1];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	assert_false(resume_id_ok(longid));
}

static void
expect_cmd(const char *agent, const char *cmd, const char *id, const char *want)
{
	char *got = resume_command(agent, cmd, id);
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("resume_command(%s, \"%s\") = \"%s\", wanted \"%s\"", agent, cmd ? cmd : "(shell)",
		    got, want);
	free(got);
}

static void
test_commands(void **state)
{
	(void)state;
	/* the pane's own command keeps its path and flags */
	expect_cmd("claude", "/opt/bin/claude --model claude-haiku-4-5", "X1",
	    "/opt/bin/claude --model claude-haiku-4-5 --resume X1");
	expect_cmd("claude", "claude", "X1", "claude --resume X1");
	/* never the last conversation, never another one: those flags go */
	expect_cmd("claude", "claude --continue --model m", "X1", "claude --model m --resume X1");
	expect_cmd("claude", "claude -c", "X1", "claude --resume X1");
	expect_cmd("claude", "claude --resume OLD --model m", "X1", "claude --model m --resume X1");
	expect_cmd("claude", "claude --resume=OLD", "X1", "claude --resume X1");
	expect_cmd("claude", "claude -r OLD", "X1", "claude --resume X1");
	expect_cmd("claude", "claude --session-id OLD", "X1", "claude --resume X1");
	/* a shell pane, a wrapper, shell syntax: the agent's program alone */
	expect_cmd("claude", NULL, "X1", "claude --resume X1");
	expect_cmd("claude", "bash", "X1", "claude --resume X1");
	expect_cmd("claude", "FOO=1 claude", "X1", "claude --resume X1");
	expect_cmd("claude", "claude --model 'a b'", "X1", "claude --resume X1");
	expect_cmd("claude", "claude; sh", "X1", "claude --resume X1");
	expect_cmd("claude", "claude-wrapper", "X1", "claude --resume X1");
	/* the others */
	expect_cmd("opencode", "opencode -m anthropic/claude-haiku-4-5", "ses_1",
	    "opencode -m anthropic/claude-haiku-4-5 --session ses_1");
	expect_cmd("opencode", "opencode --continue", "ses_1", "opencode --session ses_1");
	expect_cmd("codex", "codex", "01a2-3", "codex resume 01a2-3");
	expect_cmd("codex", NULL, "01a2-3", "codex resume 01a2-3");
	/* unknown agents and unsafe ids: nothing */
	expect_cmd("aider", "aider", "X1", NULL);
	expect_cmd(NULL, "claude", "X1", NULL);
	expect_cmd("claude", "claude", "x y", NULL);
	expect_cmd("claude", "claude", NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_commands),
	};
	return cmocka_run_group_tests_name("resume", tests, NULL, NULL);
}
