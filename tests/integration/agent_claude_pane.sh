# The real Claude Code, interactive, in a tokmux pane driven through tmux:
# a typed prompt gets the mock's reply in the pane, the sidebar counts exactly
# the mock's tokens and the ledger's cost, and after Ctrl-g b sets a tiny
# ceiling the agent shows tokmux's refusal. Skips (loudly) only without npm.
. tests/agents-lib.sh
agents_install
CLAUDE="$A_BIN/claude"
cat >"$T_TMP/script.json" <<JSON
{"defaults": {"text": "$A_REPLY", "chunks": 5, "chunk_tokens": 3,
              "usage": {"cache_read_input_tokens": 700}}}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" --log "$T_TMP/mock.jsonl" >"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
MOCK=$(a_wait_line "$T_TMP/mock.out" '^mock listening on ') || fail "mock did not start"
MOCK=${MOCK#mock listening on }
# Claude Code's first-run questions, answered in its own settings file:
# onboarding done, this folder trusted, this (fake) key approved.
KEY=sk-ant-api03-tokmux-pane-test-0000000000
mkdir -p "$T_TMP/work" "$T_TMP/chome"
cat >"$T_TMP/chome/.claude.json" <<JSON
{"hasCompletedOnboarding": true,
 "customApiKeyResponses": {"approved": ["${KEY: -20}"], "rejected": []},
 "projects": {"$T_TMP/work": {"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}}}
JSON
LEDGER="$T_TMP/ledger.jsonl"
cd "$T_TMP/work"
t_start 200 50 env HOME="$T_TMP/chome" ANTHROPIC_API_KEY="$KEY" DISABLE_TELEMETRY=1 \
	CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
	"$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 1 \
	-e "'$CLAUDE --model claude-haiku-4-5'"
cd - >/dev/null
# any first-run question left (trust, key) is answered with its "yes" choice
for _ in $(seq 40); do
	screen=$(t_screen)
	if echo "$screen" | grep -q "trust this folder"; then
		echo "$screen" | grep -q "❯ Yes, I trust" || t_keys Down
		t_keys Enter
	elif echo "$screen" | grep -q "Do you want to use this API key"; then
		t_keys Up Enter
	elif echo "$screen" | grep -qE "Claude Code v[0-9]"; then
		break
	fi
	sleep 0.25
done
t_wait "Claude Code v[0-9]" 20
sleep 1
t_text "Say pong"
t_keys Enter
t_wait "$A_REPLY" 30
t_wait " 1 req  429 0  529 0" 10
# the sidebar's figures are the mock's tokens and the ledger's cost
read -r min mout mcr < <(python3 -c '
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = [x for x in m if x.get("n", 0) > 0]
assert len(m) == 1, m
print(m[0]["input_tokens"], m[0]["output_tokens"], m[0]["cache_read"])' "$T_TMP/mock.jsonl") ||
	fail "the mock served other than one generation: $(cat "$T_TMP/mock.jsonl")"
read -r lin lout lcr micros < <(python3 -c '
import json, sys
l = [r for r in (json.loads(x) for x in open(sys.argv[1]) if x.strip()) if r.get("kind") != "intent"]
assert len(l) == 1, l
print(l[0]["input_tokens"], l[0]["output_tokens"], l[0]["cache_read_tokens"], l[0]["cost_micros"])' "$LEDGER") ||
	fail "the ledger does not hold exactly one request"
[ "$min $mout $mcr" = "$lin $lout $lcr" ] || fail "ledger $lin/$lout/$lcr differs from the mock's $min/$mout/$mcr"
human() { python3 -c '
import sys
v = int(sys.argv[1])
print(v if v < 1000 else ("%.1fk" % (v / 1e3) if v < 999950 else "%.1fM" % (v / 1e6)))' "$1"; }
usd=$(awk -v m="$micros" 'BEGIN { c = int((m + 5000) / 10000); printf "$%d.%02d", c / 100, c % 100 }')
t_wait "in $(human "$min") out $(human "$mout") cr $(human "$mcr") cw 0" 5
t_screen | grep -qF "total $usd" || fail "the sidebar total is not the ledger's $usd"
echo "one turn: in $min out $mout cache read $mcr, $usd"
# a ceiling below what the next request could cost: Claude Code shows why
t_keys C-g b
t_wait "pane 1 ceiling \(now none"
t_text "0.0001"; t_keys Enter
t_wait "pane 1 ceiling set to"
t_text "Say pong again"
t_keys Enter
t_wait "reached its .*ceiling" 30
! t_screen | grep -q "/login" || fail "the refusal reads as a login problem: $(t_screen)"
[ "$(t_outcomes "$LEDGER" | grep -c .)" = 2 ] || fail "the refused request is not in the ledger once"
grep -q '"status":402' "$LEDGER" || fail "the ledger does not record the 402"
python3 -c '
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len([x for x in m if x.get("n", 0) > 0]) == 1' "$T_TMP/mock.jsonl" ||
	fail "the refused request reached the provider"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0" 10
echo ok
