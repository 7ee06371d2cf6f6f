# Resume after the server is gone, with the real Claude Code: a session
# whose pane runs Claude Code has a conversation (one turn against the
# mock); the gateway records the conversation id Claude Code sends
# (x-claude-code-session-id) in the session's state file. The server is
# killed with -9 (the client restores its terminal and says so). `tokmux
# resume` opens the session again: the pane asks first, and on Enter Claude
# Code runs with --resume and exactly the id the gateway saw, which is the
# conversation Claude Code keeps on disk; it shows the earlier turn. Skips
# (loudly) only without npm.
. tests/agents-lib.sh
agents_install
CLAUDE="$A_BIN/claude"
cat >"$T_TMP/script.json" <<JSON
{"defaults": {"text": "$A_REPLY", "chunks": 5, "chunk_tokens": 3}}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" --log "$T_TMP/mock.jsonl" >"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
MOCK=$(a_wait_line "$T_TMP/mock.out" '^mock listening on ') || fail "mock did not start"
MOCK=${MOCK#mock listening on }
KEY=sk-ant-api03-tokmux-resume-test-00000000
WORK="$T_TMP/work"
mkdir -p "$WORK" "$T_TMP/chome"
cat >"$T_TMP/chome/.claude.json" <<JSON
{"hasCompletedOnboarding": true,
 "customApiKeyResponses": {"approved": ["${KEY: -20}"], "rejected": []},
 "projects": {"$WORK": {"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}}}
JSON
ENV="env HOME=$T_TMP/chome ANTHROPIC_API_KEY=$KEY DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"
STATE="$XDG_STATE_HOME/tokmux/sessions/res.json"
# Claude Code's first-run questions, if any are left, get their "yes"
claude_ready() {
	for _ in $(seq 60); do
		screen=$(t_screen)
		if echo "$screen" | grep -q "trust this folder"; then
			echo "$screen" | grep -q "❯ Yes, I trust" || t_keys Down
			t_keys Enter
		elif echo "$screen" | grep -q "Do you want to use this API key"; then
			t_keys Up Enter
		elif echo "$screen" | grep -qE "$1"; then
			return 0
		fi
		sleep 0.25
	done
	fail "Claude Code did not get to /$1/"
}
cd "$WORK"
t_start 200 50 $ENV "$TOKMUX" -s res --anthropic-upstream "$MOCK" --ledger "$T_TMP/ledger.jsonl" -n 1 \
	-e "'$CLAUDE --model claude-haiku-4-5'"
cd - >/dev/null
claude_ready "Claude Code v[0-9]"
sleep 1
t_text "Say pong"
t_keys Enter
t_wait "$A_REPLY" 30
# the state file names the conversation the gateway saw
for _ in $(seq 60); do grep -q '"conversation":[[:space:]]*"' "$STATE" 2>/dev/null && break; sleep 0.1; done
id=$(sed -n 's/^[[:space:]]*"conversation":[[:space:]]*"\([^"]*\)".*/\1/p' "$STATE")
[ -n "$id" ] || fail "no conversation in the state file: $(cat "$STATE")"
grep -q '"agent":[[:space:]]*"claude"' "$STATE" || fail "the state file does not say claude"
grep -q "\"cwd\":[[:space:]]*\"$WORK\"" "$STATE" || fail "the pane's directory is not $WORK"
# Claude Code keeps that conversation under its projects directory by that id
ls "$T_TMP"/chome/.claude/projects/*/"$id".jsonl >/dev/null 2>&1 ||
	fail "Claude Code has no conversation $id: $(ls -R "$T_TMP/chome/.claude/projects" | head)"
echo "conversation $id"
# the server dies without a word: the client restores its terminal and says so
pid=$(sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$STATE")
[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = tokmux ] || fail "no server at pid $pid"
kill -9 "$pid"
t_wait "lost the server of session res"
t_wait "TOKMUX-EXIT=1"
"$TOKMUX" ls | grep -q "^stopped (tokmux resume NAME opens one again): res" ||
	fail "ls: $("$TOKMUX" ls)"
# resume (in a new terminal, of a tmux server of its own): the pane asks
# before anything runs
tmux -L "$T_SOCK" kill-server
T_SOCK="$T_SOCK-resumed"
t_start 200 50 $ENV "$TOKMUX" resume
t_wait "resume .*claude --model claude-haiku-4-5 --resume $id\? \[Enter/n\]"
pgrep -f -- "--resume $id" >/dev/null && fail "Claude Code started before the question was answered"
t_keys Enter
for _ in $(seq 100); do pgrep -f -- "--resume $id" >/dev/null && break; sleep 0.1; done
args=$(pgrep -a -f -- "--resume $id") || fail "no process runs with --resume $id"
echo "resumed: $args"
echo "$args" | grep -q -- "--model claude-haiku-4-5 --resume $id" || fail "resumed as '$args'"
! echo "$args" | grep -q -- "--continue" || fail "resumed with --continue"
# it is that conversation: the earlier turn is on the screen again
claude_ready "Say pong"
t_wait "$A_REPLY" 30
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0" 15
[ ! -e "$STATE" ] || fail "the state file outlived the session's end"
echo ok
