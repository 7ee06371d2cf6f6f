/*
 * testhttp: the blocking libcurl client the gateway tests drive the gateway
 * with. One request per call; the reply keeps status, body, raw response
 * headers, the curl result and the wall time, and can time (and stop at)
 * marker strings seen in the body. Header-only: every function is static.
 */
#ifndef TOKMUX_TESTHTTP_H
#define TOKMUX_TESTHTTP_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util.h"

struct reply {
	long status;
	struct buf body;
	struct buf headers;
	const char *marks[4];
	int nmarks;
	int64_t mark_us[4];
	int stop_after;          /* abort after this many marks (0: never) */
	long timeout_ms;         /* give up after this long (0: 15 s) */
	CURLcode rc;
	int64_t ms;              /* how long the request took */
};

static size_t
cl_write(char *d, size_t size, size_t n, void *user)
{
	struct reply *r = user;
	int64_t now = util_now_us();
	int seen = 0;
	buf_append(&r->body, d, size * n);
	for (int i = 0; i < r->nmarks; i++) {
		if (r->mark_us[i] == 0 && strstr(r->body.data, r->marks[i]) != NULL)
			r->mark_us[i] = now;
		seen += r->mark_us[i] != 0;
	}
	if (r->stop_after > 0 && seen >= r->stop_after)
		return 0;
	return size * n;
}

static size_t
cl_header(char *d, size_t size, size_t n, void *user)
{
	struct reply *r = user;
	buf_append(&r->headers, d, size * n);
	return size * n;
}

/* hdrs: NULL-terminated; body may be NULL. r starts zeroed but for the
 * marks, stop_after and timeout_ms it asks for. */
static void
http(const char *method, const char *url, const char *const *hdrs, const char *body,
    struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *l = NULL;
	for (int i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		l = curl_slist_append(l, hdrs[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, cl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, cl_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 15000L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	/* body and headers are valid (empty) strings even if nothing comes */
	buf_append(&r->body, "", 0);
	buf_append(&r->headers, "", 0);
	int64_t t0 = util_now_ms();
	r->rc = curl_easy_perform(c);
	r->ms = util_now_ms() - t0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(l);
}

static void
reply_free(struct reply *r)
{
	buf_free(&r->body);
	buf_free(&r->headers);
}

/* Value of a response header ("" if absent; case-insensitive name, the
 * value without surrounding blanks). */
static void
reply_header(const struct reply *r, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	out[0] = '\0';
	for (const char *p = r->headers.data; p != NULL && *p; ) {
		const char *eol = strchr(p, '\n');
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			size_t vl = eol ? (size_t)(eol - v) : strlen(v);
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(out, len, "%.*s", (int)vl, v);
			return;
		}
		p = eol ? eol + 1 : NULL;
	}
}

#endif
