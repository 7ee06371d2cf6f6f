/*
 * workspace: the workspace's start-up and teardown around the UI loop: the
 * shared client core (when the gateway is on), the panes' gateway
 * environment and the live sidebar drawn from the core's stats.
 */
#include "workspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "policy.h"
#include "pricing.h"
#include "sidebar.h"
#include "theme.h"
#include "tty.h"
#include "ui.h"
#include "util.h"

/* What the workspace remembers of each gateway route between sidebar
 * refreshes: the counts last seen (to notice events) and the state. */
/* A word in a pane's title while its condition lasts (workspace_flags). */
struct ws_flag {
	int on;
	int64_t since_ms;
	int64_t ok_2xx, fallbacks, err_429;   /* the pane's counts when it was raised */
	int64_t ceiling, ws_ceiling, day_ceiling;   /* the ceilings then */
};

struct ws_route {
	int known;
	struct stats_counts seen;
	struct ws_flag ceiling, fallback, paced;
};

#define WS_ALERT_MS 30000      /* a passing condition (429, fallback) shows this long at least */

/* A subscription account: whether it was warned of its binding window. */
struct ws_account {
	char key_hash[17];
	int warned;
};

/* The workspace's shared client core, as the UI callbacks see it, and the UI. */
struct workspace {
	struct ws_account account[RATELIMIT_MAX_KEYS];
	core_t *core;
	const struct config *cfg;
	struct theme theme;
	int wake;                  /* the gateway's wake fd, -1 none */
	struct ui_options uo;      /* the UI keeps a pointer */
	ui_t *ui;
	const char *anthropic;     /* the Anthropic upstream the gateway forwards to */
	struct ws_route route[STATS_MAX_ROUTES];
	char override[STATS_MAX_ROUTES][128];   /* model overrides, as last read */
	char *pane_override[TOKMUX_MAX_PANES];  /* the model each pane starts with, NULL none */
	const char *base_cmds[TOKMUX_MAX_PANES];  /* the options' (see workspace_opts) */
	char *route_cmd[STATS_MAX_ROUTES];      /* each route's pane's command as given */
	int key_paced;             /* some API key is held back after a 429 (this refresh) */
};

/* Whether the Anthropic upstream is Anthropic's own API (the host Claude
 * Code itself calls first-party), so that Claude Code may be told to keep
 * the features it keeps for that host: tokmux forwards bodies and headers
 * unchanged. claude_first_party says yes or no; "auto" checks the host. */
static int
workspace_first_party(const struct workspace *w)
{
	if (w->cfg->claude_first_party >= 0)
		return w->cfg->claude_first_party;
	const char *u = w->anthropic != NULL ? w->anthropic : "";
	if (strncmp(u, "https://", 8) != 0)
		return 0;
	u += 8;
	size_t n = strcspn(u, ":/?#");
	return n == 17 && strncasecmp(u, "api.anthropic.com", 17) == 0 &&
	    (u[n] == '\0' || u[n] == '/' || strncmp(u + n, ":443", 4) == 0);
}

/* Environment that keeps Claude Code at full strength behind tokmux,
 * unless the user set it: without it a base URL that is not Anthropic's
 * host loses betas, headers and the global prompt cache scope
 * (docs/AGENTS.md). */
static int
workspace_env_agents(const struct workspace *w, char **env, int n, int max)
{
	static const char *const full[] = {
		"_CLAUDE_CODE_ASSUME_FIRST_PARTY_BASE_URL=1", "ENABLE_TOOL_SEARCH=true",
	};
	if (!workspace_first_party(w))
		return n;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(full) && n < max; i++) {
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)strcspn(full[i], "="), full[i]);
		if (getenv(name) == NULL)
			env[n++] = xstrdup(full[i]);
	}
	return n;
}

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
	if (*route < 0) {
		/* no route left: never start an agent that bypasses the gateway */
		for (int i = 0; i < n; i++)
			free(env[i]);
		return -1;
	}
	if (*route < STATS_MAX_ROUTES)
		memset(&w->route[*route], 0, sizeof w->route[*route]);
	if (*route < STATS_MAX_ROUTES) {
		const char *base = idx < TOKMUX_MAX_PANES && w->base_cmds[idx] != NULL ?
		    w->base_cmds[idx] : cmd;
		free(w->route_cmd[*route]);
		w->route_cmd[*route] = base != NULL ? xstrdup(base) : NULL;
	}
	if (idx < TOKMUX_MAX_PANES && w->pane_override[idx] != NULL) {
		/* a resumed pane keeps the model it was switched to (once) */
		policy_set_model_override(core_policy(w->core), *route, w->pane_override[idx]);
		free(w->pane_override[idx]);
		w->pane_override[idx] = NULL;
	}
	env[n++] = xasprintf("ANTHROPIC_BASE_URL=%s", abase);
	env[n++] = xasprintf("OPENAI_BASE_URL=%s", obase);
	/* The gateway retries 529s itself: retry at one layer only, so Claude
	 * Code's own retries are turned down unless the user chose a value. */
	if (n < max && getenv("CLAUDE_CODE_MAX_RETRIES") == NULL)
		env[n++] = xstrdup("CLAUDE_CODE_MAX_RETRIES=2");
	return workspace_env_agents(w, env, n, max);
}

static int
workspace_route_ok(const struct workspace *w, int route)
{
	return w->core != NULL && route >= 0 && route < STATS_MAX_ROUTES;
}

/* The in-app controls act on the policy, which enforces them. */
static int
workspace_set_ceiling(void *user, int route, int64_t micros, char **err)
{
	struct workspace *w = user;
	if (!workspace_route_ok(w, route)) {
		*err = xstrdup("this pane has no gateway route");
		return -1;
	}
	policy_set_pane_ceiling(core_policy(w->core), route, micros);
	return 0;
}

static int64_t
workspace_current_ceiling(void *user, int route)
{
	struct workspace *w = user;
	struct policy_route_state st;
	if (!workspace_route_ok(w, route) || policy_get_state(core_policy(w->core), route, &st) < 0)
		return -1;
	return st.ceiling_micros;
}

static int
workspace_set_model(void *user, int route, const char *model, char **err)
{
	struct workspace *w = user;
	if (!workspace_route_ok(w, route)) {
		*err = xstrdup("this pane has no gateway route");
		return -1;
	}
	policy_set_model_override(core_policy(w->core), route, model);
	return 0;
}

static const char *
workspace_current_model(void *user, int route)
{
	struct workspace *w = user;
	struct policy_route_state st;
	if (!workspace_route_ok(w, route) || policy_get_state(core_policy(w->core), route, &st) < 0 ||
	    st.model_override[0] == '\0')
		return NULL;
	/* the UI keeps the pointer until the next call: hold the copy here */
	snprintf(w->override[route], sizeof w->override[route], "%s", st.model_override);
	return w->override[route];
}

static int
workspace_models(void *user, const char **ids, int max)
{
	struct workspace *w = user;
	return w->core != NULL ? pricing_models(core_pricing(w->core), ids, max) : 0;
}

static int
workspace_requests(void *user, int route, char **lines, int max)
{
	struct workspace *w = user;
	struct stats_recent rec[STATS_RECENT_MAX];
	if (!workspace_route_ok(w, route) || max < 2)
		return 0;
	int n = stats_recent(core_stats(w->core), route, rec, UTIL_MIN(max - 1, STATS_RECENT_MAX));
	char line[256];
	sidebar_recent_line(NULL, line, sizeof line);
	lines[0] = xstrdup(line);
	for (int i = 0; i < n; i++) {
		sidebar_recent_line(&rec[i], line, sizeof line);
		lines[i + 1] = xstrdup(line);
	}
	return n + 1;
}

/* The ledger's branch and worktree of a pane's requests. */
static void
workspace_where(void *user, int route, const char *branch, const char *worktree)
{
	struct workspace *w = user;
	if (w->core != NULL)
		gateway_route_set_where(core_gateway(w->core), route, branch, worktree);
}

static void
workspace_flag_raise(struct ws_flag *f, const struct stats_counts *c,
    const struct stats_snapshot *snap, int64_t now_ms)
{
	*f = (struct ws_flag){ .on = 1, .since_ms = now_ms, .ok_2xx = c->ok_2xx,
		.fallbacks = c->fallbacks, .err_429 = c->err_429, .ceiling = c->policy.ceiling_micros,
		.ws_ceiling = snap->total.policy.ceiling_micros,
		.day_ceiling = snap->policy.daily_ceiling_micros };
}

/* Lower each flag whose condition has ended: a ceiling raised or removed
 * (or a request served since); pacing over (no request of the pane waits
 * and no API key is held back any more); the model's circuit closed and a
 * request answered without falling back (or the flag's time up). */
static void
workspace_flags_update(struct workspace *w, struct ws_route *r, const struct stats_counts *c,
    const struct stats_snapshot *snap, int circuit_open, int64_t now_ms)
{
	struct ws_flag *f = &r->ceiling;
	if (f->on && (f->ceiling != c->policy.ceiling_micros ||
	    f->ws_ceiling != snap->total.policy.ceiling_micros ||
	    f->day_ceiling != snap->policy.daily_ceiling_micros || c->ok_2xx > f->ok_2xx))
		f->on = 0;
	f = &r->paced;
	if (f->on && c->policy.pacing == 0 && !w->key_paced)
		f->on = 0;
	f = &r->fallback;
	int served_plain = c->ok_2xx > f->ok_2xx && c->fallbacks == f->fallbacks;
	if (f->on && !circuit_open && (served_plain || now_ms - f->since_ms >= WS_ALERT_MS))
		f->on = 0;
}

/* The word in the pane's title: the most pressing flag up. */
static const char *
workspace_alert_word(const struct ws_route *r, const struct stats_counts *c)
{
	if (r->ceiling.on) {
		const struct stats_route_policy *p = &c->policy;
		if (p->blocked)
			return "blocked (ceiling 0)";
		return p->ceiling_micros >= 0 && p->spent_micros >= p->ceiling_micros ?
		    "ceiling reached" : "refused (ceiling)";
	}
	if (r->fallback.on)
		return "fell back";
	if (r->paced.on)
		return "paced (429)";
	return "";
}

/* The pane's state from its signals and its route's traffic. */
static void
workspace_pane_state(const struct ui_pane_info *p, const struct stats_counts *c, int routed,
    int64_t now_ms, struct panestate_out *out)
{
	struct panestate_in in = {
		.exited = p->exited, .sig = p->sig, .last_output_ms = p->last_output_ms,
		.last_input_ms = p->last_input_ms, .last_resize_ms = p->last_resize_ms,
		.now_ms = now_ms,
		.route = {
			.known = routed, .inflight = c->inflight, .last_begin_ms = c->act.last_begin_ms,
			.last_end_ms = c->act.last_end_ms, .last_stop = c->act.last_stop,
			.last_status = c->act.last_status, .last_refused = c->act.last_refused,
			.last_error = c->last_error, .last_activity_ms = c->last_activity_ms,
			.begun = (uint64_t)(c->requests + c->inflight),
		},
	};
	panestate_eval(&in, out);
}

/* One pane: its state, the events since the last refresh (a message at
 * the bottom and a word in its title), and when to look again. */
static void
workspace_pane_update(struct workspace *w, struct chrome_sidebar *sb, struct ui_pane_info *p, int i,
    const struct stats_snapshot *snap, struct sidebar_pane *sp, char words[96], int64_t now_ms,
    int64_t *due)
{
	static const struct stats_counts zero;
	const struct stats_counts *c = &zero;
	struct ws_route *r = NULL;
	if (workspace_route_ok(w, p->route) && p->route < snap->nroutes) {
		c = &snap->route[p->route];
		r = &w->route[p->route];
	}
	workspace_pane_state(p, c, r != NULL, now_ms, &p->pst);
	if (p->pst.recheck_ms >= 0)
		*due = *due < 0 ? p->pst.recheck_ms : UTIL_MIN(*due, p->pst.recheck_ms);
	const char *alert = "";
	int circuit_open = 0;
	for (int k = 0; r != NULL && k < snap->policy.ncircuits; k++) {
		const struct stats_circuit *ci = &snap->policy.circuit[k];
		if (ci->state == 1 && strcmp(ci->model, c->last_model_asked) == 0)
			circuit_open = 1;
	}
	if (r != NULL) {
		int ev = r->known ? sidebar_events(&r->seen, c) : 0;
		if (ev != 0) {
			char text[256];
			sidebar_event_text(ev, i + 1, p->name, c, text, sizeof text);
			chrome_sidebar_event(sb, text, 1);
		}
		if (ev & SIDEBAR_EV_CEILING)
			workspace_flag_raise(&r->ceiling, c, snap, now_ms);
		if (ev & SIDEBAR_EV_FALLBACK)
			workspace_flag_raise(&r->fallback, c, snap, now_ms);
		if (ev & SIDEBAR_EV_PACED)
			workspace_flag_raise(&r->paced, c, snap, now_ms);
		if (!(ev & (SIDEBAR_EV_CEILING | SIDEBAR_EV_FALLBACK | SIDEBAR_EV_PACED)))
			workspace_flags_update(w, r, c, snap, circuit_open, now_ms);
		r->known = 1;
		r->seen = *c;
		alert = workspace_alert_word(r, c);
		int64_t left = r->paced.on ? 1000 : -1;   /* look again as pacing runs out */
		if (r->fallback.on)
			left = UTIL_MAX(1, r->fallback.since_ms + WS_ALERT_MS - now_ms);
		if (left > 0)
			*due = *due < 0 ? left : UTIL_MIN(*due, left);
	}
	panestate_title(&p->pst, words, 96);
	/* the title: the state's words cut whole; an error with an event word
	 * (a ceiling, a fallback) is said by the word, its text is the sidebar's */
	char head[64];
	if (alert[0] != '\0' && p->pst.state == PANESTATE_ERROR)
		snprintf(head, sizeof head, "%s", panestate_name(p->pst.state));
	else
		termsig_clean(words, strlen(words), head, sizeof head);
	snprintf(p->state, sizeof p->state, "%s%s%s", head,
	    alert[0] ? (chrome_sidebar_utf8(sb) ? " \xc2\xb7 " : " - ") : "", alert);
	p->alert = p->pst.state == PANESTATE_NEEDS_INPUT || p->pst.state == PANESTATE_ERROR ||
	    alert[0] != '\0';
	/* output and keys may change any state but a program's own report */
	p->watch_output = p->watch_input = p->pst.source != PANESTATE_SRC_REPORT;
	*sp = (struct sidebar_pane){
		.name = p->name, .cmd = p->cmd, .route = p->route, .focused = p->focused,
		.exited = p->exited, .state = p->pst.state, .state_text = words,
		.message = p->pst.message, .sig = p->sig,
		/* the policy's view, from the same snapshot as every other figure */
		.ceiling_micros = r != NULL ? c->policy.ceiling_micros : -1,
		.override = r != NULL && c->policy.model_override[0] ? c->policy.model_override : NULL,
		.wt = p->wt,
	};
	/* the policy's states: paced for a 429, circuit open for the model it asks */
	if (r != NULL && c->policy.pacing > 0)
		sp->paced_until = snap->policy.pacing_until;
	sp->circuit_open = circuit_open;
}

/* A subscription whose binding window (its representative claim) passes
 * the warning threshold: said once, with the panes that share it, until it
 * drops below again (a new window). */
static void
workspace_accounts(struct workspace *w, struct chrome_sidebar *sb, const struct sidebar_input *in)
{
	for (int i = 0; i < in->nrl; i++) {
		const struct rl_state *st = &in->rl[i];
		const char *label = NULL;
		const struct rl_window *b = ratelimit_binding(st, &label);
		struct ws_account *a = NULL;
		for (int k = 0; k < RATELIMIT_MAX_KEYS && a == NULL; k++)
			if (strcmp(w->account[k].key_hash, st->key_hash) == 0 ||
			    w->account[k].key_hash[0] == '\0')
				a = &w->account[k];
		if (b == NULL || a == NULL || st->key_hash[0] == '\0')
			continue;
		snprintf(a->key_hash, sizeof a->key_hash, "%s", st->key_hash);
		int over = b->utilization >= (in->warn_at > 0 ? in->warn_at : 0.8);
		if (over && !a->warned) {
			char text[160], cd[24] = "?";
			if (b->reset > 0)
				sidebar_countdown(b->reset - in->now, cd, sizeof cd);
			snprintf(text, sizeof text, "subscription: %s limit at %.0f%%, resets in %s",
			    strcmp(label, "5h") == 0 ? "5-hour" : "7-day", b->utilization * 100, cd);
			chrome_sidebar_event(sb, text, 1);
		}
		a->warned = over;
	}
}

static int
workspace_sidebar(void *user, struct chrome_sidebar *sb, int rows, int cols,
    struct ui_pane_info *panes, int npanes)
{
	struct workspace *w = user;
	struct stats_snapshot snap;
	struct rl_state rl[RATELIMIT_MAX_KEYS];
	struct sidebar_pane sp[TOKMUX_MAX_PANES];
	char words[TOKMUX_MAX_PANES][96];     /* each pane's state in words */
	struct sidebar_line lines[128];
	int64_t now_ms = util_now_ms(), due = -1;
	char prefix[16];
	config_key_name(w->cfg->prefix_key, prefix, sizeof prefix);
	struct sidebar_input in = {
		.now = util_wall(), .utf8 = chrome_sidebar_utf8(sb), .ceiling_micros = -1,
		.daily_ceiling_micros = -1, .warn_at = w->cfg->warn_at, .prefix_name = prefix,
	};
	memset(&snap, 0, sizeof snap);
	if (w->core != NULL) {
		stats_snapshot(core_stats(w->core), &snap);
		in.snap = &snap;
		in.nrl = rl_table_snapshot(core_ratelimits(w->core), rl, RATELIMIT_MAX_KEYS);
		in.rl = rl;
		w->key_paced = 0;
		for (int i = 0; i < in.nrl; i++)
			w->key_paced |= ratelimit_not_before(&rl[i], in.now) > in.now;
		/* the ceilings in force are the policy's (config and command line) */
		in.ceiling_micros = snap.total.policy.ceiling_micros;
		in.daily_ceiling_micros = snap.policy.daily_ceiling_micros;
		in.daily_before_micros = UTIL_MAX(0, snap.policy.daily_spent_micros - snap.total.cost_micros);
		if (snap.policy.warn_at > 0)
			in.warn_at = snap.policy.warn_at;
	}
	in.npanes = UTIL_MIN(npanes, TOKMUX_MAX_PANES);
	for (int i = 0; i < in.npanes; i++)
		workspace_pane_update(w, sb, &panes[i], i, &snap, &sp[i], words[i], now_ms, &due);
	in.panes = sp;
	workspace_accounts(w, sb, &in);
	if (rows > 0) {
		int n = sidebar_build(&in, cols, lines, UTIL_MIN(rows, 128));
		for (int i = 0; i < n; i++)
			chrome_sidebar_draw(sb, i, &lines[i]);
	}
	char status[512];
	sidebar_status(&in, 0, status, sizeof status);
	chrome_sidebar_status(sb, status);
	if (rows > 0 && sidebar_ticking(&in)) {
		int64_t tick = 1000 - (int64_t)((in.now - (double)(int64_t)in.now) * 1000);
		due = due < 0 ? tick : UTIL_MIN(due, tick);
	}
	return due < 0 ? -1 : (int)UTIL_MIN(due, 3600000);
}

/* The theme the workspace draws with: --theme wins; NO_COLOR beats the
 * config's theme. */
static int
workspace_theme(const struct config *cfg, const struct workspace_opts *wo, struct theme *t,
    char **err)
{
	const char *name = wo->theme;
	const char *nc = getenv("NO_COLOR");
	if (name == NULL)
		name = nc != NULL && nc[0] != '\0' ? "mono" : cfg->theme;
	return theme_load(t, name, err);
}

int
workspace_check_theme(const struct config *cfg, const struct workspace_opts *wo, char **err)
{
	struct theme t;
	return workspace_theme(cfg, wo, &t, err);
}

/* The UI's options: the panes, and the callbacks into the core. */
static void
workspace_ui_options(struct workspace *w, const struct workspace_opts *wo)
{
	struct ui_options *o = &w->uo;
	*o = (struct ui_options){
		.cfg = w->cfg,
		.npanes = wo->npanes,
		.rows = wo->rows,
		.cols = wo->cols,
		.term = getenv("TERM"),
		.wake_fd = w->wake,
		.worktrees = wo->worktrees,
		.env_fn = workspace_env,
		.sidebar_fn = workspace_sidebar,
		.where_fn = workspace_where,
		.controls = {
			.set_ceiling = workspace_set_ceiling,
			.current_ceiling = workspace_current_ceiling,
			.set_model = workspace_set_model,
			.current_model = workspace_current_model,
			.models = workspace_models,
			.requests = workspace_requests,
		},
		.theme = &w->theme,
		.ring_bell = w->cfg->bell,
		.user = w,
		.term_gone = wo->term_gone,
		.term_user = wo->term_user,
	};
	for (int i = 0; i < TOKMUX_MAX_PANES; i++) {
		o->cmds[i] = wo->cmds[i];
		o->names[i] = wo->names[i];
		o->cwds[i] = wo->cwds[i];
		o->confirms[i] = wo->confirms[i];
		o->declines[i] = wo->declines[i];
	}
}

workspace_t *
workspace_new(const struct config *cfg, const struct workspace_opts *wo, evloop_t *loop,
    int *status, char **err)
{
	struct workspace *w = xcalloc(1, sizeof *w);
	w->cfg = cfg;
	w->wake = -1;
	w->anthropic = wo->core.anthropic != NULL ? wo->core.anthropic : cfg->anthropic_upstream;
	*status = CLI_USAGE;
	if (workspace_theme(cfg, wo, &w->theme, err) < 0) {
		free(w);
		return NULL;
	}
	if (wo->verbose)
		util_log_open("tokmux.log");
	/* the UI blocks these signals in every thread; do it before threads start */
	ui_block_signals();
	*status = 1;
	if (cfg->gateway && !wo->no_gateway) {
		w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		struct core_options co = wo->core;
		char prefix[16];
		config_key_name(cfg->prefix_key, prefix, sizeof prefix);
		co.cfg = cfg;
		co.wake_fd = w->wake;
		co.prefix_name = prefix;
		w->core = core_start(&co, err);
		if (w->core == NULL) {
			workspace_free(w);
			return NULL;
		}
	}
	for (int i = 0; i < TOKMUX_MAX_PANES; i++) {
		if (wo->overrides[i] != NULL)
			w->pane_override[i] = xstrdup(wo->overrides[i]);
		w->base_cmds[i] = wo->base_cmds[i];
	}
	workspace_ui_options(w, wo);
	w->ui = ui_new(&w->uo, loop, err);
	if (w->ui == NULL) {
		workspace_free(w);
		return NULL;
	}
	return w;
}

ui_t *workspace_ui(workspace_t *w) { return w->ui; }

const char *
workspace_route_cmd(const workspace_t *w, int route)
{
	return route >= 0 && route < STATS_MAX_ROUTES ? w->route_cmd[route] : NULL;
}
core_t *workspace_core(workspace_t *w) { return w->core; }

void
workspace_free(workspace_t *w)
{
	if (w == NULL)
		return;
	ui_free(w->ui);
	core_stop(w->core);
	if (w->wake >= 0)
		close(w->wake);
	for (int i = 0; i < TOKMUX_MAX_PANES; i++)
		free(w->pane_override[i]);
	for (int i = 0; i < STATS_MAX_ROUTES; i++)
		free(w->route_cmd[i]);
	util_log_close();
	free(w);
}

/* The workspace on this process's own terminal: it is the only one, and
 * raw mode and its restoring are this process's (as a session's client's). */
int
workspace_run(const struct config *cfg, const struct workspace_opts *wo)
{
	struct workspace_opts o = *wo;
	int status;
	char *err = NULL;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		o.rows = ws.ws_row;
		o.cols = ws.ws_col;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		/* the theme first: its errors are worth more than this one */
		if (workspace_check_theme(cfg, wo, &err) < 0) {
			fprintf(stderr, "tokmux: %s\n", err);
			free(err);
			return CLI_USAGE;
		}
		fprintf(stderr, "tokmux: needs a terminal on stdin and stdout\n");
		return CLI_USAGE;
	}
	workspace_t *w = workspace_new(cfg, &o, NULL, &status, &err);
	if (w == NULL) {
		fprintf(stderr, "tokmux: %s\n", err);
		free(err);
		return status;
	}
	struct termios saved;
	tty_raw(STDOUT_FILENO, &saved);
	tty_guard(STDOUT_FILENO, &saved, getenv("TERM"));
	struct ui_term_spec ts = { .in_fd = dup(STDIN_FILENO), .out_fd = dup(STDOUT_FILENO),
		.term = getenv("TERM") };
	int rc = 1;
	if (ui_attach(w->ui, &ts, &err) >= 0) {
		rc = ui_run(w->ui);
		util_term_restore();
		util_term_forget();
		if (ui_exit_message(w->ui)[0] != '\0')
			fprintf(stderr, "%s\n", ui_exit_message(w->ui));
	} else {
		util_term_restore();
		util_term_forget();
		fprintf(stderr, "tokmux: %s\n", err);
		free(err);
	}
	workspace_free(w);
	return rc;
}
