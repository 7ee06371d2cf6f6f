#!/usr/bin/env bash
# Pane benchmark: tokmux against tmux (and dvtm when installed) in the same
# run, same pane size, each multiplexer's output drained by a pty that reads
# as fast as it can (bench/ptyrun.py).
#  1. time for a child to cat MB megabytes of mixed text (colours, unicode,
#     long lines); tokmux's final screen is then checked for the file's end;
#  2. idle CPU over 10 s with 4 idle shells;
#  3. RSS with 4 panes each holding a full 10 000-line scrollback.
# tokmux runs as a session: its server draws on the terminal the client
# hands it (no hop through the client); the CPU and memory are the server's
# (the client, idle in poll, is reported beside it).
set -u
cd "$(dirname "$0")/.."
MB=${MB:-64}
RUNS=${RUNS:-3}
OUT=bench/out
mkdir -p "$OUT"
TOKMUX=${TOKMUX:-$PWD/build/tokmux}   # TOKMUX=path: another build to compare
DATA=$OUT/mixed-$MB.txt
[ -s "$DATA" ] || python3 bench/gen_mixed.py "$MB" >"$DATA"
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

# run_one NAME COLS ROWS: prints seconds for the child's cat to finish.
run_one() {
	local name=$1 cols=$2 rows=$3 marker=$OUT/done.$$ inner
	rm -f "$marker" "$OUT/size.$name"
	inner="stty size >$OUT/size.$name; cat $DATA; touch $marker; sleep 5"
	case $name in
	tokmux) python3 bench/ptyrun.py "$cols" "$rows" "$marker" 300 "$TOKMUX" -n 1 -e "$inner" ;;
	tmux) python3 bench/ptyrun.py "$cols" "$rows" "$marker" 300 \
		tmux -L tokbench -f /dev/null new-session "tmux -L tokbench set -g status off; $inner" ;;
	dvtm) python3 bench/ptyrun.py "$cols" "$rows" "$marker" 300 dvtm "$inner" ;;
	esac
	tmux -L tokbench kill-server 2>/dev/null
	kill_sessions
	rm -f "$marker"
}

echo "== throughput: cat ${MB} MB of mixed text, median of $RUNS runs"
declare -A T
peers="tokmux tmux"
command -v dvtm >/dev/null && peers="$peers dvtm"
for name in $peers; do
	case $name in
	tokmux) cols=$((200 + 34 + 1)); rows=50 ;;  # pane body 200x49 beside the sidebar
	tmux) cols=200; rows=49 ;;
	dvtm) cols=200; rows=50 ;;
	esac
	times=()
	for ((i = 0; i < RUNS; i++)); do
		read -r secs _ <<<"$(run_one "$name" "$cols" "$rows")"
		times+=("$secs")
	done
	T[$name]=$(printf '%s\n' "${times[@]}" | median)
	echo "$name: ${T[$name]} s (runs: ${times[*]}; pane $(cat $OUT/size.$name 2>/dev/null))"
done
for name in $peers; do
	[ "$name" = tmux ] && continue
	echo "ratio $name/tmux: $(echo "scale=3; ${T[$name]} / ${T[tmux]}" | bc)"
done

echo "== zero loss: tokmux's final screen shows the file's end"
tmux -L tokbench-v -f /dev/null new-session -d -s v -x 235 -y 50 \
	"$TOKMUX -n 1 -e 'cat $DATA; exec cat'"
last=$(grep -v BENCH-END "$DATA" | tail -1 | cut -c1-8)
ok=0
for ((i = 0; i < 600; i++)); do
	if tmux -L tokbench-v capture-pane -p -t v | grep -q BENCH-END-OF-FILE; then ok=1; break; fi
	sleep 0.5
done
if [ $ok = 1 ] && tmux -L tokbench-v capture-pane -p -t v | grep -q "^$last "; then
	echo "zero loss: ok (last numbered line $last and the end marker are on screen)"
else
	echo "zero loss: FAILED"
fi
tmux -L tokbench-v kill-server 2>/dev/null
kill_sessions

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
tmux -L tokbench-rss -f /dev/null new-session -d -s rss -x 235 -y 50 \
	"$TOKMUX -n 4 -e 'head -12000 $DATA; exec cat' -e 'head -12000 $DATA; exec cat' -e 'head -12000 $DATA; exec cat' -e 'head -12000 $DATA; exec cat'"
sleep 8
tpid=$(server_pid)
cpid=$(pgrep -f "^$TOKMUX -n 4" | grep -vx "$tpid" | head -1)
echo "tokmux RSS: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$tpid/status) (the server); client: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$cpid/status)"
tmux -L tokbench-rss kill-server 2>/dev/null
kill_sessions
