/*
 * period: budget periods (day, week, month) at a configured time zone.
 * A period has a label that goes into the budget store's key names
 * ("2026-12-02", ISO week "2026-W49", "2026-12") and bounds [start, end)
 * in UNIX seconds. Time zones are "UTC", a fixed offset ("+01:00",
 * "UTC-5") or "local" (the process's TZ). Every member of a team must use
 * the same zone, or their gateways count different days.
 */
#ifndef TOKMUX_PERIOD_H
#define TOKMUX_PERIOD_H

#include <stddef.h>

enum period_kind { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH };
#define PERIOD_COUNT 3

struct period_tz {
	int local;              /* 1: the process's local time (TZ), DST-aware */
	int offset_s;           /* else: seconds east of UTC */
};

/* "day", "week", "month" -> kind. 0, or -1 for anything else. */
int period_parse(const char *s, enum period_kind *k);
const char *period_name(enum period_kind k);

/* "UTC", "Z", "local", "+HH[:MM]", "-HH[:MM]", "UTC+HH[:MM]" (up to 14:00).
 * 0, or -1 with a malloc'd *err. */
int period_tz_parse(const char *s, struct period_tz *tz, char **err);
/* "UTC", "local", "UTC+01:00" */
void period_tz_format(const struct period_tz *tz, char *buf, size_t len);

/* The period of kind k that contains now (UNIX seconds): its label and
 * bounds. label: at least 16 bytes. start/end may be NULL. */
void period_of(enum period_kind k, const struct period_tz *tz, double now,
    char *label, size_t len, double *start, double *end);

/* strftime of t (UNIX seconds) in tz. */
void period_strftime(const struct period_tz *tz, double t, const char *fmt, char *buf, size_t len);

/* The first moment (UNIX seconds) of the day year-mon-mday (mon 1..12) in tz. */
double period_day_start(const struct period_tz *tz, int year, int mon, int mday);

#endif
