#!/usr/bin/env bash
# Attach benchmark: tokmux against tmux in the same run. A session of four
# panes each holding a full 10 000-line scrollback of the mixed text; then a
# client attaches RUNS times on a 235x50 terminal: the time from its start
# until the whole frame has arrived (bench/attach.py). Target: < 50 ms.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-11}
OUT=bench/out
mkdir -p "$OUT"
TOKMUX=${TOKMUX:-$PWD/build/tokmux}
DATA=$PWD/$OUT/mixed-64.txt
[ -s "$DATA" ] || python3 bench/gen_mixed.py 64 >"$DATA"
export SHELL=/bin/sh LANG=C.UTF-8 LC_ALL=C.UTF-8
HOME_TMP=$(mktemp -d)
export XDG_CONFIG_HOME=$HOME_TMP XDG_STATE_HOME=$HOME_TMP XDG_RUNTIME_DIR=$HOME_TMP/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
cleanup() {
	"$TOKMUX" kill-session -t benchattach 2>/dev/null
	tmux -L tokbench-attach kill-server 2>/dev/null
	rm -rf "$HOME_TMP"
}
trap cleanup EXIT
echo "== attach to a session of 4 panes with full scrollback: first full frame, $RUNS runs"
python3 bench/attach.py tokmux 235 50 "$DATA" "$RUNS" "$TOKMUX"
python3 bench/attach.py tmux 235 50 "$DATA" "$RUNS" "$TOKMUX"
