# The real Claude Code in a tokmux pane starts a subagent (the mock answers
# its first request with a call of the Agent tool): every request is
# recorded with Claude Code's session (agent_session), the subagent's with
# its id (subagent, the x-claude-code-agent-id header), and the sidebar shows
# the subagent's traffic under its pane. Skips (loudly) only without npm.
. tests/agents-lib.sh
agents_install
cat >"$T_TMP/script.json" <<JSON
{"defaults": {"text": "$A_REPLY"},
 "rules": [{"match": {"request": 1}, "tool": {"name": "Agent",
            "input": {"description": "Research helper", "prompt": "Say hi",
                      "subagent_type": "general-purpose"}}}]}
JSON
a_mock "$T_TMP/script.json" "$T_TMP/mock.jsonl"
LEDGER=$T_TMP/ledger.jsonl
mkdir -p "$T_TMP/work" "$T_TMP/chome"
cd "$T_TMP/work"
t_start 200 36 env HOME="$T_TMP/chome" ANTHROPIC_API_KEY=sk-ant-api03-tokmux-subagent-test \
	DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
	"$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 1 \
	-e "'$A_BIN/claude -p \"Use a subagent\" --model claude-haiku-4-5 </dev/null >out 2>&1; echo PANE-DONE-\$?'"
cd - >/dev/null
t_wait "PANE-DONE-0" 90
grep -qF "$A_REPLY" "$T_TMP/work/out" || fail "Claude Code did not answer: $(cat "$T_TMP/work/out")"
# the mock saw the subagent's id on its requests
sub=$(python3 -c '
import json, sys
ids = {json.loads(l)["headers"].get("x-claude-code-agent-id") for l in open(sys.argv[1]) if l.strip()}
ids.discard(None)
assert len(ids) == 1, ids
print(ids.pop())' "$T_TMP/mock.jsonl") || fail "the mock saw no single subagent id: $(cat "$T_TMP/mock.jsonl")"
echo "subagent $sub"
# the ledger: every record names the session, the subagent's name the subagent
python3 - "$LEDGER" "$sub" <<'PY' || fail "the ledger does not record the session and subagent: $(cat "$LEDGER")"
import json, sys
recs = [r for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip()) if r.get("kind") != "intent"]
sessions = {r.get("agent_session") for r in recs}
assert len(sessions) == 1 and None not in sessions, sessions
subs = [r for r in recs if r.get("subagent")]
assert subs and all(r["subagent"] == sys.argv[2] for r in subs), subs
assert len(subs) < len(recs)
PY
# the sidebar: the subagent's traffic under the pane
t_wait "↳ ${sub:0:12} [0-9]+ req" 10
echo ok
