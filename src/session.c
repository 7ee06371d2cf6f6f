/*
 * session: the per-user socket directory and what is in it: a socket and a
 * lock file per session. The lock (flock) is held by the live server; a
 * socket whose connect is refused and whose lock is free was left by a
 * server that died, and is removed.
 */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

int
session_name_check(const char *name, char **err)
{
	size_t n = strlen(name);
	if (n == 0 || n > SESSION_NAME_MAX) {
		*err = xasprintf("a session name has 1 to %d characters", SESSION_NAME_MAX);
		return -1;
	}
	if (name[0] == '.' || name[0] == '-') {
		*err = xasprintf("a session name cannot start with '%c'", name[0]);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-')) {
			*err = xasprintf("a session name has only letters, digits, '_', '.' and '-' "
			    "(\"%s\" does not)", name);
			return -1;
		}
	}
	return 0;
}

/* dir exists (or was made) as a directory of ours that only we may use. */
static int
session_dir_check(const char *dir, char **err)
{
	struct stat st;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*err = xasprintf("cannot make the session directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) < 0) {
		*err = xasprintf("cannot use the session directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*err = xasprintf("the session directory %s is not a directory: refusing to use it", dir);
		return -1;
	}
	if (st.st_uid != getuid()) {
		*err = xasprintf("the session directory %s belongs to user %u, not to you (%u): "
		    "refusing to use it", dir, (unsigned)st.st_uid, (unsigned)getuid());
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		*err = xasprintf("the session directory %s has mode %03o: others could reach your "
		    "sessions; refusing to use it (chmod 700 it)", dir, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

char *
session_dir(char **err)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char *dir;
	if (rt != NULL && rt[0] == '/')
		dir = xasprintf("%s/tokmux", rt);
	else
		dir = xasprintf("/tmp/tokmux-%u", (unsigned)getuid());
	if (session_dir_check(dir, err) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

char *
session_socket_path(const char *dir, const char *name, char **err)
{
	struct sockaddr_un sa;
	char *path = xasprintf("%s/%s", dir, name);
	if (strlen(path) >= sizeof sa.sun_path) {
		*err = xasprintf("the socket path %s is too long for a unix socket (%zu bytes at most)",
		    path, sizeof sa.sun_path - 1);
		free(path);
		return NULL;
	}
	return path;
}

char *
session_lock_path(const char *dir, const char *name)
{
	return xasprintf("%s/%s.lock", dir, name);
}

char *
session_state_path(const char *name)
{
	const char *state = getenv("XDG_STATE_HOME");
	if (state != NULL && state[0] == '/')
		return xasprintf("%s/tokmux/sessions/%s.json", state, name);
	const char *home = getenv("HOME");
	if (home == NULL || home[0] == '\0') {
		struct passwd *pw = getpwuid(getuid());
		home = pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "/tmp";
	}
	return xasprintf("%s/.local/state/tokmux/sessions/%s.json", home, name);
}

int
session_lock(const char *dir, const char *name, char **err)
{
	char *path = session_lock_path(dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		*err = xasprintf("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;
		*err = busy ? xasprintf("a session named %s is running", name) :
		    xasprintf("cannot lock session %s: %s", name, strerror(errno));
		close(fd);
		return busy ? SESSION_BUSY : -1;
	}
	return fd;
}

/* The socket's server is gone if nobody holds the lock: remove the socket. */
static int
session_clean_stale(const char *dir, const char *name, const char *sock)
{
	char *err = NULL;
	int lk = session_lock(dir, name, &err);
	free(err);
	if (lk < 0)
		return 0;        /* a server holds it: it is starting, not dead */
	unlink(sock);
	close(lk);
	return 1;
}

int
session_connect(const char *dir, const char *name, int *stale, char **err)
{
	*stale = 0;
	char *sock = session_socket_path(dir, name, err);
	if (sock == NULL)
		return -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = xasprintf("socket: %s", strerror(errno));
		free(sock);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		free(sock);
		return fd;
	}
	int e = errno;
	close(fd);
	if (e == ECONNREFUSED && session_clean_stale(dir, name, sock)) {
		*stale = 1;
		*err = xasprintf("no session %s (its server had died: removed the socket it left)", name);
	} else if (e == ENOENT || e == ECONNREFUSED) {
		*err = xasprintf("no session %s", name);
	} else {
		*err = xasprintf("cannot connect to session %s (%s): %s", name, sock, strerror(e));
	}
	free(sock);
	return -1;
}

static int
session_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
session_list(const char *dir, char **names, int max)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while (n < max && (e = readdir(d)) != NULL) {
		char *err = NULL;
		if (session_name_check(e->d_name, &err) < 0) {
			free(err);
			continue;
		}
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
			names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, session_cmp);
	return n;
}

int
session_lock_auto(const char *dir, char *buf, size_t len, char **err)
{
	for (int i = 0; i < 10000; i++) {
		snprintf(buf, len, "%d", i);
		char *e = NULL;
		int lk = session_lock(dir, buf, &e);
		if (lk >= 0) {
			free(e);
			return lk;
		}
		if (lk != SESSION_BUSY) {
			*err = e;
			return -1;
		}
		free(e);
	}
	*err = xstrdup("no free session number from 0 to 9999");
	return -1;
}
