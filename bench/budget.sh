#!/usr/bin/env bash
# Budget store benchmark: the latency one request's reserve + settle adds
# (bench/budget.c, 7 scopes) on the Redis store against the in-process
# store in the same run, at concurrency 1 and 32; memory and Redis slices
# alternate (ROUNDS per cell) and each figure is the median over rounds.
# Redis is a local redis-server (no persistence, and AOF everysec) on a
# free loopback port; at concurrency 32 the connection pool size varies.
#  1. requests that hold their lease HOLD ms (their upstream time) between
#     reserve and settle: the latency a request sees at that load.
#     Target: Redis adds under 0.5 ms at p50 at concurrency 32.
#  2. closed loop (HOLD 0): every thread calls the store back to back, so
#     latency is concurrency / throughput and the figure that matters is
#     the store's throughput (pairs/s).
# Each slice is bounded: N pairs or TIME seconds, whichever first.
# PARTS="1" runs part 1 only.
set -u
cd "$(dirname "$0")/.."
N=${N:-20000}
TIME=${TIME:-10}
ROUNDS=${ROUNDS:-3}
POOLS=${POOLS:-"1 4 8 32"}
HOLD=${HOLD:-20}
PARTS=${PARTS:-"1 2"}
OUT=bench/out
mkdir -p "$OUT"
BIN=$OUT/budget
[ -f build/libtokmux.a ] || make -j2 >/dev/null || { echo "cannot build tokmux"; exit 1; }
PKGS="ncursesw vterm libcurl libcjson libmicrohttpd hiredis"
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Isrc $(pkg-config --cflags $PKGS) -o "$BIN" \
	bench/budget.c build/libtokmux.a $(pkg-config --libs $PKGS) -lutil -lpthread -lm ||
	{ echo "cannot build bench/budget.c"; exit 1; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_redis NAME VAR EXTRA-ARGS...: a redis-server in $TMP/NAME; its port
# goes into VAR (not a subshell, so that cleanup knows its pid)
start_redis() {
	local name=$1 var=$2; shift 2
	local port; port=$(free_port)
	mkdir -p "$TMP/$name"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$TMP/$name" --save "" \
		--daemonize no "$@" >"$TMP/$name/log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
		sleep 0.05
	done
	printf -v "$var" '%s' "$port"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

start_redis plain PLAIN --appendonly no
start_redis aof AOF --appendonly yes --appendfsync everysec

# cell LABEL URL CONC POOL HOLD: ROUNDS runs of URL alternating with memory;
# prints the medians and the added latency.
cell() {
	local label=$1 url=$2 conc=$3 pool=$4 hold=$5
	local m50=() m99=() r50=() r99=() rtp=()
	for _ in $(seq "$ROUNDS"); do
		read -r a b c _ < <("$BIN" memory "$conc" "$N" "$TIME" "$pool" "$hold") || { echo "memory run failed"; exit 1; }
		m50+=("$a"); m99+=("$b")
		read -r a b c _ < <("$BIN" "$url" "$conc" "$N" "$TIME" "$pool" "$hold") || { echo "$label run failed"; exit 1; }
		r50+=("$a"); r99+=("$b"); rtp+=("$c")
	done
	local M50 M99 R50 R99 TP
	M50=$(printf '%s\n' "${m50[@]}" | median); M99=$(printf '%s\n' "${m99[@]}" | median)
	R50=$(printf '%s\n' "${r50[@]}" | median); R99=$(printf '%s\n' "${r99[@]}" | median)
	TP=$(printf '%s\n' "${rtp[@]}" | median)
	printf '%-20s conc %2d pool %2d | memory p50 %5d us p99 %6d us | redis p50 %5d us p99 %6d us | added p50 %5d us p99 %6d us | %6d pairs/s\n' \
		"$label" "$conc" "$pool" "$M50" "$M99" "$R50" "$R99" $((R50 - M50)) $((R99 - M99)) "$TP"
}

want() { [[ " $PARTS " == *" $1 "* ]]; }
echo "budget store: reserve + settle over 7 scopes; medians of $ROUNDS rounds, N=$N or ${TIME}s per slice"
for hold in $(want 1 && echo "$HOLD") $(want 2 && echo 0); do
	echo "-- requests hold their lease $hold ms"
	cell "redis" "redis://127.0.0.1:$PLAIN" 1 4 "$hold"
	for pool in $POOLS; do
		cell "redis" "redis://127.0.0.1:$PLAIN" 32 "$pool" "$hold"
	done
	cell "redis aof everysec" "redis://127.0.0.1:$AOF" 32 4 "$hold"
done
