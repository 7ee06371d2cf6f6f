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

/* s with its control characters written as \n, \t or \xHH: a message
 * stays one line and a key from a file cannot reach the terminal as an
 * escape sequence. malloc'd. */
static char *
jsoncheck_printable(const char *s)
{
	struct buf b = { 0 };
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			buf_append(&b, "\\n", 2);
		else if (c == '\t')
			buf_append(&b, "\\t", 2);
		else if (c < 0x20 || c == 0x7f)
			buf_appendf(&b, "\\x%02x", c);
		else
			buf_append(&b, s, 1);
	}
	buf_append(&b, "", 0);
	return b.data != NULL ? b.data : xstrdup("");
}

/* "FILE: " (or "") then the message, in one printable line; consumes msg. */
static int
jsoncheck_set(const struct jsoncheck *j, char *msg)
{
	if (j->err != NULL) {
		char *line = j->file != NULL ? xasprintf("%s: %s", j->file, msg) : xstrdup(msg);
		*j->err = jsoncheck_printable(line);
		free(line);
	}
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

static int
jsoncheck_cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key that appears twice among obj's members (sorted, so any number of
 * keys costs n log n), NULL if none. */
static const char *
jsoncheck_dup_key(const cJSON *obj)
{
	int n = cJSON_GetArraySize(obj), i = 0;
	const char *dup = NULL;
	if (n < 2)
		return NULL;
	const char **keys = xcalloc((size_t)n, sizeof *keys);
	const cJSON *it;
	cJSON_ArrayForEach(it, obj)
		keys[i++] = it->string != NULL ? it->string : "";
	qsort(keys, (size_t)n, sizeof *keys, jsoncheck_cmp_key);
	for (i = 1; i < n && dup == NULL; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			dup = keys[i];
	free(keys);
	return dup;
}

/* Every object under v (at path, "" for the top) has each key once; else
 * -1 with "key PATH.K: expected once (the key appears twice)". The depth
 * is cJSON's own nesting limit, so the recursion is bounded. */
static int
jsoncheck_unique(const struct jsoncheck *j, const cJSON *v, const char *path)
{
	const char *dup = cJSON_IsObject(v) ? jsoncheck_dup_key(v) : NULL;
	if (dup != NULL)
		return jsoncheck_fail(j, path[0] != '\0' ? path : NULL, dup,
		    "the key once (it appears twice)");
	const cJSON *it;
	int i = 0, rc = 0;
	cJSON_ArrayForEach(it, v) {
		if (rc != 0)
			break;
		if (!cJSON_IsObject(it) && !cJSON_IsArray(it)) {
			i++;
			continue;
		}
		char *sub = cJSON_IsObject(v) ? xasprintf("%s%s%s", path, path[0] ? "." : "",
		    it->string != NULL ? it->string : "") : xasprintf("%s[%d]", path, i);
		rc = jsoncheck_unique(j, it, sub);
		free(sub);
		i++;
	}
	return rc;
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
	if (jsoncheck_unique(j, root, "") != 0) {
		cJSON_Delete(root);
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
