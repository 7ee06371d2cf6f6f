/*
 * palette: xterm's default 256-colour palette (the 16 ANSI colours, the
 * 6x6x6 cube, 24 greys) as RGB. Pure, no curses: the terminal model answers
 * palette queries (OSC 4) with it, render maps colours with it.
 */
#ifndef TOKMUX_PALETTE_H
#define TOKMUX_PALETTE_H

/* RGB (0..255 each) of palette index idx (taken modulo 256). */
void palette_rgb(int idx, int *r, int *g, int *b);

#endif
