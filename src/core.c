/*
 * core: wires pricing, stats, the rate-limit table, the ledger and the
 * gateway together, in the order they depend on each other, and takes them
 * down in reverse.
 */
#include "core.h"

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
};

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
	struct gateway_options go = {
		.port = o->port >= 0 ? o->port : cfg->port,
		.anthropic_upstream = o->anthropic ? o->anthropic : cfg->anthropic_upstream,
		.openai_upstream = o->openai ? o->openai : cfg->openai_upstream,
		.pricing = c->pricing,
		.stats = c->stats,
		.ledger = c->ledger,
		.ratelimits = c->rl,
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
	if (c->gw)
		gateway_stop(c->gw);
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

/* The program a pane runs, without its arguments: a command line may hold
 * prompt text, which must never reach the ledger. "claude -p hi" -> "claude". */
static char *
core_agent_name(const char *cmd)
{
	if (cmd == NULL)
		return NULL;
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	size_t n = strcspn(cmd, " \t;|&<>()'\"");
	const char *slash = memrchr(cmd, '/', n);
	if (slash != NULL) {
		n -= (size_t)(slash + 1 - cmd);
		cmd = slash + 1;
	}
	return n > 0 ? xstrndup(cmd, n) : NULL;
}

int
core_add_route(core_t *c, const char *name, const char *cmd,
    char *anthropic_base, size_t alen, char *openai_base, size_t olen)
{
	char *agent = core_agent_name(cmd);
	int route = gateway_add_route(c->gw, name, agent, NULL);
	free(agent);
	if (route >= 0)
		gateway_route_env(c->gw, route, anthropic_base, alen, openai_base, olen);
	return route;
}

gateway_t *core_gateway(core_t *c) { return c->gw; }
stats_t *core_stats(core_t *c) { return c->stats; }
rl_table_t *core_ratelimits(core_t *c) { return c->rl; }
const char *core_ledger_path(const core_t *c) { return c->ledger_path; }
const pricing_t *core_pricing(const core_t *c) { return c->pricing; }
