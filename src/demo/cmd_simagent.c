/*
 * cmd_simagent: `tokmux sim-agent`, the scripted agent the demo runs in
 * each pane (simagent.c). Exit status: 0, 2 for bad usage or a missing
 * base URL.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd.h"
#include "simagent.h"
#include "util.h"

static void
cmd_simagent_usage(FILE *f, const void *ctx)
{
	fprintf(f, "usage: tokmux sim-agent [--persona NAME] [--model M] [--requests N] [--seed S]\n"
	    "                         [--api anthropic|openai]\n"
	    "A scripted coding agent for the demo: prints a session transcript and sends\n"
	    "streaming requests to $ANTHROPIC_BASE_URL (or $OPENAI_BASE_URL).\n"
	    "  --persona NAME   one of %s (default refactor)\n"
	    "  --model M        the model to ask for (default: the persona's)\n"
	    "  --requests N     model calls per run, 1..200 (default: the persona's)\n"
	    "  --seed S         seed of the first run's transcript, 0..1073741824 (default 1)\n"
	    "  --api API        anthropic (default) or openai\n"
	    "  -h, --help       this help\n"
	    "  --version        print the version\n", simagent_persona_names());
}

/* One option's value into o; 0, or the exit status of a usage error. */
static int
cmd_simagent_option(struct cli *cli, int c, struct simagent_options *o)
{
	static const char *const apis[] = { "anthropic", "openai", NULL };  /* enum simagent_api */
	char *err = NULL;
	long v;
	int api;
	switch (c) {
	case 'p':
		if ((o->persona = simagent_persona(optarg)) == NULL)
			return cli_fail(cli, xasprintf("expected one of %s, got \"%s\"",
			    simagent_persona_names(), optarg));
		return 0;
	case 'm': o->model = optarg; return 0;
	case 'r':
		if (cli_parse_long(optarg, 1, 200, NULL, &v, &err) < 0)
			return cli_fail(cli, err);
		o->requests = (int)v;
		return 0;
	case 's':
		if (cli_parse_long(optarg, 0, 1L << 30, NULL, &v, &err) < 0)
			return cli_fail(cli, err);
		o->seed = (uint64_t)v;
		return 0;
	case 'a':
		if (cli_parse_choice(optarg, apis, &api, &err) < 0)
			return cli_fail(cli, err);
		o->api = (enum simagent_api)api;
		return 0;
	}
	return CLI_USAGE;
}

int
cmd_simagent_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "persona", required_argument, NULL, 'p' },
		{ "model", required_argument, NULL, 'm' },
		{ "requests", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "api", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct simagent_options o = { .requests = -1, .seed = 1, .api = SIMAGENT_ANTHROPIC };
	struct cli cli;
	int c, rc;
	cli_init(&cli, "tokmux sim-agent", "", longopts, cmd_simagent_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		if (c == CLI_EXIT)
			return cli.status;
		if ((rc = cmd_simagent_option(&cli, c, &o)) != 0)
			return rc;
	}
	if (cli_no_args(&cli, argc, argv) != 0)
		return CLI_USAGE;
	char *err = NULL;
	if (simagent_run(&o, &err) < 0) {
		cli_error(&cli, CLI_USAGE, "%s", err);
		free(err);
		return CLI_USAGE;
	}
	return 0;
}
