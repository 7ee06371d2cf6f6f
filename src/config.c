/*
 * config: loads and validates the JSON configuration with cJSON into a
 * plain struct config. Unknown keys are errors (typos should not silently
 * do nothing); every error is one line naming the file, key and expectation.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsoncheck.h"
#include "notify.h"
#include "team.h"
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
	c->notify_osc = NOTIFY_AUTO;
	c->claude_first_party = -1;
	c->metrics_token = 1;
	for (int i = 0; i < CONFIG_MAX_PANES; i++) {
		c->panes[i].ceiling_micros = -1;
		c->panes[i].ceiling_tokens = -1;
	}
	team_settings_init(&c->team);
}

static void
config_pane_free(struct config_pane *p)
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
		config_pane_free(&c->panes[i]);
	free(c->path);
	free(c->notify_command);
	free(c->anthropic_upstream);
	free(c->openai_upstream);
	free(c->ledger_path);
	free(c->theme);
	free(c->worktree_dir);
	for (int i = 0; i < c->nworktree_setup; i++)
		free(c->worktree_setup[i]);
	cJSON_Delete(c->prices);
	team_settings_free(&c->team);
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

void
config_key_name(int code, char *buf, size_t len)
{
	static const char marks[] = "[\\]^_";
	char ch = code >= 1 && code <= 26 ? (char)('a' + code - 1) :
	    code >= 27 && code <= 31 ? marks[code - 27] : 'g';
	snprintf(buf, len, "Ctrl-%c", ch);
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

/* ---- validation: every error is jsoncheck's one line ---- */

static int
config_get_string(const struct jsoncheck *x, const cJSON *v, const char *key, char **out)
{
	const char *s;
	if (jsoncheck_string(x, v, NULL, key, 1, &s) < 0)
		return -1;
	free(*out);
	*out = xstrdup(s);
	return 0;
}

static int
config_get_usd(const struct jsoncheck *x, const cJSON *v, const char *key, int64_t *out)
{
	if (cJSON_IsNull(v)) {
		*out = -1;
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e8)
		return jsoncheck_fail(x, NULL, key, "a number of US dollars >= 0 (or null for none)");
	*out = (int64_t)(v->valuedouble * 1e6 + 0.5);
	return 0;
}

static int
config_get_long(const struct jsoncheck *x, const cJSON *v, const char *key, long lo, long hi,
    long *out)
{
	int64_t n;
	if (jsoncheck_int(x, v, NULL, key, lo, hi, &n) < 0)
		return -1;
	*out = (long)n;
	return 0;
}

static int
config_get_url(const struct jsoncheck *x, const cJSON *v, const char *key, char **out)
{
	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    (strncmp(v->valuestring, "http://", 7) != 0 && strncmp(v->valuestring, "https://", 8) != 0))
		return jsoncheck_fail(x, NULL, key, "an http:// or https:// URL");
	free(*out);
	*out = xstrdup(v->valuestring);
	size_t n = strlen(*out);
	while (n > 0 && (*out)[n - 1] == '/')   /* paths are appended to it */
		(*out)[--n] = '\0';
	return 0;
}

/* A worktree_dir template (worktree_dir_valid() says what is allowed). */
static int
config_get_template(const struct jsoncheck *x, const cJSON *v, const char *key, char **out)
{
	char *why = NULL;
	if (!cJSON_IsString(v) || worktree_dir_valid(v->valuestring, &why) < 0) {
		int rc = jsoncheck_fail(x, NULL, key, "%s",
		    why ? why : "a directory template starting with /, ~/ or {repo}");
		free(why);
		return rc;
	}
	free(*out);
	*out = xstrdup(v->valuestring);
	return 0;
}

/* An array of at most CONFIG_MAX_SETUP non-empty shell commands. */
static int
config_get_commands(const struct jsoncheck *x, const cJSON *v, const char *key, char **out, int *n)
{
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_SETUP)
		return jsoncheck_fail(x, NULL, key, "an array of at most 16 shell commands");
	for (int i = 0; i < *n; i++)
		free(out[i]);
	*n = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, v) {
		char item[16];
		snprintf(item, sizeof item, "[%d]", *n);
		const char *s;
		if (jsoncheck_string(x, m, key, item, 1, &s) < 0)
			return -1;
		out[(*n)++] = xstrdup(s);
	}
	return 0;
}

static int
config_load_fallback(const struct jsoncheck *x, const cJSON *v, const char *key,
    struct config_pane *p)
{
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_FALLBACK)
		return jsoncheck_fail(x, NULL, key, "an array of at most 8 model names");
	for (int i = 0; i < p->nfallback; i++)   /* a chain replaces, never extends, one */
		free(p->fallback[i]);
	p->nfallback = 0;
	const cJSON *m;
	int j = 0;
	cJSON_ArrayForEach(m, v) {
		char item[16];
		snprintf(item, sizeof item, "[%d]", j++);
		const char *s;
		if (jsoncheck_string(x, m, key, item, 1, &s) < 0)
			return -1;
		p->fallback[p->nfallback++] = xstrdup(s);
	}
	return 0;
}

static const char *const config_pane_keys[] = { "name", "cmd", "ceiling_usd", "ceiling_tokens",
	"downgrade_at", "fallback", "worktree", NULL };

static int
config_load_pane(const struct jsoncheck *x, const cJSON *obj, int idx, struct config_pane *p)
{
	char key[96];
	snprintf(key, sizeof key, "panes[%d]", idx);
	if (!cJSON_IsObject(obj))
		return jsoncheck_fail(x, NULL, key, "an object like {\"name\": \"claude\", \"cmd\": \"claude\"}");
	if (jsoncheck_keys(x, obj, key, config_pane_keys) < 0)
		return -1;
	const cJSON *v;
	cJSON_ArrayForEach(v, obj) {
		snprintf(key, sizeof key, "panes[%d].%s", idx, v->string);
		int rc = 0;
		if (strcmp(v->string, "name") == 0)
			rc = config_get_string(x, v, key, &p->name);
		else if (strcmp(v->string, "cmd") == 0)
			rc = config_get_string(x, v, key, &p->cmd);
		else if (strcmp(v->string, "ceiling_usd") == 0)
			rc = config_get_usd(x, v, key, &p->ceiling_micros);
		else if (strcmp(v->string, "ceiling_tokens") == 0) {
			long t;
			if ((rc = config_get_long(x, v, key, 1, 1000000000000L, &t)) == 0)
				p->ceiling_tokens = t;
		} else if (strcmp(v->string, "downgrade_at") == 0)
			rc = jsoncheck_number(x, v, NULL, key, 0, 1, &p->downgrade_at);
		else if (strcmp(v->string, "worktree") == 0)
			rc = jsoncheck_bool(x, v, NULL, key, &p->worktree);
		else
			rc = config_load_fallback(x, v, key, p);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int
config_load_panes(const struct jsoncheck *x, const cJSON *v, struct config *c)
{
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > CONFIG_MAX_PANES)
		return jsoncheck_fail(x, NULL, "panes", "an array of at most 16 pane objects");
	for (int i = 0; i < c->npanes; i++)
		config_pane_free(&c->panes[i]);
	c->npanes = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, v) {
		if (config_load_pane(x, p, c->npanes, &c->panes[c->npanes]) < 0)
			return -1;
		c->npanes++;
	}
	return 0;
}

static int
config_load_upstream(const struct jsoncheck *x, const cJSON *v, struct config *c)
{
	static const char *const keys[] = { "anthropic", "openai", NULL };
	if (!cJSON_IsObject(v))
		return jsoncheck_fail(x, NULL, "upstream", "an object {\"anthropic\": URL, \"openai\": URL}");
	if (jsoncheck_keys(x, v, "upstream", keys) < 0)
		return -1;
	const cJSON *u;
	cJSON_ArrayForEach(u, v) {
		char key[64];
		snprintf(key, sizeof key, "upstream.%s", u->string);
		if (config_get_url(x, u, key, strcmp(u->string, "anthropic") == 0 ?
		    &c->anthropic_upstream : &c->openai_upstream) < 0)
			return -1;
	}
	return 0;
}

/* The keys of pane states and notifications. */
static int
config_load_notify(const struct jsoncheck *x, const cJSON *v, struct config *c)
{
	const char *k = v->string;
	if (strcmp(k, "notify_command") == 0) {
		if (cJSON_IsNull(v)) {
			free(c->notify_command);
			c->notify_command = NULL;
			return 0;
		}
		return config_get_string(x, v, k, &c->notify_command);
	}
	if (strcmp(k, "notify_focused") == 0)
		return jsoncheck_bool(x, v, NULL, k, &c->notify_focused);
	if (strcmp(k, "notify_osc") == 0) {
		int m = cJSON_IsString(v) ? notify_method_parse(v->valuestring) : -2;
		if (m < NOTIFY_AUTO)
			return jsoncheck_fail(x, NULL, k, "one of \"auto\", \"osc9\", \"osc777\", "
			    "\"osc99\", \"bel\", \"off\"");
		c->notify_osc = m;
		return 0;
	}
	/* claude_first_party */
	if (cJSON_IsBool(v))
		c->claude_first_party = cJSON_IsTrue(v);
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "auto") == 0)
		c->claude_first_party = -1;
	else
		return jsoncheck_fail(x, NULL, k, "true, false or \"auto\"");
	return 0;
}

static const char *const config_root_keys[] = { "panes", "prefix", "scrollback_lines",
	"scrollback_mb", "upstream", "port", "gateway", "ledger", "ledger_fail_open", "ceiling_usd",
	"daily_ceiling_usd", "min_output_tokens", "warn_at", "theme", "bell", "prices",
	"worktree_dir", "worktree_setup", "notify_command", "notify_osc", "notify_focused",
	"claude_first_party", "metrics_token", "body_memory_mb", TEAM_CONFIG_KEYS, "$schema",
	"comment", NULL };

/* One top-level key (known: config_root_keys checked it). */
static int
config_load_key(const struct jsoncheck *x, const cJSON *v, struct config *c)
{
	const char *k = v->string;
	const char *s;
	long n;
	int rc = 0;
	if (strcmp(k, "panes") == 0)
		rc = config_load_panes(x, v, c);
	else if (strcmp(k, "prefix") == 0) {
		int key = cJSON_IsString(v) ? config_parse_key(v->valuestring) : -1;
		if (key < 0)
			return jsoncheck_fail(x, NULL, k, "a control key such as \"C-g\" or \"C-a\"");
		c->prefix_key = key;
	} else if (strcmp(k, "scrollback_lines") == 0) {
		if ((rc = config_get_long(x, v, k, 0, 1000000, &n)) == 0)
			c->scrollback_lines = n;
	} else if (strcmp(k, "scrollback_mb") == 0) {
		if ((rc = config_get_long(x, v, k, 1, 4096, &n)) == 0)
			c->scrollback_bytes = (size_t)n << 20;
	} else if (strcmp(k, "upstream") == 0)
		rc = config_load_upstream(x, v, c);
	else if (strcmp(k, "port") == 0) {
		if ((rc = config_get_long(x, v, k, 0, 65535, &n)) == 0)
			c->port = (int)n;
	} else if (strcmp(k, "gateway") == 0)
		rc = jsoncheck_bool(x, v, NULL, k, &c->gateway);
	else if (strcmp(k, "metrics_token") == 0)
		rc = jsoncheck_bool(x, v, NULL, k, &c->metrics_token);
	else if (strcmp(k, "body_memory_mb") == 0) {
		if ((rc = config_get_long(x, v, k, 64, 65536, &n)) == 0)
			c->body_memory = (size_t)n << 20;
	}
	else if (strcmp(k, "ledger") == 0)
		rc = config_get_string(x, v, k, &c->ledger_path);
	else if (strcmp(k, "ledger_fail_open") == 0)
		rc = jsoncheck_bool(x, v, NULL, k, &c->ledger_fail_open);
	else if (strcmp(k, "ceiling_usd") == 0)
		rc = config_get_usd(x, v, k, &c->ceiling_micros);
	else if (strcmp(k, "daily_ceiling_usd") == 0)
		rc = config_get_usd(x, v, k, &c->daily_ceiling_micros);
	else if (strcmp(k, "min_output_tokens") == 0) {
		if ((rc = config_get_long(x, v, k, 1, 1000000000, &n)) == 0)
			c->min_output_tokens = n;
	} else if (strcmp(k, "warn_at") == 0)
		rc = jsoncheck_number(x, v, NULL, k, 0, 1, &c->warn_at);
	else if (strcmp(k, "theme") == 0)
		rc = config_get_string(x, v, k, &c->theme);
	else if (strcmp(k, "bell") == 0)
		rc = jsoncheck_bool(x, v, NULL, k, &c->bell);
	else if (strcmp(k, "prices") == 0) {
		if (!cJSON_IsObject(v))
			return jsoncheck_fail(x, NULL, k, "an object of model prices");
		cJSON_Delete(c->prices);
		c->prices = cJSON_Duplicate(v, 1);
	} else if (strcmp(k, "worktree_dir") == 0)
		rc = config_get_template(x, v, k, &c->worktree_dir);
	else if (strcmp(k, "worktree_setup") == 0)
		rc = config_get_commands(x, v, k, c->worktree_setup, &c->nworktree_setup);
	else if (team_config_has(k))
		rc = team_config_load(x, v, &c->team);
	else if (strncmp(k, "notify_", 7) == 0 || strcmp(k, "claude_first_party") == 0)
		rc = config_load_notify(x, v, c);
	else     /* $schema, comment */
		rc = jsoncheck_string(x, v, NULL, k, 0, &s);
	return rc;
}

int
config_load(struct config *c, const char *path, char **err)
{
	size_t len;
	char *text = util_read_file(path, CONFIG_MAX_BYTES, &len, err);
	if (text == NULL)
		return -1;
	struct jsoncheck x = { path, err };
	cJSON *root = jsoncheck_parse(&x, text, len);
	free(text);
	if (root == NULL)
		return -1;
	int rc = jsoncheck_keys(&x, root, NULL, config_root_keys);
	const cJSON *v;
	cJSON_ArrayForEach(v, root) {
		if (rc < 0)
			break;
		rc = config_load_key(&x, v, c);
	}
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
