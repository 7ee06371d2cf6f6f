/*
 * budget_lua: the Lua scripts the Redis budget store runs (EVALSHA, EVAL
 * on NOSCRIPT). Each is atomic in Redis. Keys of one team share the hash
 * tag {TEAM}, so a script's keys live in one slot.
 *
 * Keys (P = "tokmux:{TEAM}:"):
 *   P leases    hash  lease id -> "AMOUNT KEY1 EXP1 KEY2 EXP2 ..." or "s" (settled)
 *   P lexp      zset  lease id -> expiry (ms, Redis clock); settled: forget-at
 *   P ceilings  hash  limit name -> micros (-1: none)
 *   P members   hash  member -> last activity (ms)
 *   P s:KEY     hash  a scope's counter: spent reserved requests refused
 *                     expired; EXPIREAT the end of its period + grace
 *
 * Arguments:
 *   reserve  KEYS leases lexp ceilings members COUNTER...
 *            ARGV id min max lease_ms member (limit ceiling expire_at)...
 *            -> {status 1 granted / 0 refused / -1 settled id,
 *                granted, binding (0-based, -1), spent, reserved, ceiling}
 *   settle   KEYS leases lexp members COUNTER...
 *            ARGV id actual keep_ms member count expire_at...
 *            -> 1 counted, 0 already settled (a retry)
 *   release  KEYS leases lexp  ARGV id -> 1 released, 0 nothing held
 *   renew    KEYS leases lexp  ARGV lease_ms id... -> indexes (0-based) of lost ids
 *   read     KEYS leases lexp ceilings COUNTER...  ARGV (limit ceiling)...
 *            -> 7 integers a counter: spent reserved ceiling stored
 *               requests refused expired
 */
#ifndef TOKMUX_BUDGET_LUA_H
#define TOKMUX_BUDGET_LUA_H

enum budget_lua_script {
	BUDGET_LUA_RESERVE,
	BUDGET_LUA_SETTLE,
	BUDGET_LUA_RELEASE,
	BUDGET_LUA_RENEW,
	BUDGET_LUA_READ,
	BUDGET_LUA_COUNT
};

/* The script's source text. */
const char *budget_lua_text(enum budget_lua_script s);
/* "reserve", "settle", ... */
const char *budget_lua_name(enum budget_lua_script s);

#endif
