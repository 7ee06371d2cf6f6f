/*
 * budget_redis: the Redis budget store, shared by every member of a team
 * (hiredis; reserve, settle, release, renew and read are Lua scripts,
 * budget_lua). A small pool of connections serves the calling threads;
 * a lost server is retried with exponential backoff, and while it is down
 * every call fails at once with "team budget store unreachable at
 * HOST:PORT". The password never appears in a message.
 *
 * TLS (rediss://) is refused: Debian 12's libhiredis 0.14.1 has no TLS
 * (hiredis_ssl arrived in hiredis 1.0). docs/TEAM.md says how to reach a
 * TLS-only Redis through a local tunnel.
 */
#ifndef TOKMUX_BUDGET_REDIS_H
#define TOKMUX_BUDGET_REDIS_H

#include "budget.h"

/* A parsed redis:// URL. */
struct budget_redis_url {
	char host[256];
	int port;                   /* default 6379 */
	int db;                     /* default 0 */
	char user[128];             /* "" none (Redis 6 ACL user) */
	char *password;             /* malloc'd, NULL none */
};

/* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; user and password may be
 * %-encoded; HOST may be [IPv6]. 0, or -1 with a malloc'd *err that never
 * repeats the password. Free u->password with budget_redis_url_clear. */
int budget_redis_url_parse(const char *url, struct budget_redis_url *u, char **err);
void budget_redis_url_clear(struct budget_redis_url *u);

/* o: with defaults filled in (budget_defaults); the password is the
 * URL's, else o->password, else $TOKMUX_REDIS_PASSWORD. Does not connect. NULL with a
 * malloc'd *err for a bad URL. */
void *budget_redis_new(const struct budget_options *o, char **err);
extern const struct budget_ops budget_redis_ops;

#endif
