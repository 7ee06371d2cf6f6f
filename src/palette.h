/*
 * palette: xterm's default 256-colour palette (the 16 ANSI colours, the
 * 6x6x6 cube, 24 greys) as RGB, and colours as terminals write them. Pure,
 * no curses: the terminal model answers palette queries (OSC 4) with it,
 * render maps colours with it, input reads the terminal's colour answers.
 */
#ifndef TOKMUX_PALETTE_H
#define TOKMUX_PALETTE_H

#include <stdint.h>

/* RGB (0..255 each) of palette index idx (taken modulo 256). */
void palette_rgb(int idx, int *r, int *g, int *b);

/* An X11 colour "rgb:RRRR/GGGG/BBBB" (1 to 4 hex digits each, as
 * terminals answer OSC 10/11) at the start of s; 0 and rgb, or -1. */
int palette_parse_rgb(const char *s, uint8_t rgb[3]);

#endif
