/*
 * cmd_core: the command-line options of the shared core, which `tokmux`
 * and `tokmux gateway` both take: where the gateway listens and forwards
 * to, the ledger, the spend ceilings and the output floor, and the team
 * budget (see cmd.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "config.h"
#include "core.h"
#include "reqbody.h"
#include "team.h"
#include "util.h"

/* *dst = a copy of optarg (the old value freed, wiped: it may be a URL). */
static void
cmd_core_set(char **dst, const char *v)
{
	if (*dst != NULL) {
		explicit_bzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = xstrdup(v);
}

int
cmd_core_team_option(struct cli *cli, int c, struct team_settings *t)
{
	char *err = NULL;
	int family;
	enum period_kind k;
	int64_t micros;
	switch (c) {
	case CMD_CORE_BUDGET_STORE:
		if (team_check_store(optarg, &err) < 0)
			return cli_fail(cli, err);
		cmd_core_set(&t->store, optarg);
		team_scrub_password(optarg);    /* argv: what ps shows */
		return 0;
	case CMD_CORE_TEAM:
	case CMD_CORE_MEMBER:
		if (team_check_name(optarg, c == CMD_CORE_MEMBER, &err) < 0)
			return cli_fail(cli, err);
		cmd_core_set(c == CMD_CORE_TEAM ? &t->team : &t->member, optarg);
		return 0;
	case CMD_CORE_TEAM_CEILING:
	case CMD_CORE_MEMBER_CEILING:
		if (team_parse_ceiling(optarg, 0, &family, &k, &micros, &err) < 0)
			return cli_fail(cli, err);
		team_ceiling_set(c == CMD_CORE_TEAM_CEILING ? &t->team_ceilings :
		    &t->member_ceilings, family, k, micros);
		return 0;
	case CMD_CORE_FAIL_OPEN:
		t->fail_open = 1;
		return 0;
	}
	return -1;
}

int
cmd_core_option(struct cli *cli, int c, struct core_options *co, const char **pane_ceilings)
{
	char *err = NULL, *name = NULL;
	int64_t micros;
	long n;
	switch (c) {
	case CMD_CORE_ANTHROPIC: co->anthropic = optarg; return 0;
	case CMD_CORE_OPENAI: co->openai = optarg; return 0;
	case CMD_CORE_LEDGER: co->ledger = optarg; return 0;
	case CMD_CORE_LEDGER_FAIL_OPEN: co->ledger_fail_open = 1; return 0;
	case CMD_CORE_NO_METRICS_TOKEN: co->no_metrics_token = 1; return 0;
	case CMD_CORE_PORT:
		return cli_parse_port(optarg, &co->port, &err) < 0 ? cli_fail(cli, err) : 0;
	case CMD_CORE_CEILING:
		if (cli_parse_usd(optarg, &co->ceiling_micros, &err) < 0)
			return cli_fail(cli, err);
		co->has_ceiling = 1;
		return 0;
	case CMD_CORE_DAILY:
		if (cli_parse_usd(optarg, &co->daily_ceiling_micros, &err) < 0)
			return cli_fail(cli, err);
		co->has_daily_ceiling = 1;
		return 0;
	case CMD_CORE_MIN_OUTPUT:
		if (cli_parse_long(optarg, 1, REQBODY_MAX_LIMIT, "a number of output tokens",
		    &n, &err) < 0)
			return cli_fail(cli, err);
		co->min_output_tokens = n;
		return 0;
	case CMD_CORE_PANE_CEILING:
		if (cli_parse_name_usd(optarg, &name, &micros, &err) < 0)
			return cli_fail(cli, err);
		free(name);
		if (co->npane_ceilings >= CONFIG_MAX_PANES)
			return cli_fail(cli, xasprintf("at most %d", CONFIG_MAX_PANES));
		pane_ceilings[co->npane_ceilings++] = optarg;
		co->pane_ceilings = pane_ceilings;
		return 0;
	}
	return cmd_core_team_option(cli, c, &co->team);
}
