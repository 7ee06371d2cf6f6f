/*
 * model: owns model ids: their canonical form, the dated-form rule,
 * Claude families and version numbers, the newest model of a family and
 * the default fallback chain. Pure functions over strings; the list of
 * known ids comes from the caller (the pricing table).
 */
#include "model.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Families in the order the default chain falls back through. */
static const char *const model_families[] = { "opus", "sonnet", "haiku" };

/* Length of s without a Bedrock version suffix "-v<digits>:<digits>". */
static size_t
model_strip_bedrock_version(const char *s, size_t n)
{
	size_t i = n;
	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == n || i < 1 || s[i - 1] != ':')
		return n;
	size_t colon = --i;
	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == colon || i < 2 || s[i - 1] != 'v' || s[i - 2] != '-')
		return n;
	return i - 2;
}

void
model_normalise(const char *id, char out[MODEL_ID_MAX])
{
	const char *s = strrchr(id, '/');
	s = s != NULL ? s + 1 : id;
	const char *a = strstr(s, "anthropic.");
	if (a != NULL)
		s = a + strlen("anthropic.");
	size_t n = strcspn(s, "[");
	while (n > 0 && s[n - 1] == ' ')
		n--;
	n = model_strip_bedrock_version(s, n);
	if (n >= MODEL_ID_MAX)
		n = MODEL_ID_MAX - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
}

size_t
model_dated_form(const char *id, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(id, name, n) != 0)
		return 0;
	const char *r = id + n;
	if (*r == '\0')
		return n;
	if (*r != '-' && *r != '@')
		return 0;
	r++;
	if (strcmp(r, "latest") == 0)
		return n;
	int digits = 0;
	while (r[digits] >= '0' && r[digits] <= '9')
		digits++;
	return digits >= 4 ? n : 0;
}

/* 1 if s[0..n-1] are all digits. */
static int
model_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

void
model_undated(const char *id, char out[MODEL_ID_MAX])
{
	model_normalise(id, out);
	size_t n = strlen(out);
	if (n > 7 && strcmp(out + n - 7, "-latest") == 0)
		n -= 7;
	else if (n > 9 && (out[n - 9] == '-' || out[n - 9] == '@') && model_digits(out + n - 8, 8))
		n -= 9;
	else if (n > 11 && out[n - 11] == '-' && model_digits(out + n - 10, 4) && out[n - 6] == '-' &&
	    model_digits(out + n - 5, 2) && out[n - 3] == '-' && model_digits(out + n - 2, 2))
		n -= 11;
	out[n] = '\0';
}

const char *
model_family(const char *id)
{
	char m[MODEL_ID_MAX];
	if (id == NULL)
		return NULL;
	model_normalise(id, m);
	if (strncmp(m, "claude-", 7) != 0)
		return NULL;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(model_families); i++) {
		const char *s = strstr(m, model_families[i]);
		size_t n = strlen(model_families[i]);
		if (s != NULL && s[-1] == '-' && (s[n] == '-' || s[n] == '@' || s[n] == '\0'))
			return model_families[i];
	}
	return NULL;
}

int
model_version(const char *id, long v[MODEL_VERSION_MAX])
{
	char m[MODEL_ID_MAX];
	int n = 0;
	model_normalise(id, m);
	for (const char *s = m; *s && n < MODEL_VERSION_MAX; ) {
		if (*s >= '0' && *s <= '9') {
			char *end;
			long x = strtol(s, &end, 10);
			if (end - s < 8)   /* a date, not a version */
				v[n++] = x;
			s = end;
		} else {
			s++;
		}
	}
	return n;
}

int
model_newer(const char *a, const char *b)
{
	long va[MODEL_VERSION_MAX] = { 0 }, vb[MODEL_VERSION_MAX] = { 0 };
	int na = model_version(a, va), nb = model_version(b, vb);
	for (int i = 0; i < MODEL_VERSION_MAX; i++) {
		long x = i < na ? va[i] : -1, y = i < nb ? vb[i] : -1;
		if (x != y)
			return x > y;
	}
	return strlen(a) < strlen(b);   /* same version: the alias (no date) */
}

const char *
model_newest(const char *const *ids, int n, const char *family)
{
	const char *best = NULL;
	for (int i = 0; i < n; i++) {
		const char *f = model_family(ids[i]);
		if (f != NULL && strcmp(f, family) == 0 && (best == NULL || model_newer(ids[i], best)))
			best = ids[i];
	}
	return best;
}

/* Append the configured fallbacks to out[0..n-1], skipping repeats. */
static int
model_chain_configured(const char *const *fallback, int nfallback, char **out, int n, int max)
{
	for (int i = 0; i < nfallback && n < max; i++) {
		int dup = 0;
		for (int k = 0; k < n; k++)
			dup |= strcmp(out[k], fallback[i]) == 0;
		if (!dup)
			out[n++] = xstrdup(fallback[i]);
	}
	return n;
}

int
model_chain(const char *model, const char *const *known, int nknown,
    const char *const *fallback, int nfallback, char **out, int max)
{
	int n = 0;
	if (model == NULL || model[0] == '\0' || max < 1)
		return 0;
	out[n++] = xstrdup(model);
	if (nfallback > 0)
		return model_chain_configured(fallback, nfallback, out, n, max);
	const char *fam = model_family(model);
	int after = 0;
	for (size_t i = 0; fam != NULL && i < UTIL_ARRAY_LEN(model_families) && n < max; i++) {
		if (strcmp(model_families[i], fam) == 0) {
			after = 1;
			continue;
		}
		const char *m = after ? model_newest(known, nknown, model_families[i]) : NULL;
		if (m != NULL && strcmp(m, model) != 0)
			out[n++] = xstrdup(m);
	}
	return n;
}
