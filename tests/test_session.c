/* Unit tests for session: name rules, the private socket directory (made
 * 0700; another mode, a symlink or a file refused), socket path length,
 * the lock (one holder), stale sockets found out and removed, the list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "session.h"
#include "testmsg.h"
#include "testtmp.h"
#include "util.h"

static void
test_names(void **state)
{
	(void)state;
	char *err = NULL;
	const char *good[] = { "0", "work", "a.b-c_D9", NULL };
	for (int i = 0; good[i] != NULL; i++)
		assert_int_equal(session_name_check(good[i], &err), 0);
	assert_int_equal(session_name_check("", &err), -1);
	testmsg_expect(&err, "a session name has 1 to 64 characters");
	assert_int_equal(session_name_check(".hidden", &err), -1);
	testmsg_expect(&err, "a session name cannot start with '.'");
	assert_int_equal(session_name_check("-t", &err), -1);
	testmsg_expect(&err, "a session name cannot start with '-'");
	assert_int_equal(session_name_check("a/b", &err), -1);
	testmsg_expect(&err, "a session name has only letters, digits, '_', '.' and '-' (\"a/b\" does not)");
	char longname[SESSION_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(session_name_check(longname, &err), -1);
	free(err);
}

static void
test_dir(void **state)
{
	(void)state;
	char tmp[64], *err = NULL;
	testtmp_make(tmp, sizeof tmp, "session");
	setenv("XDG_RUNTIME_DIR", tmp, 1);
	char *dir = session_dir(&err);
	assert_non_null(dir);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* open to others: refused */
	chmod(dir, 0750);
	assert_null(session_dir(&err));
	assert_non_null(strstr(err, "has mode 750: others could reach your sessions"));
	free(err);
	chmod(dir, 0700);
	/* a symlink to a directory of ours is refused too */
	char *real = xasprintf("%s/real", tmp), *link = xasprintf("%s/tokmux", tmp);
	assert_int_equal(rename(dir, real), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_null(session_dir(&err));
	assert_non_null(strstr(err, "is not a directory: refusing to use it"));
	free(err);
	unlink(link);
	free(real);
	free(link);
	free(dir);
	/* without XDG_RUNTIME_DIR: /tmp/tokmux-UID */
	unsetenv("XDG_RUNTIME_DIR");
	char *want = xasprintf("/tmp/tokmux-%u", (unsigned)getuid());
	struct stat before;
	int existed = stat(want, &before) == 0;
	dir = session_dir(&err);
	if (dir != NULL)
		assert_string_equal(dir, want);
	else
		free(err);      /* someone else's /tmp/tokmux-UID: refused, as it should be */
	if (!existed && dir != NULL)
		rmdir(want);
	free(dir);
	free(want);
	assert_int_equal(testtmp_remove(tmp), 0);
}

static void
test_paths(void **state)
{
	(void)state;
	char *err = NULL;
	char *p = session_socket_path("/run/user/1000/tokmux", "work", &err);
	assert_string_equal(p, "/run/user/1000/tokmux/work");
	free(p);
	p = session_lock_path("/d", "work");
	assert_string_equal(p, "/d/work.lock");
	free(p);
	char deep[200];
	memset(deep, 'd', sizeof deep - 1);
	deep[0] = '/';
	deep[sizeof deep - 1] = '\0';
	assert_null(session_socket_path(deep, "work", &err));
	assert_non_null(strstr(err, "is too long for a unix socket"));
	free(err);
	setenv("XDG_STATE_HOME", "/st", 1);
	p = session_state_path("work");
	assert_string_equal(p, "/st/tokmux/sessions/work.json");
	free(p);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/me", 1);
	p = session_state_path("work");
	assert_string_equal(p, "/home/me/.local/state/tokmux/sessions/work.json");
	free(p);
}

/* A listening socket named name in dir, as a server's. */
static int
listen_at(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, name);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void
test_lock_connect(void **state)
{
	(void)state;
	char tmp[64], *err = NULL;
	int stale;
	testtmp_make(tmp, sizeof tmp, "session");
	/* one holder at a time */
	int lk = session_lock(tmp, "work", &err);
	assert_true(lk >= 0);
	assert_int_equal(session_lock(tmp, "work", &err), SESSION_BUSY);
	testmsg_expect(&err, "a session named work is running");
	/* the lowest free number */
	char name[SESSION_NAME_MAX + 1];
	int l0 = session_lock_auto(tmp, name, sizeof name, &err);
	assert_string_equal(name, "0");
	int l1 = session_lock_auto(tmp, name, sizeof name, &err);
	assert_string_equal(name, "1");
	close(l0);
	int l0b = session_lock_auto(tmp, name, sizeof name, &err);
	assert_string_equal(name, "0");
	close(l0b);
	close(l1);
	/* no socket: no session */
	assert_int_equal(session_connect(tmp, "none", &stale, &err), -1);
	testmsg_expect(&err, "no session none");
	assert_int_equal(stale, 0);
	/* a live server: connected */
	int srv = listen_at(tmp, "work");
	int c = session_connect(tmp, "work", &stale, &err);
	assert_true(c >= 0);
	close(c);
	/* its server died (the socket is there, refused) while it still holds
	 * the lock: starting, not dead: left alone */
	close(srv);
	assert_int_equal(session_connect(tmp, "work", &stale, &err), -1);
	testmsg_expect(&err, "no session work");
	assert_int_equal(stale, 0);
	char *sock = xasprintf("%s/work", tmp);
	assert_int_equal(access(sock, F_OK), 0);
	/* the lock is free too: dead, and its socket is removed */
	close(lk);
	assert_int_equal(session_connect(tmp, "work", &stale, &err), -1);
	testmsg_expect(&err, "no session work (its server had died: removed the socket it left)");
	assert_int_equal(stale, 1);
	assert_int_equal(access(sock, F_OK), -1);
	free(sock);
	assert_int_equal(testtmp_remove(tmp), 0);
}

static void
test_list(void **state)
{
	(void)state;
	char tmp[64], *names[SESSION_MAX_LIST];
	testtmp_make(tmp, sizeof tmp, "session");
	int a = listen_at(tmp, "b"), b = listen_at(tmp, "a");
	char *lock = xasprintf("%s/a.lock", tmp), *junk = xasprintf("%s/.x", tmp);
	FILE *f = fopen(lock, "w");     /* lock files and other files are not sessions */
	fclose(f);
	f = fopen(junk, "w");
	fclose(f);
	int n = session_list(tmp, names, SESSION_MAX_LIST);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	for (int i = 0; i < n; i++)
		free(names[i]);
	assert_int_equal(session_list("/nonexistent-dir", names, SESSION_MAX_LIST), 0);
	close(a);
	close(b);
	free(lock);
	free(junk);
	assert_int_equal(testtmp_remove(tmp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dir),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_lock_connect),
		cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
