/*
 * budget_lua: owns the text of the Redis budget store's Lua scripts
 * (layout and arguments in budget_lua.h). Every script starts with the
 * same prelude: Redis's clock, whether a period still counts, giving a
 * lease back, the sweeper that reclaims expired leases, and the stored
 * ceilings of a request's scopes (one HMGET). Each counter costs a
 * reserve two commands (HMGET, HINCRBY) and a settle three (give back,
 * spent, requests); a counter's first write sets its expiry.
 *
 * Numbers: amounts are integers <= 1e15 (exact in Lua's doubles); Redis
 * passes numbers to commands as %.17g, which prints them as integers.
 * Lease records are written with string.format('%d') for the same reason.
 */
#include "budget_lua.h"

#include <stddef.h>

#define BUDGET_LUA_PRELUDE \
"local function now_ms()\n" \
"  local t = redis.call('TIME')\n" \
"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
"end\n" \
"local function num(v) return tonumber(v) or 0 end\n" \
"-- 1 if a counter whose period ends at exp (UNIX s, 0: never) still counts\n" \
"local function live(exp, now)\n" \
"  exp = tonumber(exp)\n" \
"  return exp == 0 or exp * 1000 > now\n" \
"end\n" \
"-- Give back what a lease record holds (counting it as expired if asked).\n" \
"-- A counter that goes below zero had been deleted by hand: drop it.\n" \
"local function unreserve(rec, now, expired)\n" \
"  local f = {}\n" \
"  for w in string.gmatch(rec, '%S+') do f[#f + 1] = w end\n" \
"  local amount = tonumber(f[1])\n" \
"  for i = 2, #f - 1, 2 do\n" \
"    if amount > 0 and live(f[i + 1], now) then\n" \
"      if redis.call('HINCRBY', f[i], 'reserved', -amount) < 0 then\n" \
"        redis.call('DEL', f[i])\n" \
"      elseif expired then\n" \
"        redis.call('HINCRBY', f[i], 'expired', 1)\n" \
"      end\n" \
"    end\n" \
"  end\n" \
"end\n" \
"-- Reclaim leases whose holder stopped renewing them; forget settled ones.\n" \
"local function sweep(L, E, now)\n" \
"  local ids = redis.call('ZRANGEBYSCORE', E, '-inf', now, 'LIMIT', 0, 256)\n" \
"  for _, id in ipairs(ids) do\n" \
"    local rec = redis.call('HGET', L, id)\n" \
"    if rec and rec ~= 's' then unreserve(rec, now, true) end\n" \
"    redis.call('HDEL', L, id)\n" \
"    redis.call('ZREM', E, id)\n" \
"  end\n" \
"end\n" \
"-- The stored ceilings of limit names ARGV[first], ARGV[first + step], ...\n" \
"local function stored(C, n, first, step)\n" \
"  local names, any = {}, false\n" \
"  for i = 1, n do\n" \
"    names[i] = ARGV[first + step * (i - 1)]\n" \
"    any = any or names[i] ~= ''\n" \
"  end\n" \
"  if not any then return {} end\n" \
"  return redis.call('HMGET', C, unpack(names))\n" \
"end\n"

/* Check every counter, then reserve the largest amount <= max that fits
 * all of them (refuse below min). A counter met for the first time gets
 * its expiry. A retried reserve (same id) returns the grant already made. */
static const char budget_lua_reserve[] = BUDGET_LUA_PRELUDE
"local L, E, C, M = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
"local id, lo, hi = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
"local lease, member = tonumber(ARGV[4]), ARGV[5]\n"
"local n = #KEYS - 4\n"
"local now = now_ms()\n"
"sweep(L, E, now)\n"
"local old = redis.call('HGET', L, id)\n"
"if old == 's' then return {-1, 0, -1, 0, 0, 0} end\n"
"if old then return {1, tonumber(string.match(old, '^%S+')), -1, 0, 0, 0} end\n"
"local st = stored(C, n, 6, 3)\n"
"local cur, fresh = {}, {}\n"
"local room, bind, bs, br, bc = hi, -1, 0, 0, 0\n"
"for i = 1, n do\n"
"  local v = redis.call('HMGET', KEYS[4 + i], 'spent', 'reserved')\n"
"  fresh[i] = not v[1] and not v[2]\n"
"  local ceil = tonumber(st[i] or ARGV[4 + 3 * i])\n"
"  local sp, rs = num(v[1]), num(v[2])\n"
"  if ceil >= 0 and ceil - sp - rs < room then\n"
"    room, bind, bs, br, bc = ceil - sp - rs, i - 1, sp, rs, ceil\n"
"  end\n"
"end\n"
"local field, delta = 'reserved', room\n"
"if room < lo then field, delta = 'refused', 1 end\n"
"local rec = {string.format('%d', room)}\n"
"for i = 1, n do\n"
"  local exp = ARGV[5 + 3 * i]\n"
"  if live(exp, now) then\n"
"    redis.call('HINCRBY', KEYS[4 + i], field, delta)\n"
"    if fresh[i] and tonumber(exp) > 0 then redis.call('EXPIREAT', KEYS[4 + i], exp) end\n"
"  end\n"
"  rec[#rec + 1] = KEYS[4 + i]\n"
"  rec[#rec + 1] = exp\n"
"end\n"
"redis.call('HSET', M, member, now)\n"
"if room < lo then return {0, 0, bind, bs, br, bc} end\n"
"redis.call('HSET', L, id, table.concat(rec, ' '))\n"
"redis.call('ZADD', E, now + lease, id)\n"
"return {1, room, bind, bs, br, bc}\n";

/* Move a lease to spent: give back what it holds (if not swept), add the
 * actual cost, remember the id as settled for keep_ms. */
static const char budget_lua_settle[] = BUDGET_LUA_PRELUDE
"local L, E, M = KEYS[1], KEYS[2], KEYS[3]\n"
"local id, actual, keep = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
"local member, count = ARGV[4], tonumber(ARGV[5])\n"
"local now = now_ms()\n"
"local rec = redis.call('HGET', L, id)\n"
"if rec == 's' then return 0 end\n"
"if rec then unreserve(rec, now, false) end\n"
"for i = 4, #KEYS do\n"
"  local exp = ARGV[6 + (i - 4)]\n"
"  if live(exp, now) then\n"
"    local total = redis.call('HINCRBY', KEYS[i], 'spent', actual)\n"
"    if count > 0 then redis.call('HINCRBY', KEYS[i], 'requests', count) end\n"
"    if total == actual and tonumber(exp) > 0 then redis.call('EXPIREAT', KEYS[i], exp) end\n"
"  end\n"
"end\n"
"redis.call('HSET', L, id, 's')\n"
"redis.call('ZADD', E, now + keep, id)\n"
"redis.call('HSET', M, member, now)\n"
"return 1\n";

static const char budget_lua_release[] = BUDGET_LUA_PRELUDE
"local now = now_ms()\n"
"local rec = redis.call('HGET', KEYS[1], ARGV[1])\n"
"if not rec or rec == 's' then return 0 end\n"
"unreserve(rec, now, false)\n"
"redis.call('HDEL', KEYS[1], ARGV[1])\n"
"redis.call('ZREM', KEYS[2], ARGV[1])\n"
"return 1\n";

static const char budget_lua_renew[] = BUDGET_LUA_PRELUDE
"local now = now_ms()\n"
"local lease = tonumber(ARGV[1])\n"
"local lost = {}\n"
"for i = 2, #ARGV do\n"
"  local rec = redis.call('HGET', KEYS[1], ARGV[i])\n"
"  if rec and rec ~= 's' then\n"
"    redis.call('ZADD', KEYS[2], now + lease, ARGV[i])\n"
"  else\n"
"    lost[#lost + 1] = i - 2\n"
"  end\n"
"end\n"
"return lost\n";

static const char budget_lua_read[] = BUDGET_LUA_PRELUDE
"local L, E, C = KEYS[1], KEYS[2], KEYS[3]\n"
"local now = now_ms()\n"
"sweep(L, E, now)\n"
"local n = #KEYS - 3\n"
"local st = stored(C, n, 1, 2)\n"
"local out = {}\n"
"for i = 1, n do\n"
"  local ceil, from = tonumber(ARGV[2 * i]), 0\n"
"  if st[i] then ceil, from = tonumber(st[i]), 1 end\n"
"  local v = redis.call('HMGET', KEYS[3 + i], 'spent', 'reserved', 'requests', 'refused',\n"
"    'expired')\n"
"  local row = {num(v[1]), num(v[2]), ceil, from, num(v[3]), num(v[4]), num(v[5])}\n"
"  for _, x in ipairs(row) do out[#out + 1] = x end\n"
"end\n"
"return out\n";

static const char *const budget_lua_texts[BUDGET_LUA_COUNT] = {
	budget_lua_reserve, budget_lua_settle, budget_lua_release, budget_lua_renew,
	budget_lua_read,
};

static const char *const budget_lua_names[BUDGET_LUA_COUNT] = {
	"reserve", "settle", "release", "renew", "read",
};

const char *
budget_lua_text(enum budget_lua_script s)
{
	return (int)s >= 0 && s < BUDGET_LUA_COUNT ? budget_lua_texts[s] : NULL;
}

const char *
budget_lua_name(enum budget_lua_script s)
{
	return (int)s >= 0 && s < BUDGET_LUA_COUNT ? budget_lua_names[s] : "?";
}
