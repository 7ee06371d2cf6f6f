# Pane states from the notifications a program sends its terminal, for an
# agent that gives no status reports (tests/progs/notify-agent.sh, driven
# through a FIFO in pane 2 while pane 1 keeps the focus): OSC 9, OSC 777
# notify, OSC 99 (kitty, in title and body chunks), the bell each make the
# pane need input with what they say, OSC 9;4 progress makes it work; each
# change runs notify_command once, a repeat of the same notification none.
# And a program that only prints (tests/progs/printer.sh, pane 3): working
# while it prints, idle after, never told. An idle shell (pane 4) stays idle
# through resizes.
. tests/lib.sh
mkfifo "$T_TMP/fifo"
NOTES=$T_TMP/notes
touch "$T_TMP/printing"
cat >"$XDG_CONFIG_HOME/cfg.json" <<JSON
{"notify_command": "printf '%s|%s|%s\\\\n' \"\$TOKMUX_NOTIFY_PANE\" \"\$TOKMUX_NOTIFY_STATE\" \"\$TOKMUX_NOTIFY_MESSAGE\" >> $NOTES",
 "notify_osc": "off"}
JSON
t_start 200 50 "$TOKMUX" -c "$XDG_CONFIG_HOME/cfg.json" --no-gateway -e cat \
	-e "'bash $PWD/tests/progs/notify-agent.sh $T_TMP/fifo'" \
	-e "'bash $PWD/tests/progs/printer.sh $T_TMP/printing'" -e "'sh -c \"echo SHELL-READY; exec cat\"'"
say() { echo "$*" >"$T_TMP/fifo"; }
nlines() { cat "$NOTES" 2>/dev/null | wc -l; }
# wait_notes N: until notify_command ran N times (3 s at most)
wait_notes() {
	local i
	for ((i = 0; i < 60; i++)); do
		[ "$(nlines)" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "notify_command ran $(nlines) times, not $1: $(cat "$NOTES" 2>/dev/null)"
}
t_wait "NOTIFY-AGENT-READY"
t_wait "SHELL-READY"
t_wait " 3 pane 3 · working"       # it prints
t_wait " 2 pane 2 · idle"
say "osc9 Claude needs your permission"
t_wait " 2 pane 2 · needs input \[!\]"
t_wait "pane 2: needs input - Claude needs your permission"
wait_notes 1
say "osc9 Claude needs your permission"      # the same call again: no change
say work
t_wait " 2 pane 2 · working \[!\]"
say "osc777 Claude Code;Claude needs your permission"
t_wait "pane 2: needs input - Claude Code: Claude needs your permission"
wait_notes 2
say work
t_wait " 2 pane 2 · working"
say "osc99 Pong from the fake upstream;Session done"
t_wait "pane 2: needs input - Pong from the fake upstream: Session done"
wait_notes 3
say work
t_wait " 2 pane 2 · working"
say "progress 45"
sleep 0.3
say bel
t_wait " 2 pane 2 · needs input.*\[bell\]"
wait_notes 4
say stop
sleep 0.3
# the printer stops: idle, and never told (the screen's idle is no turn)
rm -f "$T_TMP/printing"
t_wait "PRINTER-DONE"
t_wait " 3 pane 3 · idle" 5
# the idle shell stays idle through resizes
for size in "150 40" "200 50" "120 35" "200 50"; do
	set -- $size
	tmux -L "$T_SOCK" resize-window -t t -x "$1" -y "$2"
	for _ in 1 2 3 4; do
		sleep 0.1
		t_screen | grep -q " 4 pane 4 · working" && fail "the idle shell shows working after a resize to $1x$2"
	done
done
sleep 0.5
expect="2|needs-input|Claude needs your permission
2|needs-input|Claude Code: Claude needs your permission
2|needs-input|Pong from the fake upstream: Session done
2|needs-input|"
[ "$(cat "$NOTES")" = "$expect" ] || fail "notify_command ran as: $(cat "$NOTES")"
echo ok
