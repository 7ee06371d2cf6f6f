/*
 * team_status: owns reading a team's state from the budget store (one
 * budget_read of 12 scopes per owner: day, week and month for all models
 * and each family) and its two renderings, the table of `tokmux team` and
 * its JSON.
 */
#include "team_status.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Scopes of one owner: s[f * PERIOD_COUNT + k]. */
static int
team_status_scopes(const struct team_settings *t, const struct period_tz *tz, double now,
    const char *member, struct budget_scope s[TEAM_FAMILIES * PERIOD_COUNT])
{
	for (int f = 0; f < TEAM_FAMILIES; f++)
		for (int k = 0; k < PERIOD_COUNT; k++)
			if (team_scope(t, tz, now, member, (enum period_kind)k, f,
			    &s[f * PERIOD_COUNT + k]) != 0)
				return -1;
	return 0;
}

static int
team_status_owner(budget_t *b, const struct team_settings *t, const struct period_tz *tz,
    double now, struct team_status_owner *o, char *err, size_t len)
{
	struct budget_scope s[TEAM_FAMILIES * PERIOD_COUNT];
	struct budget_state out[TEAM_FAMILIES * PERIOD_COUNT];
	if (team_status_scopes(t, tz, now, o->name[0] ? o->name : NULL, s) != 0) {
		snprintf(err, len, "member name '%s' makes no valid store key", o->name);
		return BUDGET_EINVAL;
	}
	int rc = budget_read(b, s, TEAM_FAMILIES * PERIOD_COUNT, out, err, len);
	if (rc != BUDGET_OK)
		return rc;
	for (int f = 0; f < TEAM_FAMILIES; f++)
		for (int k = 0; k < PERIOD_COUNT; k++)
			o->s[f][k] = out[f * PERIOD_COUNT + k];
	return BUDGET_OK;
}

/* Add to m[0..n) the members that have a stored ceiling but no activity
 * yet (last 0, at the end). The new count, or a negative budget_rc. */
static int
team_status_stored_members(budget_t *b, struct budget_member *m, int n, char *err, size_t len)
{
	struct budget_ceiling *c = xcalloc(TEAM_STATUS_MAX_MEMBERS, sizeof *c);
	int nc = budget_ceilings(b, c, TEAM_STATUS_MAX_MEMBERS, err, len);
	for (int i = 0; i < nc && n < TEAM_STATUS_MAX_MEMBERS; i++) {
		if (strncmp(c[i].limit, "member:", 7) != 0)
			continue;
		const char *name = c[i].limit + 7, *colon = strchr(name, ':');
		size_t nl = colon != NULL ? (size_t)(colon - name) : strlen(name);
		int known = nl == 0 || nl >= BUDGET_NAME_MAX;
		for (int j = 0; j < n && !known; j++)
			known = strlen(m[j].name) == nl && strncmp(m[j].name, name, nl) == 0;
		if (known)
			continue;
		memset(&m[n], 0, sizeof m[n]);
		memcpy(m[n].name, name, nl);
		n++;
	}
	free(c);
	return nc < 0 ? nc : n;
}

int
team_status_read(budget_t *b, const struct team_settings *t, double now,
    struct team_status *st, char *err, size_t len)
{
	struct period_tz tz;
	char *why = NULL;
	memset(st, 0, sizeof *st);
	if (period_tz_parse(t->tz, &tz, &why) != 0) {
		snprintf(err, len, "%s", why);
		free(why);
		return BUDGET_EINVAL;
	}
	snprintf(st->where, sizeof st->where, "%s", budget_where(b));
	snprintf(st->team, sizeof st->team, "%s", t->team);
	period_tz_format(&tz, st->tz, sizeof st->tz);
	st->now = now;
	for (int k = 0; k < PERIOD_COUNT; k++)
		period_of((enum period_kind)k, &tz, now, st->label[k], sizeof st->label[k], NULL, NULL);
	int rc = team_status_owner(b, t, &tz, now, &st->team_owner, err, len);
	if (rc != BUDGET_OK)
		return rc;
	struct budget_member *m = xcalloc(TEAM_STATUS_MAX_MEMBERS, sizeof *m);
	int n = budget_members(b, m, TEAM_STATUS_MAX_MEMBERS, err, len);
	if (n < 0) {
		free(m);
		return n;
	}
	n = team_status_stored_members(b, m, n, err, len);
	if (n < 0) {
		free(m);
		return n;
	}
	st->members = xcalloc((size_t)n + 1, sizeof *st->members);
	for (int i = 0; i < n && rc == BUDGET_OK; i++) {
		struct team_status_owner *o = &st->members[st->nmembers];
		snprintf(o->name, sizeof o->name, "%s", m[i].name);
		o->last = m[i].last;
		rc = team_status_owner(b, t, &tz, now, o, err, len);
		if (rc == BUDGET_OK)
			st->nmembers++;
	}
	free(m);
	return rc;
}

void
team_status_free(struct team_status *st)
{
	free(st->members);
	st->members = NULL;
	st->nmembers = 0;
}

void
team_status_ago(double now, double then, char *buf, size_t len)
{
	double d = now - then;
	if (then <= 0)
		snprintf(buf, len, "never");
	else if (d < 60)
		snprintf(buf, len, "%.0fs ago", d < 0 ? 0 : d);
	else if (d < 3600)
		snprintf(buf, len, "%.0fm ago", d / 60);
	else if (d < 86400)
		snprintf(buf, len, "%.0fh ago", d / 3600);
	else
		snprintf(buf, len, "%.0fd ago", d / 86400);
}

/* Where the ceiling in force comes from. */
static const char *
team_status_from(const struct budget_state *s)
{
	return s->stored ? "store" : s->ceiling >= 0 ? "config" : "none";
}

/* 1 if a family row has anything to show. */
static int
team_status_shown(const struct budget_state *s)
{
	return s->spent != 0 || s->inflight != 0 || s->ceiling >= 0 || s->requests != 0 ||
	    s->refused != 0 || s->stored;
}

/* ------------------------------------------------------------------ text */

static void
team_status_row(struct buf *out, const char *period, const struct budget_state *s)
{
	char spent[32], fl[32], ceil[32], left[32];
	util_fmt_usd(s->spent, spent, sizeof spent);
	util_fmt_usd(s->inflight, fl, sizeof fl);
	if (s->ceiling >= 0) {
		util_fmt_usd(s->ceiling, ceil, sizeof ceil);
		util_fmt_usd(UTIL_MAX(0, s->ceiling - s->spent - s->inflight), left, sizeof left);
	} else {
		snprintf(ceil, sizeof ceil, "none");
		snprintf(left, sizeof left, "-");
	}
	buf_appendf(out, "  %-12s %11s %10s %11s %-6s %10s %8lld %7lld\n", period, spent, fl, ceil,
	    s->ceiling >= 0 || s->stored ? team_status_from(s) : "", left, (long long)s->requests,
	    (long long)s->refused);
}

static void
team_status_owner_text(struct buf *out, const struct team_status *st,
    const struct team_status_owner *o)
{
	if (o->name[0] == '\0') {
		buf_appendf(out, "team %s\n", st->team);
	} else {
		char ago[32];
		team_status_ago(st->now, o->last, ago, sizeof ago);
		buf_appendf(out, "%s (last active %s)\n", o->name, ago);
	}
	for (int f = 0; f < TEAM_FAMILIES; f++) {
		for (int k = 0; k < PERIOD_COUNT; k++) {
			const struct budget_state *s = &o->s[f][k];
			if (f != TEAM_ALL && !team_status_shown(s))
				continue;
			char period[32];
			snprintf(period, sizeof period, "%s%s%s", period_name((enum period_kind)k),
			    f != TEAM_ALL ? ":" : "", team_family_name(f));
			team_status_row(out, period, s);
		}
	}
}

char *
team_status_text(const struct team_status *st)
{
	struct buf out = { 0 };
	buf_appendf(&out, "team %s on %s; periods at %s: day %s, week %s, month %s\n\n",
	    st->team, st->where, st->tz, st->label[PERIOD_DAY], st->label[PERIOD_WEEK],
	    st->label[PERIOD_MONTH]);
	buf_appendf(&out, "  %-12s %11s %10s %11s %-6s %10s %8s %7s\n", "PERIOD", "SPENT",
	    "IN FLIGHT", "CEILING", "FROM", "LEFT", "REQUESTS", "REFUSED");
	team_status_owner_text(&out, st, &st->team_owner);
	if (st->nmembers == 0)
		buf_appendf(&out, "no member has used this team's budget yet\n");
	for (int i = 0; i < st->nmembers; i++)
		team_status_owner_text(&out, st, &st->members[i]);
	buf_append(&out, "", 1);
	return out.data;
}

/* ------------------------------------------------------------------ JSON */

static cJSON *
team_status_state_json(const struct budget_state *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "spent_usd", (double)s->spent / 1e6);
	cJSON_AddNumberToObject(o, "in_flight_usd", (double)s->inflight / 1e6);
	if (s->ceiling >= 0)
		cJSON_AddNumberToObject(o, "ceiling_usd", (double)s->ceiling / 1e6);
	else
		cJSON_AddNullToObject(o, "ceiling_usd");
	cJSON_AddStringToObject(o, "ceiling_from", team_status_from(s));
	cJSON_AddNumberToObject(o, "requests", (double)s->requests);
	cJSON_AddNumberToObject(o, "refused", (double)s->refused);
	cJSON_AddNumberToObject(o, "expired_leases", (double)s->expired);
	return o;
}

/* {"day": {...}, "week": {...}, "month": {...}, "day:opus": {...}} */
static cJSON *
team_status_owner_json(const struct team_status_owner *o)
{
	cJSON *j = cJSON_CreateObject();
	for (int f = 0; f < TEAM_FAMILIES; f++) {
		for (int k = 0; k < PERIOD_COUNT; k++) {
			if (f != TEAM_ALL && !team_status_shown(&o->s[f][k]))
				continue;
			char key[32];
			snprintf(key, sizeof key, "%s%s%s", period_name((enum period_kind)k),
			    f != TEAM_ALL ? ":" : "", team_family_name(f));
			cJSON_AddItemToObject(j, key, team_status_state_json(&o->s[f][k]));
		}
	}
	return j;
}

char *
team_status_json(const struct team_status *st)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "team", st->team);
	cJSON_AddStringToObject(o, "store", st->where);
	cJSON_AddStringToObject(o, "time_zone", st->tz);
	cJSON_AddNumberToObject(o, "time", st->now);
	cJSON *p = cJSON_AddObjectToObject(o, "periods");
	for (int k = 0; k < PERIOD_COUNT; k++)
		cJSON_AddStringToObject(p, period_name((enum period_kind)k), st->label[k]);
	cJSON_AddItemToObject(o, "budget", team_status_owner_json(&st->team_owner));
	cJSON *ms = cJSON_AddArrayToObject(o, "members");
	for (int i = 0; i < st->nmembers; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "member", st->members[i].name);
		cJSON_AddNumberToObject(m, "last_activity", st->members[i].last);
		cJSON_AddItemToObject(m, "budget", team_status_owner_json(&st->members[i]));
		cJSON_AddItemToArray(ms, m);
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		fatal("out of memory printing the team's status");
	return s;
}
