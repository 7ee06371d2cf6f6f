/*
 * resume: what tokmux knows about continuing an agent's conversation. For
 * each agent: the request headers that name the conversation it is in
 * (what the gateway records per route), and the command line that
 * continues exactly that conversation (never "the last one": --continue
 * picks the wrong one when several agents run in one directory):
 *   Claude Code  x-claude-code-session-id        claude --resume ID
 *   OpenCode     x-session-id (User-Agent opencode/...)   opencode --session ID
 *   Codex        session-id (originator codex_...)        codex resume ID
 * docs/AGENTS.md has the details. Pure functions.
 */
#ifndef TOKMUX_RESUME_H
#define TOKMUX_RESUME_H

#include <stddef.h>

#define RESUME_AGENT_MAX 16       /* bytes of an agent's name, with the NUL */
#define RESUME_ID_MAX 128         /* bytes of a conversation id, with the NUL */

/* A request header by name (case-insensitive), NULL if absent. */
typedef const char *(*resume_header_fn)(void *ctx, const char *name);

/* The agent and conversation a request's headers name: 1 with agent and
 * id filled, 0 if they name none (or an id that is not a plain token). */
int resume_from_headers(resume_header_fn get, void *ctx, char agent[RESUME_AGENT_MAX],
    char id[RESUME_ID_MAX]);

/* A conversation id safe on a command line: 1..RESUME_ID_MAX-1 of
 * [A-Za-z0-9._:-], not starting with '-'. */
int resume_id_ok(const char *id);

/*
 * The command that continues conversation id of agent in a pane whose
 * command was cmd (NULL: the shell). When cmd runs the agent's program
 * itself and is plain words (no quotes or shell syntax), it is kept with
 * its flags: any flag that picks a conversation (--continue, --resume,
 * ...) is dropped and the agent's own resume arguments added; otherwise
 * it is the agent's program with them. malloc'd; NULL for an agent tokmux
 * does not know or an id that is not resume_id_ok().
 */
char *resume_command(const char *agent, const char *cmd, const char *id);

#endif
