#!/usr/bin/env bash
# Keystroke latency: tokmux against tmux in the same run. A pane running
# cat gets one printable key at a time; the time from the key written to
# the multiplexer's terminal until its echo comes back (bench/latency.py),
# with an idle neighbour pane and with one printing 3000 lines every 50 ms.
# KEYS keys per cell (default 300), RUNS rounds (default 2) alternating
# which multiplexer goes first; percentiles are nearest-rank. The machine's
# own scheduling shows in the tails: run it as `nice -n -5 bash
# bench/latency.sh` where allowed, and more than once.
set -u
cd "$(dirname "$0")/.."
KEYS=${KEYS:-300}
RUNS=${RUNS:-2}
TOKMUX=${TOKMUX:-$PWD/build/tokmux}   # TOKMUX=path: another build to compare
export SHELL=/bin/sh LANG=C.UTF-8 LC_ALL=C.UTF-8
HOME_TMP=$(mktemp -d)
export HOME=$HOME_TMP XDG_CONFIG_HOME=$HOME_TMP XDG_STATE_HOME=$HOME_TMP XDG_RUNTIME_DIR=$HOME_TMP/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
# tokmux runs as a session, which outlives the pty latency.py closes: end them
kill_sessions() {
	for s in "$XDG_RUNTIME_DIR"/tokmux/*; do
		[ -S "$s" ] && "$TOKMUX" kill-session -t "${s##*/}" 2>/dev/null
	done
}
trap 'tmux -L tokmux-latency kill-server 2>/dev/null; kill_sessions; rm -rf "$HOME_TMP"' EXIT
OUT=$(mktemp)
echo "== keystroke latency: $KEYS keys per cell, $RUNS rounds (ms from key written to echo read)"
for ((r = 0; r < RUNS; r++)); do
	for scenario in idle stream; do
		if ((r % 2 == 0)); then order="tokmux tmux"; else order="tmux tokmux"; fi
		for mux in $order; do
			python3 bench/latency.py "$mux" "$scenario" "$KEYS" "$TOKMUX" | tee -a "$OUT" | grep -v '^raw'
			kill_sessions
		done
	done
done
# every round's keys together, per multiplexer and scenario
echo "== all rounds"
declare -A P
for scenario in idle stream; do
	for mux in tokmux tmux; do
		line=$(grep -A1 "^$mux $scenario " "$OUT" | sed -n 's/^raw //p' | tr ' ' '\n' | grep . | sort -n |
			awk '{ a[NR] = $1 }
			function pct(p,  k) { k = int(p / 100 * NR); if (k < p / 100 * NR) k++; if (k < 1) k = 1; return a[k] }
			END { printf "%d %.2f %.2f %.2f %.2f\n", NR, pct(50), pct(90), pct(99), a[NR] }')
		read -r n p50 p90 p99 max <<<"$line"
		P[$mux.$scenario.90]=$p90
		P[$mux.$scenario.99]=$p99
		printf '%-7s %-6s n=%-5s p50 %6s  p90 %6s  p99 %6s  max %6s\n' "$mux" "$scenario" "$n" "$p50" "$p90" "$p99" "$max"
	done
done
for scenario in idle stream; do
	echo "ratio tokmux/tmux $scenario: p90 $(echo "scale=2; ${P[tokmux.$scenario.90]} / ${P[tmux.$scenario.90]}" | bc)," \
		"p99 $(echo "scale=2; ${P[tokmux.$scenario.99]} / ${P[tmux.$scenario.99]}" | bc)"
done
ok=$(echo "${P[tokmux.stream.90]} <= ${P[tmux.stream.90]} && ${P[tokmux.stream.99]} <= ${P[tmux.stream.99]} && ${P[tokmux.stream.99]} < 5" | bc)
echo "target (streaming neighbour: tokmux p90 and p99 <= tmux's, p99 < 5 ms): $([ "$ok" = 1 ] && echo met || echo missed)"
rm -f "$OUT"
