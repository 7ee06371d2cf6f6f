/*
 * core: wires pricing, stats, the rate-limit table, the policy, the ledger
 * and the gateway together, in the order they depend on each other, and
 * takes them down in reverse. Its front ends are the workspace and
 * `tokmux gateway` (src/cmd_gateway.c).
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "cli.h"
#include "gwguard.h"
#include "ledger.h"
#include "period.h"
#include "pricing.h"
#include "team_line.h"
#include "util.h"

/* Hidden, for tests only: shift the core's clock by this many seconds
 * (a simulated new day for the team's period counters). */
#define CORE_CLOCK_SHIFT_ENV "TOKMUX_TEST_CLOCK_SHIFT_S"

struct core {
	pricing_t *pricing;
	stats_t *stats;
	rl_table_t *rl;
	ledger_t *ledger;
	char *ledger_path;
	char session[64];           /* every ledger record's "session" */
	gateway_t *gw;
	budget_t *budget;           /* the budget store the ceilings use */
	policy_t *policy;
	const struct config *cfg;
	struct team_settings team;  /* config and flags merged */
	struct period_tz tz;        /* the team's periods */
	int team_on;                /* the team's scopes go into every request */
	char prefix[72];            /* this process's counters in a shared store */
	team_line_t *line;          /* the sidebar's team line (team_on) */
	double clock_shift;         /* CORE_CLOCK_SHIFT_ENV */
	char **pane_names;          /* --pane-ceiling, split */
	int64_t *pane_micros;
	int npane;
	ledger_notify_fn ledger_notify;   /* the front end's */
	void *ledger_notify_user;
	char *metrics_token_path;   /* NULL: /metrics is open */
};

/* The ledger's health into the stats store (the sidebar wakes), then to
 * the front end. */
static void
core_ledger_notify(void *user, const struct ledger_health *h, int changed)
{
	core_t *c = user;
	struct stats_ledger sl = { .failing = h->failing, .error = h->error, .held = h->held,
		.lost = h->lost };
	if (c->stats != NULL)
		stats_set_ledger(c->stats, &sl);
	if (c->ledger_notify != NULL)
		c->ledger_notify(c->ledger_notify_user, h, changed);
}

static double
core_clock(void *user)
{
	const core_t *c = user;
	return util_wall() + c->clock_shift;
}

static const char *const core_period_adj[PERIOD_COUNT] = { "daily", "weekly", "monthly" };

/* How a refusal names a team or member scope: "team acme's $50.00 daily
 * budget", and how to raise it. */
static void
core_team_words(const core_t *c, struct ceiling_scope *s, int member, enum period_kind k,
    int family)
{
	const char *who = member ? c->team.member : c->team.team;
	const char *fam = team_family_name(family);
	snprintf(s->name, sizeof s->name, "%s %s", member ? "member" : "team", who);
	snprintf(s->whose, sizeof s->whose, "%s %s's", member ? "member" : "team", who);
	snprintf(s->what, sizeof s->what, "%s%s%s budget", core_period_adj[k], fam[0] ? " " : "", fam);
	snprintf(s->hint, sizeof s->hint, "Raise it with: tokmux team set %s %s%s%s=USD.",
	    member ? who : "team", period_name(k), fam[0] ? ":" : "", fam);
}

/* The team's and this member's scopes of a request (policy_options.
 * extra_scopes): each period, for all models and for the model's family. */
static int
core_team_scopes(void *user, const struct ceiling_request *rq, struct ceiling_scope *out, int max)
{
	core_t *c = user;
	int family = team_family_of(rq->model), n = 0;
	team_line_poke(c->line);
	for (int who = 0; who < 2; who++) {
		for (int f = 0; f <= (family != TEAM_ALL); f++) {
			for (int k = 0; k < PERIOD_COUNT; k++) {
				int fam = f ? family : TEAM_ALL;
				if (n >= max || team_scope(&c->team, &c->tz, rq->now, who ?
				    c->team.member : NULL, (enum period_kind)k, fam, &out[n].s) != 0) {
					snprintf(out[0].hint, sizeof out[0].hint,
					    "the team budget's scopes do not fit (team %s, member %s)",
					    c->team.team, c->team.member);
					return -1;
				}
				core_team_words(c, &out[n], who, (enum period_kind)k, fam);
				n++;
			}
		}
	}
	return n;
}

/* A team budget applies when the store is shared or a team or member
 * ceiling is set. */
static int
core_team_wanted(const struct team_settings *t)
{
	if (strcmp(t->store, "memory") != 0)
		return 1;
	for (int f = 0; f < TEAM_FAMILIES; f++)
		for (int k = 0; k < PERIOD_COUNT; k++)
			if (t->team_ceilings.micros[f][k] >= 0 || t->member_ceilings.micros[f][k] >= 0)
				return 1;
	return 0;
}

/* The budget store (memory or the team's Redis) and, for a team, its
 * scopes in every request and the sidebar's team line. */
static int
core_budget_start(core_t *c, struct policy_options *po, char **err)
{
	char *why = NULL;
	if (period_tz_parse(c->team.tz, &c->tz, &why) != 0) {
		*err = xasprintf("budget_tz: %s", why);
		free(why);
		return -1;
	}
	struct budget_options bo;
	team_budget_options(&c->team, &bo);
	bo.clock = po->clock;
	bo.clock_user = po->clock_user;
	c->budget = budget_open(&bo, err);
	if (c->budget == NULL)
		return -1;
	po->budget = c->budget;
	po->budget_fail_open = c->team.fail_open;
	c->team_on = core_team_wanted(&c->team);
	if (strcmp(budget_where(c->budget), "memory") != 0) {
		snprintf(c->prefix, sizeof c->prefix, "s:%s:", c->session);
		po->scope_prefix = c->prefix;
	}
	if (c->team_on) {
		po->extra_scopes = core_team_scopes;
		po->extra_user = c;
		struct team_line_options lo = { .budget = c->budget, .team = &c->team, .tz = c->tz,
			.stats = c->stats, .clock = po->clock, .clock_user = po->clock_user };
		c->line = team_line_start(&lo);
	}
	return 0;
}

/* Ceilings: the command line wins over the config. The money goes through
 * the budget store (core_budget_start). */
static int
core_policy_start(core_t *c, const struct core_options *o, char **err)
{
	const struct config *cfg = o->cfg;
	struct policy_options po = { 0 };
	if (o->tuning != NULL)
		po = *o->tuning;
	const char *shift = getenv(CORE_CLOCK_SHIFT_ENV);
	if (po.clock == NULL && shift != NULL && shift[0] != '\0') {
		c->clock_shift = strtod(shift, NULL);
		po.clock = core_clock;
		po.clock_user = c;
	}
	if (core_budget_start(c, &po, err) != 0)
		return -1;
	po.pricing = c->pricing;
	po.stats = c->stats;
	po.ratelimits = c->rl;
	po.ledger_path = c->ledger_path;
	po.ledger = c->ledger;
	po.ledger_fail_open = o->ledger_fail_open || cfg->ledger_fail_open;
	po.ceiling_micros = o->has_ceiling ? o->ceiling_micros : cfg->ceiling_micros;
	po.daily_ceiling_micros = o->has_daily_ceiling ? o->daily_ceiling_micros :
	    cfg->daily_ceiling_micros;
	po.min_output_tokens = o->min_output_tokens > 0 ? o->min_output_tokens :
	    cfg->min_output_tokens;
	po.warn_at = cfg->warn_at;
	po.unit = o->unit ? o->unit : "pane";
	char *hint = NULL;
	if (o->raise_hint == NULL && o->prefix_name != NULL && strcmp(po.unit, "pane") == 0)
		hint = xasprintf("Raise it with %s b or --pane-ceiling.", o->prefix_name);
	po.raise_hint = o->raise_hint ? o->raise_hint : hint ? hint : "Raise it with --pane-ceiling.";
	c->policy = policy_new(&po);
	free(hint);
	c->pane_names = xcalloc((size_t)o->npane_ceilings + 1, sizeof *c->pane_names);
	c->pane_micros = xcalloc((size_t)o->npane_ceilings + 1, sizeof *c->pane_micros);
	for (int i = 0; i < o->npane_ceilings; i++) {
		char *e = NULL;
		if (cli_parse_name_usd(o->pane_ceilings[i], &c->pane_names[c->npane],
		    &c->pane_micros[c->npane], &e) == 0)
			c->npane++;
		free(e);
	}
	return 0;
}

int
core_check_pane_ceilings(const char *const *pc, int n, const char *const *names, int nnames,
    int max, char **err)
{
	for (int i = 0; i < n; i++) {
		char *name = NULL, *e = NULL;
		int64_t micros;
		if (cli_parse_name_usd(pc[i], &name, &micros, &e) != 0) {
			*err = xasprintf("--pane-ceiling %s: %s", pc[i], e);
			free(e);
			return -1;
		}
		int ok = 0;
		for (int k = 0; k < nnames && !ok; k++)
			ok = names[k] != NULL && strcmp(names[k], name) == 0;
		char *end = NULL;
		long num = strtol(name, &end, 10);
		if (!ok && end != name && *end == '\0' && num >= 1 && num <= max)
			ok = 1;
		if (!ok) {
			*err = xasprintf("--pane-ceiling %s: no pane or route is named \"%s\" (a number "
			    "from 1 to %d, or the name of a configured pane)", pc[i], name, max);
			free(name);
			return -1;
		}
		free(name);
	}
	return 0;
}

/* The token /metrics asks for, from the user's token file (made on first
 * use), unless --no-metrics-token or "metrics_token": false. */
static int
core_metrics_token(core_t *c, const struct core_options *o, char *token, size_t len,
    char **err)
{
	if (o->no_metrics_token || !o->cfg->metrics_token)
		return 0;
	c->metrics_token_path = gwguard_token_default_path();
	return gwguard_token_load(c->metrics_token_path, token, len, err);
}

const char *
core_metrics_token_path(const core_t *c)
{
	return c->metrics_token_path;
}

core_t *
core_start(const struct core_options *o, char **err)
{
	const struct config *cfg = o->cfg;
	core_t *c = xcalloc(1, sizeof *c);
	char *e = NULL;
	if (o->session != NULL)
		snprintf(c->session, sizeof c->session, "%s", o->session);
	else
		core_session_new(c->session);
	c->pricing = pricing_new();
	if (cfg->prices != NULL && pricing_load(c->pricing, cfg->prices, &e) != 0) {
		*err = xasprintf("%s: %s", cfg->path ? cfg->path : "config", e);
		goto fail;
	}
	c->ledger_path = o->ledger ? xstrdup(o->ledger) :
	    cfg->ledger_path ? xstrdup(cfg->ledger_path) : ledger_default_path();
	c->ledger = ledger_open(c->ledger_path, &e);
	if (c->ledger == NULL) {    /* ledger_open's message names the ledger */
		*err = e != NULL ? e : xasprintf("ledger %s: cannot open", c->ledger_path);
		e = NULL;
		goto fail;
	}
	team_settings_merge(&c->team, &cfg->team, &o->team);
	ledger_set_member(c->ledger, c->team.team, c->team.member);
	c->stats = stats_new(0, o->wake_fd);
	c->ledger_notify = o->ledger_notify;
	c->ledger_notify_user = o->ledger_notify_user;
	ledger_set_notify(c->ledger, core_ledger_notify, c);
	ledger_retry(c->ledger);    /* tells a failure found on opening */
	c->rl = rl_table_new();
	c->cfg = cfg;
	if (core_policy_start(c, o, &e) != 0) {
		*err = xasprintf("budget store: %s", e);
		goto fail;
	}
	char token[129] = "";
	if (core_metrics_token(c, o, token, sizeof token, err) != 0)
		goto fail;
	struct gateway_policy hooks;
	policy_hooks(c->policy, &hooks);
	struct gateway_options go = {
		.port = o->port >= 0 ? o->port : cfg->port,
		.anthropic_upstream = o->anthropic ? o->anthropic : cfg->anthropic_upstream,
		.openai_upstream = o->openai ? o->openai : cfg->openai_upstream,
		.pricing = c->pricing,
		.stats = c->stats,
		.ledger = c->ledger,
		.ratelimits = c->rl,
		.policy = &hooks,
		.session = c->session,
		.body_memory = cfg->body_memory,
		.metrics_token = token[0] != '\0' ? token : NULL,
	};
	c->gw = gateway_start(&go, &e);
	if (c->gw == NULL) {        /* "cannot listen on 127.0.0.1:PORT: ..." */
		*err = e != NULL ? e : xstrdup("the gateway cannot start");
		e = NULL;
		goto fail;
	}
	return c;
fail:
	free(e);
	core_stop(c);
	return NULL;
}

void
core_stop(core_t *c)
{
	if (c == NULL)
		return;
	policy_shutdown(c->policy);   /* no gateway thread may sleep in a hook */
	if (c->gw)
		gateway_stop(c->gw);
	team_line_stop(c->line);
	policy_free(c->policy);
	budget_close(c->budget);
	for (int i = 0; i < c->npane; i++)
		free(c->pane_names[i]);
	free(c->pane_names);
	free(c->pane_micros);
	if (c->ledger) {
		ledger_set_notify(c->ledger, NULL, NULL);
		ledger_close(c->ledger);
	}
	if (c->rl)
		rl_table_free(c->rl);
	if (c->stats)
		stats_free(c->stats);
	pricing_free(c->pricing);
	free(c->ledger_path);
	free(c->metrics_token_path);
	team_settings_free(&c->team);
	free(c);
}

/* Length of the shell word at s: up to an unquoted blank or operator;
 * quotes and backslashes are stepped over. */
static size_t
core_shell_word_len(const char *s)
{
	size_t i = 0;
	while (s[i] != '\0' && strchr(" \t;|&<>()", s[i]) == NULL) {
		if (s[i] == '\'' || s[i] == '"') {
			const char *close = strchr(s + i + 1, s[i]);
			i = close != NULL ? (size_t)(close - s) + 1 : strlen(s);
		} else if (s[i] == '\\' && s[i + 1] != '\0') {
			i += 2;
		} else {
			i++;
		}
	}
	return i;
}

static int
core_ident_char(char c, int first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (!first && c >= '0' && c <= '9');
}

/* NAME=... with NAME a shell identifier. */
static int
core_is_assignment(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '=')
			return i > 0;
		if (!core_ident_char(w[i], i == 0))
			return 0;
	}
	return 0;
}

/* The program a pane runs, without its arguments: a command line may hold
 * prompt text, and VAR=value words in front of it (or after `env`) may
 * hold an API key; neither may reach the ledger.
 * "claude -p hi" -> "claude", "ANTHROPIC_API_KEY=sk-... claude" -> "claude". */
char *
core_agent_name(const char *cmd)
{
	if (cmd == NULL)
		return NULL;
	int after_env = 0;
	for (;;) {
		cmd += strspn(cmd, " \t");
		size_t w = core_shell_word_len(cmd);
		if (w == 0)
			return NULL;
		if (core_is_assignment(cmd, w) || (after_env && cmd[0] == '-')) {
			cmd += w;
		} else if (w == 3 && strncmp(cmd, "env", 3) == 0 && !after_env) {
			after_env = 1;
			cmd += w;
		} else {
			break;
		}
	}
	size_t n = strcspn(cmd, " \t;|&<>()'\"");
	const char *slash = memrchr(cmd, '/', n);
	if (slash != NULL) {
		n -= (size_t)(slash + 1 - cmd);
		cmd = slash + 1;
	}
	return n > 0 ? xstrndup(cmd, n) : NULL;
}

int
core_add_pane(core_t *c, int number, const char *name, const char *cmd,
    char *anthropic_base, size_t alen, char *openai_base, size_t olen)
{
	char *agent = core_agent_name(cmd);
	int route = gateway_add_route(c->gw, name, agent, NULL);
	if (route >= 0) {
		const struct config_pane *cp = number >= 1 && number <= c->cfg->npanes ?
		    &c->cfg->panes[number - 1] : NULL;
		struct policy_route_config rc = {
			.number = number, .name = name, .agent = agent,
			.ceiling_micros = cp ? cp->ceiling_micros : -1,
			.ceiling_tokens = cp ? cp->ceiling_tokens : -1,
			.downgrade_at = cp ? cp->downgrade_at : 0,
			.fallback = cp ? (const char *const *)cp->fallback : NULL,
			.nfallback = cp ? cp->nfallback : 0,
		};
		char num[16];
		snprintf(num, sizeof num, "%d", number);
		for (int i = 0; i < c->npane; i++)   /* the last match wins */
			if ((name != NULL && strcmp(c->pane_names[i], name) == 0) ||
			    strcmp(c->pane_names[i], num) == 0)
				rc.ceiling_micros = c->pane_micros[i];
		policy_add_route(c->policy, route, &rc);
		gateway_route_env(c->gw, route, anthropic_base, alen, openai_base, olen);
	}
	free(agent);
	return route;
}

int
core_add_route(core_t *c, const char *name, const char *cmd,
    char *anthropic_base, size_t alen, char *openai_base, size_t olen)
{
	return core_add_pane(c, gateway_route_count(c->gw) + 1, name, cmd, anthropic_base, alen,
	    openai_base, olen);
}

gateway_t *core_gateway(core_t *c) { return c->gw; }
policy_t *core_policy(core_t *c) { return c->policy; }
stats_t *core_stats(core_t *c) { return c->stats; }
rl_table_t *core_ratelimits(core_t *c) { return c->rl; }
const char *core_ledger_path(const core_t *c) { return c->ledger_path; }
ledger_t *core_ledger(core_t *c) { return c->ledger; }
const char *core_session(const core_t *c) { return c->session; }

void
core_session_new(char out[CORE_SESSION_LEN + 1])
{
	util_random_hex(out, CORE_SESSION_LEN);
}
const pricing_t *core_pricing(const core_t *c) { return c->pricing; }
