/*
 * gwguard: owns the gateway's cross-connection bounds: the request-body
 * memory budget (an atomic count of the bytes bodies hold, reserved before
 * they are kept) and the /metrics token (its check, and the per-user token
 * file it is read from).
 */
#include "gwguard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"
#include "util.h"

struct gwguard {
	size_t budget;
	size_t used;                   /* atomic */
	size_t peak;                   /* atomic */
	char token[129];               /* "" none */
};

gwguard_t *
gwguard_new(size_t budget, const char *metrics_token)
{
	gwguard_t *g = xcalloc(1, sizeof *g);
	g->budget = budget > 0 ? budget : GWGUARD_BODY_MEMORY_DEFAULT;
	if (metrics_token != NULL)
		snprintf(g->token, sizeof g->token, "%s", metrics_token);
	return g;
}

void
gwguard_free(gwguard_t *g)
{
	free(g);
}

int
gwguard_body_reserve(gwguard_t *g, size_t *held, size_t want)
{
	if (want <= *held)
		return 0;
	size_t more = want - *held;
	size_t now = __atomic_load_n(&g->used, __ATOMIC_RELAXED);
	do {
		if (more > g->budget || now > g->budget - more)
			return -1;
	} while (!__atomic_compare_exchange_n(&g->used, &now, now + more, 0, __ATOMIC_ACQ_REL,
	    __ATOMIC_RELAXED));
	*held = want;
	size_t peak = __atomic_load_n(&g->peak, __ATOMIC_RELAXED);
	while (now + more > peak && !__atomic_compare_exchange_n(&g->peak, &peak, now + more, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return 0;
}

void
gwguard_body_release(gwguard_t *g, size_t *held)
{
	if (*held > 0)
		__atomic_sub_fetch(&g->used, *held, __ATOMIC_ACQ_REL);
	*held = 0;
}

void
gwguard_body_usage(gwguard_t *g, size_t *now, size_t *peak, size_t *budget)
{
	*now = __atomic_load_n(&g->used, __ATOMIC_RELAXED);
	*peak = __atomic_load_n(&g->peak, __ATOMIC_RELAXED);
	*budget = g->budget;
}

/* a (n bytes) equals the token, in time that depends on n only. */
static int
gwguard_token_eq(const gwguard_t *g, const char *a, size_t n)
{
	size_t tl = strlen(g->token);
	unsigned char d = n != tl;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ g->token[i < tl ? i : 0]);
	return d == 0;
}

int
gwguard_metrics_locked(const gwguard_t *g)
{
	return g->token[0] != '\0';
}

int
gwguard_metrics_ok(const gwguard_t *g, const char *authorization, const char *query)
{
	if (!gwguard_metrics_locked(g))
		return 1;
	if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0) {
		const char *t = authorization + 7;
		while (*t == ' ')
			t++;
		size_t n = strlen(t);
		while (n > 0 && t[n - 1] == ' ')
			n--;
		if (gwguard_token_eq(g, t, n))
			return 1;
	}
	for (const char *p = query; p != NULL && *p != '\0'; ) {
		if (*p == '?' || *p == '&')
			p++;
		size_t n = strcspn(p, "&");
		if (n > 6 && strncmp(p, "token=", 6) == 0 && gwguard_token_eq(g, p + 6, n - 6))
			return 1;
		p += n;
	}
	return 0;
}

void
gwguard_token_new(char out[GWGUARD_TOKEN_LEN + 1])
{
	util_random_hex(out, GWGUARD_TOKEN_LEN);
}

char *
gwguard_token_default_path(void)
{
	char *ledger = ledger_default_path();
	char *slash = strrchr(ledger, '/');
	if (slash != NULL)
		*slash = '\0';
	char *path = xasprintf("%s/metrics-token", ledger);
	free(ledger);
	return path;
}

/* Create path (and its directories, 0700) holding a new token, mode 0600.
 * 0, 1 when it exists already, -1 with errno. */
static int
gwguard_token_create(const char *path)
{
	char *dir = xstrdup(path);
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 1 : -1;
	char tok[GWGUARD_TOKEN_LEN + 2];
	gwguard_token_new(tok);
	tok[GWGUARD_TOKEN_LEN] = '\n';
	int ok = write(fd, tok, GWGUARD_TOKEN_LEN + 1) == GWGUARD_TOKEN_LEN + 1;
	int e = errno;
	if (close(fd) != 0 || !ok) {
		unlink(path);
		errno = ok ? EIO : e;
		return -1;
	}
	return 0;
}

int
gwguard_token_load(const char *path, char *out, size_t len, char **err)
{
	size_t n;
	char *e = NULL;
	if (gwguard_token_create(path) < 0) {
		*err = xasprintf("%s: cannot create the metrics token: %s", path, strerror(errno));
		return -1;
	}
	char *text = util_read_file(path, 4096, &n, &e);
	if (text == NULL) {
		*err = e;
		return -1;
	}
	n = strcspn(text, "\r\n");
	text[n] = '\0';
	int ok = n >= 16 && n <= 128 && n < len &&
	    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-") == n;
	if (ok)
		memcpy(out, text, n + 1);
	else
		*err = xasprintf("%s: expected a metrics token of 16 to 128 letters, digits "
		    "and . _ ~ - on its first line", path);
	free(text);
	return ok ? 0 : -1;
}
