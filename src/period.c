/*
 * period: owns the calendar arithmetic of budget periods: which day, ISO
 * week or month a moment falls in at a time zone, its label and bounds.
 * Fixed offsets are computed in UTC (gmtime_r/timegm) shifted by the
 * offset; "local" uses localtime_r/mktime and so follows DST.
 */
#include "period.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

#define PERIOD_MAX_OFFSET_S (14 * 3600)

static const char *const period_names[PERIOD_COUNT] = { "day", "week", "month" };

int
period_parse(const char *s, enum period_kind *k)
{
	for (int i = 0; s != NULL && i < PERIOD_COUNT; i++) {
		if (strcmp(s, period_names[i]) == 0) {
			*k = (enum period_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *
period_name(enum period_kind k)
{
	return (int)k >= 0 && (int)k < PERIOD_COUNT ? period_names[k] : "?";
}

/* "+HH", "+HH:MM", "-H" ... -> seconds east of UTC. 0 or -1. */
static int
period_parse_offset(const char *s, int *out)
{
	int sign = s[0] == '-' ? -1 : 1;
	if (s[0] != '+' && s[0] != '-')
		return -1;
	s++;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	char *end;
	long h = strtol(s, &end, 10), m = 0;
	if (end - s > 2)
		return -1;
	if (*end == ':') {
		const char *ms = end + 1;
		if (!isdigit((unsigned char)ms[0]) || !isdigit((unsigned char)ms[1]) || ms[2] != '\0')
			return -1;
		m = strtol(ms, &end, 10);
	}
	if (*end != '\0' || m > 59)
		return -1;
	long off = h * 3600 + m * 60;
	if (off > PERIOD_MAX_OFFSET_S)
		return -1;
	*out = (int)(sign * off);
	return 0;
}

int
period_tz_parse(const char *s, struct period_tz *tz, char **err)
{
	memset(tz, 0, sizeof *tz);
	if (s == NULL || strcasecmp(s, "UTC") == 0 || strcasecmp(s, "Z") == 0)
		return 0;
	if (strcmp(s, "local") == 0) {
		tz->local = 1;
		return 0;
	}
	const char *off = strncasecmp(s, "UTC", 3) == 0 ? s + 3 : s;
	if (period_parse_offset(off, &tz->offset_s) == 0)
		return 0;
	*err = xasprintf("expected a time zone: UTC, local, or an offset such as +01:00 or "
	    "UTC-5 (at most 14 hours), got '%s'", s);
	return -1;
}

void
period_tz_format(const struct period_tz *tz, char *buf, size_t len)
{
	if (tz->local) {
		snprintf(buf, len, "local");
		return;
	}
	if (tz->offset_s == 0) {
		snprintf(buf, len, "UTC");
		return;
	}
	int a = tz->offset_s < 0 ? -tz->offset_s : tz->offset_s;
	snprintf(buf, len, "UTC%c%02d:%02d", tz->offset_s < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* Broken-down time of t in tz. */
static void
period_to_tm(const struct period_tz *tz, time_t t, struct tm *tm)
{
	if (tz->local) {
		localtime_r(&t, tm);
	} else {
		t += tz->offset_s;
		gmtime_r(&t, tm);
	}
}

/* The moment a (possibly denormal) broken-down time names in tz; tm is
 * normalised in place. */
static time_t
period_from_tm(const struct period_tz *tz, struct tm *tm)
{
	if (tz->local) {
		tm->tm_isdst = -1;
		return mktime(tm);
	}
	return timegm(tm) - tz->offset_s;
}

void
period_strftime(const struct period_tz *tz, double t, const char *fmt, char *buf, size_t len)
{
	struct tm tm;
	period_to_tm(tz, (time_t)t, &tm);
	if (len > 0 && strftime(buf, len, fmt, &tm) == 0)
		buf[0] = '\0';
}

double
period_day_start(const struct period_tz *tz, int year, int mon, int mday)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = mday };
	return (double)period_from_tm(tz, &tm);
}

void
period_of(enum period_kind k, const struct period_tz *tz, double now,
    char *label, size_t len, double *start, double *end)
{
	struct tm tm, first;
	period_to_tm(tz, (time_t)now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	first = tm;
	int span_days = 1;
	if (k == PERIOD_DAY) {
		snprintf(label, len, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	} else if (k == PERIOD_WEEK) {
		int wd = (tm.tm_wday + 6) % 7;          /* Monday = 0 */
		struct tm thu = tm;
		thu.tm_mday += 3 - wd;                  /* the ISO week's year is its Thursday's */
		timegm(&thu);
		snprintf(label, len, "%04d-W%02d", thu.tm_year + 1900, thu.tm_yday / 7 + 1);
		first.tm_mday -= wd;
		span_days = 7;
	} else {
		snprintf(label, len, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
		first.tm_mday = 1;
	}
	struct tm next = first;
	if (k == PERIOD_MONTH)
		next.tm_mon++;
	else
		next.tm_mday += span_days;
	if (start != NULL)
		*start = (double)period_from_tm(tz, &first);
	if (end != NULL)
		*end = (double)period_from_tm(tz, &next);
}
