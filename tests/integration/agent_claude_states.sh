# The real Claude Code, interactive, in pane 2 of a tokmux workspace while
# pane 1 has the focus: tokmux answers its OSC 7501 query, so the pane's
# state comes from Claude Code's own reports. While a slow mock streams the
# answer the pane shows working, then idle once the turn ends (told once:
# the pane is marked and notify_command runs); when the mock answers with a
# tool call that needs permission, the pane shows needs input within a
# second and Ctrl-g n jumps to it. Skips (loudly) only without npm.
. tests/agents-lib.sh
agents_install
CLAUDE="$A_BIN/claude"
# turn 1: 8 chunks 400 ms apart (working for about 3 s); turn 2: a Bash call,
# answered 1.5 s after it is asked, so that the focus is back on pane 1 by
# then (a pane that needs input while looked at is not marked [!])
cat >"$T_TMP/script.json" <<JSON
{"defaults": {"text": "$A_REPLY", "chunks": 8, "chunk_tokens": 3, "chunk_delay_ms": 400},
 "rules": [{"match": {"request": 2}, "chunk_delay_ms": 0, "first_byte_ms": 1500, "chunks": 2,
            "tool": {"name": "Bash", "input": {"command": "touch marker.txt",
                                               "description": "Create a marker file"}}}]}
JSON
a_mock "$T_TMP/script.json" "$T_TMP/mock.jsonl"
KEY=sk-ant-api03-tokmux-states-test-00000000
a_claude_home "$T_TMP/chome" "$T_TMP/work" "$KEY"
NOTES=$T_TMP/notes
cat >"$T_TMP/cfg.json" <<JSON
{"notify_command": "printf '%s|%s|%s|%s\\\\n' \"\$TOKMUX_NOTIFY_PANE\" \"\$TOKMUX_NOTIFY_STATE\" \"\$TOKMUX_NOTIFY_KIND\" \"\$TOKMUX_NOTIFY_MESSAGE\" >> $NOTES",
 "panes": [{"name": "shell"}, {"name": "claude"}]}
JSON
cd "$T_TMP/work"
t_start 200 36 env HOME="$T_TMP/chome" ANTHROPIC_API_KEY="$KEY" DISABLE_TELEMETRY=1 \
	CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
	"$TOKMUX" -c "$T_TMP/cfg.json" --anthropic-upstream "$MOCK" --ledger "$T_TMP/ledger.jsonl" \
	-e cat -e "'$CLAUDE --model claude-haiku-4-5'"
cd - >/dev/null
t_wait "Claude Code v[0-9]" 30
# Claude Code reports idle once its query is answered
t_wait " 2 claude · idle · " 10
t_screen | grep -q " 2 claude · idle \[!\]" && fail "a starting Claude Code was told as a turn that ended"
# prompt: typed into pane 2, then the focus goes back to pane 1
prompt() {
	t_keys C-g 2
	t_wait "▶ 2 claude"
	sleep 0.5
	t_text "$1"
	t_keys Enter
	sleep 0.3
	t_keys C-g 1
	t_wait "▶ 1 shell"
}
prompt "Say pong"
t_wait " 2 claude · working" 15
# working while the mock streams (about 3 s)
for _ in 1 2 3 4 5; do
	sleep 0.2
	n=$(grep -c '"n":1' "$T_TMP/mock.jsonl" 2>/dev/null)
	[ "${n:-0}" -ge 1 ] && break
done
t_screen | grep -q " 2 claude · working" || fail "the pane is not working while the mock streams"
t_wait " 2 claude · idle \[!\]" 15
t_wait "$A_REPLY" 5
for _ in $(seq 40); do [ -s "$NOTES" ] && break; sleep 0.05; done
[ "$(cat "$NOTES")" = "2|idle||" ] || fail "notify_command after the turn: $(cat "$NOTES" 2>/dev/null)"
# turn 2: a tool call that needs permission; measured from the mock's answer
prompt "Make the marker"
start=
for ((i = 0; i < 600; i++)); do
	if [ -z "$start" ] && grep -q '"tool":"Bash"' "$T_TMP/mock.jsonl" 2>/dev/null; then
		start=$(date +%s%N)
	fi
	if t_screen | grep -q " 2 claude · needs input: permission"; then
		break
	fi
	sleep 0.02
done
end=$(date +%s%N)
[ -n "$start" ] || fail "the mock never answered with the tool call"
t_screen | grep -q " 2 claude · needs input: permission \[!\]" || fail "pane 2 does not need input"
ms=$(((end - start) / 1000000))
echo "needs input ${ms} ms after the mock answered with the tool call"
[ "$ms" -le 1000 ] || fail "needs input came ${ms} ms after the tool call (more than a second)"
for _ in $(seq 40); do [ "$(wc -l <"$NOTES")" -ge 2 ] && break; sleep 0.05; done
[ "$(sed -n 2p "$NOTES")" = "2|needs-input|permission|approve Bash: touch marker.txt" ] ||
	fail "notify_command for the permission: $(cat "$NOTES")"
# Ctrl-g n: to the pane that needs input, where Claude Code asks
t_keys C-g n
t_wait "▶ 2 claude · needs input: permission · "
t_wait "Do you want to proceed"
[ "$(wc -l <"$NOTES")" = 2 ] || fail "notify_command ran more than once per change: $(cat "$NOTES")"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0" 10
echo ok
