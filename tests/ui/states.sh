# Pane states from a program's own status reports (OSC 7501): a stand-in
# agent (tests/progs/status-agent.sh) in pane 2, driven through a FIFO
# while pane 1 keeps the focus. tokmux answers its query before the DA1
# that follows (or it would never report); each state shows in the title
# and the sidebar; needing input marks the pane, lists it first, says it
# and runs notify_command once; Ctrl-g n jumps to it; a turn that ends
# while another pane has the focus is told once too; the focused pane is
# never told. notify_command gets pane, state, kind and message.
. tests/lib.sh
mkfifo "$T_TMP/fifo"
NOTES=$T_TMP/notes
cat >"$XDG_CONFIG_HOME/cfg.json" <<JSON
{"notify_command": "printf '%s|%s|%s|%s|%s|%s\\\\n' \"\$TOKMUX_NOTIFY_PANE\" \"\$TOKMUX_NOTIFY_NAME\" \"\$TOKMUX_NOTIFY_STATE\" \"\$TOKMUX_NOTIFY_KIND\" \"\$TOKMUX_NOTIFY_MESSAGE\" \"\$TOKMUX_NOTIFY_TEXT\" >> $NOTES",
 "panes": [{"name": "shell"}, {"name": "agent"}]}
JSON
t_start 160 40 "$TOKMUX" -c "$XDG_CONFIG_HOME/cfg.json" --no-gateway -e cat \
	-e "'bash $PWD/tests/progs/status-agent.sh $T_TMP/fifo'"
say() { echo "$*" >"$T_TMP/fifo"; }
# notes N: wait until notify_command ran N times (2 s at most), then print them
notes() {
	local i
	for ((i = 0; i < 40; i++)); do
		[ "$(cat "$NOTES" 2>/dev/null | wc -l)" -ge "$1" ] && break
		sleep 0.05
	done
	cat "$NOTES" 2>/dev/null
}
t_wait "STATUS-ANSWERED"
t_wait " 2 agent · idle · "
say working
t_wait " 2 agent · working · "
say "permission approve Bash: touch marker"
t_wait " 2 agent · needs input: permission \[!\] · "
# the sidebar lists it first, with what the agent asks
t_wait "│ 2 agent · bash"
side=$(t_screen | cut -c125-)
[ "$(echo "$side" | grep -n "agent · bash" | cut -d: -f1)" -lt "$(echo "$side" | grep -n "shell · cat" | cut -d: -f1)" ] ||
	fail "the pane that needs input is not listed first"
echo "$side" | grep -q "approve Bash: touch marker" || fail "the sidebar does not say what the agent asks"
t_wait "pane 2 agent: needs input: permission - approve Bash: touch marker"
[ "$(notes 1)" = "2|agent|needs-input|permission|approve Bash: touch marker|pane 2 agent: needs input: permission - approve Bash: touch marker" ] ||
	fail "notify_command: $(cat "$NOTES")"
# the same report again is no change: nothing more
say "permission approve Bash: touch marker"
sleep 0.5
[ "$(notes 1 | wc -l)" = 1 ] || fail "a repeated report notified again: $(cat "$NOTES")"
# Ctrl-g n: to the pane that needs input; its mark goes
t_keys C-g n
t_wait "▶ 2 agent · needs input: permission · "
t_keys C-g n
t_wait "no other pane needs input"
# focused: its turn ends untold
say working
t_wait "▶ 2 agent · working · "
say done
t_wait "▶ 2 agent · idle · "
sleep 0.3
[ "$(notes 1 | wc -l)" = 1 ] || fail "the focused pane was told: $(cat "$NOTES")"
# back to pane 1: a question, then a turn that ends, each told once
t_keys C-g 1
t_wait "▶ 1 shell"
say "question Which colour? (Red · Blue)"
t_wait " 2 agent · needs input: question \[!\]"
say working
t_wait " 2 agent · working \[!\]"
say done
t_wait " 2 agent · idle \[!\]"
n=$(notes 3)
[ "$(echo "$n" | sed -n 2p)" = "2|agent|needs-input|question|Which colour? (Red · Blue)|pane 2 agent: needs input: question - Which colour? (Red · Blue)" ] ||
	fail "notify_command (question): $n"
[ "$(echo "$n" | sed -n 3p)" = "2|agent|idle|||pane 2 agent: turn over" ] || fail "notify_command (turn over): $n"
# an error, with the agent's message; Ctrl-g n then goes to the marked pane
say working
t_wait " 2 agent · working"
say "error API Error: 402 over the ceiling"
t_wait " 2 agent · error: API Error: 402 over the ceiling"
[ "$(notes 4 | sed -n 4p)" = "2|agent|error||API Error: 402 over the ceiling|pane 2 agent: error: API Error: 402 over the ceiling" ] ||
	fail "notify_command (error): $(cat "$NOTES")"
t_keys C-g n
t_wait "▶ 2 agent · error"
# the program clears its status (it exits): the weaker signals again
say clear
t_wait "▶ 2 agent · idle"
[ "$(notes 4 | wc -l)" = 4 ] || fail "notify_command ran more than once per change: $(cat "$NOTES")"
echo ok
