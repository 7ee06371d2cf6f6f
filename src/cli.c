/*
 * cli: the value parsers every front end shares, and getopt_long wrapped so
 * that each front end gets --help, --version and the same one-line usage
 * errors. The only state is getopt's own (optind, optarg), which
 * cli_init() restarts.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define CLI_MAX_DURATION_MS (30LL * 24 * 3600 * 1000)

/* ------------------------------------------------------------ values */

int
cli_parse_long(const char *s, long min, long max, const char *what, long *out, char **err)
{
	char *end;
	errno = 0;
	long v = *s != '\0' && !isspace((unsigned char)*s) ? strtol(s, &end, 10) : 0;
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' || errno == ERANGE ||
	    v < min || v > max) {
		if (what != NULL)
			*err = xasprintf("expected %s from %ld to %ld, got \"%s\"", what, min, max, s);
		else
			*err = xasprintf("expected %ld..%ld, got \"%s\"", min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int
cli_parse_port(const char *s, int *out, char **err)
{
	long v;
	if (cli_parse_long(s, 0, 65535, NULL, &v, err) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

int
cli_parse_usd(const char *s, int64_t *micros, char **err)
{
	int64_t v;
	if (util_parse_usd(s, &v) != 0 || v < 0) {
		*err = xasprintf("expected a dollar amount (0 blocks), got \"%s\"", s);
		return -1;
	}
	*micros = v;
	return 0;
}

int
cli_parse_name_usd(const char *s, char **name, int64_t *micros, char **err)
{
	const char *eq = strrchr(s, '=');
	if (eq == NULL || eq == s) {
		*err = xasprintf("expected NAME=USD (a pane or route name or number, then "
		    "dollars, e.g. 2=1.50), got \"%s\"", s);
		return -1;
	}
	if (util_parse_usd(eq + 1, micros) != 0) {
		*err = xasprintf("expected a dollar amount after \"=\", got \"%s\"", eq + 1);
		return -1;
	}
	*name = xstrndup(s, (size_t)(eq - s));
	return 0;
}

int
cli_parse_duration(const char *s, int64_t *ms, char **err)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	const char *p = s;
	int64_t v = 0;
	while (*p >= '0' && *p <= '9' && v <= CLI_MAX_DURATION_MS)
		v = v * 10 + (*p++ - '0');
	for (size_t i = 0; p > s && i < UTIL_ARRAY_LEN(units); i++) {
		if (strcmp(p, units[i].unit) == 0 && v <= CLI_MAX_DURATION_MS / units[i].ms) {
			*ms = v * units[i].ms;
			return 0;
		}
	}
	*err = xasprintf("expected a duration such as 500ms, 30s, 5m or 1h (at most 30 days), "
	    "got \"%s\"", s);
	return -1;
}

/* Local midnight of "YYYY-MM-DD"; -1 if malformed or no such day. */
static double
cli_local_day(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return -1;
	struct tm tm = { 0 };
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_isdst = -1;
	int mon = tm.tm_mon, mday = tm.tm_mday;
	if (mon < 0 || mon > 11 || mday < 1 || mday > 31)
		return -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_mon != mon || tm.tm_mday != mday)
		return -1;
	return (double)t;
}

int
cli_parse_date(const char *s, double *t, char **err)
{
	double v = cli_local_day(s);
	if (v < 0) {
		*err = xasprintf("expected a date YYYY-MM-DD, got \"%s\"", s);
		return -1;
	}
	*t = v;
	return 0;
}

int
cli_parse_choice(const char *s, const char *const *choices, int *index, char **err)
{
	int n = 0;
	for (; choices[n] != NULL; n++) {
		if (strcmp(s, choices[n]) == 0) {
			*index = n;
			return 0;
		}
	}
	struct buf b = { 0 };
	for (int i = 0; i < n; i++)
		buf_appendf(&b, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", choices[i]);
	*err = xasprintf("expected %s, got \"%s\"", b.data != NULL ? b.data : "nothing", s);
	buf_free(&b);
	return -1;
}

/* ----------------------------------------------------------- options */

void
cli_init(struct cli *c, const char *prog, const char *shortopts,
    const struct option *longopts, void (*usage)(FILE *f, const void *ctx))
{
	memset(c, 0, sizeof *c);
	c->prog = prog;
	c->usage = usage;
	c->opt = c->optname;
	/* "+": stop at the first argument; ":": report a missing value as ':' */
	snprintf(c->shortopts, sizeof c->shortopts, "+:%sh", shortopts != NULL ? shortopts : "");
	int n = 0;
	for (; longopts != NULL && longopts[n].name != NULL && n < CLI_MAX_OPTS - 2; n++)
		c->longopts[n] = longopts[n];
	c->longopts[n++] = (struct option){ "help", no_argument, NULL, CLI_OPT_HELP };
	c->longopts[n++] = (struct option){ "version", no_argument, NULL, CLI_OPT_VERSION };
	optind = 0;     /* glibc: start over, even after an earlier front end ran */
	opterr = 0;
}

/* The option that argv[optind - 1] names: "--port" (without "=value") or "-n". */
static void
cli_name_option(struct cli *c, char **argv, int optchar)
{
	const char *word = optind > 0 ? argv[optind - 1] : "";
	if (strncmp(word, "--", 2) == 0)
		snprintf(c->optname, sizeof c->optname, "%.*s", (int)strcspn(word, "="), word);
	else
		snprintf(c->optname, sizeof c->optname, "-%c", optchar);
}

/* '?' from getopt_long: an unknown option, or a value given to one that takes none. */
static int
cli_bad_option(struct cli *c, char **argv)
{
	const char *word = optind > 0 ? argv[optind - 1] : "";
	c->status = CLI_USAGE;
	if (optopt != 0 && strncmp(word, "--", 2) == 0 && strchr(word, '=') != NULL) {
		cli_name_option(c, argv, optopt);
		cli_error(c, CLI_USAGE, "%s takes no value", c->optname);
		return CLI_EXIT;
	}
	if (optopt != 0)
		snprintf(c->optname, sizeof c->optname, "-%c", optopt);
	else
		snprintf(c->optname, sizeof c->optname, "%s", word);
	cli_error(c, CLI_USAGE, "unknown option \"%s\" (try %s --help)", c->optname, c->prog);
	return CLI_EXIT;
}

int
cli_next(struct cli *c, int argc, char **argv)
{
	int idx = -1;
	int ch = getopt_long(argc, argv, c->shortopts, c->longopts, &idx);
	if (ch == -1)
		return -1;
	if (ch == '?')
		return cli_bad_option(c, argv);
	if (idx >= 0)
		snprintf(c->optname, sizeof c->optname, "--%s", c->longopts[idx].name);
	else
		cli_name_option(c, argv, ch == ':' ? optopt : ch);
	if (ch == ':') {
		c->status = cli_error(c, CLI_USAGE, "%s needs a value", c->optname);
		return CLI_EXIT;
	}
	if (ch == CLI_OPT_HELP || ch == CLI_OPT_VERSION) {
		if (ch == CLI_OPT_HELP)
			c->usage(stdout, c->usage_ctx);
		else
			printf("tokmux %s\n", TOKMUX_VERSION);
		c->status = 0;
		return CLI_EXIT;
	}
	return ch;
}

int
cli_fail(const struct cli *c, char *err)
{
	fprintf(stderr, "%s: %s: %s\n", c->prog, c->opt, err);
	free(err);
	return CLI_USAGE;
}

int
cli_error(const struct cli *c, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", c->prog, msg);
	free(msg);
	return status;
}

int
cli_fail_run(const struct cli *c, char *err)
{
	cli_error(c, 1, "%s", err);
	free(err);
	return 1;
}

int
cli_no_args(const struct cli *c, int argc, char **argv)
{
	if (optind >= argc)
		return 0;
	return cli_error(c, CLI_USAGE, "unexpected argument \"%s\"", argv[optind]);
}
