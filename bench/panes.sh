#!/usr/bin/env bash
# Pane benchmark: tokmux against tmux (and dvtm when installed) in the same
# run, same pane size, each multiplexer's output drained by a pty that reads
# as fast as it can (bench/ptyrun.py).
#  1. throughput, per corpus (bench/gen_corpus.py: plain short lines, long
#     wrapping lines, SGR-heavy lines, wide characters, a full-screen TUI
#     repainting with cursor addressing, the mixed text): time for a child
#     to cat MB megabytes; runs of tokmux, tmux and the floor (the same cat
#     on a bare pty, no multiplexer) interleaved, median of RUNS;
#  2. zero loss: tokmux's final screen shows each corpus's end;
#  3. idle CPU over 10 s with 4 idle shells;
#  4. RSS with 4 panes each holding a full 10 000-line scrollback.
# tokmux runs as a session: its server draws on the terminal the client
# hands it (no hop through the client); the CPU and memory are the server's
# (the client, idle in poll, is reported beside it).
set -u
cd "$(dirname "$0")/.."
MB=${MB:-32}            # megabytes per corpus
RUNS=${RUNS:-5}
CORPORA=${CORPORA:-"plain wrap sgr wide tui mixed"}
OUT=bench/out
mkdir -p "$OUT"
TOKMUX=${TOKMUX:-$PWD/build/tokmux}   # TOKMUX=path: another build to compare
# corpus KIND: its file, made once
corpus() {
	local f=$OUT/$1-$MB.txt
	[ -s "$f" ] || python3 bench/gen_corpus.py "$1" "$MB" >"$f"
	echo "$f"
}
export SHELL=/bin/sh LANG=C.UTF-8 LC_ALL=C.UTF-8
HOME_TMP=$(mktemp -d)
export XDG_CONFIG_HOME=$HOME_TMP XDG_STATE_HOME=$HOME_TMP XDG_RUNTIME_DIR=$HOME_TMP/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
# end every tokmux session of this run (a session outlives its terminal)
kill_sessions() {
	local s
	for s in "$XDG_RUNTIME_DIR"/tokmux/*; do
		[ -S "$s" ] && "$TOKMUX" kill-session -t "${s##*/}" 2>/dev/null
	done
}
# the server of the only session running, and its client
server_pid() { sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$XDG_STATE_HOME"/tokmux/sessions/*.json | head -1; }
cleanup() {
	for s in tokbench tokbench-v tokbench-idle tokbench-rss; do tmux -L $s kill-server 2>/dev/null; done
	kill_sessions
	rm -rf "$HOME_TMP"
}
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# run_one NAME DATA: prints seconds for the child's cat of DATA to finish
# (and the bytes the terminal got). Pane body 200x49 everywhere.
run_one() {
	local name=$1 data=$2 marker=$OUT/done.$$ inner
	rm -f "$marker" "$OUT/size.$name"
	inner="stty size >$OUT/size.$name; cat $data; touch $marker; sleep 5"
	case $name in
	tokmux) python3 bench/ptyrun.py 235 50 "$marker" 300 "$TOKMUX" -n 1 -e "$inner" ;;  # beside the sidebar
	tmux) python3 bench/ptyrun.py 200 49 "$marker" 300 \
		tmux -L tokbench -f /dev/null new-session "tmux -L tokbench set -g status off; $inner" ;;
	dvtm) python3 bench/ptyrun.py 200 50 "$marker" 300 dvtm "$inner" ;;
	floor) python3 bench/ptyrun.py 200 49 "$marker" 300 sh -c "$inner" ;;
	esac
	tmux -L tokbench kill-server 2>/dev/null
	kill_sessions
	rm -f "$marker"
}

# rotate WORDS...: the words, the first one moved last (run orders vary)
rotate() { local first=$1; shift; echo "$@" "$first"; }

echo "== throughput: cat ${MB} MB of each corpus, median of $RUNS runs, tokmux, tmux and the floor interleaved"
echo "   (floor: the same cat on a bare pty; overhead ratio = (tokmux - floor) / (tmux - floor))"
declare -A T
fails=0
for kind in $CORPORA; do
	data=$(corpus "$kind")
	peers="tokmux tmux floor"
	[ "$kind" = mixed ] && command -v dvtm >/dev/null && peers="$peers dvtm"
	declare -A R=()
	order=$peers
	for ((i = 0; i < RUNS; i++)); do
		for name in $order; do
			read -r secs _ <<<"$(run_one "$name" "$data")"
			R[$name]="${R[$name]:-} $secs"
		done
		order=$(rotate $order)
	done
	for name in $peers; do
		T[$kind.$name]=$(printf '%s\n' ${R[$name]} | median)
		echo "$kind $name: ${T[$kind.$name]} s (runs:${R[$name]})"
	done
	ratio=$(echo "scale=3; ${T[$kind.tokmux]} / ${T[$kind.tmux]}" | bc)
	over=$(echo "scale=3; (${T[$kind.tokmux]} - ${T[$kind.floor]}) / (${T[$kind.tmux]} - ${T[$kind.floor]})" | bc)
	T[$kind.ratio]=$ratio
	T[$kind.over]=$over
	echo "ratio $kind tokmux/tmux: $ratio (overhead ratio $over; pane $(cat $OUT/size.tokmux 2>/dev/null))"
	[ "$kind" = mixed ] && [ -n "${T[mixed.dvtm]:-}" ] &&
		echo "ratio mixed dvtm/tmux: $(echo "scale=3; ${T[mixed.dvtm]} / ${T[mixed.tmux]}" | bc)"
done
echo "-- summary ($(uptime | sed 's/.*load/load/'))"
printf '%-6s %9s %9s %9s %8s %9s\n' corpus tokmux tmux floor ratio overhead
for kind in $CORPORA; do
	mark=""
	[ "$(echo "${T[$kind.ratio]} > 0.4" | bc)" = 1 ] && mark="  (target <= 0.4: missed)"
	printf '%-6s %8ss %8ss %8ss %7sx %8sx%s\n' "$kind" "${T[$kind.tokmux]}" "${T[$kind.tmux]}" \
		"${T[$kind.floor]}" "${T[$kind.ratio]}" "${T[$kind.over]}" "$mark"
done

echo "== zero loss: tokmux's final screen shows each corpus's end"
for kind in $CORPORA; do
	data=$(corpus "$kind")
	if [ "$kind" = tui ]; then      # the last frame's number, in its status row
		last=$(grep -ao 'frame [0-9]\{8\}' "$data" | tail -1)
		pat="$last"
	else
		last=$(grep -av BENCH-END "$data" | tail -1 | cut -c1-8)
		pat="^$last "
	fi
	tmux -L tokbench-v -f /dev/null new-session -d -s v -x 235 -y 50 \
		"$TOKMUX -n 1 -e 'cat $data; exec cat'"
	ok=0
	for ((i = 0; i < 600; i++)); do
		if tmux -L tokbench-v capture-pane -p -t v | grep -q BENCH-END-OF-FILE; then ok=1; break; fi
		sleep 0.5
	done
	if [ $ok = 1 ] && tmux -L tokbench-v capture-pane -p -t v | grep -q "$pat"; then
		echo "zero loss $kind: ok (\"${pat#^}\" and the end marker are on screen)"
	else
		echo "zero loss $kind: FAILED"
		fails=$((fails + 1))
	fi
	tmux -L tokbench-v kill-server 2>/dev/null
	kill_sessions
done

echo "== idle CPU over 10 s, 4 idle shells"
idle_cpu() {   # idle_cpu PID: percent of one core used over 10 s by PID and its children
	local pid=$1 t0 t1
	t0=$(awk '{print $14+$15+$16+$17}' /proc/$pid/stat)
	sleep 10
	t1=$(awk '{print $14+$15+$16+$17}' /proc/$pid/stat)
	echo "scale=3; ($t1 - $t0) * 100 / ($(getconf CLK_TCK) * 10)" | bc
}
tmux -L tokbench-idle -f /dev/null new-session -d -s idle -x 235 -y 50 "$TOKMUX -n 4"
sleep 2
tpid=$(server_pid)
cpid=$(pgrep -f "^$TOKMUX -n 4" | grep -vx "$tpid" | head -1)
idle_cpu "$cpid" >"$OUT/client-cpu.$$" &
scpu=$(idle_cpu "$tpid")
wait
echo "tokmux idle CPU: $scpu% (the server incl. its gateway threads); client: $(cat "$OUT/client-cpu.$$")%"
rm -f "$OUT/client-cpu.$$"
tmux -L tokbench-idle kill-server 2>/dev/null
kill_sessions

echo "== RSS with 4 panes each holding a 10 000-line scrollback"
DATA=$(corpus mixed)
tmux -L tokbench-rss -f /dev/null new-session -d -s rss -x 235 -y 50 \
	"$TOKMUX -n 4 -e 'head -12000 $DATA; exec cat' -e 'head -12000 $DATA; exec cat' -e 'head -12000 $DATA; exec cat' -e 'head -12000 $DATA; exec cat'"
sleep 8
tpid=$(server_pid)
cpid=$(pgrep -f "^$TOKMUX -n 4" | grep -vx "$tpid" | head -1)
echo "tokmux RSS: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$tpid/status) (the server); client: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$cpid/status)"
tmux -L tokbench-rss kill-server 2>/dev/null
kill_sessions
