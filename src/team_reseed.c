/*
 * team_reseed: owns re-seeding a budget store from ledgers: summing the
 * team's records per member, family and current period (by the time each
 * request started, as the store counted it), reading what the store has,
 * and charging the difference to the member's and the team's scope.
 */
#include "team_reseed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger.h"
#include "util.h"

/* ledger_read's callback state. */
struct team_reseed_read {
	struct team_reseed *r;
	const struct team_settings *t;
	struct period_tz tz;
	char label[PERIOD_COUNT][16];   /* the current periods */
};

static struct team_reseed_member *
team_reseed_member(struct team_reseed *r, const char *name)
{
	for (int i = 0; i < r->nmembers; i++)
		if (strcmp(r->members[i].name, name) == 0)
			return &r->members[i];
	r->members = xreallocarray(r->members, (size_t)r->nmembers + 1, sizeof *r->members);
	struct team_reseed_member *m = &r->members[r->nmembers++];
	memset(m, 0, sizeof *m);
	snprintf(m->name, sizeof m->name, "%s", name);
	return m;
}

static void
team_reseed_entry(const struct ledger_entry *e, void *user)
{
	struct team_reseed_read *rd = user;
	struct team_reseed *r = rd->r;
	r->records++;
	if (e->member[0] == '\0' || !budget_name_ok(e->member)) {
		r->no_member++;
		return;
	}
	if (strcmp(e->team, rd->t->team) != 0) {
		r->other_team++;
		return;
	}
	if (e->cost_micros <= 0)
		return;
	/* the store counts a request in the periods its reservation was made in */
	double start = e->time - (double)UTIL_MAX(e->latency_ms, 0) / 1000.0;
	int family = team_family_of(e->model_asked[0] ? e->model_asked : e->model_used);
	struct team_reseed_member *m = NULL;
	for (int k = 0; k < PERIOD_COUNT; k++) {
		char label[16];
		period_of((enum period_kind)k, &rd->tz, start, label, sizeof label, NULL, NULL);
		if (strcmp(label, rd->label[k]) != 0)
			continue;
		if (m == NULL) {
			m = team_reseed_member(r, e->member);
			r->counted++;
		}
		m->ledger[TEAM_ALL][k] += e->cost_micros;
		if (family != TEAM_ALL)
			m->ledger[family][k] += e->cost_micros;
	}
}

/* Read every path once (by device and inode). 0, or -1 with *err. */
static int
team_reseed_files(struct team_reseed_read *rd, const char *const *paths, int n, char **err)
{
	dev_t *dev = xcalloc((size_t)n + 1, sizeof *dev);
	ino_t *ino = xcalloc((size_t)n + 1, sizeof *ino);
	int seen = 0, rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		struct stat st;
		int dup = 0;
		if (stat(paths[i], &st) != 0) {
			*err = xasprintf("%s: %s", paths[i], strerror(errno));
			rc = -1;
			break;
		}
		for (int j = 0; j < seen; j++)
			dup |= dev[j] == st.st_dev && ino[j] == st.st_ino;
		if (dup)
			continue;
		dev[seen] = st.st_dev;
		ino[seen++] = st.st_ino;
		if (ledger_read(paths[i], team_reseed_entry, rd) < 0) {
			*err = xasprintf("%s: cannot read it: %s", paths[i], strerror(errno));
			rc = -1;
		}
		rd->r->files++;
	}
	free(dev);
	free(ino);
	return rc;
}

/* Read one member's store spend, charge what the ledgers say beyond it
 * (through b, opened in the member's name). */
static int
team_reseed_charge(budget_t *b, const struct team_settings *t, const struct period_tz *tz,
    double now, struct team_reseed_member *m, int dry_run, char **err)
{
	struct budget_scope s[TEAM_FAMILIES * PERIOD_COUNT], pair[2];
	struct budget_state st[TEAM_FAMILIES * PERIOD_COUNT];
	char e[BUDGET_ERR_MAX] = "";
	for (int f = 0; f < TEAM_FAMILIES; f++)
		for (int k = 0; k < PERIOD_COUNT; k++)
			team_scope(t, tz, now, m->name, (enum period_kind)k, f, &s[f * PERIOD_COUNT + k]);
	int rc = budget_read(b, s, TEAM_FAMILIES * PERIOD_COUNT, st, e, sizeof e);
	for (int f = 0; f < TEAM_FAMILIES && rc == BUDGET_OK; f++) {
		for (int k = 0; k < PERIOD_COUNT && rc == BUDGET_OK; k++) {
			m->store[f][k] = st[f * PERIOD_COUNT + k].spent;
			int64_t lack = m->ledger[f][k] - m->store[f][k];
			if (lack <= 0)
				continue;
			m->charged[f][k] = lack;
			if (dry_run)
				continue;
			pair[0] = s[f * PERIOD_COUNT + k];
			team_scope(t, tz, now, NULL, (enum period_kind)k, f, &pair[1]);
			rc = budget_charge(b, pair, 2, lack);
			if (rc != BUDGET_OK) {
				struct budget_health h;
				budget_health(b, &h);
				snprintf(e, sizeof e, "%s", h.error[0] ? h.error : "the store refused a charge");
			}
		}
	}
	if (rc != BUDGET_OK)
		*err = xstrdup(e);
	return rc;
}

int
team_reseed_run(const struct budget_options *o, const struct team_settings *t, double now,
    const char *const *paths, int n, int dry_run, struct team_reseed *r, char **err)
{
	struct team_reseed_read rd = { .r = r, .t = t };
	memset(r, 0, sizeof *r);
	if (period_tz_parse(t->tz, &rd.tz, err) != 0)
		return BUDGET_EINVAL;
	for (int k = 0; k < PERIOD_COUNT; k++)
		period_of((enum period_kind)k, &rd.tz, now, rd.label[k], sizeof rd.label[k], NULL, NULL);
	if (team_reseed_files(&rd, paths, n, err) != 0)
		return BUDGET_EINVAL;
	for (int i = 0; i < r->nmembers; i++) {
		struct budget_options mo = *o;
		mo.member = r->members[i].name;
		budget_t *b = budget_open(&mo, err);
		if (b == NULL)
			return BUDGET_EINVAL;
		int rc = team_reseed_charge(b, t, &rd.tz, now, &r->members[i], dry_run, err);
		budget_close(b);
		if (rc != BUDGET_OK)
			return rc;
	}
	return BUDGET_OK;
}

void
team_reseed_free(struct team_reseed *r)
{
	free(r->members);
	memset(r, 0, sizeof *r);
}

char *
team_reseed_text(const struct team_reseed *r, int dry_run)
{
	struct buf out = { 0 };
	buf_appendf(&out, "read %ld records from %d ledger%s: %ld in the current periods of "
	    "this team, %ld of other teams, %ld without a member\n", r->records, r->files,
	    r->files == 1 ? "" : "s", r->counted, r->other_team, r->no_member);
	int any = 0;
	for (int i = 0; i < r->nmembers; i++) {
		const struct team_reseed_member *m = &r->members[i];
		for (int f = 0; f < TEAM_FAMILIES; f++) {
			for (int k = 0; k < PERIOD_COUNT; k++) {
				if (m->ledger[f][k] == 0)
					continue;
				char led[32], st[32], ch[32], period[32];
				util_fmt_usd(m->ledger[f][k], led, sizeof led);
				util_fmt_usd(m->store[f][k], st, sizeof st);
				util_fmt_usd(m->charged[f][k], ch, sizeof ch);
				snprintf(period, sizeof period, "%s%s%s", period_name((enum period_kind)k),
				    f != TEAM_ALL ? ":" : "", team_family_name(f));
				buf_appendf(&out, "  %-16s %-12s ledgers %10s  store %10s  %s %10s\n",
				    m->name, period, led, st, dry_run ? "would add" : "added", ch);
				any = 1;
			}
		}
	}
	if (!any)
		buf_appendf(&out, "  nothing to add\n");
	buf_append(&out, "", 1);
	return out.data;
}
