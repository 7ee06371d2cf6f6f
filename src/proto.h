/*
 * proto: the messages between a session's server and its clients, over a
 * SOCK_SEQPACKET unix socket (one send is one message, read whole): a
 * header (type, length), a fixed-layout body, and for ATTACH the client's
 * terminal descriptors as SCM_RIGHTS. The first message each way is HELLO,
 * whose layout never changes: a client and a server whose versions differ
 * refuse to talk, and say so. Bodies are C structs: both ends are the same
 * build of tokmux on the same machine, which HELLO makes sure of.
 */
#ifndef TOKMUX_PROTO_H
#define TOKMUX_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROTO_MAGIC 0x6d6b6f74u      /* "tokm" */
#define PROTO_WIRE 1                 /* the message layouts below; bump on any change */
#define PROTO_MAX (16 * 1024)        /* largest body */
#define PROTO_MAX_FDS 2

enum proto_type {
	PROTO_HELLO = 1,     /* both ways, first: struct proto_hello */
	PROTO_ATTACH,        /* client: struct proto_attach + fds (terminal in, out) */
	PROTO_RESIZE,        /* client: its terminal changed size (no body) */
	PROTO_DETACH,        /* client: detach me (no body) */
	PROTO_INFO,          /* client: asks (no body); server: struct proto_info */
	PROTO_KILL,          /* client: end the session (no body) */
	PROTO_EXIT,          /* server: the verdict, then it closes: struct proto_exit */
};

/* Never change this layout: it is how two versions find out they differ. */
struct proto_hello {
	uint32_t magic;
	uint32_t wire;
	char version[32];    /* TOKMUX_VERSION, NUL-terminated */
};

#define PROTO_ATTACH_READONLY 1u

struct proto_attach {
	uint32_t flags;
	char term[64];       /* the client's TERM */
};

struct proto_info {
	char name[72];
	int32_t pid;         /* the server's */
	int32_t npanes;
	int32_t nclients;
	int64_t created;     /* UNIX time */
	int64_t cost_micros; /* spent by the session's panes so far */
	int32_t gateway;     /* 1: metered */
};

enum proto_exit_kind {
	PROTO_EXIT_DETACHED, /* the session goes on */
	PROTO_EXIT_ENDED,    /* quit, kill-session, or every pane closed */
	PROTO_EXIT_FAILED,   /* the server failed (fatal error or crash) */
};

struct proto_exit {
	int32_t status;      /* for the client to exit with */
	int32_t kind;        /* enum proto_exit_kind */
	char text[4096];     /* printed after the terminal is restored; "" none */
	/* ENDED: the ledger and the session's id in it, for the summary the
	 * client prints ("" none: no gateway) */
	char ledger[4096];
	char ledger_session[32];
};

/* Our HELLO (TOKMUX_TEST_VERSION, when set, fakes the version: tests). */
void proto_hello_init(struct proto_hello *h);
/* 0 if the peer's HELLO (len bytes) is ours too, else -1; either way
 * theirs gets what the peer is ("tokmux 0.1.0 (protocol 1)"). */
int proto_hello_check(const void *body, size_t len, char *theirs, size_t tlen);

/* Send one message (fds may be NULL with nfds 0). Returns 0, or -1 with
 * errno. Async-signal-safe (sendmsg only): the crash path uses it. */
int proto_send(int fd, int type, const void *body, size_t len, const int *fds, int nfds);

/*
 * Receive one message into body (at most max bytes; a longer one is an
 * error, EMSGSIZE). Returns 1 with *type, *len and the descriptors that
 * came with it in fds[] (*nfds of them, close-on-exec; any beyond
 * PROTO_MAX_FDS are closed), 0 at end of file, -1 with errno (EAGAIN on a
 * non-blocking socket with nothing to read).
 */
int proto_recv(int fd, int *type, void *body, size_t max, size_t *len, int *fds, int *nfds);

/* Copy a string into a fixed field, NUL-terminated; and read one back
 * safely (the field may lack its NUL: it is cut). */
void proto_put_str(char *field, size_t size, const char *s);
void proto_get_str(const char *field, size_t size, char *out, size_t len);

#endif
