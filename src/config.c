/*
 * config: loads and validates the JSON configuration with cJSON into a
 * plain struct config. Unknown keys are errors (typos should not silently
 * do nothing); every error is one line naming the file, key and expectation.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "worktree.h"

#define CONFIG_MAX_BYTES (4 * 1024 * 1024)

void
config_init(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->prefix_key = 7;   /* Ctrl-g */
	c->scrollback_lines = 10000;
	c->scrollback_bytes = 8u << 20;
	c->anthropic_upstream = xstrdup("https://api.anthropic.com");
	c->openai_upstream = xstrdup("https://api.openai.com");
	c->gateway = 1;
	c->ceiling_micros = -1;
	c->daily_ceiling_micros = -1;
	c->warn_at = 0.8;
	c->theme = xstrdup("default");
	for (int i = 0; i < CONFIG_MAX_PANES; i++) {
		c->panes[i].ceiling_micros = -1;
		c->panes[i].ceiling_tokens = -1;
	}
}

static void
pane_free(struct config_pane *p)
{
	free(p->name);
	free(p->cmd);
	for (int i = 0; i < p->nfallback; i++)
		free(p->fallback[i]);
	memset(p, 0, sizeof *p);
	p->ceiling_micros = -1;
	p->ceiling_tokens = -1;
}

void
config_free(struct config *c)
{
	for (int i = 0; i < CONFIG_MAX_PANES; i++)
		pane_free(&c->panes[i]);
	free(c->path);
	free(c->anthropic_upstream);
	free(c->openai_upstream);
	free(c->ledger_path);
	free(c->theme);
	free(c->worktree_dir);
	for (int i = 0; i < c->nworktree_setup; i++)
		free(c->worktree_setup[i]);
	cJSON_Delete(c->prices);
	memset(c, 0, sizeof *c);
}

char *
config_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg != NULL && *xdg == '/')
		return xasprintf("%s/tokmux/config.json", xdg);
	const char *home = getenv("HOME");
	return xasprintf("%s/.config/tokmux/config.json", home ? home : ".");
}

int
config_parse_key(const char *s)
{
	if (s == NULL)
		return -1;
	char ch;
	if ((s[0] == 'C' || s[0] == 'c') && s[1] == '-' && s[2] != '\0' && s[3] == '\0')
		ch = s[2];
	else if (s[0] == '^' && s[1] != '\0' && s[2] == '\0')
		ch = s[1];
	else
		return -1;
	if (ch >= 'A' && ch <= 'Z')
		ch = (char)(ch - 'A' + 'a');
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 1;
	switch (ch) {
	case '[': return 27;
	case '\\': return 28;
	case ']': return 29;
	case '^': return 30;
	case '_': return 31;
	}
	return -1;
}

int
config_find_pane(const struct config *c, const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0' && n >= 1 && n <= c->npanes)
		return (int)n - 1;
	for (int i = 0; i < c->npanes; i++) {
		if (c->panes[i].name != NULL && strcmp(c->panes[i].name, s) == 0)
			return i;
	}
	return -1;
}

/* ---- validation helpers: each sets *err and returns -1 on a bad value ---- */

struct ctx {
	const char *file;
	char **err;
};

static int
fail(struct ctx *x, const char *key, const char *expected)
{
	*x->err = xasprintf("%s: key %s: expected %s", x->file, key, expected);
	return -1;
}

static int
get_nonempty_string(struct ctx *x, const cJSON *v, const char *key, char **out)
{
	if (!cJSON_IsString(v) || v->valuestring == NULL || v->valuestring[0] == '\0')
		return fail(x, key, "a non-empty string");
	free(*out);
	*out = xstrdup(v->valuestring);
	return 0;
}

static int
get_usd(struct ctx *x, const cJSON *v, const char *key, int64_t *out)
{
	if (cJSON_IsNull(v)) {
		*out = -1;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e8)
		return fail(x, key, "a number of US dollars >= 0 (or null for none)");
	*out = (int64_t)(v->valuedouble * 1e6 + 0.5);
	return 0;
}

static int
get_long(struct ctx *x, const cJSON *v, const char *key, long lo, long hi, long *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
	    v->valuedouble < lo || v->valuedouble > hi) {
		char *e = xasprintf("a whole number from %ld to %ld", lo, hi);
		int rc = fail(x, key, e);
		free(e);
		return rc;
	}
	*out = (long)v->valuedouble;
	return 0;
}

static int
get_fraction(struct ctx *x, const cJSON *v, const char *key, double *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
		return fail(x, key, "a number from 0 to 1");
	*out = v->valuedouble;
	return 0;
}

static int
get_url(struct ctx *x, const cJSON *v, const char *key, char **out)
{
	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    (strncmp(v->valuestring, "http://", 7) != 0 && strncmp(v->valuestring, "https://", 8) != 0))
		return fail(x, key, "an http:// or https:// URL");
	free(*out);
	*out = xstrdup(v->valuestring);
	size_t n = strlen(*out);
	while (n > 0 && (*out)[n - 1] == '/')   /* paths are appended to it */
		(*out)[--n] = '\0';
	return 0;
}

/* A worktree_dir template (worktree_dir_valid() says what is allowed). */
static int
get_template(struct ctx *x, const cJSON *v, const char *key, char **out)
{
	char *why = NULL;
	if (!cJSON_IsString(v) || worktree_dir_valid(v->valuestring, &why) < 0) {
		int rc = fail(x, key, why ? why : "a directory template starting with /, ~/ or {repo}");
		free(why);
		return rc;
	}
	free(*out);
	*out = xstrdup(v->valuestring);
	return 0;
}

/* An array of at most CONFIG_MAX_SETUP non-empty shell commands. */
static int
get_commands(struct ctx *x, const cJSON *v, const char *key, char **out, int *n)
{
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_SETUP)
		return fail(x, key, "an array of at most 16 shell commands");
	for (int i = 0; i < *n; i++)
		free(out[i]);
	*n = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, v) {
		char k[64];
		snprintf(k, sizeof k, "%s[%d]", key, *n);
		char *s = NULL;
		if (get_nonempty_string(x, m, k, &s) < 0)
			return -1;
		out[(*n)++] = s;
	}
	return 0;
}

static int
load_pane(struct ctx *x, const cJSON *obj, int idx, struct config_pane *p)
{
	char key[96];
	if (!cJSON_IsObject(obj)) {
		snprintf(key, sizeof key, "panes[%d]", idx);
		return fail(x, key, "an object like {\"name\": \"claude\", \"cmd\": \"claude\"}");
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, obj) {
		snprintf(key, sizeof key, "panes[%d].%s", idx, v->string);
		int rc = 0;
		if (strcmp(v->string, "name") == 0)
			rc = get_nonempty_string(x, v, key, &p->name);
		else if (strcmp(v->string, "cmd") == 0)
			rc = get_nonempty_string(x, v, key, &p->cmd);
		else if (strcmp(v->string, "ceiling_usd") == 0)
			rc = get_usd(x, v, key, &p->ceiling_micros);
		else if (strcmp(v->string, "ceiling_tokens") == 0) {
			long t;
			rc = get_long(x, v, key, 1, 1000000000000L, &t);
			p->ceiling_tokens = t;
		} else if (strcmp(v->string, "downgrade_at") == 0)
			rc = get_fraction(x, v, key, &p->downgrade_at);
		else if (strcmp(v->string, "worktree") == 0) {
			if (!cJSON_IsBool(v))
				return fail(x, key, "true or false");
			p->worktree = cJSON_IsTrue(v);
		} else if (strcmp(v->string, "fallback") == 0) {
			if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_FALLBACK)
				return fail(x, key, "an array of at most 8 model names");
			const cJSON *m;
			int j = 0;
			cJSON_ArrayForEach(m, v) {
				snprintf(key, sizeof key, "panes[%d].fallback[%d]", idx, j++);
				char *s = NULL;
				if (get_nonempty_string(x, m, key, &s) < 0)
					return -1;
				p->fallback[p->nfallback++] = s;
			}
		} else
			rc = fail(x, key, "one of name, cmd, ceiling_usd, ceiling_tokens, downgrade_at, fallback, worktree (unknown key)");
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
load_root(struct ctx *x, const cJSON *root, struct config *c)
{
	const cJSON *v;
	long n;
	if (!cJSON_IsObject(root))
		return fail(x, "(top level)", "a JSON object");
	cJSON_ArrayForEach(v, root) {
		const char *k = v->string;
		int rc = 0;
		if (strcmp(k, "panes") == 0) {
			if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_PANES)
				return fail(x, k, "an array of at most 16 pane objects");
			for (int i = 0; i < c->npanes; i++)
				pane_free(&c->panes[i]);
			c->npanes = 0;
			const cJSON *p;
			cJSON_ArrayForEach(p, v) {
				if (load_pane(x, p, c->npanes, &c->panes[c->npanes]) < 0)
					return -1;
				c->npanes++;
			}
		} else if (strcmp(k, "prefix") == 0) {
			int key = cJSON_IsString(v) ? config_parse_key(v->valuestring) : -1;
			if (key < 0)
				return fail(x, k, "a control key such as \"C-g\" or \"C-a\"");
			c->prefix_key = key;
		} else if (strcmp(k, "scrollback_lines") == 0) {
			rc = get_long(x, v, k, 0, 1000000, &n);
			c->scrollback_lines = n;
		} else if (strcmp(k, "scrollback_mb") == 0) {
			rc = get_long(x, v, k, 1, 4096, &n);
			c->scrollback_bytes = (size_t)n << 20;
		} else if (strcmp(k, "upstream") == 0) {
			if (!cJSON_IsObject(v))
				return fail(x, k, "an object {\"anthropic\": URL, \"openai\": URL}");
			const cJSON *u;
			cJSON_ArrayForEach(u, v) {
				char key[64];
				snprintf(key, sizeof key, "upstream.%s", u->string);
				if (strcmp(u->string, "anthropic") == 0)
					rc = get_url(x, u, key, &c->anthropic_upstream);
				else if (strcmp(u->string, "openai") == 0)
					rc = get_url(x, u, key, &c->openai_upstream);
				else
					rc = fail(x, key, "anthropic or openai (unknown key)");
				if (rc < 0)
					return -1;
			}
		} else if (strcmp(k, "port") == 0) {
			rc = get_long(x, v, k, 0, 65535, &n);
			c->port = (int)n;
		} else if (strcmp(k, "gateway") == 0) {
			if (!cJSON_IsBool(v))
				return fail(x, k, "true or false");
			c->gateway = cJSON_IsTrue(v);
		} else if (strcmp(k, "ledger") == 0)
			rc = get_nonempty_string(x, v, k, &c->ledger_path);
		else if (strcmp(k, "ceiling_usd") == 0)
			rc = get_usd(x, v, k, &c->ceiling_micros);
		else if (strcmp(k, "daily_ceiling_usd") == 0)
			rc = get_usd(x, v, k, &c->daily_ceiling_micros);
		else if (strcmp(k, "warn_at") == 0)
			rc = get_fraction(x, v, k, &c->warn_at);
		else if (strcmp(k, "theme") == 0)
			rc = get_nonempty_string(x, v, k, &c->theme);
		else if (strcmp(k, "bell") == 0) {
			if (!cJSON_IsBool(v))
				return fail(x, k, "true or false");
			c->bell = cJSON_IsTrue(v);
		} else if (strcmp(k, "prices") == 0) {
			if (!cJSON_IsObject(v))
				return fail(x, k, "an object of model prices");
			cJSON_Delete(c->prices);
			c->prices = cJSON_Duplicate(v, 1);
		} else if (strcmp(k, "worktree_dir") == 0)
			rc = get_template(x, v, k, &c->worktree_dir);
		else if (strcmp(k, "worktree_setup") == 0)
			rc = get_commands(x, v, k, c->worktree_setup, &c->nworktree_setup);
		else if (strcmp(k, "$schema") == 0 || strcmp(k, "comment") == 0) {
			if (!cJSON_IsString(v))
				return fail(x, k, "a string");
		} else
			rc = fail(x, k, "a known key (panes, prefix, scrollback_lines, scrollback_mb, upstream, port, "
			    "gateway, ledger, ceiling_usd, daily_ceiling_usd, warn_at, theme, bell, prices, worktree_dir, "
			    "worktree_setup)");
		if (rc < 0)
			return -1;
	}
	return 0;
}

static char *
read_file(const char *path, size_t *len, char **err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		*err = xasprintf("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b = {0};
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_append(&b, chunk, n);
		if (b.len > CONFIG_MAX_BYTES) {
			fclose(f);
			buf_free(&b);
			*err = xasprintf("%s: file is larger than 4 MiB", path);
			return NULL;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		buf_free(&b);
		*err = xasprintf("%s: read error", path);
		return NULL;
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	*len = b.len;
	return b.data;
}

int
config_load(struct config *c, const char *path, char **err)
{
	size_t len;
	char *text = read_file(path, &len, err);
	if (text == NULL)
		return -1;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL) {
		const char *at = end ? end : cJSON_GetErrorPtr();
		int line = 1, col = 1;
		for (const char *p = text; at && p < at && p < text + len; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		*err = xasprintf("%s: invalid JSON at line %d, column %d", path, line, col);
		free(text);
		return -1;
	}
	free(text);
	struct ctx x = { path, err };
	int rc = load_root(&x, root, c);
	cJSON_Delete(root);
	if (rc == 0) {
		free(c->path);
		c->path = xstrdup(path);
	}
	return rc;
}

int
config_load_path(struct config *c, const char *path, char **err)
{
	if (path != NULL)
		return config_load(c, path, err);
	char *def = config_default_path();
	int rc = access(def, F_OK) == 0 ? config_load(c, def, err) : 0;
	free(def);
	return rc;
}
