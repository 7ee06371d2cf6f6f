/*
 * proto: one message = one sendmsg() on a SOCK_SEQPACKET socket: an
 * 8-byte header (type, body length) and the body, with descriptors as
 * SCM_RIGHTS ancillary data. No state.
 */
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

struct proto_hdr {
	uint32_t type;
	uint32_t len;
};

void
proto_put_str(char *field, size_t size, const char *s)
{
	memset(field, 0, size);
	if (s != NULL && size > 0)
		memcpy(field, s, strnlen(s, size - 1));
}

void
proto_get_str(const char *field, size_t size, char *out, size_t len)
{
	size_t n = strnlen(field, size);
	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(out, field, n);
	out[n] = '\0';
}

void
proto_hello_init(struct proto_hello *h)
{
	const char *fake = getenv("TOKMUX_TEST_VERSION");
	memset(h, 0, sizeof *h);
	h->magic = PROTO_MAGIC;
	h->wire = PROTO_WIRE;
	proto_put_str(h->version, sizeof h->version,
	    fake != NULL && fake[0] != '\0' ? fake : TOKMUX_VERSION);
}

int
proto_hello_check(const void *body, size_t len, char *theirs, size_t tlen)
{
	struct proto_hello ours, h;
	proto_hello_init(&ours);
	if (len != sizeof h) {
		snprintf(theirs, tlen, "not tokmux (a hello of %zu bytes)", len);
		return -1;
	}
	memcpy(&h, body, sizeof h);
	char v[sizeof h.version + 1];
	proto_get_str(h.version, sizeof h.version, v, sizeof v);
	if (h.magic != PROTO_MAGIC) {
		snprintf(theirs, tlen, "not tokmux");
		return -1;
	}
	snprintf(theirs, tlen, "tokmux %s (protocol %u)", v, (unsigned)h.wire);
	return h.wire == ours.wire && strcmp(v, ours.version) == 0 ? 0 : -1;
}

int
proto_send(int fd, int type, const void *body, size_t len, const int *fds, int nfds)
{
	struct proto_hdr h = { .type = (uint32_t)type, .len = (uint32_t)len };
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof h },
		{ .iov_base = (void *)body, .iov_len = len },
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
	} cm;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1 };
	if (len > PROTO_MAX || nfds < 0 || nfds > PROTO_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	if (nfds > 0) {
		memset(&cm, 0, sizeof cm);
		m.msg_control = cm.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* The descriptors of message m into fds (the rest closed). */
static void
proto_take_fds(struct msghdr *m, int *fds, int *nfds)
{
	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
			if (*nfds < PROTO_MAX_FDS)
				fds[(*nfds)++] = got;
			else
				close(got);
		}
	}
}

int
proto_recv(int fd, int *type, void *body, size_t max, size_t *len, int *fds, int *nfds)
{
	struct proto_hdr h;
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof h },
		{ .iov_base = body, .iov_len = max },
	};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * (PROTO_MAX_FDS + 4))];
	} cm;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cm.buf,
		.msg_controllen = sizeof cm.buf };
	ssize_t n;
	int dummy[PROTO_MAX_FDS], ndummy;
	do
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	if (fds == NULL || nfds == NULL) {
		fds = dummy;
		nfds = &ndummy;
	}
	proto_take_fds(&m, fds, nfds);
	if ((size_t)n < sizeof h || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    h.len != (size_t)n - sizeof h) {
		for (int i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		errno = EMSGSIZE;
		return -1;
	}
	if (fds == dummy)
		for (int i = 0; i < ndummy; i++)
			close(dummy[i]);
	*type = (int)h.type;
	*len = h.len;
	return 1;
}
