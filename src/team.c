/*
 * team: owns a team budget's settings (config keys and flags, checked and
 * merged) and turning them into budget-store scopes: names of ceilings
 * ("team:day:opus"), the per-period counters of the team and of a member,
 * and the budget_open options. The store itself is budget.c's.
 */
#include "team.h"

#include <cjson/cJSON.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "budget_redis.h"
#include "jsoncheck.h"
#include "model.h"
#include "util.h"

static const char *const team_families[TEAM_FAMILIES] = { "", "opus", "sonnet", "haiku" };
static const char *const team_config_keys[] = { TEAM_CONFIG_KEYS, NULL };

#define TEAM_STORE_EXPECT "memory or redis://[:PASSWORD@]HOST[:PORT][/DB]"

void
team_settings_init(struct team_settings *t)
{
	memset(t, 0, sizeof *t);
}

void
team_ceiling_set(struct team_ceilings *c, int family, enum period_kind k, int64_t micros)
{
	c->micros[family][k] = micros < 0 ? TEAM_NONE : micros;
	c->given[family][k] = 1;
}

static void
team_free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
team_settings_free(struct team_settings *t)
{
	team_free_secret(&t->store);
	free(t->team);
	free(t->member);
	free(t->tz);
	team_settings_init(t);
}

/* ---------------------------------------------------------------- values */

int
team_check_store(const char *url, char **err)
{
	if (url != NULL && strcmp(url, "memory") == 0)
		return 0;
	if (url != NULL && (strncasecmp(url, "redis://", 8) == 0 ||
	    strncasecmp(url, "rediss://", 9) == 0)) {
		struct budget_redis_url u;
		int rc = budget_redis_url_parse(url, &u, err);
		budget_redis_url_clear(&u);
		return rc;
	}
	/* the value is never repeated: it may be a URL with a password */
	*err = xstrdup("expected " TEAM_STORE_EXPECT);
	return -1;
}

int
team_check_name(const char *s, int member, char **err)
{
	if (!budget_name_ok(s)) {
		*err = xasprintf("expected a %s name of 1 to 63 letters, digits, '.', '_' or '-', "
		    "got \"%.80s\"", member ? "member" : "team", s);
		return -1;
	}
	if (member && strcmp(s, "team") == 0) {
		*err = xstrdup("expected a member name other than \"team\" (tokmux team set team "
		    "... means the team's own ceilings)");
		return -1;
	}
	return 0;
}

int
team_parse_ceiling(const char *s, int allow_unset, int *family, enum period_kind *k,
    int64_t *micros, char **err)
{
	const char *eq = strrchr(s, '=');
	char spec[32];
	if (eq == NULL || (size_t)(eq - s) >= sizeof spec) {
		*err = xasprintf("expected PERIOD[:FAMILY]=USD (day, week or month; opus, sonnet "
		    "or haiku), e.g. day=50 or week:opus=100, got \"%.80s\"", s);
		return -1;
	}
	memcpy(spec, s, (size_t)(eq - s));
	spec[eq - s] = '\0';
	char *colon = strchr(spec, ':');
	if (colon != NULL)
		*colon++ = '\0';
	if (period_parse(spec, k) != 0) {
		*err = xasprintf("expected a period of day, week or month, got \"%s\"", spec);
		return -1;
	}
	*family = colon != NULL ? team_family_index(colon) : TEAM_ALL;
	if (*family < 0 || (colon != NULL && *family == TEAM_ALL)) {
		*err = xasprintf("expected a model family of opus, sonnet or haiku, got \"%s\"", colon);
		return -1;
	}
	const char *v = eq + 1;
	if (strcmp(v, "none") == 0)
		*micros = TEAM_NONE;
	else if (allow_unset && strcmp(v, "unset") == 0)
		*micros = TEAM_UNSET;
	else if (util_parse_usd(v, micros) != 0) {
		*err = xasprintf("expected a dollar amount%s after \"=\", got \"%.40s\"",
		    allow_unset ? ", none or unset" : " or none", v);
		return -1;
	}
	return 0;
}

/* The authority of a redis:// URL: [start, end) of its userinfo, if any. */
static int
team_userinfo(const char *url, const char **start, const char **end)
{
	const char *p = strstr(url, "://");
	if (p == NULL)
		return 0;
	p += 3;
	const char *slash = strchr(p, '/');
	const char *at = NULL;
	for (const char *q = p; *q != '\0' && (slash == NULL || q < slash); q++)
		if (*q == '@')
			at = q;     /* the last '@' before the path, as budget_redis */
	if (at == NULL)
		return 0;
	*start = p;
	*end = at;
	return 1;
}

int
team_scrub_password(char *url)
{
	const char *start, *end;
	if (url == NULL || !team_userinfo(url, &start, &end))
		return 0;
	char *colon = memchr(start, ':', (size_t)(end - start));
	if (colon == NULL || colon + 1 == end)
		return 0;
	memset(colon + 1, 'x', (size_t)(end - colon - 1));
	return 1;
}

void
team_store_where(const char *url, char *buf, size_t len)
{
	struct budget_redis_url u;
	char *err = NULL;
	if (url == NULL || strcmp(url, "memory") == 0) {
		snprintf(buf, len, "memory");
		return;
	}
	if (budget_redis_url_parse(url, &u, &err) != 0) {
		free(err);
		snprintf(buf, len, "(a bad store URL)");
		return;
	}
	int v6 = strchr(u.host, ':') != NULL;
	snprintf(buf, len, "redis %s%s%s:%d", v6 ? "[" : "", u.host, v6 ? "]" : "", u.port);
	if (u.db != 0)
		snprintf(buf + strlen(buf), len - strlen(buf), "/%d", u.db);
	budget_redis_url_clear(&u);
}

void
team_login_name(char *buf, size_t len)
{
	char pwbuf[4096];
	struct passwd pw, *res = NULL;
	const char *name = NULL;
	if (getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res != NULL)
		name = res->pw_name;
	if (name == NULL || name[0] == '\0')
		name = getenv("USER");
	if (name == NULL || name[0] == '\0')
		name = TEAM_DEFAULT_NAME;
	size_t n = UTIL_MIN(strlen(name), UTIL_MIN(len, (size_t)BUDGET_NAME_MAX) - 1);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-';
		buf[i] = ok ? c : '_';
	}
	buf[n] = '\0';
	if (strcmp(buf, "team") == 0)    /* reserved for the team's own ceilings */
		snprintf(buf, len, "team_");
}

/* ---------------------------------------------------------------- config */

int
team_config_has(const char *key)
{
	for (int i = 0; team_config_keys[i] != NULL; i++)
		if (strcmp(key, team_config_keys[i]) == 0)
			return 1;
	return 0;
}

/* A dollar amount >= 0 or null (none). */
static int
team_config_usd(const struct jsoncheck *x, const cJSON *v, const char *parent, const char *key,
    int64_t *out)
{
	if (cJSON_IsNull(v)) {
		*out = TEAM_NONE;
		return 0;
	}
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e8)
		return jsoncheck_fail(x, parent, key, "a number of US dollars >= 0 (or null for none)");
	*out = (int64_t)(v->valuedouble * 1e6 + 0.5);
	return 0;
}

/* {"day": USD, "week": USD, "month": USD} of one family. */
static int
team_config_periods(const struct jsoncheck *x, const cJSON *v, const char *path,
    struct team_ceilings *c, int family)
{
	static const char *const periods[] = { "day", "week", "month", NULL };
	static const char *const all[] = { "day", "week", "month", "opus", "sonnet", "haiku", NULL };
	if (!cJSON_IsObject(v))
		return jsoncheck_fail(x, NULL, path, family == TEAM_ALL ?
		    "an object like {\"day\": 50, \"week\": 200, \"opus\": {\"day\": 20}}" :
		    "an object like {\"day\": 20, \"month\": 300}");
	if (jsoncheck_keys(x, v, path, family == TEAM_ALL ? all : periods) < 0)
		return -1;
	const cJSON *m;
	cJSON_ArrayForEach(m, v) {
		enum period_kind k;
		int64_t usd = 0;
		if (period_parse(m->string, &k) != 0)
			continue;
		if (team_config_usd(x, m, path, m->string, &usd) < 0)
			return -1;
		team_ceiling_set(c, family, k, usd);
	}
	return 0;
}

static int
team_config_ceilings(const struct jsoncheck *x, const cJSON *v, struct team_ceilings *c)
{
	if (team_config_periods(x, v, v->string, c, TEAM_ALL) < 0)
		return -1;
	for (int f = 1; f < TEAM_FAMILIES; f++) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, team_families[f]);
		char path[64];
		snprintf(path, sizeof path, "%s.%s", v->string, team_families[f]);
		if (m != NULL && team_config_periods(x, m, path, c, f) < 0)
			return -1;
	}
	return 0;
}

/* A string key checked by check (may be NULL) into *out. */
static int
team_config_string(const struct jsoncheck *x, const cJSON *v, char **out,
    int (*check)(const char *s, int member, char **err), int member)
{
	const char *s;
	char *why = NULL;
	if (jsoncheck_string(x, v, NULL, v->string, 1, &s) < 0)
		return -1;
	if (check != NULL && check(s, member, &why) < 0) {
		/* jsoncheck says "expected " itself; other messages (a bad store
		 * URL's, never with its password) go in brackets */
		int rc = strncmp(why, "expected ", 9) == 0 ?
		    jsoncheck_fail(x, NULL, v->string, "%s", why + 9) :
		    jsoncheck_fail(x, NULL, v->string, TEAM_STORE_EXPECT " (%s)", why);
		free(why);
		return rc;
	}
	team_free_secret(out);
	*out = xstrdup(s);
	return 0;
}

static int
team_config_store(const char *s, int member, char **err)
{
	return team_check_store(s, err);
}

static int
team_config_tz(const char *s, int member, char **err)
{
	struct period_tz tz;
	char *why = NULL;
	if (period_tz_parse(s, &tz, &why) == 0)
		return 0;
	free(why);
	*err = xasprintf("expected UTC, local or an offset such as +01:00, got \"%.40s\"", s);
	return -1;
}

int
team_config_load(const struct jsoncheck *x, const cJSON *v, struct team_settings *t)
{
	const char *k = v->string;
	if (strcmp(k, "team") == 0)
		return team_config_string(x, v, &t->team, team_check_name, 0);
	if (strcmp(k, "member") == 0)
		return team_config_string(x, v, &t->member, team_check_name, 1);
	if (strcmp(k, "budget_store") == 0)
		return team_config_string(x, v, &t->store, team_config_store, 0);
	if (strcmp(k, "budget_tz") == 0)
		return team_config_string(x, v, &t->tz, team_config_tz, 0);
	if (strcmp(k, "budget_fail_open") == 0)
		return jsoncheck_bool(x, v, NULL, k, &t->fail_open);
	if (strcmp(k, "budget_lease_ms") == 0) {
		int64_t ms;
		if (jsoncheck_int(x, v, NULL, k, TEAM_LEASE_MIN_MS, TEAM_LEASE_MAX_MS, &ms) != 0)
			return -1;
		t->lease_ms = (int)ms;
		return 0;
	}
	if (strcmp(k, "team_ceilings") == 0)
		return team_config_ceilings(x, v, &t->team_ceilings);
	if (strcmp(k, "member_ceilings") == 0)
		return team_config_ceilings(x, v, &t->member_ceilings);
	return jsoncheck_fail(x, NULL, k, "a team budget key");
}

/* ----------------------------------------------------------------- merge */

static void
team_ceilings_merge(struct team_ceilings *out, const struct team_ceilings *cfg,
    const struct team_ceilings *cli)
{
	for (int f = 0; f < TEAM_FAMILIES; f++)
		for (int k = 0; k < PERIOD_COUNT; k++)
			team_ceiling_set(out, f, (enum period_kind)k, cli->given[f][k] ?
			    cli->micros[f][k] : cfg->given[f][k] ? cfg->micros[f][k] : TEAM_NONE);
}

static char *
team_pick(const char *cli, const char *cfg, const char *dflt)
{
	const char *s = cli != NULL ? cli : cfg != NULL ? cfg : dflt;
	return s != NULL ? xstrdup(s) : NULL;
}

void
team_settings_merge(struct team_settings *out, const struct team_settings *cfg,
    const struct team_settings *cli)
{
	struct team_settings none;
	team_settings_init(&none);
	if (cfg == NULL)
		cfg = &none;
	if (cli == NULL)
		cli = &none;
	team_settings_init(out);
	char login[BUDGET_NAME_MAX];
	team_login_name(login, sizeof login);
	out->store = team_pick(cli->store, cfg->store, "memory");
	out->team = team_pick(cli->team, cfg->team, TEAM_DEFAULT_NAME);
	out->member = team_pick(cli->member, cfg->member, login);
	out->tz = team_pick(cli->tz, cfg->tz, "UTC");
	out->fail_open = cli->fail_open || cfg->fail_open;
	out->lease_ms = cli->lease_ms > 0 ? cli->lease_ms : cfg->lease_ms;
	team_ceilings_merge(&out->team_ceilings, &cfg->team_ceilings, &cli->team_ceilings);
	team_ceilings_merge(&out->member_ceilings, &cfg->member_ceilings, &cli->member_ceilings);
}

void
team_budget_options(const struct team_settings *t, struct budget_options *o)
{
	memset(o, 0, sizeof *o);
	o->url = t->store;
	o->team = t->team;
	o->member = t->member;
	o->lease_ms = t->lease_ms;
}

/* -------------------------------------------------------------- scopes */

const char *
team_family_name(int family)
{
	return family >= 0 && family < TEAM_FAMILIES ? team_families[family] : "";
}

int
team_family_index(const char *name)
{
	for (int f = 0; name != NULL && f < TEAM_FAMILIES; f++)
		if (strcmp(name, team_families[f]) == 0)
			return f;
	return -1;
}

int
team_family_of(const char *model)
{
	const char *f = model_family(model);
	int i = f != NULL ? team_family_index(f) : -1;
	return i > 0 ? i : TEAM_ALL;
}

int
team_limit_name(char *buf, size_t len, const char *member, enum period_kind k, int family)
{
	const char *fam = team_family_name(family);
	int n = member != NULL ?
	    snprintf(buf, len, "member:%s:%s%s%s", member, period_name(k), fam[0] ? ":" : "", fam) :
	    snprintf(buf, len, "team:%s%s%s", period_name(k), fam[0] ? ":" : "", fam);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
team_scope(const struct team_settings *t, const struct period_tz *tz, double now,
    const char *member, enum period_kind k, int family, struct budget_scope *out)
{
	char owner[BUDGET_NAME_MAX + 8];
	const struct team_ceilings *c = member != NULL ? &t->member_ceilings : &t->team_ceilings;
	int64_t ceiling = c->micros[family][k];
	if (member != NULL)
		snprintf(owner, sizeof owner, "member:%s", member);
	else
		snprintf(owner, sizeof owner, "team");
	return budget_scope_period(out, owner, k, tz, now, team_family_name(family),
	    ceiling < 0 ? BUDGET_NONE : ceiling);
}

int
team_scopes(const struct team_settings *t, const struct period_tz *tz, double now,
    int family, struct budget_scope *out, int max)
{
	int n = 0;
	for (int who = 0; who < 2; who++) {
		for (int f = 0; f <= (family != TEAM_ALL ? 1 : 0); f++) {
			for (int k = 0; k < PERIOD_COUNT; k++) {
				if (n >= max || team_scope(t, tz, now, who ? t->member : NULL,
				    (enum period_kind)k, f ? family : TEAM_ALL, &out[n]) != 0)
					return -1;
				n++;
			}
		}
	}
	return n;
}
