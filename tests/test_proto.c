/* Unit tests for proto: one message per send over a SOCK_SEQPACKET pair,
 * descriptors passed with ATTACH, HELLO across versions, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "proto.h"

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void
test_messages(void **state)
{
	(void)state;
	int sv[2], type, fds[PROTO_MAX_FDS], nfds = -1;
	char body[PROTO_MAX];
	size_t len;
	pair(sv);
	/* bodies arrive whole, one per send, in order; an empty one too */
	struct proto_attach a;
	memset(&a, 0, sizeof a);
	a.flags = PROTO_ATTACH_READONLY;
	proto_put_str(a.term, sizeof a.term, "xterm-256color");
	assert_int_equal(proto_send(sv[0], PROTO_ATTACH, &a, sizeof a, NULL, 0), 0);
	assert_int_equal(proto_send(sv[0], PROTO_RESIZE, NULL, 0, NULL, 0), 0);
	assert_int_equal(proto_recv(sv[1], &type, body, sizeof body, &len, fds, &nfds), 1);
	assert_int_equal(type, PROTO_ATTACH);
	assert_int_equal(len, sizeof a);
	assert_int_equal(nfds, 0);
	assert_memory_equal(body, &a, sizeof a);
	assert_int_equal(proto_recv(sv[1], &type, body, sizeof body, &len, fds, &nfds), 1);
	assert_int_equal(type, PROTO_RESIZE);
	assert_int_equal(len, 0);
	/* too big to send; too big for the receiver's buffer */
	static char big[PROTO_MAX + 1];
	assert_int_equal(proto_send(sv[0], PROTO_INFO, big, sizeof big, NULL, 0), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(proto_send(sv[0], PROTO_INFO, big, 100, NULL, 0), 0);
	char small[10];
	assert_int_equal(proto_recv(sv[1], &type, small, sizeof small, &len, fds, &nfds), -1);
	assert_int_equal(errno, EMSGSIZE);
	/* end of file */
	close(sv[0]);
	assert_int_equal(proto_recv(sv[1], &type, body, sizeof body, &len, fds, &nfds), 0);
	close(sv[1]);
}

/* Descriptors open in this process. */
static int
count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void
test_descriptors(void **state)
{
	(void)state;
	int sv[2], p[2], type, fds[PROTO_MAX_FDS], nfds = 0;
	char body[PROTO_MAX];
	size_t len;
	pair(sv);
	assert_int_equal(pipe(p), 0);
	int send_fds[2] = { p[0], p[1] };
	assert_int_equal(proto_send(sv[0], PROTO_ATTACH, "x", 1, send_fds, 2), 0);
	assert_int_equal(proto_recv(sv[1], &type, body, sizeof body, &len, fds, &nfds), 1);
	assert_int_equal(nfds, 2);
	/* they are the same pipe, close-on-exec on this side */
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fds[1], "hi", 2), 2);
	char got[2];
	assert_int_equal(read(p[0], got, 2), 2);
	assert_memory_equal(got, "hi", 2);
	for (int i = 0; i < 2; i++)
		close(fds[i]);
	/* the descriptors of a message whose caller wants none are closed, not leaked */
	int before = count_fds();
	assert_int_equal(proto_send(sv[0], PROTO_ATTACH, "x", 1, send_fds, 2), 0);
	assert_int_equal(proto_recv(sv[1], &type, body, sizeof body, &len, NULL, NULL), 1);
	assert_int_equal(count_fds(), before);
	/* at most PROTO_MAX_FDS go */
	int three[3] = { p[0], p[1], p[0] };
	assert_int_equal(proto_send(sv[0], PROTO_ATTACH, "x", 1, three, 3), -1);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_hello(void **state)
{
	(void)state;
	struct proto_hello ours, theirs;
	char what[128];
	unsetenv("TOKMUX_TEST_VERSION");
	proto_hello_init(&ours);
	assert_int_equal(proto_hello_check(&ours, sizeof ours, what, sizeof what), 0);
	assert_string_equal(what, "tokmux " TOKMUX_VERSION " (protocol 1)");
	/* another version */
	setenv("TOKMUX_TEST_VERSION", "9.9.9", 1);
	proto_hello_init(&theirs);
	unsetenv("TOKMUX_TEST_VERSION");
	assert_int_equal(proto_hello_check(&theirs, sizeof theirs, what, sizeof what), -1);
	assert_string_equal(what, "tokmux 9.9.9 (protocol 1)");
	/* another wire format with the same version */
	theirs = ours;
	theirs.wire = PROTO_WIRE + 1;
	assert_int_equal(proto_hello_check(&theirs, sizeof theirs, what, sizeof what), -1);
	/* not tokmux at all: wrong magic, wrong size */
	theirs = ours;
	theirs.magic = 0x12345678;
	assert_int_equal(proto_hello_check(&theirs, sizeof theirs, what, sizeof what), -1);
	assert_string_equal(what, "not tokmux");
	assert_int_equal(proto_hello_check(&ours, 3, what, sizeof what), -1);
	/* a version field without its NUL is cut, not overrun */
	theirs = ours;
	memset(theirs.version, 'v', sizeof theirs.version);
	assert_int_equal(proto_hello_check(&theirs, sizeof theirs, what, sizeof what), -1);
}

static void
test_strings(void **state)
{
	(void)state;
	char field[8], out[32];
	proto_put_str(field, sizeof field, "abcdefghijk");
	assert_string_equal(field, "abcdefg");
	memset(field, 'x', sizeof field);        /* no NUL at all */
	proto_get_str(field, sizeof field, out, sizeof out);
	assert_string_equal(out, "xxxxxxxx");
	proto_get_str(field, sizeof field, out, 4);
	assert_string_equal(out, "xxx");
	proto_put_str(field, sizeof field, NULL);
	assert_string_equal(field, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_descriptors),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
