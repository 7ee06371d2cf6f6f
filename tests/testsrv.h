/*
 * testsrv: a tiny scripted HTTP upstream (libmicrohttpd, 127.0.0.1 only,
 * thread per connection) for the upstream and gateway tests. It records the
 * last request exactly as received (raw URI, headers, body) and answers
 * with a script: status, headers, then chunks each sent after a delay (the
 * time each chunk is handed to the socket is recorded), optionally a bulk
 * tail of 'x' bytes, or an echo of the request body. Header-only: every
 * function is static.
 */
#ifndef TOKMUX_TESTSRV_H
#define TOKMUX_TESTSRV_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define TS_MAX_CHUNKS 16
#define TS_MAX_HEADERS 12

struct ts_chunk {
	int delay_ms;               /* sleep before sending it */
	const char *data;
};

struct ts_script {
	int status;                 /* 0: 200 */
	const char *headers[TS_MAX_HEADERS];   /* "Name: value" */
	int header_delay_ms;        /* sleep before answering at all */
	struct ts_chunk chunks[TS_MAX_CHUNKS];
	int nchunks;
	size_t bulk_bytes;          /* after the chunks: this many 'x' */
	int echo;                   /* answer with the request body */
	int content_length;         /* send Content-Length (else chunked) */
	int fail_first;             /* the next N requests get fail_status */
	int fail_status;            /* with an Anthropic overloaded_error body */
};

struct testsrv {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t lock;
	struct ts_script script;    /* set by the test between requests */
	/* the last request */
	char method[16];
	char uri[1024];
	struct buf headers;         /* "name: value\n" lines as received */
	struct buf body;
	int requests;
	int completed_ok;
	int completed_err;          /* responses cut short (client went away) */
	int64_t sent_us[TS_MAX_CHUNKS];
	size_t bulk_sent;
	int fails_left;
};

struct ts_req {
	struct testsrv *s;
	char *uri;
	struct buf body;
	struct ts_script script;
	int chunk;
	size_t bulk_left;
	int started, answered;
};

static void
ts_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void *
ts_on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct ts_req *q = xcalloc(1, sizeof *q);
	q->s = cls;
	q->uri = xstrdup(uri);
	return q;
}

static enum MHD_Result
ts_header(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
	buf_appendf(cls, "%s: %s\n", name, value ? value : "");
	return MHD_YES;
}

static ssize_t
ts_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct ts_req *q = cls;
	if (q->chunk < q->script.nchunks) {
		const struct ts_chunk *ch = &q->script.chunks[q->chunk];
		if (ch->delay_ms > 0)
			ts_sleep_ms(ch->delay_ms);
		size_t n = strlen(ch->data);
		if (n > max)
			n = max;   /* test chunks are small */
		memcpy(buf, ch->data, n);
		pthread_mutex_lock(&q->s->lock);
		q->s->sent_us[q->chunk] = util_now_us();
		pthread_mutex_unlock(&q->s->lock);
		q->chunk++;
		return (ssize_t)n;
	}
	if (q->bulk_left > 0) {
		size_t n = q->bulk_left < max ? q->bulk_left : max;
		memset(buf, 'x', n);
		q->bulk_left -= n;
		pthread_mutex_lock(&q->s->lock);
		q->s->bulk_sent += n;
		pthread_mutex_unlock(&q->s->lock);
		return (ssize_t)n;
	}
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static enum MHD_Result
ts_answer(struct ts_req *q, struct MHD_Connection *c, const char *method)
{
	struct testsrv *s = q->s;
	pthread_mutex_lock(&s->lock);
	snprintf(s->method, sizeof s->method, "%s", method);
	snprintf(s->uri, sizeof s->uri, "%s", q->uri);
	s->headers.len = 0;
	buf_append(&s->headers, "", 0);
	MHD_get_connection_values(c, MHD_HEADER_KIND, ts_header, &s->headers);
	s->body.len = 0;
	buf_append(&s->body, q->body.data ? q->body.data : "", q->body.len);
	s->requests++;
	q->script = s->script;
	int fail = s->fails_left > 0;
	if (fail)
		s->fails_left--;
	pthread_mutex_unlock(&s->lock);

	if (fail) {
		static const char err[] =
		    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
		struct MHD_Response *fr = MHD_create_response_from_buffer(strlen(err), (void *)err,
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(fr, "Content-Type", "application/json");
		enum MHD_Result fret = MHD_queue_response(c, (unsigned)q->script.fail_status, fr);
		MHD_destroy_response(fr);
		return fret;
	}

	if (q->script.header_delay_ms > 0)
		ts_sleep_ms(q->script.header_delay_ms);
	struct MHD_Response *resp;
	if (q->script.echo) {
		resp = MHD_create_response_from_buffer(q->body.len, q->body.data ? q->body.data : "",
		    MHD_RESPMEM_MUST_COPY);
	} else {
		uint64_t size = MHD_SIZE_UNKNOWN;
		q->bulk_left = q->script.bulk_bytes;
		if (q->script.content_length) {
			size = q->script.bulk_bytes;
			for (int i = 0; i < q->script.nchunks; i++)
				size += strlen(q->script.chunks[i].data);
		}
		resp = MHD_create_response_from_callback(size, 64 * 1024, ts_reader, q, NULL);
	}
	for (int i = 0; i < TS_MAX_HEADERS && q->script.headers[i] != NULL; i++) {
		const char *h = q->script.headers[i], *colon = strchr(h, ':');
		char *name = xstrndup(h, (size_t)(colon - h));
		MHD_add_response_header(resp, name, colon + 2);
		free(name);
	}
	enum MHD_Result ret = MHD_queue_response(c, q->script.status ? (unsigned)q->script.status : 200,
	    resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
ts_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct ts_req *q = *con_cls;
	/* The first call comes before the body: answer on the last one. */
	if (!q->started) {
		q->started = 1;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		buf_append(&q->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->answered)
		return MHD_YES;
	q->answered = 1;
	return ts_answer(q, c, method);
}

static void
ts_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct testsrv *s = cls;
	struct ts_req *q = *con_cls;
	pthread_mutex_lock(&s->lock);
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		s->completed_ok++;
	else
		s->completed_err++;
	pthread_mutex_unlock(&s->lock);
	if (q != NULL) {
		free(q->uri);
		buf_free(&q->body);
		free(q);
	}
	*con_cls = NULL;
}

static struct testsrv *
testsrv_start(void)
{
	struct testsrv *s = xcalloc(1, sizeof *s);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&s->lock, NULL);
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD,
	    0, NULL, NULL, ts_handler, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_URI_LOG_CALLBACK, ts_on_uri, s,
	    MHD_OPTION_NOTIFY_COMPLETED, ts_completed, s,
	    MHD_OPTION_END);
	if (s->d == NULL)
		fatal("testsrv: cannot start");
	s->port = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port;
	return s;
}

static void
testsrv_stop(struct testsrv *s)
{
	MHD_stop_daemon(s->d);
	buf_free(&s->headers);
	buf_free(&s->body);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void
testsrv_script(struct testsrv *s, const struct ts_script *sc)
{
	pthread_mutex_lock(&s->lock);
	s->script = *sc;
	s->fails_left = sc->fail_first;
	memset(s->sent_us, 0, sizeof s->sent_us);
	s->bulk_sent = 0;
	pthread_mutex_unlock(&s->lock);
}

/* Value of header name in the last request ("" if absent; case-insensitive). */
static void
testsrv_header(struct testsrv *s, const char *name, char *out, size_t len)
{
	out[0] = '\0';
	pthread_mutex_lock(&s->lock);
	size_t n = strlen(name);
	for (const char *p = s->headers.data; p != NULL && *p; ) {
		const char *eol = strchr(p, '\n');
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			size_t vlen = (size_t)(eol - p) - n - 2;
			snprintf(out, len, "%.*s", (int)vlen, p + n + 2);
			break;
		}
		p = eol ? eol + 1 : NULL;
	}
	pthread_mutex_unlock(&s->lock);
}

#endif
