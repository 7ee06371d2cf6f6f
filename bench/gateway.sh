#!/usr/bin/env bash
# Gateway benchmark: the same load against the mock directly and through
# `tokmux gateway` in the same run (bench/loadgen.c, libcurl multi), with
# nginx (Debian's nginx-light, `scripts/deps.sh --bench`) as a reverse
# proxy in front of the same mock as the peer, and optionally another
# tokmux build (BASE=/path/to/tokmux, e.g. main's) as the baseline.
# (BASE2=/path/to/tokmux: a second baseline, side base2, in the same run.)
#  1. added latency (proxy - direct) at p50 and p99, time to first byte
#     and to last byte, at concurrency 1, 8 and 32, JSON and SSE; the
#     throughput and CPU per request; the gateway's added p50 and its
#     throughput as ratios to nginx's. The sides' slices alternate (ROUNDS
#     per cell) so that noise from other processes hits all alike. Each
#     cell is bounded: N requests or TIME seconds per side, whichever first.
#     Targets: added p50 < 0.5 ms and throughput >= 0.5x the bare mock at
#     c=32; c=1 and c=8 no worse than BASE.
#     Then streaming: the mock sends SSE events 10 ms apart; the lateness of
#     each event (arrival - first event - k * 10 ms) through each proxy
#     minus directly, p50/p99 (target: under 1 ms).
#  2. the gateway's ledger holds exactly one outcome line per request sent through it.
#  3. fallback, with the REAL Claude Code CLI (`claude -p`, offline against
#     the mock; skipped when it is not installed, see tests/agents-install.sh):
#     claude-opus-* answers 529 for ever, claude-sonnet-* works. Time from
#     the first 529 (the mock's log) to the successful answer (the mock's
#     200, and the agent's exit), through `tokmux gateway` (its policy
#     retries, then falls back; restarted before each run so its circuit
#     breaker starts closed; plus one run with the breaker open) against
#     the same agent facing the same mock directly: its own retries with
#     --fallback-model, and without one (API key, subscription token: no
#     answer; each run capped at FALLBACK_CAP s).
# PARTS="3" runs part 3 only (part 2 needs part 1).
set -u
cd "$(dirname "$0")/.."
N=${N:-2000}            # requests per side per cell
TIME=${TIME:-20}        # seconds per side per cell
ROUNDS=${ROUNDS:-4}     # direct/gateway alternations per cell
CONCS=${CONCS:-"1 8 32"}
PARTS=${PARTS:-"1 2 3"}
FALLBACK_RUNS=${FALLBACK_RUNS:-3}        # cold runs per side in part 3
FALLBACK_NOFB_RUNS=${FALLBACK_NOFB_RUNS:-1}  # direct runs without --fallback-model
FALLBACK_CAP=${FALLBACK_CAP:-240}        # seconds, cap of one agent run without a fallback
FB_MODEL=${FB_MODEL:-claude-opus-4-7}
FB_FALLBACK=${FB_FALLBACK:-claude-sonnet-4-5}
AGENT_CACHE=${TOKMUX_AGENT_CACHE:-$HOME/.cache/tokmux-agents}
CLAUDE=${CLAUDE:-$AGENT_CACHE/node_modules/.bin/claude}   # the Claude Code CLI
OUT=bench/out
mkdir -p "$OUT"
TOKMUX=${TOKMUX:-$PWD/build/tokmux}   # TOKMUX=/path/to/tokmux compares another build
BASE=${BASE:-}                         # another tokmux build measured in the same run
BASE2=${BASE2:-}                       # and a third one (side base2)
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
CHUNK_N=${CHUNK_N:-30}                 # streams per side for the per-event timing
LG=$OUT/loadgen
SCRIPT=bench/mock-fallback.json
LEDGER=$OUT/ledger.jsonl
[ -x "$TOKMUX" ] || make -j2 >/dev/null || { echo "cannot build tokmux"; exit 1; }
cc -O2 -std=c11 -Wall -Wextra -o "$LG" bench/loadgen.c $(pkg-config --cflags --libs libcurl) ||
	{ echo "cannot build bench/loadgen.c"; exit 1; }

TMP=$(mktemp -d)
export XDG_CONFIG_HOME=$TMP XDG_STATE_HOME=$TMP
MOCK_PID= GW_PID= BASE_PID= BASE2_PID= NGX_PID= FB_MOCK_PID= FB_GW_PID=
cleanup() {
	for p in $GW_PID $BASE_PID $BASE2_PID $NGX_PID $MOCK_PID $FB_GW_PID $FB_MOCK_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

want() { [[ " $PARTS " == *" $1 "* ]]; }
# wait_line FILE REGEX: the first matching line within 5 s.
wait_line() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -m1 -E "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# field "SUMMARY" KEY: a value from a loadgen summary line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ms() { awk -v u="$1" 'BEGIN {printf "%.3f", u / 1000}'; }
# cpu PID: user + system CPU time of a process so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

"$TOKMUX" mock --port 0 --quiet --script "$SCRIPT" >"$TMP/mock.out" 2>&1 &
MOCK_PID=$!
MOCK=$(wait_line "$TMP/mock.out" 'listening on' | grep -o 'http://127.0.0.1:[0-9]*') ||
	{ echo "mock did not start"; cat "$TMP/mock.out"; exit 1; }
rm -f "$LEDGER"
"$TOKMUX" gateway --port 0 --anthropic-upstream "$MOCK" --ledger "$LEDGER" >"$TMP/gw.out" 2>&1 &
GW_PID=$!
wait_line "$TMP/gw.out" '^route default ' >/dev/null ||
	{ echo "gateway did not start"; cat "$TMP/gw.out"; exit 1; }
GW=$(awk '$1 == "route" && $2 == "default" {print $3}' "$TMP/gw.out")
echo "mock $MOCK; gateway route $GW"
SIDES="direct gw"
if [ -n "$BASE" ]; then
	"$BASE" gateway --port 0 --anthropic-upstream "$MOCK" >"$TMP/base.out" 2>&1 &
	BASE_PID=$!
	wait_line "$TMP/base.out" '^route default ' >/dev/null ||
		{ echo "BASE gateway did not start"; cat "$TMP/base.out"; exit 1; }
	BGW=$(awk '$1 == "route" && $2 == "default" {print $3}' "$TMP/base.out")
	SIDES="$SIDES base"
	echo "baseline: $BASE, route $BGW"
fi
if [ -n "$BASE2" ]; then
	"$BASE2" gateway --port 0 --anthropic-upstream "$MOCK" >"$TMP/base2.out" 2>&1 &
	BASE2_PID=$!
	wait_line "$TMP/base2.out" '^route default ' >/dev/null ||
		{ echo "BASE2 gateway did not start"; cat "$TMP/base2.out"; exit 1; }
	B2GW=$(awk '$1 == "route" && $2 == "default" {print $3}' "$TMP/base2.out")
	SIDES="$SIDES base2"
	echo "second baseline: $BASE2, route $B2GW"
fi
# nginx: a reverse proxy to the same mock, upstream connections kept alive,
# responses not buffered (SSE passes through as it comes).
if [ -x "$NGINX" ]; then
	NPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$TMP/nginx"
	cat >"$TMP/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	upstream mock { server ${MOCK#http://}; keepalive 128; }
	server {
		listen 127.0.0.1:$NPORT;
		location / {
			proxy_pass http://mock;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering off;
		}
	}
}
EOF
	"$NGINX" -c "$TMP/nginx.conf" -p "$TMP/nginx" >"$TMP/nginx.out" 2>&1 &
	NGX_PID=$!
	for ((i = 0; i < 50; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$NPORT/" && break
		sleep 0.1
	done
	NGW=http://127.0.0.1:$NPORT
	SIDES="$SIDES nginx"
	echo "nginx $("$NGINX" -v 2>&1 | cut -d/ -f2) on $NGW (worker_processes auto)"
else
	echo "nginx: not installed (scripts/deps.sh --bench installs nginx-light): no peer ratios"
fi
# side_url SIDE: the base URL requests go to.
side_url() {
	case $1 in
	direct) echo "$MOCK" ;; gw) echo "$GW" ;; base) echo "$BGW" ;; base2) echo "$B2GW" ;; nginx) echo "$NGW" ;;
	esac
}
# side_pid SIDE: the proxy's process (the mock's for direct).
side_pid() {
	case $1 in
	direct) echo "$MOCK_PID" ;; gw) echo "$GW_PID" ;; base) echo "$BASE_PID" ;; base2) echo "$BASE2_PID" ;;
	nginx) pgrep -d' ' -P "$NGX_PID" ;;   # the workers
	esac
}
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"

# cpu PIDS...: user + system CPU time of processes so far, in clock ticks.
cpus() { local t=0 p; for p in "$@"; do t=$((t + $(cpu "$p"))); done; echo $t; }
# rotate "a b c" K: the list rotated by K (each slice order differs).
rotate() { local a=($1) k=$2 n; n=${#a[@]}; for ((x = 0; x < n; x++)); do printf '%s ' "${a[$(((x + k) % n))]}"; done; }
if want 1; then
	echo "== added latency, $N requests or ${TIME} s per side per cell, $ROUNDS alternating slices"
	per_n=$(((N + ROUNDS - 1) / ROUNDS))
	per_t=$(awk -v t="$TIME" -v r="$ROUNDS" 'BEGIN {printf "%.2f", t / r}')
	gw_sent=0 fails=0
	printf '%-4s %-3s %-6s %7s | %-25s | %-25s | %7s %5s | %8s | %s\n' mode c side n \
		"TTFB ms p50/p99 (+added)" "total ms p50/p99 (+added)" "req/s" "xdir" "CPU us/r" "verdict"
	for stream in 0 1; do
		for c in $CONCS; do
			sflag=; mode=json
			[ "$stream" = 1 ] && sflag=--stream mode=sse
			declare -A ticks=() reqs=()
			for side in $SIDES; do rm -f "$TMP/$side.raw"; ticks[$side]=0 reqs[$side]=0; done
			for ((r = 0; r < ROUNDS; r++)); do
				for side in $(rotate "$SIDES" $r); do
					pids=$(side_pid $side)
					t0=$(cpus $pids)
					line=$("$LG" --url "$(side_url $side)/v1/messages" --n "$per_n" --c "$c" \
						--time "$per_t" $sflag --raw "$TMP/$side.raw") || fails=$((fails + 1))
					sent=$(field "$line" sent)
					[ $side = gw ] && gw_sent=$((gw_sent + sent))
					ticks[$side]=$((ticks[$side] + $(cpus $pids) - t0)) reqs[$side]=$((reqs[$side] + sent))
				done
			done
			declare -A rep=()
			for side in $SIDES; do rep[$side]=$("$LG" --report "$TMP/$side.raw"); done
			d=${rep[direct]}
			for side in $SIDES; do
				g=${rep[$side]}
				for k in ttfb_p50 ttfb_p99 total_p50 total_p99; do
					declare "V_$k=$(field "$g" $k)" "A_$k=$(($(field "$g" $k) - $(field "$d" $k)))"
				done
				rps=$(field "$g" rps)
				xdir=$(awk -v a="$rps" -v b="$(field "$d" rps)" 'BEGIN {printf "%.2f", a / b}')
				ucpu=$(awk -v t=${ticks[$side]} -v n=${reqs[$side]} -v h=$TCK 'BEGIN {printf "%.0f", n ? t * 1e6 / h / n : 0}')
				verdict=
				if [ $side = direct ]; then
					added="" aadded=""
				else
					added=" +$(ms $A_ttfb_p50)/+$(ms $A_ttfb_p99)" aadded=" +$(ms $A_total_p50)/+$(ms $A_total_p99)"
				fi
				if [ $side = gw ] && [ "$c" -ge 32 ]; then
					verdict=ok
					{ [ "$A_total_p50" -ge 500 ] || awk -v x="$xdir" 'BEGIN {exit !(x < 0.5)}'; } &&
						verdict="MISS (c=32 targets: added p50 < 0.5 ms, >= 0.5x direct)"
				fi
				if [ $side = gw ] && [ -n "${rep[nginx]:-}" ]; then
					n=${rep[nginx]}
					na=$(($(field "$n" total_p50) - $(field "$d" total_p50)))
					verdict="$verdict [vs nginx: added p50 $(ms $A_total_p50) / $(ms $na) ms, req/s x$(awk -v a="$rps" -v b="$(field "$n" rps)" 'BEGIN {printf "%.2f", a / b}')]"
				fi
				if [ $side = gw ] && [ -n "${rep[base]:-}" ]; then
					b=${rep[base]}
					ba=$(($(field "$b" total_p50) - $(field "$d" total_p50)))
					verdict="$verdict [vs base: added p50 $(ms $A_total_p50) / $(ms $ba) ms, req/s x$(awk -v a="$rps" -v b="$(field "$b" rps)" 'BEGIN {printf "%.2f", a / b}')]"
				fi
				if [ $side = gw ] && [ -n "${rep[base2]:-}" ]; then
					b=${rep[base2]}
					ba=$(($(field "$b" total_p50) - $(field "$d" total_p50)))
					verdict="$verdict [vs base2: added p50 $(ms $A_total_p50) / $(ms $ba) ms, req/s x$(awk -v a="$rps" -v b="$(field "$b" rps)" 'BEGIN {printf "%.2f", a / b}')]"
				fi
				[ "$(field "$g" err)" = 0 ] || verdict="$verdict (errors: $(field "$g" err))"
				printf '%-4s %-3s %-6s %7s | %5s/%6s%-14s | %5s/%6s%-14s | %7.0f %5s | %8s | %s\n' \
					$mode "$c" $side "$(field "$g" ok)" \
					"$(ms $V_ttfb_p50)" "$(ms $V_ttfb_p99)" "$added" \
					"$(ms $V_total_p50)" "$(ms $V_total_p99)" "$aadded" \
					"$rps" "$xdir" "$ucpu" "$verdict"
			done
		done
	done
	echo "(added = proxy percentile - direct percentile; CPU us/r: the mock's for direct, the proxy's alone otherwise;"
	echo " ratios vs nginx: the gateway's added total p50 and its req/s over nginx's, same cell)"
	echo "== streaming: lateness of each SSE event (10 ms apart) after the first, $CHUNK_N streams per side, c=1"
	for side in $SIDES; do rm -f "$TMP/$side.chunk"; done
	for ((r = 0; r < 3; r++)); do
		for side in $(rotate "$SIDES" $r); do
			line=$("$LG" --url "$(side_url $side)/v1/messages" --n "$(((CHUNK_N + 2) / 3))" --c 1 \
				--stream --model claude-haiku-4-5 --chunk-delay 10 --raw "$TMP/$side.chunk") ||
				fails=$((fails + 1))
			[ $side = gw ] && gw_sent=$((gw_sent + $(field "$line" sent)))
		done
	done
	dc=$("$LG" --report "$TMP/direct.chunk" | sed -n 's/^chunk_/chunk_/p')
	for side in $SIDES; do
		sc=$("$LG" --report "$TMP/$side.chunk" | sed -n 's/^chunk_/chunk_/p')
		a50=$(($(field "$sc" chunk_p50) - $(field "$dc" chunk_p50)))
		a99=$(($(field "$sc" chunk_p99) - $(field "$dc" chunk_p99)))
		v=
		[ $side = gw ] && { v=ok; [ $a50 -ge 1000 ] && v="MISS (target: under 1 ms)"; }
		printf '  %-6s events %5s  late p50 %7s ms p99 %7s ms' $side "$(field "$sc" chunk_n)" \
			"$(ms "$(field "$sc" chunk_p50)")" "$(ms "$(field "$sc" chunk_p99)")"
		[ $side = direct ] && echo || echo "  added p50 $(ms $a50) ms p99 $(ms $a99) ms $v"
	done
fi

if want 1 && want 2; then
	echo "== ledger: one outcome line per request sent through the gateway (and its intent)"
	lines=-1
	for ((i = 0; i < 50; i++)); do   # the last records settle after the last byte
		lines=$(grep -vc '"kind":"intent"' "$LEDGER" 2>/dev/null || echo 0)
		[ "$lines" -ge "$gw_sent" ] && break
		sleep 0.1
	done
	if [ "$lines" -eq "$gw_sent" ]; then
		echo "ledger: ok ($lines lines, $gw_sent requests)"
	else
		echo "ledger: FAILED ($lines lines, $gw_sent requests sent)"
	fi
fi

# ---- part 3: fallback with the real Claude Code
# iso2s ISO: seconds since the epoch (ms); now_s: the same, now.
iso2s() { date -u -d "$1" +%s.%3N; }
now_s() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
span() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo "-" hi}'; }
jstr() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" <<<"$1"; }
jnum() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.]*\).*/\1/p" <<<"$1"; }

# fb_gw_start: a fresh gateway (all circuits closed) in front of the
# part-3 mock; sets FB_GW, the route of the pane "bench".
fb_gw_start() {
	"$TOKMUX" gateway --port 0 -c "$TMP/fb-config.json" --anthropic-upstream "$FB_MOCK" \
		--ledger "$FB_LEDGER" >"$TMP/fb-gw.out" 2>&1 &
	FB_GW_PID=$!
	wait_line "$TMP/fb-gw.out" '^route default ' >/dev/null ||
		{ echo "gateway did not start"; cat "$TMP/fb-gw.out"; exit 1; }
	FB_GW=$(awk '$1 == "route" && $2 == "bench" {print $3}' "$TMP/fb-gw.out")
}
fb_gw_stop() {
	kill "$FB_GW_PID" 2>/dev/null
	wait "$FB_GW_PID" 2>/dev/null
	FB_GW_PID=
}

# fb_agent NAME URL CAP [VAR=VALUE...] -- ARGS...: one `claude -p ARGS`
# against URL, with a fresh HOME, the credential FB_CRED (VAR=VALUE; a fake
# one, the mock takes any), no traffic besides the model
# calls, killed after CAP seconds. Sets R_RC, R_TOTAL (start to exit, s),
# R_N529 (529s the mock served), R_OK (the model the mock answered 200
# for, or empty), R_F2OK (first 529 to that 200, s), R_F2EXIT (first 529
# to the agent's exit), R_SPAN (first to last 529), R_LAST (last line the
# agent printed) and, through a gateway, R_LEDGER (its new records).
fb_agent() {
	local name=$1 url=$2 cap=$3 envs=() before lbefore t0 t1 calls f ok
	shift 3
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	mkdir -p "$TMP/$name/home" "$TMP/$name/work"
	before=$(wc -l <"$FB_LOG")
	lbefore=$(cat "$FB_LEDGER" 2>/dev/null | wc -l)
	t0=$(now_s)
	(cd "$TMP/$name/work" && exec timeout -k 5 "$cap" env -i PATH="$PATH" HOME="$TMP/$name/home" \
		LANG=C.UTF-8 TERM=dumb ANTHROPIC_BASE_URL="$url" \
		"$FB_CRED" DISABLE_TELEMETRY=1 \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 ${envs[@]+"${envs[@]}"} \
		"$CLAUDE" -p "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err")
	R_RC=$?
	t1=$(now_s)
	calls=$(tail -n +"$((before + 1))" "$FB_LOG" | grep '"n":[1-9]')
	R_N529=$(grep -c '"status":529' <<<"$calls")
	f=$(grep -m1 '"status":529' <<<"$calls")
	ok=$(grep -m1 '"status":200' <<<"$calls")
	R_OK=$(jstr "$ok" model)
	R_TOTAL=$(sub "$t1" "$t0")
	R_F2OK=- R_F2EXIT=- R_SPAN=-
	if [ -n "$f" ]; then
		f=$(iso2s "$(jstr "$f" time)")
		R_F2EXIT=$(sub "$t1" "$f")
		[ -n "$ok" ] && R_F2OK=$(sub "$(iso2s "$(jstr "$ok" time)")" "$f")
		R_SPAN=$(sub "$(iso2s "$(jstr "$(grep '"status":529' <<<"$calls" | tail -1)" time)")" "$f")
	fi
	R_LAST=$(cat "$TMP/$name.out" "$TMP/$name.err" | grep . | tail -1 | cut -c1-150)
	R_LEDGER=$(tail -n +"$((lbefore + 1))" "$FB_LEDGER" 2>/dev/null | grep -v '"kind":"intent"')
}
# fb_print LABEL: one line for the last run.
fb_print() {
	local extra=
	if [ -n "$R_LEDGER" ]; then
		extra=" [gateway: $(jstr "$R_LEDGER" model_asked) -> $(jstr "$R_LEDGER" model_used),"
		extra="$extra $(jnum "$R_LEDGER" latency_ms) ms in the gateway"
		grep -q '"circuit":1' <<<"$R_LEDGER" && extra="$extra, circuit open"
		extra="$extra]"
	fi
	if [ -n "$R_OK" ]; then
		printf '  %-28s 529s %2s  first 529 -> 200 %6s s, -> exit %6s s  (agent start -> exit %6s s, %s)%s\n' \
			"$1" "$R_N529" "$R_F2OK" "$R_F2EXIT" "$R_TOTAL" "$R_OK" "$extra"
	else
		printf '  %-28s 529s %2s  NO ANSWER: exit %s after %s s (first 529 -> exit %s s, first -> last 529 %s s): %s\n' \
			"$1" "$R_N529" "$R_RC" "$R_TOTAL" "$R_F2EXIT" "$R_SPAN" "$R_LAST"
	fi
}

fallback_real() {
	FB_LOG=$TMP/fb-mock.jsonl FB_LEDGER=$TMP/fb-ledger.jsonl
	FB_CRED_API=ANTHROPIC_API_KEY=sk-ant-api03-tokmux-bench-key
	FB_CRED=$FB_CRED_API
	: >"$FB_LOG"
	"$TOKMUX" mock --port 0 --quiet --script "$SCRIPT" --log "$FB_LOG" >"$TMP/fb-mock.out" 2>&1 &
	FB_MOCK_PID=$!
	FB_MOCK=$(wait_line "$TMP/fb-mock.out" 'listening on' | grep -o 'http://127.0.0.1:[0-9]*') ||
		{ echo "mock did not start"; cat "$TMP/fb-mock.out"; exit 1; }
	# The pane's chain names the same fallback as --fallback-model on the
	# direct side (the default chain would pick the newest Sonnet).
	printf '{"panes": [{"name": "bench", "cmd": "true", "fallback": ["%s"]}]}\n' \
		"$FB_FALLBACK" >"$TMP/fb-config.json"
	echo "agent: Claude Code $("$CLAUDE" --version 2>/dev/null | cut -d' ' -f1), claude -p hi --model $FB_MODEL, fresh HOME per run, API key unless said"
	fb_agent base "$FB_MOCK" 60 -- hi --model "$FB_FALLBACK"
	echo "  no fault ($FB_FALLBACK, direct): agent start -> exit $R_TOTAL s (exit $R_RC)"
	local tk=() tke=() cc=() cce=() pair=() i side run
	echo "cold runs, tokmux and direct alternating; tokmux: a fresh gateway per run (breaker closed),"
	echo "  the agent with CLAUDE_CODE_MAX_RETRIES=2 as in a tokmux pane; direct: --fallback-model $FB_FALLBACK"
	for ((i = 1; i <= FALLBACK_RUNS; i++)); do
		local order="tk cc" tk_i=- cc_i=-
		((i % 2)) || order="cc tk"
		for side in $order; do
			if [ $side = tk ]; then
				fb_gw_start
				fb_agent tk$i "$FB_GW" 60 CLAUDE_CODE_MAX_RETRIES=2 -- hi --model "$FB_MODEL"
				fb_print "tokmux #$i (cold)"
				[ -n "$R_OK" ] && tk+=("$R_F2OK") tke+=("$R_F2EXIT")
				local tk_i=$R_F2OK
				if [ "$i" = "$FALLBACK_RUNS" ]; then
					# Same gateway, within the breaker's 30 s window:
					# the 5th consecutive 529 opens the circuit.
					fb_agent tkopen "$FB_GW" 60 CLAUDE_CODE_MAX_RETRIES=2 -- hi --model "$FB_MODEL"
					fb_print "tokmux (breaker opening)"
					fb_agent tkwarm "$FB_GW" 60 CLAUDE_CODE_MAX_RETRIES=2 -- hi --model "$FB_MODEL"
					fb_print "tokmux (breaker open)"
					W_TOTAL=$R_TOTAL W_N529=$R_N529 W_OK=$R_OK
				fi
				fb_gw_stop
			else
				fb_agent cc$i "$FB_MOCK" 60 -- hi --model "$FB_MODEL" --fallback-model "$FB_FALLBACK"
				fb_print "direct #$i (--fallback-model)"
				[ -n "$R_OK" ] && cc+=("$R_F2OK") cce+=("$R_F2EXIT")
				local cc_i=$R_F2OK
			fi
		done
		[ "$tk_i" != - ] && [ "$cc_i" != - ] && pair+=("$(div "$tk_i" "$cc_i")")
	done
	# Without a fallback model Claude Code gives up; how soon depends on the
	# credential (2.1.332: an API key stops after 3 consecutive 529s, a
	# subscription token goes through all its retries).
	[ "$FALLBACK_NOFB_RUNS" -gt 0 ] &&
		echo "without --fallback-model (Claude Code's own retries only; at most $FALLBACK_CAP s per run)"
	local nofb=() how cred
	for ((i = 1; i <= FALLBACK_NOFB_RUNS; i++)); do
		for cred in api oauth; do
			[ $cred = oauth ] && FB_CRED=CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-tokmux-bench-token
			fb_agent nofb$cred$i "$FB_MOCK" "$FALLBACK_CAP" -- hi --model "$FB_MODEL"
			FB_CRED=$FB_CRED_API
			fb_print "direct #$i ($cred, no fallback)"
			if [ -n "$R_OK" ]; then
				how="answered by $R_OK after $R_F2OK s"
			elif [ "$R_RC" = 124 ] || [ "$R_RC" = 137 ]; then
				how="no answer, stopped at the ${FALLBACK_CAP} s cap, $R_F2EXIT s after the first 529 ($R_N529 x 529)"
			else
				how="no answer: gave up (exit $R_RC) $R_F2EXIT s after the first 529 ($R_N529 x 529)"
			fi
			nofb+=("  direct, $cred, no fallback #$i: $how")
		done
	done
	echo "summary (first 529 -> the mock's 200; -> the agent's exit in brackets):"
	if [ ${#tk[@]} -gt 0 ]; then
		echo "  tokmux cold: median $(med "${tk[@]}") s (runs ${tk[*]}) [$(med "${tke[@]}") s]"
	else
		echo "  tokmux cold: no run got an answer"
	fi
	if [ ${#cc[@]} -gt 0 ]; then
		echo "  direct, --fallback-model: median $(med "${cc[@]}") s (runs ${cc[*]}) [$(med "${cce[@]}") s]"
	else
		echo "  direct, --fallback-model: no run got an answer"
	fi
	echo "  tokmux, breaker open: $W_N529 x 529, agent start -> exit $W_TOTAL s ($W_OK)"
	[ ${#nofb[@]} -eq 0 ] || printf '%s\n' "${nofb[@]}"
	if [ ${#tk[@]} -gt 0 ] && [ ${#cc[@]} -gt 0 ]; then
		echo "ratio tokmux / direct --fallback-model (medians): $(div "$(med "${tk[@]}")" "$(med "${cc[@]}")")" \
			"(per alternating pair: ${pair[*]}); to exit: $(div "$(med "${tke[@]}")" "$(med "${cce[@]}")")"
		echo "ratio tokmux / direct default flags: none - without --fallback-model the agent alone gets no answer"
	fi
}

if want 3; then
	echo "== fallback: persistent 529 on claude-opus-*, sonnet works (real Claude Code; time from the first 529 to the good answer)"
	if [ -x "$CLAUDE" ]; then
		fallback_real
	else
		echo "SKIP: Claude Code is not installed at $CLAUDE"
		echo "      (bash tests/agents-install.sh installs it with npm, or set CLAUDE=/path/to/claude)"
	fi
fi
[ "${fails:-0}" = 0 ] || echo "loadgen reported failed requests in $fails runs"
