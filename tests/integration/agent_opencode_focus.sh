# The real OpenCode TUI in pane 1 of a tokmux workspace: it asks whether the
# terminal reports focus (DECRQM 1004, which tokmux's terminal answers) and
# turns focus events on; tokmux tells it the focus it has, and focus out and
# in as the focus moves. OpenCode sends its attention notification ("Session
# done") only when it knows it is not focused, through the channel tokmux
# answers for (kitty's OSC 99): that notification arriving shows the focus
# out did; the turn's end is told once. Skips (loudly) only without npm.
. tests/agents-lib.sh
agents_install
echo "{\"defaults\": {\"text\": \"$A_REPLY\", \"chunks\": 6, \"chunk_delay_ms\": 300}}" >"$T_TMP/script.json"
a_mock "$T_TMP/script.json" "$T_TMP/mock.jsonl"
OCHOME=$T_TMP/ochome
mkdir -p "$OCHOME/.config/opencode" "$T_TMP/work"
echo '{"attention": {"enabled": true, "sound": false}}' >"$OCHOME/.config/opencode/tui.json"
NOTES=$T_TMP/notes
cat >"$T_TMP/cfg.json" <<JSON
{"notify_command": "printf '%s|%s|%s\\\\n' \"\$TOKMUX_NOTIFY_PANE\" \"\$TOKMUX_NOTIFY_STATE\" \"\$TOKMUX_NOTIFY_MESSAGE\" >> $NOTES",
 "panes": [{"name": "opencode"}, {"name": "shell"}]}
JSON
LOG=$T_TMP/work/tokmux.log
cd "$T_TMP/work"
t_start 200 36 env HOME="$OCHOME" XDG_CONFIG_HOME="$OCHOME/.config" ANTHROPIC_API_KEY=sk-ant-api03-tokmux-focus-test \
	OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 npm_config_registry=http://127.0.0.1:9/ \
	"$TOKMUX" -v -c "$T_TMP/cfg.json" --anthropic-upstream "$MOCK" --ledger "$T_TMP/ledger.jsonl" \
	-e "'$A_BIN/opencode -m anthropic/claude-haiku-4-5'" -e cat
cd - >/dev/null
# log_count PATTERN: lines of tokmux's debug log that match
log_count() { grep -ac -- "$1" "$LOG" 2>/dev/null; }
wait_log() {    # PATTERN COUNT SECONDS
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		[ "$(log_count "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "tokmux.log has $(log_count "$1") of '$1', not $2"
}
t_wait "Ask anything" 60
wait_log ": focus events on" 1 10
wait_log ": focus in reported" 1 5
[ "$(log_count ": focus out reported")" = 0 ] || fail "focus out before the focus moved"
osc99=$(log_count ": OSC 99 ")      # its query of the channel, at start
sleep 1
t_text "Say pong"
sleep 0.3
t_keys Enter
# the focus moves while it answers (its turn began focused, as a person's does)
t_wait " 1 opencode · working" 30
t_keys C-g 2
t_wait "▶ 2 shell"
wait_log ": focus out reported" 1 5
t_wait " 1 opencode · idle \[!\]" 60
# its notification: a title and a body chunk, sent because it is not focused
wait_log ": OSC 99 .*: a signal" $((osc99 + 2)) 10
for _ in $(seq 40); do [ -s "$NOTES" ] && break; sleep 0.05; done
grep -qx "1|idle|.*" "$NOTES" || fail "notify_command: $(cat "$NOTES" 2>/dev/null)"
t_keys C-g 1
t_wait "▶ 1 opencode"
wait_log ": focus in reported" 2 5
[ "$(log_count ": focus out reported")" = 1 ] || fail "focus out reported $(log_count ": focus out reported") times"
[ "$(wc -l <"$NOTES")" = 1 ] || fail "notify_command ran more than once: $(cat "$NOTES")"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0" 10
echo ok
