/*
 * theme: owns the built-in themes, the JSON theme format and the search
 * for a theme file by name. A theme file is an object with an optional
 * "name", an optional "mono" flag, an optional "terminal" (the fg and bg of
 * the terminal it is made for) and one object per slot:
 *   "bar_ok": {"fg": "green", "bg": "default", "attrs": ["bold"]}
 * Unknown keys are errors, as in the config: a typo should not silently
 * do nothing.
 */
#include "theme.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "jsoncheck.h"
#include "util.h"

#define THEME_MAX_BYTES (256 * 1024)

static const char *slot_keys[THEME_SLOTS] = {
	[THEME_BORDER] = "border",
	[THEME_BORDER_FOCUS] = "border_focus",
	[THEME_TITLE] = "title",
	[THEME_TITLE_FOCUS] = "title_focus",
	[THEME_TEXT] = "text",
	[THEME_BOLD] = "bold",
	[THEME_DIM] = "dim",
	[THEME_WARN] = "warn",
	[THEME_ERROR] = "error",
	[THEME_BAR_OK] = "bar_ok",
	[THEME_BAR_WARN] = "bar_warn",
	[THEME_BAR_OVER] = "bar_over",
	[THEME_SPARKLINE] = "sparkline",
	[THEME_STATUS] = "status",
};

const char *
theme_slot_key(int slot)
{
	return slot >= 0 && slot < THEME_SLOTS ? slot_keys[slot] : NULL;
}

static const struct { const char *name; int color; } color_names[] = {
	{ "default", -1 }, { "black", 0 }, { "red", 1 }, { "green", 2 }, { "yellow", 3 },
	{ "blue", 4 }, { "magenta", 5 }, { "cyan", 6 }, { "white", 7 }, { "grey", 8 },
	{ "gray", 8 }, { "bright-black", 8 }, { "bright-red", 9 }, { "bright-green", 10 },
	{ "bright-yellow", 11 }, { "bright-blue", 12 }, { "bright-magenta", 13 },
	{ "bright-cyan", 14 }, { "bright-white", 15 },
};

int
theme_parse_color(const char *s, int *out)
{
	if (s == NULL || *s == '\0')
		return -1;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(color_names); i++) {
		if (strcasecmp(s, color_names[i].name) == 0) {
			*out = color_names[i].color;
			return 0;
		}
	}
	char *end;
	if (s[0] == '#') {
		if (strlen(s) != 7)
			return -1;
		long v = strtol(s + 1, &end, 16);
		if (*end != '\0' || v < 0)
			return -1;
		*out = THEME_RGB | (int)v;
		return 0;
	}
	long v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > 255)
		return -1;
	*out = (int)v;
	return 0;
}

void
theme_builtin(struct theme *t, int mono)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < THEME_SLOTS; i++)
		t->style[i] = (struct theme_style){ -1, -1, 0 };
	snprintf(t->name, sizeof t->name, "%s", mono ? "mono" : "default");
	t->mono = mono;
	t->terminal = (struct theme_style){ -1, -1, 0 };
	struct theme_style *s = t->style;
	s[THEME_BOLD].attrs = THEME_A_BOLD;
	s[THEME_DIM].attrs = THEME_A_DIM;
	s[THEME_STATUS].attrs = THEME_A_DIM;
	if (mono) {
		s[THEME_TITLE].attrs = THEME_A_DIM | THEME_A_UNDERLINE;
		s[THEME_TITLE_FOCUS].attrs = THEME_A_BOLD | THEME_A_REVERSE;
		s[THEME_BORDER_FOCUS].attrs = THEME_A_BOLD;
		s[THEME_WARN].attrs = THEME_A_BOLD;
		s[THEME_ERROR].attrs = THEME_A_BOLD | THEME_A_UNDERLINE;
		s[THEME_BAR_WARN].attrs = THEME_A_BOLD;
		s[THEME_BAR_OVER].attrs = THEME_A_BOLD | THEME_A_REVERSE;
		s[THEME_SPARKLINE].attrs = 0;
		return;
	}
	s[THEME_BORDER].fg = 4;
	s[THEME_BORDER_FOCUS].fg = 2;
	s[THEME_TITLE].fg = 7;
	s[THEME_TITLE].attrs = THEME_A_DIM;
	s[THEME_TITLE_FOCUS] = (struct theme_style){ 0, 2, THEME_A_BOLD };
	s[THEME_WARN] = (struct theme_style){ 3, -1, THEME_A_BOLD };
	s[THEME_ERROR] = (struct theme_style){ 1, -1, THEME_A_BOLD };
	s[THEME_BAR_OK].fg = 2;
	s[THEME_BAR_WARN].fg = 3;
	s[THEME_BAR_OVER] = (struct theme_style){ 1, -1, THEME_A_BOLD };
	s[THEME_SPARKLINE].fg = 6;
	t->terminal = (struct theme_style){ THEME_RGB | 0xe5e5e5, THEME_RGB | 0, 0 };
}

static int
theme_parse_attrs(const struct jsoncheck *x, const char *key, const cJSON *v, unsigned *out)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "bold", THEME_A_BOLD }, { "dim", THEME_A_DIM }, { "reverse", THEME_A_REVERSE },
		{ "underline", THEME_A_UNDERLINE },
	};
	if (!cJSON_IsArray(v))
		return jsoncheck_fail(x, key, "attrs", "an array of bold, dim, reverse, underline");
	*out = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, v) {
		size_t i;
		for (i = 0; i < UTIL_ARRAY_LEN(names); i++)
			if (cJSON_IsString(a) && strcmp(a->valuestring, names[i].name) == 0)
				break;
		if (i == UTIL_ARRAY_LEN(names))
			return jsoncheck_fail(x, key, "attrs", "an array of bold, dim, reverse, underline");
		*out |= names[i].bit;
	}
	return 0;
}

static int
theme_parse_color_value(const struct jsoncheck *x, const char *key, const char *sub,
    const cJSON *v, int *out)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 255 &&
	    v->valuedouble == (int)v->valuedouble) {
		*out = (int)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && theme_parse_color(v->valuestring, out) == 0)
		return 0;
	return jsoncheck_fail(x, key, sub, "a colour name, 0..255 or \"#rrggbb\"");
}

static int
theme_parse_style(const struct jsoncheck *x, const char *key, const cJSON *v,
    struct theme_style *st)
{
	static const char *const keys[] = { "fg", "bg", "attrs", NULL };
	if (cJSON_IsString(v))      /* shorthand: just the foreground */
		return theme_parse_color_value(x, key, NULL, v, &st->fg);
	if (!cJSON_IsObject(v))
		return jsoncheck_fail(x, key, NULL, "an object {\"fg\", \"bg\", \"attrs\"} or a colour");
	if (jsoncheck_keys(x, v, key, keys) < 0)
		return -1;
	const cJSON *f;
	cJSON_ArrayForEach(f, v) {
		int rc;
		if (strcmp(f->string, "fg") == 0)
			rc = theme_parse_color_value(x, key, "fg", f, &st->fg);
		else if (strcmp(f->string, "bg") == 0)
			rc = theme_parse_color_value(x, key, "bg", f, &st->bg);
		else
			rc = theme_parse_attrs(x, key, f, &st->attrs);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* The slot a key names, or -1. */
static int
theme_slot_of(const char *key)
{
	for (int slot = 0; slot < THEME_SLOTS; slot++)
		if (strcmp(key, slot_keys[slot]) == 0)
			return slot;
	return -1;
}

static int
theme_parse_root(const struct jsoncheck *x, const cJSON *root, struct theme *t)
{
	const char *allowed[THEME_SLOTS + 5] = { "name", "mono", "comment" };
	for (int i = 0; i < THEME_SLOTS; i++)
		allowed[3 + i] = slot_keys[i];
	allowed[3 + THEME_SLOTS] = "terminal";
	int mono = 0;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "mono");
	if (jsoncheck_keys(x, root, NULL, allowed) < 0 ||
	    (m != NULL && jsoncheck_bool(x, m, NULL, "mono", &mono) < 0))
		return -1;
	theme_builtin(t, mono);
	const cJSON *v;
	cJSON_ArrayForEach(v, root) {
		const char *k = v->string, *name;
		if (strcmp(k, "mono") == 0 || strcmp(k, "comment") == 0)
			continue;
		if (strcmp(k, "name") == 0) {
			if (jsoncheck_string(x, v, NULL, k, 0, &name) < 0)
				return -1;
			snprintf(t->name, sizeof t->name, "%s", name);
		} else if (strcmp(k, "terminal") == 0) {
			if (theme_parse_style(x, k, v, &t->terminal) < 0)
				return -1;
		} else if (theme_parse_style(x, k, v, &t->style[theme_slot_of(k)]) < 0) {
			return -1;
		}
	}
	return 0;
}

int
theme_parse(struct theme *t, const char *json, const char *file, char **err)
{
	struct jsoncheck x = { file, err };
	cJSON *root = jsoncheck_parse(&x, json, strlen(json));
	if (root == NULL)
		return -1;
	int rc = theme_parse_root(&x, root, t);
	cJSON_Delete(root);
	return rc;
}

int
theme_load_file(struct theme *t, const char *path, char **err)
{
	char *buf = util_read_file(path, THEME_MAX_BYTES, NULL, err);
	if (buf == NULL)
		return -1;
	int rc = theme_parse(t, buf, path, err);
	free(buf);
	return rc;
}

int
theme_dirs(char **dirs, int max)
{
	int n = 0;
	char *cand[8];
	int nc = 0;
	cand[nc++] = xstrdup("themes");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg != NULL && xdg[0] == '/')
		cand[nc++] = xasprintf("%s/tokmux/themes", xdg);
	else if (home != NULL && home[0] != '\0')
		cand[nc++] = xasprintf("%s/.config/tokmux/themes", home);
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			cand[nc++] = xasprintf("%s/../share/tokmux/themes", exe);
			cand[nc++] = xasprintf("%s/../themes", exe);
		}
	}
	cand[nc++] = xstrdup("/usr/local/share/tokmux/themes");
	cand[nc++] = xstrdup("/usr/share/tokmux/themes");
	for (int i = 0; i < nc; i++) {
		if (n < max)
			dirs[n++] = cand[i];
		else
			free(cand[i]);
	}
	return n;
}

static int
theme_is_path(const char *name)
{
	size_t n = strlen(name);
	return strchr(name, '/') != NULL || (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static int
theme_valid_name(const char *name)
{
	if (name[0] == '\0' || name[0] == '.')
		return 0;
	for (const char *p = name; *p; p++)
		if (!(((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

int
theme_load(struct theme *t, const char *name, char **err)
{
	if (name == NULL || name[0] == '\0')
		name = "default";
	if (theme_is_path(name))
		return theme_load_file(t, name, err);
	if (!theme_valid_name(name)) {
		*err = xasprintf("theme '%s': expected a name of letters, digits, '-', '_' or a path", name);
		return -1;
	}
	char *dirs[8];
	int nd = theme_dirs(dirs, 8);
	int rc = 1;     /* 1: not found */
	for (int i = 0; i < nd; i++) {
		char *path = xasprintf("%s/%s.json", dirs[i], name);
		if (rc == 1 && access(path, R_OK) == 0)
			rc = theme_load_file(t, path, err);
		free(path);
	}
	if (rc == 1 && (strcmp(name, "default") == 0 || strcmp(name, "mono") == 0)) {
		theme_builtin(t, strcmp(name, "mono") == 0);
		rc = 0;
	}
	if (rc == 1) {
		struct buf b = { 0 };
		for (int i = 0; i < nd; i++)
			buf_appendf(&b, "%s%s", i ? ", " : "", dirs[i]);
		*err = xasprintf("theme '%s' not found (looked for %s.json in %s)", name, name,
		    b.data ? b.data : "");
		buf_free(&b);
		rc = -1;
	}
	for (int i = 0; i < nd; i++)
		free(dirs[i]);
	return rc;
}
