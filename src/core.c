/*
 * core: wires pricing, stats, the rate-limit table, the policy, the ledger
 * and the gateway together, in the order they depend on each other, and
 * takes them down in reverse. Also `tokmux gateway`: the core without a UI.
 */
#include "core.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "pricing.h"
#include "util.h"

struct core {
	pricing_t *pricing;
	stats_t *stats;
	rl_table_t *rl;
	ledger_t *ledger;
	char *ledger_path;
	gateway_t *gw;
	policy_t *policy;
	const struct config *cfg;
	char **pane_names;          /* --pane-ceiling, split */
	int64_t *pane_micros;
	int npane;
};

/* Ceilings: the command line wins over the config. */
static void
core_policy_start(core_t *c, const struct core_options *o)
{
	const struct config *cfg = o->cfg;
	struct policy_options po = { 0 };
	if (o->tuning != NULL)
		po = *o->tuning;
	po.pricing = c->pricing;
	po.stats = c->stats;
	po.ratelimits = c->rl;
	po.ledger_path = c->ledger_path;
	po.ceiling_micros = o->ceiling_micros > 0 ? o->ceiling_micros : cfg->ceiling_micros;
	po.daily_ceiling_micros = o->daily_ceiling_micros > 0 ? o->daily_ceiling_micros :
	    cfg->daily_ceiling_micros;
	po.warn_at = cfg->warn_at;
	po.unit = o->unit ? o->unit : "pane";
	po.raise_hint = o->raise_hint ? o->raise_hint : strcmp(po.unit, "pane") == 0 ?
	    "Raise it with Ctrl-g b or --pane-ceiling." : "Raise it with --pane-ceiling.";
	c->policy = policy_new(&po);
	c->pane_names = xcalloc((size_t)o->npane_ceilings + 1, sizeof *c->pane_names);
	c->pane_micros = xcalloc((size_t)o->npane_ceilings + 1, sizeof *c->pane_micros);
	for (int i = 0; i < o->npane_ceilings; i++) {
		char *e = NULL;
		if (policy_parse_pane_ceiling(o->pane_ceilings[i], &c->pane_names[c->npane],
		    &c->pane_micros[c->npane], &e) == 0)
			c->npane++;
		free(e);
	}
}

core_t *
core_start(const struct core_options *o, char **err)
{
	const struct config *cfg = o->cfg;
	core_t *c = xcalloc(1, sizeof *c);
	char *e = NULL;
	c->pricing = pricing_new();
	if (cfg->prices != NULL && pricing_load(c->pricing, cfg->prices, &e) != 0) {
		*err = xasprintf("%s: %s", cfg->path ? cfg->path : "config", e);
		goto fail;
	}
	c->ledger_path = o->ledger ? xstrdup(o->ledger) :
	    cfg->ledger_path ? xstrdup(cfg->ledger_path) : ledger_default_path();
	c->ledger = ledger_open(c->ledger_path, &e);
	if (c->ledger == NULL) {
		*err = xasprintf("ledger %s: %s", c->ledger_path, e ? e : "cannot open");
		goto fail;
	}
	c->stats = stats_new(0, o->wake_fd);
	c->rl = rl_table_new();
	c->cfg = cfg;
	core_policy_start(c, o);
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
	};
	c->gw = gateway_start(&go, &e);
	if (c->gw == NULL) {
		*err = xasprintf("gateway: %s", e ? e : "cannot start");
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
	policy_shutdown(c->policy);   /* no connection thread may sleep in a hook */
	if (c->gw)
		gateway_stop(c->gw);
	policy_free(c->policy);
	for (int i = 0; i < c->npane; i++)
		free(c->pane_names[i]);
	free(c->pane_names);
	free(c->pane_micros);
	if (c->ledger)
		ledger_close(c->ledger);
	if (c->rl)
		rl_table_free(c->rl);
	if (c->stats)
		stats_free(c->stats);
	pricing_free(c->pricing);
	free(c->ledger_path);
	free(c);
}

/* Length of the shell word at s: up to an unquoted blank or operator;
 * quotes and backslashes are stepped over. */
static size_t
shell_word_len(const char *s)
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
ident_char(char c, int first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (!first && c >= '0' && c <= '9');
}

/* NAME=... with NAME a shell identifier. */
static int
is_assignment(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '=')
			return i > 0;
		if (!ident_char(w[i], i == 0))
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
		size_t w = shell_word_len(cmd);
		if (w == 0)
			return NULL;
		if (is_assignment(cmd, w) || (after_env && cmd[0] == '-')) {
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
const pricing_t *core_pricing(const core_t *c) { return c->pricing; }

/* ------------------------------------------------------ tokmux gateway */

/* Exit status: 0 after SIGINT/SIGTERM, 2 for bad usage or config, 1 when
 * the port or the ledger cannot be used. argv[0] is skipped. */

static void
core_gateway_usage(FILE *f)
{
	fputs("usage: tokmux gateway [--port N] [-c CONFIG] [--anthropic-upstream URL]\n"
	    "                      [--openai-upstream URL] [--ledger FILE]\n"
	    "                      [--ceiling USD] [--daily-ceiling USD] [--pane-ceiling NAME=USD]...\n"
	    "Run the metering gateway alone. Prints one line per route:\n"
	    "  route NAME http://127.0.0.1:PORT/p/TOKEN\n"
	    "(config panes, then `default`); point ANTHROPIC_BASE_URL at that URL\n"
	    "and OPENAI_BASE_URL at it plus /v1. Serves until SIGINT or SIGTERM.\n"
	    "  --ceiling USD         spend ceiling for all routes together\n"
	    "  --daily-ceiling USD   spend ceiling for today (counts the ledger)\n"
	    "  --pane-ceiling NAME=USD\n"
	    "                        ceiling of one route, by name or number (repeatable)\n"
	    "Ceilings are hard: a request that could cross one gets a 403. 529s are\n"
	    "retried with jitter, then sent to the route's fallback model; see\n"
	    "docs/POLICY.md.\n", f);
}

struct gw_args {
	int port;
	const char *config, *anthropic, *openai, *ledger;
	int64_t ceiling, daily;                       /* 0: not given */
	const char *pane_ceilings[CONFIG_MAX_PANES];
	int npane;
};

/* Returns 0, 1 for --help, -1 on a usage error. */
static int
core_gateway_args(int argc, char **argv, struct gw_args *a)
{
	for (int i = 1; i < argc; i += 2) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			return 1;
		if (val == NULL) {
			fprintf(stderr, "tokmux gateway: %s needs a value\n", arg);
			return -1;
		}
		if (strcmp(arg, "--port") == 0) {
			char *end;
			long p = strtol(val, &end, 10);
			if (*end != '\0' || p < 0 || p > 65535) {
				fprintf(stderr, "tokmux gateway: --port: expected 0..65535, got %s\n", val);
				return -1;
			}
			a->port = (int)p;
		} else if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
			a->config = val;
		} else if (strcmp(arg, "--anthropic-upstream") == 0) {
			a->anthropic = val;
		} else if (strcmp(arg, "--openai-upstream") == 0) {
			a->openai = val;
		} else if (strcmp(arg, "--ledger") == 0) {
			a->ledger = val;
		} else if (strcmp(arg, "--ceiling") == 0 || strcmp(arg, "--daily-ceiling") == 0) {
			int64_t *dst = arg[2] == 'c' ? &a->ceiling : &a->daily;
			if (util_parse_usd(val, dst) != 0 || *dst <= 0) {
				fprintf(stderr, "tokmux gateway: %s: expected a dollar amount above 0, "
				    "got '%s'\n", arg, val);
				return -1;
			}
		} else if (strcmp(arg, "--pane-ceiling") == 0) {
			char *name = NULL, *err = NULL;
			int64_t micros;
			if (policy_parse_pane_ceiling(val, &name, &micros, &err) != 0) {
				fprintf(stderr, "tokmux gateway: --pane-ceiling: %s\n", err);
				free(err);
				return -1;
			}
			free(name);
			if (a->npane >= CONFIG_MAX_PANES) {
				fprintf(stderr, "tokmux gateway: --pane-ceiling: at most %d\n",
				    CONFIG_MAX_PANES);
				return -1;
			}
			a->pane_ceilings[a->npane++] = val;
		} else {
			fprintf(stderr, "tokmux gateway: unknown option %s\n", arg);
			return -1;
		}
	}
	return 0;
}

static int
core_gateway_serve(struct config *c, const struct gw_args *a)
{
	char *err = NULL;
	struct core_options co = {
		.cfg = c, .port = a->port, .anthropic = a->anthropic, .openai = a->openai,
		.ledger = a->ledger, .wake_fd = -1, .ceiling_micros = a->ceiling,
		.daily_ceiling_micros = a->daily, .pane_ceilings = a->pane_ceilings,
		.npane_ceilings = a->npane, .unit = "route",
	};
	/* Block the signals before any thread starts, then sigwait for them. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);

	core_t *core = core_start(&co, &err);
	if (core == NULL) {
		fprintf(stderr, "tokmux gateway: %s\n", err);
		free(err);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	char base[256];
	for (int i = 0; i <= c->npanes && i < GATEWAY_MAX_ROUTES; i++) {
		char *name = i == c->npanes ? xstrdup("default") : c->panes[i].name ?
		    xstrdup(c->panes[i].name) : xasprintf("pane %d", i + 1);
		if (core_add_route(core, name, i < c->npanes ? c->panes[i].cmd : NULL,
		    base, sizeof base, NULL, 0) >= 0)
			printf("route %s %s\n", name, base);
		free(name);
	}
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	core_stop(core);    /* settles in-flight requests, then closes the ledger */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int
core_gateway_main(int argc, char **argv)
{
	struct gw_args a = { .port = -1 };
	struct config c;
	int rc = core_gateway_args(argc, argv, &a);
	if (rc != 0) {
		core_gateway_usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	config_init(&c);
	char *err = NULL;
	if (config_load_path(&c, a.config, &err) != 0) {
		fprintf(stderr, "tokmux gateway: %s\n", err);
		free(err);
		config_free(&c);
		return 2;   /* like every config error of tokmux */
	}
	rc = core_gateway_serve(&c, &a);
	config_free(&c);
	return rc;
}
