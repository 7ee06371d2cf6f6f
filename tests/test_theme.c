/* Unit tests for theme: colours, the built-ins, parsing (inheritance from
 * the default, every error naming the file and key), loading by name
 * through the search path, and the shipped themes/ files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testtmp.h"
#include "theme.h"

static void
test_colors(void **state)
{
	(void)state;
	int c = 99;
	assert_int_equal(theme_parse_color("default", &c), 0); assert_int_equal(c, -1);
	assert_int_equal(theme_parse_color("red", &c), 0);     assert_int_equal(c, 1);
	assert_int_equal(theme_parse_color("Bright-Blue", &c), 0); assert_int_equal(c, 12);
	assert_int_equal(theme_parse_color("244", &c), 0);     assert_int_equal(c, 244);
	assert_int_equal(theme_parse_color("#ff8000", &c), 0); assert_int_equal(c, THEME_RGB | 0xff8000);
	assert_int_equal(theme_parse_color("256", &c), -1);
	assert_int_equal(theme_parse_color("#ff80", &c), -1);
	assert_int_equal(theme_parse_color("#gg0000", &c), -1);
	assert_int_equal(theme_parse_color("purple", &c), -1);
	assert_int_equal(theme_parse_color("", &c), -1);
}

static void
test_builtin(void **state)
{
	(void)state;
	struct theme t;
	theme_builtin(&t, 0);
	assert_false(t.mono);
	assert_string_equal(t.name, "default");
	assert_int_equal(t.style[THEME_BAR_OK].fg, 2);
	assert_int_equal(t.style[THEME_BAR_WARN].fg, 3);
	assert_int_equal(t.style[THEME_BAR_OVER].fg, 1);
	theme_builtin(&t, 1);
	assert_true(t.mono);
	for (int i = 0; i < THEME_SLOTS; i++) {
		assert_int_equal(t.style[i].fg, -1);
		assert_int_equal(t.style[i].bg, -1);
		assert_non_null(theme_slot_key(i));
	}
	assert_null(theme_slot_key(THEME_SLOTS));
	assert_true(t.style[THEME_TITLE_FOCUS].attrs & THEME_A_REVERSE);
}

static void
test_parse(void **state)
{
	(void)state;
	struct theme t;
	char *err = NULL;
	assert_int_equal(theme_parse(&t, "{\"name\": \"x\", \"bar_ok\": {\"fg\": \"blue\", \"bg\": 17, "
	    "\"attrs\": [\"bold\", \"underline\"]}, \"error\": \"#102030\"}", "x.json", &err), 0);
	assert_null(err);
	assert_string_equal(t.name, "x");
	assert_int_equal(t.style[THEME_BAR_OK].fg, 4);
	assert_int_equal(t.style[THEME_BAR_OK].bg, 17);
	assert_int_equal(t.style[THEME_BAR_OK].attrs, THEME_A_BOLD | THEME_A_UNDERLINE);
	assert_int_equal(t.style[THEME_ERROR].fg, THEME_RGB | 0x102030);
	/* keys left out keep the default's */
	struct theme d;
	theme_builtin(&d, 0);
	assert_memory_equal(&t.style[THEME_BORDER], &d.style[THEME_BORDER], sizeof d.style[0]);

	static const struct { const char *json, *msg; } bad[] = {
		{ "{\"bar_ok\": {\"fg\": \"purple\"}}", "x.json: key bar_ok.fg: expected a colour" },
		{ "{\"bar_ok\": {\"bg\": 300}}", "x.json: key bar_ok.bg: expected a colour" },
		{ "{\"bar_ok\": {\"attrs\": [\"blink\"]}}", "x.json: key bar_ok.attrs: expected an array" },
		{ "{\"bar_ok\": {\"colour\": 1}}", "x.json: key bar_ok.colour: expected one of fg, bg, attrs (unknown key)" },
		{ "{\"bar_okay\": {}}", "x.json: key bar_okay: expected one of name, mono, comment, border, " },
		{ "{\"title\": 5}", "x.json: key title: expected an object" },
		{ "{\"mono\": 1}", "x.json: key mono: expected true or false" },
		{ "{\"name\": 1}", "x.json: key name: expected a string" },
		{ "{\n\"border\": }", "x.json: invalid JSON at line 2" },
		{ "[1]", "x.json: key (top level): expected a JSON object" },
		/* issue 14: a key twice is an error naming it, at any depth */
		{ "{\"border\": {}, \"border\": {}}", "x.json: key border: expected the key once (it appears twice)" },
		{ "{\"bar_ok\": {\"fg\": \"red\", \"fg\": \"blue\"}}",
		    "x.json: key bar_ok.fg: expected the key once (it appears twice)" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = NULL;
		assert_int_equal(theme_parse(&t, bad[i].json, "x.json", &err), -1);
		assert_non_null(err);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("'%s' gave '%s', wanted '%s'", bad[i].json, err, bad[i].msg);
		free(err);
	}
}

static char tmpdir[64];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_load_search(void **state)
{
	(void)state;
	testtmp_make(tmpdir, sizeof tmpdir, "theme");
	char cwd[4096], path[256];
	assert_non_null(getcwd(cwd, sizeof cwd));
	char *old_xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
	/* a theme in $XDG_CONFIG_HOME/tokmux/themes, run from an empty dir */
	snprintf(path, sizeof path, "%s/tokmux", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/tokmux/themes", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/tokmux/themes/sea.json", tmpdir);
	write_file(path, "{\"name\": \"sea\", \"text\": \"cyan\"}");
	snprintf(path, sizeof path, "%s/tokmux/themes/broken.json", tmpdir);
	write_file(path, "{\"text\": {\"fg\": \"nope\"}}");
	setenv("XDG_CONFIG_HOME", tmpdir, 1);
	assert_int_equal(chdir(tmpdir), 0);
	struct theme t;
	char *err = NULL;
	assert_int_equal(theme_load(&t, "sea", &err), 0);
	assert_string_equal(t.name, "sea");
	assert_int_equal(t.style[THEME_TEXT].fg, 6);
	/* a bad file: the error names the file and the key */
	assert_int_equal(theme_load(&t, "broken", &err), -1);
	assert_non_null(strstr(err, "tokmux/themes/broken.json: key text.fg"));
	free(err);
	/* unknown: the error lists where it looked */
	err = NULL;
	assert_int_equal(theme_load(&t, "nosuch", &err), -1);
	assert_non_null(strstr(err, "theme 'nosuch' not found"));
	assert_non_null(strstr(err, "tokmux/themes"));
	free(err);
	err = NULL;
	assert_int_equal(theme_load(&t, "../etc", &err), -1);   /* a path: cannot open */
	free(err);
	err = NULL;
	assert_int_equal(theme_load(&t, "a b", &err), -1);
	free(err);
	/* ./themes comes first */
	assert_int_equal(mkdir("themes", 0700), 0);
	write_file("themes/sea.json", "{\"name\": \"local-sea\"}");
	assert_int_equal(theme_load(&t, "sea", &err), 0);
	assert_string_equal(t.name, "local-sea");
	/* a path is loaded as it is */
	snprintf(path, sizeof path, "%s/tokmux/themes/sea.json", tmpdir);
	assert_int_equal(theme_load(&t, path, &err), 0);
	assert_string_equal(t.name, "sea");
	char *dirs[8];
	int nd = theme_dirs(dirs, 8);
	assert_true(nd >= 3);
	assert_string_equal(dirs[0], "themes");
	for (int i = 0; i < nd; i++)
		free(dirs[i]);
	assert_int_equal(chdir(cwd), 0);
	if (old_xdg) {
		setenv("XDG_CONFIG_HOME", old_xdg, 1);
		free(old_xdg);
	} else {
		unsetenv("XDG_CONFIG_HOME");
	}
	assert_int_equal(testtmp_remove(tmpdir), 0);
}

/* The shipped themes load, and default/mono load even with no files. */
static void
test_shipped(void **state)
{
	(void)state;
	static const char *names[] = { "default", "light", "mono" };
	for (size_t i = 0; i < 3; i++) {
		struct theme t;
		char path[128], *err = NULL;
		snprintf(path, sizeof path, "themes/%s.json", names[i]);
		if (theme_load_file(&t, path, &err) != 0)
			fail_msg("%s", err);
		assert_string_equal(t.name, names[i]);
		assert_int_equal(t.mono, i == 2);
	}
	struct theme a, b;
	char *err = NULL;
	assert_int_equal(theme_load_file(&a, "themes/default.json", &err), 0);
	theme_builtin(&b, 0);
	/* the file and the built-in agree, so an uninstalled tokmux looks the same */
	assert_memory_equal(a.style, b.style, sizeof a.style);
	assert_memory_equal(&a.terminal, &b.terminal, sizeof a.terminal);
	assert_int_equal(a.terminal.bg, THEME_RGB | 0);
	assert_int_equal(theme_load_file(&a, "themes/light.json", &err), 0);
	assert_int_equal(a.terminal.fg, THEME_RGB | 0);
	assert_int_equal(a.terminal.bg, THEME_RGB | 0xffffff);
	assert_int_equal(theme_load_file(&a, "themes/mono.json", &err), 0);
	theme_builtin(&b, 1);
	assert_memory_equal(a.style, b.style, sizeof a.style);
	assert_int_equal(a.terminal.fg, -1);    /* says nothing: not told */
	assert_int_equal(a.terminal.bg, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_colors),
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_load_search),
		cmocka_unit_test(test_shipped),
	};
	return cmocka_run_group_tests_name("theme", tests, NULL, NULL);
}
