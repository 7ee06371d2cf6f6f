/*
 * testredis: a real redis-server for tests, on a free 127.0.0.1 port in a
 * scratch directory, with or without persistence (AOF, fsync always), and
 * a direct hiredis connection to inspect or disturb it (CLIENT PAUSE,
 * SCRIPT FLUSH). Header-only: every function is static. Include after
 * <cmocka.h>.
 */
#ifndef TOKMUX_TESTREDIS_H
#define TOKMUX_TESTREDIS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testport.h"
#include "util.h"

struct testredis {
	pid_t pid;
	int port;
	char dir[256];
	int aof;                    /* 1: appendonly yes, appendfsync always */
	char password[64];          /* "" none */
};

static void
testredis_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* A direct connection (logged in); NULL if the server does not answer. */
static redisContext *
testredis_connect(const struct testredis *r)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	if (r->password[0] != '\0') {
		redisReply *rep = redisCommand(c, "AUTH %s", r->password);
		if (rep != NULL)
			freeReplyObject(rep);
	}
	return c;
}

/* 1 when the server answers PING with PONG (not LOADING). */
static int
testredis_ready(const struct testredis *r)
{
	redisContext *c = testredis_connect(r);
	if (c == NULL)
		return 0;
	redisReply *rep = redisCommand(c, "PING");
	int ok = rep != NULL && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
	if (rep != NULL)
		freeReplyObject(rep);
	redisFree(c);
	return ok;
}

/* Start redis-server on r->port (0: a free one) in r->dir and wait (5 s
 * at most) until it answers. */
static void
testredis_start(struct testredis *r)
{
	if (r->port == 0)
		r->port = testport_free();
	char port[16], log[300];
	snprintf(port, sizeof port, "%d", r->port);
	snprintf(log, sizeof log, "%s/redis.log", r->dir);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		const char *argv[24] = { "redis-server", "--port", port, "--bind", "127.0.0.1",
			"--dir", r->dir, "--save", "", "--daemonize", "no",
			"--appendonly", r->aof ? "yes" : "no", "--appendfsync", "always" };
		int n = 15;
		if (r->password[0] != '\0') {
			argv[n++] = "--requirepass";
			argv[n++] = r->password;
		}
		argv[n] = NULL;
		execvp("redis-server", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 250 && !testredis_ready(r); i++)
		testredis_sleep_ms(20);
	assert_true(testredis_ready(r));
}

/* Stop it: SIGTERM (a clean shutdown), or SIGKILL when hard. */
static void
testredis_stop(struct testredis *r, int hard)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, hard ? SIGKILL : SIGTERM);
	int st;
	waitpid(r->pid, &st, 0);
	r->pid = 0;
}

/* Run one command on a direct connection; the reply is freed. Returns
 * the integer reply, or 0. */
static long long
testredis_cmd(const struct testredis *r, const char *fmt, ...)
{
	redisContext *c = testredis_connect(r);
	assert_non_null(c);
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	assert_non_null(rep);
	long long v = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	freeReplyObject(rep);
	redisFree(c);
	return v;
}

#endif
