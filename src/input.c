/*
 * input: the keyboard state machine between ncurses and the panes. Owns the
 * prefix-pending flag, the pending ESC / paste-marker bytes and whether the
 * outer terminal is inside a bracketed paste. The modified-key table built
 * from terminfo is the only process-wide state (written once at start-up).
 *
 * Paste detection limits: the outer terminal's "\e[200~" / "\e[201~" arrive
 * from ncurses as plain characters (they are not terminfo keys). They are
 * recognised only when the whole marker arrives in one batch (ncurses reads
 * ahead after ESC, so in practice it does). A marker split across batches is
 * replayed as Alt-[ plus characters. During a paste every character goes to
 * the pane raw (no Alt-N, no Enter/Tab/Backspace translation), except the
 * prefix key, which keeps working so a lost end marker cannot lock the user
 * out (a pasted Ctrl-g is the price).
 */
#include "input.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vterm.h>

#include "palette.h"
#include "util.h"

#define ESC 27
#define SEQ_MAX 6              /* ESC [ 2 0 0 ~ */
#define REPLY_MAX 48           /* bytes kept of a colour answer's body */

struct input {
	int prefix;                /* control code that starts a command */
	int prefix_pending;
	int in_paste;
	int seqlen;                /* bytes of a pending ESC sequence */
	uint32_t seq[SEQ_MAX];
	int reply;                 /* in the terminal's answer to OSC 10/11: 10, 11 */
	int reply_esc;             /* ... and its ESC (of ST) came */
	char body[REPLY_MAX];      /* "rgb:..." */
	int blen;
};

/* Where events go during one call. */
struct emit {
	struct input_event *out;
	int max;
	int n;
};

struct modkey {
	int code;                  /* curses code > KEY_MAX */
	int key;                   /* VTermKey */
	int mod;
};

/* Modified keys from terminfo: 10 names x 8 variants at most. */
static struct modkey modkeys[96];
static size_t nmodkeys;

/* The byte the outer terminal's Backspace key sends when that is ^H (its
 * tty's erase character); else ^H is Ctrl-h. Written once at start-up. */
static int backspace_is_ctrl_h;

static void
input_push(struct emit *e, struct input_event ev)
{
	if (e->n < e->max)
		e->out[e->n++] = ev;
	else
		log_debug("%s: event %d dropped (max %d)", __func__, ev.kind, e->max);
}

static void
input_push_kind(struct emit *e, enum input_kind kind)
{
	struct input_event ev = { .kind = kind };
	input_push(e, ev);
}

static void
input_push_key(struct emit *e, int key, int mod)
{
	struct input_event ev = { .kind = INPUT_KEY, .key = key, .mod = mod };
	input_push(e, ev);
}

static void
input_push_char(struct emit *e, uint32_t ch, int mod)
{
	struct input_event ev = { .kind = INPUT_CHAR, .ch = ch, .mod = mod };
	input_push(e, ev);
}

static void
input_push_dir(struct emit *e, int dy, int dx)
{
	struct input_event ev = { .kind = INPUT_FOCUS_DIR, .dy = dy, .dx = dx };
	input_push(e, ev);
}

input_t *
input_new(int prefix_key)
{
	input_t *in = xcalloc(1, sizeof *in);

	if (prefix_key < 0 || prefix_key > 31 || prefix_key == ESC)
		prefix_key = INPUT_PREFIX_DEFAULT;
	in->prefix = prefix_key;
	return in;
}

void
input_free(input_t *in)
{
	free(in);
}

int
input_prefix_pending(const input_t *in)
{
	return in->prefix_pending;
}

int
input_in_paste(const input_t *in)
{
	return in->in_paste;
}

/* The command for the character typed after the prefix; INPUT_NONE if none. */
static enum input_kind
input_prefix_command(uint32_t c)
{
	switch (c) {
	case 'z': return INPUT_ZOOM;
	case '[': return INPUT_SCROLL_MODE;
	case 'c': return INPUT_NEW_PANE;
	case 'x': return INPUT_CLOSE_PANE;
	case 'q': return INPUT_QUIT;
	case '?': return INPUT_HELP;
	case 's': return INPUT_SIDEBAR;
	case 'b': return INPUT_CEILING;
	case 'f': return INPUT_MODEL;
	case 'm': return INPUT_REQUESTS;
	case 'r': return INPUT_RESTART;
	case 'd': return INPUT_DETACH;
	case 'n': return INPUT_NEXT_INPUT;
	case 'C': return INPUT_NEW_WT_PANE;
	case 'D': return INPUT_DIFF;
	case 12: return INPUT_REDRAW;      /* Ctrl-l */
	default: return INPUT_NONE;
	}
}

/* A character typed after the prefix: a command, a focus move, or nothing. */
static void
input_prefix_char(input_t *in, struct emit *e, uint32_t c, int mod)
{
	enum input_kind k;

	in->prefix_pending = 0;
	if (mod != 0)
		return;                    /* swallowed */
	if (c == (uint32_t)in->prefix) {
		input_push_char(e, c, 0);        /* prefix twice: send it through */
		return;
	}
	if (c >= '1' && c < '1' + TOKMUX_MAX_PANES) {
		struct input_event ev = { .kind = INPUT_FOCUS, .arg = (int)(c - '1') };
		input_push(e, ev);
		return;
	}
	switch (c) {
	case 'h': input_push_dir(e, 0, -1); return;
	case 'j': input_push_dir(e, 1, 0); return;
	case 'k': input_push_dir(e, -1, 0); return;
	case 'l': input_push_dir(e, 0, 1); return;
	}
	k = input_prefix_command(c);
	if (k != INPUT_NONE)
		input_push_kind(e, k);
}

/* A curses key code after the prefix: only the arrows mean something. */
static void
input_prefix_key(input_t *in, struct emit *e, int code)
{
	in->prefix_pending = 0;
	switch (code) {
	case KEY_UP: input_push_dir(e, -1, 0); break;
	case KEY_DOWN: input_push_dir(e, 1, 0); break;
	case KEY_LEFT: input_push_dir(e, 0, -1); break;
	case KEY_RIGHT: input_push_dir(e, 0, 1); break;
	}
}

/* A character (with modifiers) outside any pending sequence. */
static void
input_dispatch_char(input_t *in, struct emit *e, uint32_t c, int mod)
{
	if (in->prefix_pending) {
		input_prefix_char(in, e, c, mod);
		return;
	}
	if (c == (uint32_t)in->prefix && mod == 0) {
		in->prefix_pending = 1;
		return;
	}
	if (in->in_paste && mod == 0) {
		input_push_char(e, c, 0);        /* pasted text goes through raw */
		return;
	}
	switch (c) {
	case 13: input_push_key(e, VTERM_KEY_ENTER, mod); break;
	case 9: input_push_key(e, VTERM_KEY_TAB, mod); break;
	case 8:
		/* Ctrl-h, unless the terminal's Backspace sends it */
		if (backspace_is_ctrl_h)
			input_push_key(e, VTERM_KEY_BACKSPACE, mod);
		else
			input_push_char(e, c, mod);
		break;
	case 127: input_push_key(e, VTERM_KEY_BACKSPACE, mod); break;
	case ESC: input_push_key(e, VTERM_KEY_ESCAPE, mod); break;
	default: input_push_char(e, c, mod); break;
	}
}

/* The pending ESC bytes turned out not to be a paste marker: replay them. */
static void
input_replay_seq(input_t *in, struct emit *e)
{
	int n = in->seqlen;

	in->seqlen = 0;
	if (n == 0)
		return;
	if (in->in_paste) {
		input_push_char(e, ESC, 0);
	} else if (n >= 2) {
		input_dispatch_char(in, e, in->seq[1], VTERM_MOD_ALT);   /* Alt-[ */
	} else {
		input_dispatch_char(in, e, ESC, 0);                       /* Escape */
		return;
	}
	for (int i = in->in_paste ? 1 : 2; i < n; i++)
		input_dispatch_char(in, e, in->seq[i], 0);
}

/* The character at position pos of "ESC [ 2 0 0|1 ~", or 0 if it cannot be. */
static int
input_marker_accepts(int pos, uint32_t c)
{
	static const char want[] = "\033[200~";

	if (pos == 4)
		return c == '0' || c == '1';
	return pos < SEQ_MAX && c == (uint32_t)want[pos];
}

/* The character at position pos of the start of a colour answer,
 * "ESC ] 1 0|1 ;", or 0 if it cannot be. */
static int
input_reply_accepts(const input_t *in, int pos, uint32_t c)
{
	if (in->in_paste || (pos > 1 && in->seq[1] != ']'))
		return 0;
	switch (pos) {
	case 1: return c == ']';
	case 2: return c == '1';
	case 3: return c == '0' || c == '1';
	case 4: return c == ';';
	default: return 0;
	}
}

static void input_continue_seq(input_t *in, struct emit *e, uint32_t c);

/* The end of a colour answer: its colour, if it is one. */
static void
input_reply_done(input_t *in, struct emit *e)
{
	uint8_t rgb[3];

	in->body[in->blen] = '\0';
	if (palette_parse_rgb(in->body, rgb) == 0) {
		struct input_event ev = { .kind = INPUT_TERM_COLOR,
		    .arg = in->reply, .ch = (uint32_t)(rgb[0] << 16 |
		    rgb[1] << 8 | rgb[2]) };
		input_push(e, ev);
	}
	in->reply = 0;
	in->reply_esc = 0;
}

/* A character inside a colour answer's body: it ends at BEL or ST. An ESC
 * not followed by '\' ends it too, and starts what comes next. */
static void
input_reply_char(input_t *in, struct emit *e, uint32_t c)
{
	if (in->reply_esc) {
		input_reply_done(in, e);
		if (c != '\\') {
			in->seq[0] = ESC;
			in->seqlen = 1;
			input_continue_seq(in, e, c);
		}
		return;
	}
	if (c == 7)
		input_reply_done(in, e);
	else if (c == ESC)
		in->reply_esc = 1;
	else if (c >= 0x20 && c < 0x7f && in->blen < REPLY_MAX - 1)
		in->body[in->blen++] = (char)c;
}

/* ESC then c, outside a paste: Alt-1..N, Alt+char, or ESC ESC. */
static void
input_esc_then(input_t *in, struct emit *e, uint32_t c)
{
	in->seqlen = 0;
	if (c >= '1' && c < '1' + TOKMUX_MAX_PANES) {
		struct input_event ev = { .kind = INPUT_FOCUS, .arg = (int)(c - '1') };
		in->prefix_pending = 0;
		input_push(e, ev);
	} else if (c == ESC) {
		input_dispatch_char(in, e, ESC, 0);   /* the first one is a lone Escape */
		in->seq[0] = ESC;
		in->seqlen = 1;
	} else {
		input_dispatch_char(in, e, c, VTERM_MOD_ALT);
	}
}

/* Continue a pending ESC sequence with character c. */
static void
input_continue_seq(input_t *in, struct emit *e, uint32_t c)
{
	if (input_reply_accepts(in, in->seqlen, c)) {
		in->seq[in->seqlen++] = c;
		if (in->seqlen == 5) {          /* the terminal's answer */
			in->reply = in->seq[3] == '0' ? 10 : 11;
			in->blen = 0;
			in->seqlen = 0;
		}
		return;
	}
	if (input_marker_accepts(in->seqlen, c)) {
		in->seq[in->seqlen++] = c;
		if (in->seqlen == SEQ_MAX) {
			int start = in->seq[4] == '0';
			in->seqlen = 0;
			in->in_paste = start;
			input_push_kind(e, start ? INPUT_PASTE_START : INPUT_PASTE_END);
		}
		return;
	}
	if (in->seqlen == 1 && !in->in_paste) {
		input_esc_then(in, e, c);
		return;
	}
	input_replay_seq(in, e);
	if (c == ESC) {
		in->seq[0] = ESC;
		in->seqlen = 1;
	} else {
		input_dispatch_char(in, e, c, 0);
	}
}

/* A curses key code (KEY_CODE_YES). */
static void
input_feed_key(input_t *in, struct emit *e, int code)
{
	int key, mod;

	if (code == KEY_RESIZE || code == KEY_MOUSE) {
		input_push_kind(e, code == KEY_RESIZE ? INPUT_RESIZE : INPUT_MOUSE);
		return;
	}
	if (in->prefix_pending) {
		input_prefix_key(in, e, code);
		return;
	}
	if (input_map_keycode(code, &key, &mod))
		input_push_key(e, key, mod);
	else
		log_debug("%s: unmapped key code %d", __func__, code);
}

int
input_feed(input_t *in, int rc, wint_t wc, struct input_event *out, int max)
{
	struct emit e = { out, max, 0 };

	if (rc == KEY_CODE_YES) {
		if (in->reply)
			input_reply_done(in, &e);
		input_replay_seq(in, &e);
		input_feed_key(in, &e, (int)wc);
	} else if (rc == OK) {
		if (in->reply) {
			input_reply_char(in, &e, (uint32_t)wc);
		} else if (in->seqlen > 0) {
			input_continue_seq(in, &e, (uint32_t)wc);
		} else if (wc == ESC) {
			in->seq[0] = ESC;
			in->seqlen = 1;
		} else {
			input_dispatch_char(in, &e, (uint32_t)wc, 0);
		}
	}
	return e.n;
}

int
input_flush(input_t *in, struct input_event *out, int max)
{
	struct emit e = { out, max, 0 };

	input_replay_seq(in, &e);
	return e.n;
}

/* xterm numbers F13..F63 as F1..F12 with modifiers, 12 keys per group. */
static int
input_map_function_key(int n, int *vterm_key, int *mod)
{
	static const int group_mod[] = {
		0, VTERM_MOD_SHIFT, VTERM_MOD_CTRL, VTERM_MOD_CTRL | VTERM_MOD_SHIFT,
		VTERM_MOD_ALT, VTERM_MOD_ALT | VTERM_MOD_SHIFT,
	};

	if (n < 1 || n > 63)
		return 0;
	*vterm_key = VTERM_KEY_FUNCTION((n - 1) % 12 + 1);
	*mod = group_mod[(n - 1) / 12];
	return 1;
}

/* Plain and shifted editing/cursor keys from the standard curses codes. */
static int
input_map_standard_key(int code, int *vterm_key, int *mod)
{
	static const struct { int code, key, mod; } map[] = {
		{ KEY_UP, VTERM_KEY_UP, 0 },
		{ KEY_DOWN, VTERM_KEY_DOWN, 0 },
		{ KEY_LEFT, VTERM_KEY_LEFT, 0 },
		{ KEY_RIGHT, VTERM_KEY_RIGHT, 0 },
		{ KEY_HOME, VTERM_KEY_HOME, 0 },
		{ KEY_END, VTERM_KEY_END, 0 },
		{ KEY_PPAGE, VTERM_KEY_PAGEUP, 0 },
		{ KEY_NPAGE, VTERM_KEY_PAGEDOWN, 0 },
		{ KEY_IC, VTERM_KEY_INS, 0 },
		{ KEY_DC, VTERM_KEY_DEL, 0 },
		{ KEY_BACKSPACE, VTERM_KEY_BACKSPACE, 0 },
		{ KEY_ENTER, VTERM_KEY_KP_ENTER, 0 },
		{ KEY_BTAB, VTERM_KEY_TAB, VTERM_MOD_SHIFT },
		{ KEY_SLEFT, VTERM_KEY_LEFT, VTERM_MOD_SHIFT },
		{ KEY_SRIGHT, VTERM_KEY_RIGHT, VTERM_MOD_SHIFT },
		{ KEY_SR, VTERM_KEY_UP, VTERM_MOD_SHIFT },
		{ KEY_SF, VTERM_KEY_DOWN, VTERM_MOD_SHIFT },
		{ KEY_SHOME, VTERM_KEY_HOME, VTERM_MOD_SHIFT },
		{ KEY_SEND, VTERM_KEY_END, VTERM_MOD_SHIFT },
		{ KEY_SDC, VTERM_KEY_DEL, VTERM_MOD_SHIFT },
		{ KEY_SIC, VTERM_KEY_INS, VTERM_MOD_SHIFT },
		{ KEY_SPREVIOUS, VTERM_KEY_PAGEUP, VTERM_MOD_SHIFT },
		{ KEY_SNEXT, VTERM_KEY_PAGEDOWN, VTERM_MOD_SHIFT },
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(map); i++) {
		if (map[i].code == code) {
			*vterm_key = map[i].key;
			*mod = map[i].mod;
			return 1;
		}
	}
	return 0;
}

int
input_map_keycode(int curses_key, int *vterm_key, int *mod)
{
	if (curses_key >= KEY_F(1) && curses_key <= KEY_F(63))
		return input_map_function_key(curses_key - KEY_F0, vterm_key, mod);
	if (input_map_standard_key(curses_key, vterm_key, mod))
		return 1;
	if (curses_key <= KEY_MAX)
		return 0;
	for (size_t i = 0; i < nmodkeys; i++) {
		if (modkeys[i].code == curses_key) {
			*vterm_key = modkeys[i].key;
			*mod = modkeys[i].mod;
			return 1;
		}
	}
	return 0;
}

/* Add terminfo capability name (if it is a key above KEY_MAX) to the table. */
static void
input_add_terminfo_key(const char *name, int key, int mod)
{
	char *s = tigetstr(name);
	int code;

	if (s == NULL || s == (char *)-1 || nmodkeys >= UTIL_ARRAY_LEN(modkeys))
		return;
	code = key_defined(s);
	if (code <= KEY_MAX)
		return;               /* undefined, ambiguous, or a standard key */
	modkeys[nmodkeys].code = code;
	modkeys[nmodkeys].key = key;
	modkeys[nmodkeys].mod = mod;
	nmodkeys++;
}

/*
 * Backspace and Ctrl-h. ncurses turns the bytes of terminfo's kbs into
 * KEY_BACKSPACE; when kbs is ^H that is also Ctrl-h, which programs must
 * get as 0x08. So a one-byte kbs stays a plain byte, and ^H is Backspace
 * only where the terminal's own erase character (stty erase) is ^H.
 */
static void
input_init_backspace(void)
{
	char *kbs = tigetstr("kbs");

	if (kbs != NULL && kbs != (char *)-1 && kbs[0] != '\0' &&
	    kbs[1] == '\0')
		keyok(KEY_BACKSPACE, FALSE);
	backspace_is_ctrl_h = erasechar() == 8;
}

void
input_init_terminfo_keys(void)
{
	static const struct { const char *name; int key; } base[] = {
		{ "kUP", VTERM_KEY_UP }, { "kDN", VTERM_KEY_DOWN },
		{ "kLFT", VTERM_KEY_LEFT }, { "kRIT", VTERM_KEY_RIGHT },
		{ "kHOM", VTERM_KEY_HOME }, { "kEND", VTERM_KEY_END },
		{ "kNXT", VTERM_KEY_PAGEDOWN }, { "kPRV", VTERM_KEY_PAGEUP },
		{ "kDC", VTERM_KEY_DEL }, { "kIC", VTERM_KEY_INS },
	};
	char name[16];

	input_init_backspace();
	nmodkeys = 0;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(base); i++) {
		/* the bare name is the shifted key; suffix n means modifier n-1 */
		input_add_terminfo_key(base[i].name, base[i].key, VTERM_MOD_SHIFT);
		for (int n = 2; n <= 8; n++) {
			snprintf(name, sizeof name, "%s%d", base[i].name, n);
			input_add_terminfo_key(name, base[i].key, n - 1);
		}
	}
	log_debug("%s: %zu modified keys", __func__, nmodkeys);
}

int
input_key_is(const struct input_event *ev, enum input_keyname k)
{
	static const int map[] = {
		[INPUT_KEYNAME_ESCAPE] = VTERM_KEY_ESCAPE,
		[INPUT_KEYNAME_UP] = VTERM_KEY_UP,
		[INPUT_KEYNAME_DOWN] = VTERM_KEY_DOWN,
		[INPUT_KEYNAME_PAGEUP] = VTERM_KEY_PAGEUP,
		[INPUT_KEYNAME_PAGEDOWN] = VTERM_KEY_PAGEDOWN,
		[INPUT_KEYNAME_HOME] = VTERM_KEY_HOME,
		[INPUT_KEYNAME_END] = VTERM_KEY_END,
		[INPUT_KEYNAME_ENTER] = VTERM_KEY_ENTER,
		[INPUT_KEYNAME_BACKSPACE] = VTERM_KEY_BACKSPACE,
	};
	if (k == INPUT_KEYNAME_ENTER && ev->kind == INPUT_KEY && ev->key == VTERM_KEY_KP_ENTER)
		return 1;
	return ev->kind == INPUT_KEY && (unsigned)k < UTIL_ARRAY_LEN(map) && ev->key == map[k];
}
