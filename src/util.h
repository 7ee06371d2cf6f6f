/*
 * util: allocation wrappers that never return NULL, fatal errors, debug
 * logging to a file (never to the terminal curses owns), clocks, and small
 * string helpers shared by every module.
 */
#ifndef TOKMUX_UTIL_H
#define TOKMUX_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define UTIL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define UTIL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define UTIL_STR(x) UTIL_STR_(x)       /* a macro's value as a string literal */
#define UTIL_STR_(x) #x

/* The most panes a workspace shows: the layout, the UI, the keys that pick a
 * pane (prefix 1..N, Alt-1..N), the sidebar and every help text use this one
 * number. A single digit, because those keys are digits. */
#define TOKMUX_MAX_PANES 4
#define TOKMUX_MAX_PANES_STR UTIL_STR(TOKMUX_MAX_PANES)
_Static_assert(TOKMUX_MAX_PANES >= 1 && TOKMUX_MAX_PANES <= 9, "panes are picked by one digit");

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* Restore the outer terminal (see util_term_save), print "tokmux: <msg>" to
 * stderr and exit(1). From any thread. For impossible states and OOM. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * The outer terminal, for fatal() and crash signals. The UI saves the
 * terminal's fd, its settings from before tokmux changed them, and the
 * bytes that undo tokmux's modes (alternate screen, mouse reporting,
 * bracketed paste, keypad mode, hidden cursor; at most 255 bytes).
 * util_term_restore() writes those bytes and puts the settings (and the
 * descriptor's blocking mode) back, once,
 * from any thread or a signal handler (async-signal-safe); a no-op if
 * nothing is saved. util_term_forget() once the UI restored the terminal
 * itself. This is process-wide state by necessity: a signal handler needs it.
 */
struct termios;
void util_term_save(int fd, const struct termios *tio, const char *reset);
void util_term_forget(void);
void util_term_restore(void);

/* A function fatal() and the crash handlers call once, before the process
 * ends, with the exit status and the message ("tokmux: ..."): a session
 * server hands both to its clients, which restore their terminals and say
 * it there. Called from a signal handler: it must be async-signal-safe.
 * NULL removes it. */
void util_set_exit_notify(void (*fn)(int status, const char *msg));

/* Handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT (and an
 * alternate signal stack for the calling thread): restore the terminal,
 * say which signal, then die by that same signal, so that the exit status
 * and the core dump stay what they would have been. Idempotent. */
void util_crash_handlers(void);

/* Debug log: a no-op until util_log_open() is called (tokmux -v). Thread-safe. */
void util_log_open(const char *path);
void util_log_close(void);
int util_log_enabled(void);
void util_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define log_debug(...) do { if (util_log_enabled()) util_log(__VA_ARGS__); } while (0)

/* Monotonic milliseconds and microseconds; wall-clock seconds (UNIX time). */
int64_t util_now_ms(void);
int64_t util_now_us(void);
double util_wall(void);

/* Set O_NONBLOCK / FD_CLOEXEC on fd. Return 0 or -1 (errno set). */
int util_set_nonblock(int fd);
int util_set_cloexec(int fd);

/* Write all of buf to a blocking fd, retrying on EINTR. Return 0 or -1. */
int util_write_all(int fd, const void *buf, size_t len);

/* The whole of a file, NUL-terminated (malloc'd; *len, if not NULL, is its
 * length). NULL with a malloc'd one-line *err naming the file when it cannot
 * be opened or read, or is larger than max bytes. */
char *util_read_file(const char *path, size_t max, size_t *len, char **err);

/* mkdir -p of the directory part of path (everything before its last
 * '/'); directories it makes are 0700. 0, or -1 with errno. */
int util_mkdir_parents(const char *path);

/* Parse a decimal amount of US dollars ("5", "1.50", "$2") into micro-dollars.
 * Return 0 on success, -1 if s is not a non-negative number. */
int util_parse_usd(const char *s, int64_t *micros);

/* Format micro-dollars as "$1.23" (2 decimals, or 4 below one cent). */
void util_fmt_usd(int64_t micros, char *buf, size_t len);

/* Fill buf with n random bytes from getrandom(); falls back to /dev/urandom. */
void util_random(void *buf, size_t n);
/* hexlen random lowercase hex digits (hexlen even) and a NUL into out. */
void util_random_hex(char *out, size_t hexlen);

/* A growable byte buffer. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
void buf_append(struct buf *b, const void *data, size_t len);
void buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n); /* drop n bytes from the front */
void buf_free(struct buf *b);



/* The UTF-8 sequence at s: its length (1..4) and code point, or 0 when
 * it is not valid UTF-8 (a stray byte, overlong, a surrogate, beyond
 * U+10FFFF, cut short). s[0] == 0 is the code point 0, length 1. */
int util_utf8_decode(const char *s, uint32_t *cp);

/* A short non-reversible identifier for an API key or bearer token: 16 hex
 * chars of a salted 64-bit hash. The key itself is never stored. */
void util_key_hash(const char *key, char out[17]);

#endif
