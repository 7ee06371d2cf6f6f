/*
 * cli: what every front end (src/cmd_*.c, src/demo/cmd_*.c) shares: the
 * value parsers for option arguments, getopt_long with --help and
 * --version added, and one error format with the program's name once:
 *   tokmux gateway: --port: expected 0..65535, got ""
 *   tokmux gateway: unknown option "--bogus" (try tokmux gateway --help)
 *   tokmux gateway: --port needs a value
 * Usage errors exit CLI_USAGE (2) in every front end.
 */
#ifndef TOKMUX_CLI_H
#define TOKMUX_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#define TOKMUX_VERSION "0.1.0"
#define CLI_USAGE 2             /* exit status of a usage error */
#define CLI_MAX_OPTS 32         /* long options of one front end, --help and --version included */

/* getopt values cli_next() reserves: front ends use values below CLI_OPT_HELP
 * other than 'h' (which is -h). */
enum { CLI_OPT_HELP = 'h', CLI_OPT_VERSION = 0x7000, CLI_EXIT = -2 };

/*
 * Value parsers. Each returns 0 and sets *out, or -1 and sets *err to a
 * malloc'd description such as `expected 0..65535, got ""`: no option and
 * no program name (cli_fail() adds both).
 */
/* A TCP port 0..65535 (0: any free port); an empty string is refused. */
int cli_parse_port(const char *s, int *out, char **err);
/* A whole number from min to max. what names it in the message
 * ("expected a number of panes from 1 to 4"); NULL: "expected 1..4". */
int cli_parse_long(const char *s, long min, long max, const char *what, long *out, char **err);
/* A dollar amount of 0 or more ("5", "1.50", "$2", "0": blocks) in micro-dollars. */
int cli_parse_usd(const char *s, int64_t *micros, char **err);
/* NAME=USD (a pane or route name or number, then dollars >= 0, e.g. 2=1.50).
 * *name is malloc'd; the last '=' splits, so a name may hold '='. */
int cli_parse_name_usd(const char *s, char **name, int64_t *micros, char **err);
/* A duration: "500ms", "30s", "5m", "1h" or plain seconds ("90"), at most
 * 30 days, in milliseconds. */
int cli_parse_duration(const char *s, int64_t *ms, char **err);
/* A local date YYYY-MM-DD: its local midnight as UNIX time. */
int cli_parse_date(const char *s, double *t, char **err);
/* One of choices (NULL-terminated): its index ("expected day, model or pane"). */
int cli_parse_choice(const char *s, const char *const *choices, int *index, char **err);

/* One front end's command line, for cli_next(). */
struct cli {
	const char *prog;               /* "tokmux gateway": the one prefix of every message */
	void (*usage)(FILE *f, const void *ctx);   /* prints the --help text */
	const void *usage_ctx;          /* usage's ctx (NULL; set after cli_init if needed) */
	const char *opt;                /* after cli_next(): the option as named ("--port", "-n") */
	int status;                     /* after CLI_EXIT: the exit status (0 or CLI_USAGE) */
	char shortopts[64];
	struct option longopts[CLI_MAX_OPTS + 1];
	char optname[64];
};

/* Set up c for argv (restarts getopt). shortopts as getopt's (without a
 * leading '+' or ':'), longopts ends with a zero entry; -h, --help and
 * --version are added. Options stop at the first argument that is not one. */
void cli_init(struct cli *c, const char *prog, const char *shortopts,
    const struct option *longopts, void (*usage)(FILE *f, const void *ctx));

/* The next option's value (as getopt_long: optarg holds its argument), -1
 * after the last option (optind is the first other argument), or CLI_EXIT
 * when the front end should return c->status: after --help (usage on
 * stdout) or --version (0), or after an unknown option, a missing value or
 * a value given to an option that takes none (one line on stderr, CLI_USAGE). */
int cli_next(struct cli *c, int argc, char **argv);

/* "PROG: OPT: err" on stderr (err is consumed); returns CLI_USAGE. */
int cli_fail(const struct cli *c, char *err);
/* "PROG: " + the printf text on stderr; returns status. */
int cli_error(const struct cli *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "PROG: err" on stderr (err is consumed): a run-time error; returns 1. */
int cli_fail_run(const struct cli *c, char *err);
/* CLI_USAGE with `PROG: unexpected argument "X"` if arguments are left
 * after the options, else 0. */
int cli_no_args(const struct cli *c, int argc, char **argv);

#endif
