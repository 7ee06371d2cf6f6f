/*
 * theme: colour themes as plain data, loaded from themes/NAME.json (cJSON).
 * A theme names a style (fg, bg, attributes) for each part of the chrome:
 * borders, titles, sidebar text, bars, sparklines, errors. Keys a file
 * leaves out keep the built-in default's style. No curses here: ui.c turns
 * styles into colour pairs.
 */
#ifndef TOKMUX_THEME_H
#define TOKMUX_THEME_H

#include <stddef.h>

enum theme_slot {
	THEME_BORDER,
	THEME_BORDER_FOCUS,
	THEME_TITLE,
	THEME_TITLE_FOCUS,
	THEME_TEXT,
	THEME_BOLD,
	THEME_DIM,
	THEME_WARN,
	THEME_ERROR,
	THEME_BAR_OK,
	THEME_BAR_WARN,
	THEME_BAR_OVER,
	THEME_SPARKLINE,
	THEME_STATUS,
	THEME_SLOTS
};

enum {
	THEME_A_BOLD = 1,
	THEME_A_DIM = 2,
	THEME_A_REVERSE = 4,
	THEME_A_UNDERLINE = 8,
};

#define THEME_RGB 0x1000000     /* fg/bg = THEME_RGB | 0xrrggbb for "#rrggbb" */

struct theme_style {
	int fg, bg;          /* -1 terminal default, 0..255 palette, or THEME_RGB | rgb */
	unsigned attrs;      /* THEME_A_* */
};

struct theme {
	char name[64];
	int mono;            /* attributes only, no colour at all */
	struct theme_style style[THEME_SLOTS];
	/* The terminal the theme is made for ("terminal": fg, bg): the default
	 * colours panes are told (OSC 10/11) when the terminal does not say. */
	struct theme_style terminal;
};

/* The built-in dark default (mono = 0) or the attributes-only mono theme. */
void theme_builtin(struct theme *t, int mono);

/* JSON key of a slot ("bar_ok"), NULL out of range. */
const char *theme_slot_key(int slot);

/* Parse theme JSON text; file names it in errors. 0, or -1 with a malloc'd
 * one-line *err such as "themes/x.json: key bar_ok.fg: expected ...". */
int theme_parse(struct theme *t, const char *json, const char *file, char **err);
int theme_load_file(struct theme *t, const char *path, char **err);

/* Find and load a theme by name: a name with a '/' or ending in ".json" is
 * a path; otherwise NAME.json is searched in theme_dirs() order. "default"
 * and "mono" fall back to the built-ins when no file is found. */
int theme_load(struct theme *t, const char *name, char **err);

/* The directories searched, in order: ./themes, $XDG_CONFIG_HOME/tokmux/themes
 * (~/.config/...), <dir of the executable>/../share/tokmux/themes (the
 * install prefix), <dir of the executable>/../themes (a build tree),
 * /usr/local/share/tokmux/themes, /usr/share/tokmux/themes. Fills dirs[]
 * with malloc'd strings; returns how many. */
int theme_dirs(char **dirs, int max);

/* Parse a colour: "default", a name ("red", "bright-blue", "grey"), a
 * number 0..255 given as text, or "#rrggbb". 0 or -1. */
int theme_parse_color(const char *s, int *out);

#endif
