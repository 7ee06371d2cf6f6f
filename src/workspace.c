/*
 * workspace: the workspace's start-up and teardown around the UI loop: the
 * shared client core (when the gateway is on), the panes' gateway
 * environment and the live sidebar drawn from the core's stats.
 */
#include "workspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sidebar.h"
#include "ui.h"
#include "util.h"

/* The workspace's shared client core, as the UI callbacks see it. */
struct workspace {
	core_t *core;
};

static int
workspace_env(void *user, int idx, const char *name, const char *cmd, char **env, int max,
    int *route)
{
	struct workspace *w = user;
	int n = 0;
	*route = -1;
	if (max >= 1)
		env[n++] = xasprintf("TOKMUX_PANE=%d", idx + 1);
	if (w->core == NULL || max < 3)
		return n;
	char abase[256], obase[256];
	*route = core_add_pane(w->core, idx + 1, name, cmd, abase, sizeof abase, obase, sizeof obase);
	if (*route < 0)
		return n;
	env[n++] = xasprintf("ANTHROPIC_BASE_URL=%s", abase);
	env[n++] = xasprintf("OPENAI_BASE_URL=%s", obase);
	/* The gateway retries 529s itself: retry at one layer only, so Claude
	 * Code's own retries are turned down unless the user chose a value. */
	if (n < max && getenv("CLAUDE_CODE_MAX_RETRIES") == NULL)
		env[n++] = xstrdup("CLAUDE_CODE_MAX_RETRIES=2");
	return n;
}

static int
workspace_sidebar(void *user, struct ui_sidebar *sb, int rows, int cols,
    const struct ui_pane_info *panes, int npanes)
{
	struct workspace *w = user;
	struct stats_snapshot snap;
	struct rl_state rl[RATELIMIT_MAX_KEYS];
	struct sidebar_pane sp[4];
	struct sidebar_line lines[128];
	struct sidebar_input in = { .now = util_wall(), .utf8 = ui_sidebar_utf8(sb) };
	for (int i = 0; i < npanes && i < 4; i++)
		sp[i] = (struct sidebar_pane){ panes[i].name, panes[i].route, panes[i].focused, panes[i].exited };
	in.panes = sp;
	in.npanes = npanes < 4 ? npanes : 4;
	if (w->core != NULL) {
		stats_snapshot(core_stats(w->core), &snap);
		in.snap = &snap;
		in.nrl = rl_table_snapshot(core_ratelimits(w->core), rl, RATELIMIT_MAX_KEYS);
		in.rl = rl;
	}
	int n = sidebar_build(&in, cols, lines, rows < 128 ? rows : 128);
	for (int i = 0; i < n; i++)
		ui_sidebar_line(sb, i, lines[i].kind, lines[i].text);
	int ticking = 0;
	for (int i = 0; i < in.nrl; i++) {
		const struct rl_state *st = &rl[i];
		if (st->retry_after_until > in.now || st->requests.reset > in.now ||
		    st->tokens.reset > in.now || st->input_tokens.reset > in.now ||
		    st->output_tokens.reset > in.now)
			ticking = 1;
	}
	return ticking;
}

int
workspace_run(const struct config *cfg, const struct workspace_opts *wo)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "tokmux: needs a terminal on stdin and stdout\n");
		return 2;
	}
	if (wo->verbose)
		util_log_open("tokmux.log");
	struct workspace ws = { 0 };
	int wake = -1;
	if (cfg->gateway && !wo->no_gateway) {
		/* the UI blocks these signals in every thread; do it before threads start */
		ui_block_signals();
		wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		struct core_options co = wo->core;
		co.cfg = cfg;
		co.wake_fd = wake;
		char *err = NULL;
		ws.core = core_start(&co, &err);
		if (ws.core == NULL) {
			fprintf(stderr, "tokmux: %s\n", err);
			free(err);
			close(wake);
			util_log_close();
			return 1;
		}
	}
	struct ui_options o = {
		.cfg = cfg,
		.npanes = wo->npanes,
		.wake_fd = wake,
		.env_fn = workspace_env,
		.sidebar_fn = workspace_sidebar,
		.user = &ws,
	};
	for (int i = 0; i < 4; i++) {
		o.cmds[i] = wo->cmds[i];
		o.names[i] = wo->names[i];
	}
	int rc = ui_run(&o);
	core_stop(ws.core);
	if (wake >= 0)
		close(wake);
	util_log_close();
	return rc;
}
