/*
 * input: turns what ncurses' wget_wch() returns into tokmux events: the
 * prefix-key state machine (prefix + key = a command), Alt-1..N focus,
 * lone ESC vs Alt+char, bracketed paste markers from the outer terminal, and
 * the ncurses key code -> libvterm VTermKey mapping (including terminfo's
 * modified keys such as kLFT5 = Ctrl-Left). Keeps curses and libvterm types
 * out of this header; key/mod values are VTermKey / VTermModifier numbers.
 */
#ifndef TOKMUX_INPUT_H
#define TOKMUX_INPUT_H

#include <stdint.h>
#include <wchar.h>

#define INPUT_PREFIX_DEFAULT 7     /* Ctrl-g */

/*
 * input_feed() emits at most this many events for one call (a broken
 * "ESC [ 2 0 0" paste marker is replayed as its characters); pass an array
 * of this size. Events beyond max are dropped.
 */
#define INPUT_EVENTS_MAX 8

enum input_kind {
	INPUT_NONE,
	INPUT_KEY,          /* send vt_key(key, mod) */
	INPUT_CHAR,         /* send vt_unichar(ch, mod) */
	INPUT_PASTE_START,  /* outer terminal began a bracketed paste */
	INPUT_PASTE_END,
	INPUT_FOCUS,        /* arg = pane index 0..3 */
	INPUT_FOCUS_DIR,    /* dy, dx */
	INPUT_ZOOM,         /* prefix z */
	INPUT_SCROLL_MODE,  /* prefix [ */
	INPUT_NEW_PANE,     /* prefix c */
	INPUT_CLOSE_PANE,   /* prefix x */
	INPUT_QUIT,         /* prefix q */
	INPUT_HELP,         /* prefix ? */
	INPUT_SIDEBAR,      /* prefix s */
	INPUT_CEILING,      /* prefix b */
	INPUT_MODEL,        /* prefix f */
	INPUT_REQUESTS,     /* prefix m */
	INPUT_RESTART,      /* prefix r */
	INPUT_REDRAW,       /* prefix Ctrl-l */
	INPUT_DETACH,       /* prefix d */
	INPUT_NEXT_INPUT,   /* prefix n: the next pane that needs input */
	INPUT_NEW_WT_PANE,  /* prefix C: a new pane in its own git worktree */
	INPUT_DIFF,         /* prefix D: the focused worktree pane's diff */
	INPUT_MOUSE,        /* KEY_MOUSE: call getmouse() */
	INPUT_RESIZE,       /* KEY_RESIZE */
	INPUT_TERM_COLOR,   /* the terminal's answer to OSC 10/11: arg 10 (fg)
	                     * or 11 (bg), ch 0xRRGGBB */
};

struct input_event {
	enum input_kind kind;
	int key;       /* VTermKey, for INPUT_KEY */
	int mod;       /* VTermModifier bits (enum vt_mod) */
	uint32_t ch;   /* for INPUT_CHAR */
	int arg;       /* pane index for INPUT_FOCUS */
	int dy, dx;    /* for INPUT_FOCUS_DIR */
};

typedef struct input input_t;

/* prefix_key: a control code 1..31 (7 = Ctrl-g); anything else -> default. */
input_t *input_new(int prefix_key);
void input_free(input_t *in);

/*
 * Feed one result of wget_wch(): rc is OK or KEY_CODE_YES, wc the value.
 * Writes 0..INPUT_EVENTS_MAX events into out[] (at most max) and returns
 * how many. A lone ESC is held until the next input or input_flush().
 */
int input_feed(input_t *in, int rc, wint_t wc, struct input_event *out,
    int max);

/* End of a batch (wget_wch returned ERR): a pending lone ESC becomes the
 * Escape key, a pending partial paste marker is replayed. */
int input_flush(input_t *in, struct input_event *out, int max);

int input_prefix_pending(const input_t *in);   /* for a "prefix" indicator */
int input_in_paste(const input_t *in);

/* Map an ncurses key code to a VTermKey and modifiers; 1 if mapped. */
int input_map_keycode(int curses_key, int *vterm_key, int *mod);

/*
 * Build the table of terminfo modified keys (kUP3..kUP8, kLFT5, kDC5, ...,
 * codes above KEY_MAX) once curses is up. Until it is called those codes are
 * not mapped. Also Backspace and Ctrl-h: a one-byte kbs is not turned into
 * KEY_BACKSPACE, so ^H reaches the pane as Ctrl-h (0x08) unless the tty's
 * erase character is ^H (then it is Backspace, the pane's kbs, 0x7f), and
 * DEL is Backspace. Write-once process-wide; call from the UI thread.
 */
void input_init_terminfo_keys(void);

/* Keys the UI itself acts on (scrollback mode, prompts), without knowing VTermKey. */
enum input_keyname {
	INPUT_KEYNAME_ESCAPE,
	INPUT_KEYNAME_UP,
	INPUT_KEYNAME_DOWN,
	INPUT_KEYNAME_PAGEUP,
	INPUT_KEYNAME_PAGEDOWN,
	INPUT_KEYNAME_HOME,
	INPUT_KEYNAME_END,
	INPUT_KEYNAME_ENTER,       /* also keypad Enter; submits a prompt */
	INPUT_KEYNAME_BACKSPACE,
};
/* 1 if ev is an INPUT_KEY event for that key (any modifiers). */
int input_key_is(const struct input_event *ev, enum input_keyname k);

#endif
