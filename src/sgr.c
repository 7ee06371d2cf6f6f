/*
 * sgr: SGR parameters -> the plain SGR for libvterm 0.1.4 and tokmux's pen
 * extension (sgr.h). Items follow xterm and tmux: a colon group is one item
 * (4:3, 38:2::r:g:b, 38:2:r:g:b, 58:5:n); in the ';' form 38, 48 and 58
 * take 5;n or 2;r;g;b with them. libvterm gets colours only in the ';' form
 * (it reads 38:2::r:g:b as 38;2;0;r;g, and 58's arguments as attributes).
 */
#include "sgr.h"

#include <string.h>

#include "util.h"

static const struct sgr_ext sgr_ext_zero;

int
sgr_ext_default(const struct sgr_ext *ext)
{
	return memcmp(ext, &sgr_ext_zero, sizeof *ext) == 0;
}

static uint32_t
sgr_val(uint32_t v)
{
	return v == SGR_MISSING ? 0 : v;
}

/* Parameters in the item starting at i: a colon group, a ';' colour, or
 * one. A ';' colour cut short by the end is what is left. */
static int
sgr_item_len(const uint32_t *p, const uint8_t *sub, int n, int i)
{
	int j = i, len = 1;

	if (sub[i]) {
		while (j < n - 1 && sub[j])
			j++;
		return j - i + 1;
	}
	if ((p[i] == 38 || p[i] == 48 || p[i] == 58) && i + 1 < n)
		len = p[i + 1] == 5 ? 3 : p[i + 1] == 2 ? 5 : 1;
	return UTIL_MIN(len, n - i);
}

/* The colour of an item p[0..len-1] (38, 48 or 58 first); -1 if it is
 * malformed. 38:2:r:g:b and 38:2:cs:r:g:b are both read (as tmux does). */
static int
sgr_color(const uint32_t *p, int len, int colon, struct grid_color *c)
{
	uint32_t v[3];
	int i, k;

	memset(c, 0, sizeof *c);
	if (len == 3 && p[1] == 5) {
		if (sgr_val(p[2]) > 255)
			return -1;
		c->type = GRID_COLOR_INDEXED;
		c->idx = (uint8_t)sgr_val(p[2]);
		return 0;
	}
	if (len < 5 || p[1] != 2)
		return -1;
	i = colon && len >= 6 ? 3 : 2;
	if (len != i + 3)
		return -1;
	for (k = 0; k < 3; k++)
		if ((v[k] = sgr_val(p[i + k])) > 255)
			return -1;
	c->type = GRID_COLOR_RGB;
	c->r = (uint8_t)v[0];
	c->g = (uint8_t)v[1];
	c->b = (uint8_t)v[2];
	return 0;
}

static void
sgr_out_item(struct sgr_out *out, const uint32_t *v, int n)
{
	int k;

	for (k = 0; k < n; k++) {
		out->p[out->n] = v[k];
		out->start[out->n++] = k == 0;
	}
}

static void
sgr_out1(struct sgr_out *out, uint32_t v)
{
	sgr_out_item(out, &v, 1);
}

/* A colour item for libvterm (38, 48) in its ';' form. */
static void
sgr_out_color(struct sgr_out *out, uint32_t which, const struct grid_color *c)
{
	uint32_t v[5] = { which, 5, c->idx, 0, 0 };

	if (c->type == GRID_COLOR_RGB) {
		v[1] = 2;
		v[2] = c->r;
		v[3] = c->g;
		v[4] = c->b;
	}
	sgr_out_item(out, v, c->type == GRID_COLOR_RGB ? 5 : 3);
}

/* Attributes libvterm 0.1.4 keeps itself, passed as they are. */
static int
sgr_libvterm(uint32_t v)
{
	return v == 1 || v == 3 || v == 5 || v == 7 || v == 9 ||
	    v == 23 || v == 25 || v == 27 || v == 29 || (v >= 30 && v <= 37) ||
	    v == 39 || (v >= 40 && v <= 47) || v == 49 ||
	    (v >= 90 && v <= 97) || (v >= 100 && v <= 107);
}

/* Underline: 4, or 4:n with n 0 (off) to 5 (dashed). */
static void
sgr_underline(const uint32_t *p, int len, struct sgr_ext *ext,
    struct sgr_out *out)
{
	uint32_t style = len >= 2 ? sgr_val(p[1]) : 1;

	if (len > 2 || style > GRID_UL_DASHED)
		return;
	ext->ul = (uint8_t)style;
	sgr_out1(out, style != 0 ? 4 : 24);
}

/* One item: p[0..len-1], colon says it was a colon group. */
static void
sgr_item(const uint32_t *p, int len, int colon, struct sgr_ext *ext,
    struct sgr_out *out)
{
	uint32_t v = sgr_val(p[0]);
	struct grid_color c;

	if (v == 4) {
		sgr_underline(p, len, ext, out);
		return;
	}
	if (v == 38 || v == 48 || v == 58) {
		if (sgr_color(p, len, colon, &c) != 0)
			return;
		if (v == 58)
			ext->ulc = c;
		else
			sgr_out_color(out, v, &c);
		return;
	}
	if (colon)
		return;         /* sub-parameters nothing here takes */
	if (sgr_libvterm(v))
		sgr_out1(out, v);
	switch (v) {
	case 0: *ext = sgr_ext_zero; sgr_out1(out, 0); break;
	case 2: ext->dim = 1; break;
	case 6: sgr_out1(out, 5); break;        /* rapid blink: blink */
	case 8: ext->conceal = 1; break;
	case 21: ext->ul = GRID_UL_DOUBLE; sgr_out1(out, 4); break;
	case 22: ext->dim = 0; sgr_out1(out, 22); break;
	case 24: ext->ul = 0; sgr_out1(out, 24); break;
	case 28: ext->conceal = 0; break;
	case 53: ext->overline = 1; break;
	case 55: ext->overline = 0; break;
	case 59: memset(&ext->ulc, 0, sizeof ext->ulc); break;
	default: break;
	}
}

int
sgr_apply(const uint32_t *p, const uint8_t *sub, int n, struct sgr_ext *ext,
    struct sgr_out *out)
{
	struct sgr_ext before = *ext;
	int i, len;

	if (n == 0) {
		uint32_t zero = 0;

		sgr_item(&zero, 1, 0, ext, out);
	}
	for (i = 0; i < n; i += len) {
		len = sgr_item_len(p, sub, n, i);
		sgr_item(p + i, len, sub[i], ext, out);
	}
	return memcmp(&before, ext, sizeof before) != 0;
}

int
sgr_plain(const uint32_t *p, int n, const struct sgr_ext *ext)
{
	int i, len, k;
	uint32_t v;

	for (i = 0; i < n; i += len) {
		v = p[i];
		len = 1;
		if (v == 38 || v == 48) {
			len = i + 1 < n && p[i + 1] == 5 ? 3 :
			    i + 1 < n && p[i + 1] == 2 ? 5 : 0;
			if (len == 0 || i + len > n)
				return 0;
			for (k = 2; k < len; k++)
				if (p[i + k] > 255)     /* SGR_MISSING too */
					return 0;
			continue;
		}
		if (v == SGR_MISSING || v == 0) {
			if (!sgr_ext_default(ext))
				return 0;
		} else if (v == 22) {
			if (ext->dim)
				return 0;
		} else if (v == 24) {
			if (ext->ul)
				return 0;
		} else if (!sgr_libvterm(v))
			return 0;
	}
	return 1;
}
