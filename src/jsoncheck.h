/*
 * jsoncheck: the one error format of every JSON file tokmux reads (the
 * config, its "prices", themes, mock scripts), one line:
 *   FILE: key PATH: expected WHAT
 * and the checks that produce it. A PATH is a parent path and a key joined
 * with "." ("panes[1]" + "cmd" -> "panes[1].cmd"; a key starting with "["
 * joins without one). Validators keep their own rules; this module only
 * words what went wrong.
 */
#ifndef TOKMUX_JSONCHECK_H
#define TOKMUX_JSONCHECK_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

struct jsoncheck {
	const char *file;       /* named first in every message; NULL: none */
	char **err;             /* receives the malloc'd message; NULL: discarded */
};

/* Set *err to "FILE: key PARENT.KEY: expected " + the printf text, return -1.
 * parent or key may be NULL. */
int jsoncheck_fail(const struct jsoncheck *j, const char *parent, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parse len bytes of text into a JSON object (the caller frees it with
 * cJSON_Delete). NULL with "FILE: invalid JSON at line L, column C",
 * "FILE: key (top level): expected a JSON object", or, when any object in
 * it has a key twice (which of the two counts is a guess no reader should
 * make), "FILE: key PATH: expected the key once (it appears twice)". */
struct cJSON *jsoncheck_parse(const struct jsoncheck *j, const char *text, size_t len);

/* obj is an object whose keys are all in allowed (NULL-terminated); else -1
 * with "key PARENT: expected an object" or
 * "key PARENT.K: expected one of A, B, C (unknown key)". */
int jsoncheck_keys(const struct jsoncheck *j, const struct cJSON *obj, const char *parent,
    const char *const *allowed);

/* v is a whole number from min to max: "expected a whole number from MIN to MAX". */
int jsoncheck_int(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, int64_t min, int64_t max, int64_t *out);

/* v is a number from min to max: "expected a number from MIN to MAX". */
int jsoncheck_number(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, double min, double max, double *out);

/* v is true or false: "expected true or false". */
int jsoncheck_bool(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, int *out);

/* v is a string (non-empty if nonempty): "expected a string" or
 * "expected a non-empty string". *out points into v. */
int jsoncheck_string(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, int nonempty, const char **out);

#endif
