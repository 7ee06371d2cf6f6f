/*
 * util: allocation wrappers, fatal(), the debug log file, clocks and small
 * helpers. The only state here is the optional log file (guarded by a
 * mutex) and the saved outer terminal that fatal() and the crash handlers
 * restore (published with an atomic flag, read from signal handlers).
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		fatal("out of memory (%zu x %zu bytes)", nmemb, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		fatal("out of memory (%zu bytes)", n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		fatal("allocation overflow (%zu x %zu)", nmemb, size);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatal("bad format string");
	char *s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* ---- the outer terminal, restored on fatal() and crashes ---- */

#define UTIL_TERM_RESET_MAX 256

enum { UTIL_TERM_NONE, UTIL_TERM_SAVED, UTIL_TERM_BUSY };

static struct {
	int fd;
	int flags;              /* the descriptor's file status flags (O_NONBLOCK off) */
	struct termios tio;
	char reset[UTIL_TERM_RESET_MAX];
	size_t len;
} util_term;
static atomic_int util_term_state;
static void (*_Atomic util_exit_notify)(int status, const char *msg);

void
util_term_save(int fd, const struct termios *tio, const char *reset)
{
	atomic_store(&util_term_state, UTIL_TERM_NONE);
	util_term.fd = fd;
	util_term.flags = fcntl(fd, F_GETFL) & ~O_NONBLOCK;
	util_term.tio = *tio;
	util_term.len = strnlen(reset, UTIL_TERM_RESET_MAX - 1);
	memcpy(util_term.reset, reset, util_term.len);
	atomic_store(&util_term_state, UTIL_TERM_SAVED);
}

void
util_term_forget(void)
{
	atomic_store(&util_term_state, UTIL_TERM_NONE);
}

/* Only write(2), tcsetattr(3) and fcntl(2): all async-signal-safe. */
void
util_term_restore(void)
{
	int want = UTIL_TERM_SAVED;
	if (!atomic_compare_exchange_strong(&util_term_state, &want, UTIL_TERM_BUSY))
		return;
	size_t off = 0;
	while (off < util_term.len) {
		ssize_t n = write(util_term.fd, util_term.reset + off, util_term.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	tcsetattr(util_term.fd, TCSANOW, &util_term.tio);
	/* a session server may have made the terminal non-blocking */
	if (util_term.flags >= 0)
		fcntl(util_term.fd, F_SETFL, util_term.flags);
}

void
util_set_exit_notify(void (*fn)(int status, const char *msg))
{
	atomic_store(&util_exit_notify, fn);
}

static void
util_notify_exit(int status, const char *msg)
{
	void (*fn)(int, const char *) = atomic_exchange(&util_exit_notify, NULL);
	if (fn != NULL)
		fn(status, msg);
}

static void
util_crash_handler(int sig)
{
	util_term_restore();
	char msg[] = "tokmux: crashed by signal NN\n";
	size_t at = sizeof "tokmux: crashed by signal " - 1;
	if (sig >= 10)
		msg[at++] = (char)('0' + sig / 10 % 10);
	msg[at++] = (char)('0' + sig % 10);
	msg[at] = '\0';
	util_notify_exit(128 + sig, msg);
	msg[at++] = '\n';
	if (write(STDERR_FILENO, msg, at) < 0) {
		/* nothing left to tell it with */
	}
	/* SA_RESETHAND made the action the default again, SA_NODEFER lets it in now */
	raise(sig);
}

void
util_crash_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	static atomic_int installed;
	if (atomic_exchange(&installed, 1))
		return;
	/* a stack overflow must still be able to run the handler (the stack
	 * lives as long as the process: static, not a leak to report) */
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = util_crash_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	char msg[1024] = "tokmux: ";
	util_term_restore();     /* first: the message must land on the normal screen */
	va_start(ap, fmt);
	vsnprintf(msg + strlen(msg), sizeof msg - strlen(msg), fmt, ap);
	va_end(ap);
	util_notify_exit(1, msg);
	fprintf(stderr, "%s\n", msg);
	exit(1);
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;

void
util_log_open(const char *path)
{
	pthread_mutex_lock(&log_lock);
	if (log_file == NULL) {
		/* 0600: the log names pane routes (their tokens may appear in
		 * libmicrohttpd's messages); it is for the owner only */
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0 && (log_file = fdopen(fd, "a")) == NULL)
			close(fd);
	}
	pthread_mutex_unlock(&log_lock);
}

void
util_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file != NULL)
		fclose(log_file);
	log_file = NULL;
	pthread_mutex_unlock(&log_lock);
}

int
util_log_enabled(void)
{
	return __atomic_load_n(&log_file, __ATOMIC_RELAXED) != NULL;
}

void
util_log(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&log_lock);
	if (log_file != NULL) {
		fprintf(log_file, "%.3f ", util_wall());
		va_start(ap, fmt);
		vfprintf(log_file, fmt, ap);
		va_end(ap);
		fputc('\n', log_file);
		fflush(log_file);
	}
	pthread_mutex_unlock(&log_lock);
}

int64_t
util_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
util_now_ms(void)
{
	return util_now_us() / 1000;
}

double
util_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
util_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
util_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int
util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

char *
util_read_file(const char *path, size_t max, size_t *len, char **err)
{
	FILE *f = fopen(path, "rbe");
	if (f == NULL) {
		*err = xasprintf("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b = { 0 };
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_append(&b, chunk, n);
		if (b.len > max) {
			fclose(f);
			buf_free(&b);
			*err = xasprintf("%s: larger than %zu bytes", path, max);
			return NULL;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		buf_free(&b);
		*err = xasprintf("%s: read error", path);
		return NULL;
	}
	buf_append(&b, "", 1);     /* a terminating NUL, not counted */
	if (len != NULL)
		*len = b.len - 1;
	return b.data;
}

int
util_parse_usd(const char *s, int64_t *micros)
{
	if (s == NULL)
		return -1;
	while (*s == ' ')
		s++;
	if (*s == '$')
		s++;
	if (*s < '0' || *s > '9') {
		if (!(*s == '.' && s[1] >= '0' && s[1] <= '9'))
			return -1;
	}
	int64_t whole = 0, frac = 0;
	int fdigits = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		whole = whole * 10 + (*s - '0');
		if (whole > 100000000)   /* a hundred million dollars is enough */
			return -1;
	}
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (fdigits < 6) {
				frac = frac * 10 + (*s - '0');
				fdigits++;
			}
		}
	}
	while (*s == ' ')
		s++;
	if (*s != '\0')
		return -1;
	while (fdigits < 6) {
		frac *= 10;
		fdigits++;
	}
	*micros = whole * 1000000 + frac;
	return 0;
}

void
util_fmt_usd(int64_t micros, char *buf, size_t len)
{
	const char *sign = micros < 0 ? "-" : "";
	int64_t m = micros == INT64_MIN ? INT64_MAX : micros < 0 ? -micros : micros;
	if (m != 0 && m < 10000) {      /* under a cent: show 4 decimals */
		snprintf(buf, len, "%s$0.%04lld", sign, (long long)((m + 50) / 100));
		return;
	}
	int64_t cents = m / 10000 + (m % 10000 >= 5000);   /* no overflow at INT64_MAX */
	snprintf(buf, len, "%s$%lld.%02lld", sign, (long long)(cents / 100), (long long)(cents % 100));
}

int
util_utf8_decode(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 :
	    (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (n <= 1) {
		*cp = s[0];
		return n;
	}
	uint32_t c = s[0] & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int
util_mkdir_parents(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; rc == 0; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			char c = *p;
			*p = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				rc = -1;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	int saved = errno;
	free(dir);
	errno = saved;
	return rc;
}

void
util_random(void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
			if (fd < 0 || read(fd, p, n) != (ssize_t)n)
				fatal("cannot read random bytes");
			close(fd);
			return;
		}
		p += r;
		n -= (size_t)r;
	}
}

void
util_random_hex(char *out, size_t hexlen)
{
	unsigned char raw[64];
	static const char digits[] = "0123456789abcdef";
	size_t n = hexlen / 2;
	while (n > 0) {
		size_t k = n < sizeof raw ? n : sizeof raw;
		util_random(raw, k);
		for (size_t i = 0; i < k; i++) {
			*out++ = digits[raw[i] >> 4];
			*out++ = digits[raw[i] & 15];
		}
		n -= k;
	}
	*out = '\0';
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_append(b, s, strlen(s));
	free(s);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
util_key_hash(const char *key, char out[17])
{
	/* FNV-1a 64 with a fixed salt, then a final avalanche (splitmix64). */
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *salt = "tokmux-key-v1:";
	for (const char *s = salt; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	for (const char *s = key; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27; h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}
