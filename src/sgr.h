/*
 * sgr: Select Graphic Rendition parsed as xterm does, with ITU T.416
 * sub-parameters (4:3, 38:2::r:g:b, 58:5:n), split in two: the plain SGR
 * that libvterm 0.1.4 reads correctly (bold, italic, blink, reverse,
 * strike, foreground and background in their ';' forms), and what libvterm
 * cannot keep, tokmux's pen extension (dim, conceal, overline, underline
 * style, underline colour). Used by vtguard; pure functions.
 */
#ifndef TOKMUX_SGR_H
#define TOKMUX_SGR_H

#include <stdint.h>

#include "grid.h"

#define SGR_MISSING UINT32_MAX  /* an empty parameter */
#define SGR_ITEM_MAX 5          /* parameters of one output item (38;2;r;g;b) */

/* The pen extension: what libvterm 0.1.4 drops or misreads. */
struct sgr_ext {
	uint8_t dim, conceal, overline;
	uint8_t ul;             /* underline: 0 none, enum grid_ul_style */
	struct grid_color ulc;  /* underline colour (58; 59 = default) */
};

/* The plain SGR for libvterm: items (one parameter, or a whole colour
 * 38;5;n / 38;2;r;g;b) never to be split across sequences. */
struct sgr_out {
	uint32_t p[2 * 32 + 8];
	uint8_t start[2 * 32 + 8];  /* 1 where an item starts */
	int n;
};

/*
 * Apply the SGR parameters p[0..n-1] (SGR_MISSING for empty ones; sub[i]
 * is 1 when p[i] is followed by ':') to *ext and append the plain SGR for
 * libvterm to *out (n <= 32). Unknown or malformed items are dropped, as
 * xterm ignores them. Returns 1 if *ext changed.
 */
int sgr_apply(const uint32_t *p, const uint8_t *sub, int n,
    struct sgr_ext *ext, struct sgr_out *out);

/* 1 if ext is the default (SGR 0) pen extension. */
int sgr_ext_default(const struct sgr_ext *ext);

/*
 * Whether sgr_apply would pass p[0..n-1] (all ';'-separated) to libvterm
 * unchanged and leave *ext as it is: the fast path of vtguard.
 */
int sgr_plain(const uint32_t *p, int n, const struct sgr_ext *ext);

#endif
