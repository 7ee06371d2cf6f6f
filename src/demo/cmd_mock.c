/*
 * cmd_mock: `tokmux mock`, the mock provider alone: prints
 * "mock listening on http://127.0.0.1:PORT" and serves until SIGINT or
 * SIGTERM; SIGHUP reloads the script. Exit status: 0, 1 if it cannot
 * start, 2 for bad usage.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd.h"
#include "mock.h"

static void
cmd_mock_usage(FILE *f, const void *ctx)
{
	fputs("usage: tokmux mock [--port N] [--script FILE] [--log FILE] [--quiet]\n"
	    "  Serve a scripted fake Anthropic/OpenAI provider on 127.0.0.1.\n"
	    "  --port N       port to listen on (default 0: any free port)\n"
	    "  --script FILE  JSON script of faults and usage (see docs/MOCK.md)\n"
	    "  --log FILE     append one JSON line per served request\n"
	    "  -q, --quiet    no per-request lines on stderr\n"
	    "  -h, --help     this help\n"
	    "  --version      print the version\n"
	    "  SIGHUP reloads the script; SIGINT/SIGTERM stop.\n", f);
}

/* Serve until SIGINT or SIGTERM, reloading the script on SIGHUP. */
static int
cmd_mock_serve(const struct mock_options *o)
{
	/* Block the stop signals before MHD starts its threads; wait for them here. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	char *err = NULL;
	mock_t *m = mock_start(o, &err);
	if (m == NULL) {
		fprintf(stderr, "tokmux mock: %s\n", err);
		free(err);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 1;
	}
	printf("mock listening on http://127.0.0.1:%d\n", mock_port(m));
	fflush(stdout);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0 || sig != SIGHUP)
			break;
		if (mock_load_script(m, o->script_path, &err) < 0) {
			fprintf(stderr, "tokmux mock: reload: %s\n", err);
			free(err);
			err = NULL;
		} else if (!o->quiet) {
			fprintf(stderr, "tokmux mock: script reloaded\n");
		}
	}
	mock_stop(m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int
cmd_mock_main(int argc, char **argv)
{
	enum { OPT_PORT = 256, OPT_SCRIPT, OPT_LOG };
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "script", required_argument, NULL, OPT_SCRIPT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct mock_options o = { 0 };
	struct cli cli;
	char *err = NULL;
	int c;
	cli_init(&cli, "tokmux mock", "q", longopts, cmd_mock_usage);
	while ((c = cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case CLI_EXIT: return cli.status;
		case 'q': o.quiet = 1; break;
		case OPT_SCRIPT: o.script_path = optarg; break;
		case OPT_LOG: o.log_path = optarg; break;
		case OPT_PORT:
			if (cli_parse_port(optarg, &o.port, &err) < 0)
				return cli_fail(&cli, err);
			break;
		}
	}
	if (cli_no_args(&cli, argc, argv) != 0)
		return CLI_USAGE;
	return cmd_mock_serve(&o);
}
