/*
 * palette: xterm's default colours (palette.h). The ANSI 16 are xterm's
 * defaults; 16..231 is the cube with levels 0, 95, 135, ..., 255; 232..255
 * are greys from 8 in steps of 10.
 */
#include "palette.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t palette_ansi16[16][3] = {
	{ 0, 0, 0 }, { 205, 0, 0 }, { 0, 205, 0 }, { 205, 205, 0 },
	{ 0, 0, 238 }, { 205, 0, 205 }, { 0, 205, 205 }, { 229, 229, 229 },
	{ 127, 127, 127 }, { 255, 0, 0 }, { 0, 255, 0 }, { 255, 255, 0 },
	{ 92, 92, 255 }, { 255, 0, 255 }, { 0, 255, 255 }, { 255, 255, 255 },
};

static const int palette_cube[6] = { 0, 95, 135, 175, 215, 255 };

void
palette_rgb(int idx, int *r, int *g, int *b)
{
	idx &= 255;
	if (idx < 16) {
		*r = palette_ansi16[idx][0];
		*g = palette_ansi16[idx][1];
		*b = palette_ansi16[idx][2];
	} else if (idx < 232) {
		idx -= 16;
		*r = palette_cube[idx / 36];
		*g = palette_cube[idx / 6 % 6];
		*b = palette_cube[idx % 6];
	} else {
		*r = *g = *b = 8 + 10 * (idx - 232);
	}
}

int
palette_parse_rgb(const char *s, uint8_t rgb[3])
{
	unsigned long v;
	char *end;
	int i;
	size_t digits;

	if (strncmp(s, "rgb:", 4) != 0)
		return -1;
	s += 4;
	for (i = 0; i < 3; i++) {
		v = strtoul(s, &end, 16);
		digits = (size_t)(end - s);
		if (digits < 1 || digits > 4 || (i < 2 && *end != '/'))
			return -1;
		/* scale h, hh, hhh, hhhh to 8 bits */
		rgb[i] = (uint8_t)(v * 255 / ((1ul << (4 * digits)) - 1));
		s = end + 1;
	}
	return 0;
}
