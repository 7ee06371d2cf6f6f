/*
 * fuzz_theme: theme files (themes/NAME.json, ~/.config/tokmux/themes)
 * through theme_parse, as theme_load_file reads them. Checks: a parse
 * either fills every slot with a valid colour or fails with one line
 * naming the file; the theme's name is terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_theme_color_ok(int c)
{
	return c == -1 || (c >= 0 && c <= 255) || (c & ~0xffffff) == THEME_RGB;
}

static void
fz_theme_check(const struct theme *t)
{
	if (memchr(t->name, 0, sizeof t->name) == NULL)
		abort();
	for (int i = 0; i < THEME_SLOTS; i++)
		if (!fz_theme_color_ok(t->style[i].fg) || !fz_theme_color_ok(t->style[i].bg) ||
		    t->style[i].attrs > 15)
			abort();
	if (!fz_theme_color_ok(t->terminal.fg) || !fz_theme_color_ok(t->terminal.bg))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct theme t;
	char *err = NULL, *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	theme_builtin(&t, 0);
	if (theme_parse(&t, text, "fuzz.json", &err) == 0) {
		if (err != NULL)
			abort();
		fz_theme_check(&t);
	} else if (err == NULL || strncmp(err, "fuzz.json: ", 11) != 0 ||
	    strchr(err, '\n') != NULL) {
		abort();
	}
	free(err);
	free(text);
	return 0;
}
