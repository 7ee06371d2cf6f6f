/*
 * cmd_core: the command-line options of the shared core, which `tokmux`
 * and `tokmux gateway` both take: where the gateway listens and forwards
 * to, the ledger, the spend ceilings and the output floor (see cmd.h).
 */
#include <stdlib.h>

#include "cli.h"
#include "cmd.h"
#include "config.h"
#include "core.h"
#include "reqbody.h"
#include "util.h"

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
	return -1;
}
