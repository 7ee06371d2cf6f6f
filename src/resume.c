/*
 * resume: one table of the agents whose conversations can be continued:
 * how a request shows its conversation, and how to continue it.
 */
#include "resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct resume_agent {
	const char *name;           /* as the ledger names the agent */
	const char *program;        /* its program */
	const char *id_header;      /* the header with the conversation id */
	const char *who_header;     /* a header that must start with who_prefix, or NULL */
	const char *who_prefix;
	const char *before;         /* the resume arguments: before " ID" */
	/* flags that pick a conversation, dropped from the pane's command:
	 * with a value ("--resume X") and without */
	const char *const *valued;
	const char *const *bare;
};

static const char *const resume_claude_valued[] = { "--resume", "-r", "--session-id", NULL };
static const char *const resume_claude_bare[] = { "--continue", "-c", "--fork-session", NULL };
static const char *const resume_opencode_valued[] = { "--session", "-s", NULL };
static const char *const resume_opencode_bare[] = { "--continue", "-c", "--fork", NULL };
static const char *const resume_none[] = { NULL };

static const struct resume_agent resume_agents[] = {
	{ "claude", "claude", "x-claude-code-session-id", NULL, NULL, "--resume",
	  resume_claude_valued, resume_claude_bare },
	{ "opencode", "opencode", "x-session-id", "User-Agent", "opencode/", "--session",
	  resume_opencode_valued, resume_opencode_bare },
	/* `codex resume ID` is a subcommand: codex's own flags stay before it */
	{ "codex", "codex", "session-id", "originator", "codex", "resume",
	  resume_none, resume_none },
};

int
resume_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= RESUME_ID_MAX || id[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

int
resume_from_headers(resume_header_fn get, void *ctx, char agent[RESUME_AGENT_MAX],
    char id[RESUME_ID_MAX])
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(resume_agents); i++) {
		const struct resume_agent *a = &resume_agents[i];
		const char *v = get(ctx, a->id_header);
		if (v == NULL || !resume_id_ok(v))
			continue;
		if (a->who_header != NULL) {
			const char *who = get(ctx, a->who_header);
			if (who == NULL || strncasecmp(who, a->who_prefix, strlen(a->who_prefix)) != 0)
				continue;
		}
		snprintf(agent, RESUME_AGENT_MAX, "%s", a->name);
		snprintf(id, RESUME_ID_MAX, "%s", v);
		return 1;
	}
	return 0;
}

static const struct resume_agent *
resume_agent_find(const char *name)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(resume_agents); i++)
		if (name != NULL && strcmp(resume_agents[i].name, name) == 0)
			return &resume_agents[i];
	return NULL;
}

static int
resume_in(const char *const *list, const char *word, size_t n)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && strncmp(*list, word, n) == 0)
			return 1;
	return 0;
}

/* 1 if cmd is plain words (no quotes or shell syntax) whose first runs
 * the agent's program. */
static int
resume_plain(const struct resume_agent *a, const char *cmd)
{
	if (cmd == NULL || strpbrk(cmd, "'\"\\$`;&|<>(){}*?~#\n") != NULL)
		return 0;
	cmd += strspn(cmd, " \t");
	size_t n = strcspn(cmd, " \t");
	const char *base = memrchr(cmd, '/', n);
	base = base != NULL ? base + 1 : cmd;
	return n > 0 && (size_t)(cmd + n - base) == strlen(a->program) &&
	    strncmp(base, a->program, strlen(a->program)) == 0;
}

char *
resume_command(const char *agent, const char *cmd, const char *id)
{
	const struct resume_agent *a = resume_agent_find(agent);
	if (a == NULL || id == NULL || !resume_id_ok(id))
		return NULL;
	if (!resume_plain(a, cmd))
		return xasprintf("%s %s %s", a->program, a->before, id);
	struct buf b = { 0 };
	const char *p = cmd;
	int drop_next = 0;
	for (;;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (drop_next) {
			drop_next = 0;
		} else if (resume_in(a->valued, p, n)) {
			/* "--resume ID": its value goes too, unless it is another flag */
			const char *v = p + n + strspn(p + n, " \t");
			drop_next = *v != '\0' && *v != '-';
		} else if (!resume_in(a->bare, p, n) && !(strncmp(p, "--resume=", 9) == 0 ||
		    strncmp(p, "--session=", 10) == 0 || strncmp(p, "--session-id=", 13) == 0)) {
			buf_appendf(&b, "%s%.*s", b.len > 0 ? " " : "", (int)n, p);
		}
		p += n;
	}
	buf_appendf(&b, " %s %s", a->before, id);
	return b.data;
}
