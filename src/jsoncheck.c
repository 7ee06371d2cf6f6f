/*
 * jsoncheck: words every JSON validation error the same way,
 * "FILE: key PATH: expected WHAT", in one line. Holds no state: the file
 * name and where the message goes travel in a struct jsoncheck.
 */
#include "jsoncheck.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* "FILE: " (or "") then the message; consumes msg. */
static int
jsoncheck_set(const struct jsoncheck *j, char *msg)
{
	if (j->err != NULL)
		*j->err = j->file != NULL ? xasprintf("%s: %s", j->file, msg) : xstrdup(msg);
	free(msg);
	return -1;
}

int
jsoncheck_fail(const struct jsoncheck *j, const char *parent, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = xvasprintf(fmt, ap);
	va_end(ap);
	int both = parent != NULL && parent[0] != '\0' && key != NULL;
	char *msg = xasprintf("key %s%s%s: expected %s", parent != NULL ? parent : "",
	    both && key[0] != '[' ? "." : "", key != NULL ? key : "", what);
	free(what);
	return jsoncheck_set(j, msg);
}

struct cJSON *
jsoncheck_parse(const struct jsoncheck *j, const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL) {
		int line = 1, col = 1;
		for (const char *p = text; end != NULL && p < end && p < text + len; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		jsoncheck_set(j, xasprintf("invalid JSON at line %d, column %d", line, col));
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		jsoncheck_fail(j, "(top level)", NULL, "a JSON object");
		return NULL;
	}
	return root;
}

int
jsoncheck_keys(const struct jsoncheck *j, const struct cJSON *obj, const char *parent,
    const char *const *allowed)
{
	if (!cJSON_IsObject(obj))
		return jsoncheck_fail(j, parent, NULL, "an object");
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(it->string, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		struct buf b = { 0 };
		for (i = 0; allowed[i] != NULL; i++)
			buf_appendf(&b, "%s%s", i > 0 ? ", " : "", allowed[i]);
		int rc = jsoncheck_fail(j, parent, it->string, "one of %s (unknown key)",
		    b.data != NULL ? b.data : "");
		buf_free(&b);
		return rc;
	}
	return 0;
}

int
jsoncheck_int(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, int64_t min, int64_t max, int64_t *out)
{
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	/* 2^63 is the first double an int64_t cannot hold */
	if (!(d >= (double)min && d <= (double)max && fabs(d) < 9223372036854775808.0) ||
	    d != floor(d))
		return jsoncheck_fail(j, parent, key, "a whole number from %lld to %lld",
		    (long long)min, (long long)max);
	*out = (int64_t)d;
	return 0;
}

int
jsoncheck_number(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, double min, double max, double *out)
{
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (!(d >= min && d <= max))
		return jsoncheck_fail(j, parent, key, "a number from %g to %g", min, max);
	*out = d;
	return 0;
}

int
jsoncheck_bool(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, int *out)
{
	if (!cJSON_IsBool(v))
		return jsoncheck_fail(j, parent, key, "true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

int
jsoncheck_string(const struct jsoncheck *j, const struct cJSON *v, const char *parent,
    const char *key, int nonempty, const char **out)
{
	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    (nonempty && v->valuestring[0] == '\0'))
		return jsoncheck_fail(j, parent, key, nonempty ? "a non-empty string" : "a string");
	*out = v->valuestring;
	return 0;
}
