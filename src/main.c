/*
 * main: argument parsing, subcommands and wiring. `tokmux` opens the
 * workspace; `tokmux gateway`, `mock`, `report` and `demo` are the other
 * entry points. The only process-wide state lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "gateway.h"
#include "sidebar.h"
#include "ledger.h"
#include "mock.h"
#include "pricing.h"
#include "theme.h"
#include "ui.h"
#include "util.h"

#define TOKMUX_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fputs(
	    "usage: tokmux [-n 1..4] [-e CMD]... [-c CONFIG] [-v]\n"
	    "       tokmux COMMAND [ARGS]    (gateway, mock, report, demo; COMMAND --help for more)\n"
	    "\n"
	    "A terminal workspace of 1 to 4 panes for running AI coding agents side by side.\n"
	    "\n"
	    "options:\n"
	    "  -n N          number of panes, 1 to 4 (default: the config's panes, or 2)\n"
	    "  -e CMD        command for the next pane, run by /bin/sh -c (repeatable);\n"
	    "                panes without one run $SHELL\n"
	    "  -c CONFIG     config file (default $XDG_CONFIG_HOME/tokmux/config.json)\n"
	    "  -v            write a debug log to tokmux.log in the current directory\n"
	    "  --no-gateway  do not start the metering gateway (panes talk to providers directly)\n"
	    "  --port N      gateway port on 127.0.0.1 (default: any free port)\n"
	    "  --anthropic-upstream URL, --openai-upstream URL\n"
	    "                where the gateway forwards to (default: the real APIs)\n"
	    "  --ledger FILE request ledger (default $XDG_STATE_HOME/tokmux/ledger.jsonl)\n"
	    "  --theme NAME  colour theme: default, light, mono or a themes/NAME.json\n"
	    "                (default: the config's theme; NO_COLOR selects mono)\n"
	    "  -h, --help    this help\n"
	    "  --version     print the version\n"
	    "\n"
	    "keys: prefix Ctrl-g, then 1-4 focus, arrows/hjkl move, z zoom, [ scrollback,\n"
	    "      c new pane, x close, b ceiling, f model, m last requests, s sidebar,\n"
	    "      q quit, ? help; Alt-1..4 focus directly.\n",
	    f);
}

/* Load the config: an explicit -c must exist; the default path may not. */
static int
load_config(struct config *cfg, const char *path)
{
	char *err = NULL;
	if (path != NULL) {
		if (config_load(cfg, path, &err) < 0) {
			fprintf(stderr, "tokmux: %s\n", err);
			free(err);
			return -1;
		}
		return 0;
	}
	char *def = config_default_path();
	if (access(def, F_OK) == 0 && config_load(cfg, def, &err) < 0) {
		fprintf(stderr, "tokmux: %s\n", err);
		free(err);
		free(def);
		return -1;
	}
	free(def);
	return 0;
}

/* What the workspace remembers of each gateway route between sidebar
 * refreshes: the counts last seen (to notice events) and the state. */
struct ws_route {
	int known;
	struct stats_counts seen;
	enum sidebar_state state;
	int64_t alert_until_ms;
	char alert[48];
	int64_t ceiling_micros;    /* from the config until the policy owns ceilings */
};

#define WS_ALERT_MS 30000      /* an event stays in the pane's title this long */

/* The workspace's shared client core, as the UI callbacks see it. */
struct workspace {
	core_t *core;
	const struct config *cfg;
	int64_t daily_before_micros;   /* today's spend in the ledger before this session */
	struct ws_route route[STATS_MAX_ROUTES];
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
	*route = core_add_route(w->core, name, cmd, abase, sizeof abase, obase, sizeof obase);
	if (*route < 0)
		return n;
	if (*route < STATS_MAX_ROUTES) {
		struct ws_route *r = &w->route[*route];
		memset(r, 0, sizeof *r);
		r->ceiling_micros = idx < w->cfg->npanes ? w->cfg->panes[idx].ceiling_micros : -1;
	}
	env[n++] = xasprintf("ANTHROPIC_BASE_URL=%s", abase);
	env[n++] = xasprintf("OPENAI_BASE_URL=%s", obase);
	return n;
}

static int
ws_route_ok(const struct workspace *w, int route)
{
	return w->core != NULL && route >= 0 && route < STATS_MAX_ROUTES;
}

/* The in-app controls. Until the policy module is merged, ceilings and
 * model overrides cannot be enforced, so setting them says so. */
static int
workspace_set_ceiling(void *user, int route, int64_t micros, char **err)
{
	(void)user;
	(void)route;
	(void)micros;
	*err = xstrdup("ceilings arrive with the policy module");
	return -1;
}

static int64_t
workspace_current_ceiling(void *user, int route)
{
	struct workspace *w = user;
	return ws_route_ok(w, route) ? w->route[route].ceiling_micros : -1;
}

static int
workspace_set_model(void *user, int route, const char *model, char **err)
{
	(void)user;
	(void)route;
	(void)model;
	*err = xstrdup("model overrides arrive with the policy module");
	return -1;
}

static const char *
workspace_current_model(void *user, int route)
{
	(void)user;
	(void)route;
	return NULL;
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
	if (!ws_route_ok(w, route) || max < 2)
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

/* The short word an event leaves in the pane's title. */
static const char *
ws_alert_word(int ev)
{
	if (ev & SIDEBAR_EV_CEILING)
		return "ceiling reached";
	if (ev & SIDEBAR_EV_FALLBACK)
		return "fell back";
	if (ev & SIDEBAR_EV_PACED)
		return "paced (429)";
	return "";
}

/* One pane: its state, the events since the last refresh (a message at
 * the bottom and a word in its title), and when to look again. */
static void
ws_pane_update(struct workspace *w, struct ui_sidebar *sb, struct ui_pane_info *p, int i,
    const struct stats_snapshot *snap, struct sidebar_pane *sp, int64_t now_ms, int64_t *due)
{
	static const struct stats_counts zero;
	const struct stats_counts *c = &zero;
	struct ws_route *r = NULL;
	if (ws_route_ok(w, p->route) && p->route < snap->nroutes) {
		c = &snap->route[p->route];
		r = &w->route[p->route];
	}
	struct sidebar_activity act = {
		.exited = p->exited, .inflight = c->inflight, .last_output_ms = p->last_output_ms,
		.last_input_ms = p->last_input_ms, .last_request_ms = c->last_activity_ms, .now_ms = now_ms,
	};
	int64_t recheck;
	enum sidebar_state st = sidebar_state(&act, &recheck);
	if (recheck >= 0)
		*due = *due < 0 ? recheck : UTIL_MIN(*due, recheck);
	const char *alert = "";
	if (r != NULL) {
		int ev = r->known ? sidebar_events(&r->seen, c, r->state, st) : 0;
		if (ev != 0) {
			char text[256];
			sidebar_event_text(ev, i + 1, p->name, c, text, sizeof text);
			ui_sidebar_event(sb, text, 1);
			if (ev & ~SIDEBAR_EV_WAITING) {
				snprintf(r->alert, sizeof r->alert, "%s", ws_alert_word(ev));
				r->alert_until_ms = now_ms + WS_ALERT_MS;
			}
		}
		r->known = 1;
		r->seen = *c;
		r->state = st;
		if (r->alert_until_ms > now_ms) {
			alert = r->alert;
			int64_t left = r->alert_until_ms - now_ms;
			*due = *due < 0 ? left : UTIL_MIN(*due, left);
		}
	}
	snprintf(p->state, sizeof p->state, "%s%s%s", sidebar_state_name(st),
	    alert[0] ? (ui_sidebar_utf8(sb) ? " \xc2\xb7 " : " - ") : "", alert);
	p->alert = st == SIDEBAR_WAITING || alert[0] != '\0';
	p->watch_output = st != SIDEBAR_WORKING;
	p->watch_input = st == SIDEBAR_WAITING;
	*sp = (struct sidebar_pane){
		.name = p->name, .cmd = p->cmd, .route = p->route, .focused = p->focused,
		.exited = p->exited, .state = st,
		.ceiling_micros = r != NULL ? workspace_current_ceiling(w, p->route) : -1,
		.override = r != NULL ? workspace_current_model(w, p->route) : NULL,
	};
}

static int
workspace_sidebar(void *user, struct ui_sidebar *sb, int rows, int cols,
    struct ui_pane_info *panes, int npanes)
{
	struct workspace *w = user;
	struct stats_snapshot snap;
	struct rl_state rl[RATELIMIT_MAX_KEYS];
	struct sidebar_pane sp[4];
	struct sidebar_line lines[128];
	int64_t now_ms = util_now_ms(), due = -1;
	struct sidebar_input in = {
		.now = util_wall(), .utf8 = ui_sidebar_utf8(sb), .ceiling_micros = w->cfg->ceiling_micros,
		.daily_ceiling_micros = w->cfg->daily_ceiling_micros,
		.daily_before_micros = w->daily_before_micros, .warn_at = w->cfg->warn_at,
	};
	memset(&snap, 0, sizeof snap);
	if (w->core != NULL) {
		stats_snapshot(core_stats(w->core), &snap);
		in.snap = &snap;
		in.nrl = rl_table_snapshot(core_ratelimits(w->core), rl, RATELIMIT_MAX_KEYS);
		in.rl = rl;
	}
	in.npanes = UTIL_MIN(npanes, 4);
	for (int i = 0; i < in.npanes; i++)
		ws_pane_update(w, sb, &panes[i], i, &snap, &sp[i], now_ms, &due);
	in.panes = sp;
	if (rows > 0) {
		int n = sidebar_build(&in, cols, lines, UTIL_MIN(rows, 128));
		for (int i = 0; i < n; i++)
			ui_sidebar_draw(sb, i, &lines[i]);
	}
	char status[512];
	sidebar_status(&in, 0, status, sizeof status);
	ui_sidebar_status(sb, status);
	if (rows > 0 && sidebar_ticking(&in)) {
		int64_t tick = 1000 - (int64_t)((in.now - (double)(int64_t)in.now) * 1000);
		due = due < 0 ? tick : UTIL_MIN(due, tick);
	}
	return due < 0 ? -1 : (int)UTIL_MIN(due, 3600000);
}

/* Local midnight as UNIX time, for today's spend. */
static double
local_midnight(void)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (double)mktime(&tm);
}

static int
run_workspace(int argc, char **argv)
{
	enum { OPT_NO_GATEWAY = 256, OPT_PORT, OPT_ANTHROPIC, OPT_OPENAI, OPT_LEDGER, OPT_THEME };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-gateway", no_argument, NULL, OPT_NO_GATEWAY },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "anthropic-upstream", required_argument, NULL, OPT_ANTHROPIC },
		{ "openai-upstream", required_argument, NULL, OPT_OPENAI },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "theme", required_argument, NULL, OPT_THEME },
		{ NULL, 0, NULL, 0 },
	};
	struct core_options co = { .port = -1, .wake_fd = -1 };
	int no_gateway = 0;
	const char *theme_name = NULL;
	const char *cfgpath = NULL;
	const char *cmds[4] = { NULL };
	int ncmds = 0, npanes = 0, verbose = 0, c;
	while ((c = getopt_long(argc, argv, "+n:e:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || n < 1 || n > 4) {
				fprintf(stderr, "tokmux: -n: expected a number of panes from 1 to 4, got '%s'\n", optarg);
				return 2;
			}
			npanes = (int)n;
			break;
		}
		case 'e':
			if (ncmds >= 4) {
				fprintf(stderr, "tokmux: -e: at most 4 pane commands\n");
				return 2;
			}
			cmds[ncmds++] = optarg;
			break;
		case 'c': cfgpath = optarg; break;
		case OPT_NO_GATEWAY: no_gateway = 1; break;
		case OPT_PORT: {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || p < 0 || p > 65535) {
				fprintf(stderr, "tokmux: --port: expected 0..65535, got '%s'\n", optarg);
				return 2;
			}
			co.port = (int)p;
			break;
		}
		case OPT_ANTHROPIC: co.anthropic = optarg; break;
		case OPT_OPENAI: co.openai = optarg; break;
		case OPT_LEDGER: co.ledger = optarg; break;
		case OPT_THEME: theme_name = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tokmux %s\n", TOKMUX_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tokmux: unknown command '%s' (try tokmux --help)\n", argv[optind]);
		return 2;
	}
	struct config cfg;
	config_init(&cfg);
	if (load_config(&cfg, cfgpath) < 0) {
		config_free(&cfg);
		return 2;
	}
	if (npanes == 0)
		npanes = ncmds > 0 ? ncmds : (cfg.npanes > 0 ? UTIL_MIN(cfg.npanes, 4) : 2);
	if (ncmds > npanes)
		npanes = ncmds;
	/* --theme wins; NO_COLOR beats the config's theme */
	struct theme theme;
	const char *nc = getenv("NO_COLOR");
	if (theme_name == NULL)
		theme_name = nc != NULL && nc[0] != '\0' ? "mono" : cfg.theme;
	char *terr = NULL;
	if (theme_load(&theme, theme_name, &terr) < 0) {
		fprintf(stderr, "tokmux: %s\n", terr);
		free(terr);
		config_free(&cfg);
		return 2;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "tokmux: needs a terminal on stdin and stdout\n");
		config_free(&cfg);
		return 2;
	}
	if (verbose)
		util_log_open("tokmux.log");
	struct workspace ws = { .cfg = &cfg };
	int wake = -1;
	if (cfg.gateway && !no_gateway) {
		ui_block_signals();   /* before the gateway's threads start */
		wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		co.cfg = &cfg;
		co.wake_fd = wake;
		char *err = NULL;
		ws.core = core_start(&co, &err);
		if (ws.core == NULL) {
			fprintf(stderr, "tokmux: %s\n", err);
			free(err);
			close(wake);
			config_free(&cfg);
			return 1;
		}
	}
	if (ws.core != NULL) {
		int64_t before = ledger_spend_since(core_ledger_path(ws.core), local_midnight());
		ws.daily_before_micros = before > 0 ? before : 0;
	}
	struct ui_options o = {
		.cfg = &cfg,
		.npanes = npanes,
		.wake_fd = wake,
		.env_fn = workspace_env,
		.sidebar_fn = workspace_sidebar,
		.controls = {
			.set_ceiling = workspace_set_ceiling,
			.current_ceiling = workspace_current_ceiling,
			.set_model = workspace_set_model,
			.current_model = workspace_current_model,
			.models = workspace_models,
			.requests = workspace_requests,
		},
		.theme = &theme,
		.ring_bell = cfg.bell,
		.user = &ws,
	};
	for (int i = 0; i < ncmds; i++)
		o.cmds[i] = cmds[i];
	int rc = ui_run(&o);
	core_stop(ws.core);
	if (wake >= 0)
		close(wake);
	config_free(&cfg);
	util_log_close();
	return rc;
}

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("tokmux %s\n", TOKMUX_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "mock") == 0)
		return mock_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "gateway") == 0)
		return gateway_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	return run_workspace(argc, argv);
}
