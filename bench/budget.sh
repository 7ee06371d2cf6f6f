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
#  3. through `tokmux gateway` (bench/loadgen.c, libcurl multi) against
#     the mock: a request's latency (to its last byte) with the team's
#     scopes in the Redis store against the same gateway on the memory
#     store, at concurrency 1 and 32 (GW_N requests or GW_TIME s per
#     slice, ROUNDS alternating slices pooled); then the throughput of 3
#     gateways sharing one Redis store against 3 on memory stores, each
#     loaded at concurrency 32 at once.
# Each slice is bounded: N pairs or TIME seconds, whichever first.
# PARTS="1" runs part 1 only.
set -u
cd "$(dirname "$0")/.."
N=${N:-20000}
TIME=${TIME:-10}
ROUNDS=${ROUNDS:-3}
POOLS=${POOLS:-"1 4 8 32"}
HOLD=${HOLD:-20}
PARTS=${PARTS:-"1 2 3"}
GW_N=${GW_N:-3000}
GW_TIME=${GW_TIME:-6}
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

echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
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

want 3 || exit 0
# ---- 3. through the gateway
TOKMUX=${TOKMUX:-build/tokmux}
LG=$OUT/loadgen
cc -O2 -std=c11 -Wall -Wextra -o "$LG" bench/loadgen.c $(pkg-config --cflags --libs libcurl) ||
	{ echo "cannot build bench/loadgen.c"; exit 1; }
export XDG_CONFIG_HOME=$TMP XDG_STATE_HOME=$TMP
wait_line() {
	for _ in $(seq 100); do grep -m1 -E "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
# the mock's rate limits out of the way (no 429 pacing)
# (sonnet: the upstream answers after UPSTREAM_MS, as a real one takes its time)
UPSTREAM_MS=${UPSTREAM_MS:-200}
echo '{"defaults": {"ratelimit": {"requests": 100000000, "input_tokens": 1000000000, "output_tokens": 1000000000}},
 "rules": [{"match": {"model": "claude-sonnet-4-5"}, "first_byte_ms": '"$UPSTREAM_MS"'}]}' >"$TMP/mock.json"
"$TOKMUX" mock --port 0 --quiet --script "$TMP/mock.json" >"$TMP/mock.out" 2>&1 &
PIDS+=($!)
MOCK=$(wait_line "$TMP/mock.out" 'listening on' | grep -o 'http://127.0.0.1:[0-9]*') ||
	{ echo "mock did not start"; exit 1; }
# gw NAME STORE: a gateway of member NAME with a team ceiling; its URL on stdout
gw() {
	"$TOKMUX" gateway --port 0 --anthropic-upstream "$MOCK" --ledger "$TMP/$1.jsonl" \
		--budget-store "$2" --team bench --member "$1" --team-ceiling day=100000 \
		>"$TMP/$1.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/$1.out" '^route default ' | awk '{ print $3 }'
}
GM=$(gw mem memory)
GR=$(gw red "redis://127.0.0.1:$PLAIN")
[ -n "$GM" ] && [ -n "$GR" ] || { echo "gateways did not start"; exit 1; }
echo "-- through tokmux gateway (team scopes: pane, workspace, day + team and member x day, week, month, + family = 15), stream, ms to last byte"
for model in claude-sonnet-4-5 claude-haiku-4-5; do
	[ $model = claude-haiku-4-5 ] && echo "closed loop (upstream answers at once):" ||
		echo "upstream answers after $UPSTREAM_MS ms:"
	for c in 1 32; do
		rm -f "$TMP"/*.raw
		for r in $(seq "$ROUNDS"); do
			order="mem red"; [ $((r % 2)) = 0 ] && order="red mem"
			for side in $order; do
				url=$GM; [ $side = red ] && url=$GR
				"$LG" --url "$url/v1/messages" --n $((GW_N / ROUNDS)) --c "$c" --time $((GW_TIME / ROUNDS + 1)) \
					--stream --model $model --raw "$TMP/$side.raw" >/dev/null ||
					{ echo "loadgen failed"; exit 1; }
			done
		done
		m=$("$LG" --report "$TMP/mem.raw"); rd=$("$LG" --report "$TMP/red.raw")
		awk -v c="$c" -v m50="$(field "$m" total_p50)" -v m99="$(field "$m" total_p99)" \
			-v r50="$(field "$rd" total_p50)" -v r99="$(field "$rd" total_p99)" \
			-v mr="$(field "$m" rps)" -v rr="$(field "$rd" rps)" 'BEGIN {
			printf "  conc %2d | memory p50 %.3f p99 %.3f | redis p50 %.3f p99 %.3f | added p50 %+.3f p99 %+.3f | req/s memory %s redis %s\n",
				c, m50 / 1000, m99 / 1000, r50 / 1000, r99 / 1000, (r50 - m50) / 1000, (r99 - m99) / 1000, mr, rr }'
	done
done
# three gateways at once, concurrency 32 each
three() {
	local urls=("$@") pids=() i total=0
	for i in 0 1 2; do
		"$LG" --url "${urls[$i]}/v1/messages" --n "$GW_N" --c 32 --time "$GW_TIME" --stream \
			--model claude-haiku-4-5 >"$TMP/three$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	for i in 0 1 2; do
		total=$(awk -v t="$total" -v r="$(field "$(cat "$TMP/three$i.out")" rps)" 'BEGIN { print t + r }')
	done
	echo "$total"
}
G1=$(gw r1 "redis://127.0.0.1:$PLAIN"); G2=$(gw r2 "redis://127.0.0.1:$PLAIN"); G3=$(gw r3 "redis://127.0.0.1:$PLAIN")
M1=$(gw m1 memory); M2=$(gw m2 memory); M3=$(gw m3 memory)
tr=$(three "$G1" "$G2" "$G3"); tm=$(three "$M1" "$M2" "$M3")
awk -v r="$tr" -v m="$tm" 'BEGIN { printf "3 gateways x conc 32: one redis store %.0f req/s, memory stores %.0f req/s (ratio %.2f)\n", r, m, r / m }'
