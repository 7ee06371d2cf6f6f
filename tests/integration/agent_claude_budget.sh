# The real Claude Code, interactive, in a tokmux pane under a $0.50 ceiling
# (--pane-ceiling 1=0.5) against the mock, which writes 15 000 output
# tokens for Opus whenever it may: the first prompt is answered (its output
# limit lowered to what fits, not refused), later prompts are served
# within what is left until the budget cannot cover the floor, then
# refused; the refusal on the screen names the $0.50 ceiling and does not
# say /login; what the provider billed (the mock's log) stays <= $0.50.
. tests/agents-lib.sh
agents_install
CLAUDE="$A_BIN/claude"
cat >"$T_TMP/script.json" <<JSON
{"defaults": {"text": "$A_REPLY", "chunks": 5},
 "rules": [{"match": {"model": "claude-opus-*"}, "usage": {"output_tokens": 15000}}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" --log "$T_TMP/mock.jsonl" >"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
MOCK=$(a_wait_line "$T_TMP/mock.out" '^mock listening on ') || fail "mock did not start"
MOCK=${MOCK#mock listening on }
KEY=sk-ant-api03-tokmux-budget-test-00000000
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
	"$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 1 --pane-ceiling 1=0.5 \
	-e "'$CLAUDE --model claude-opus-5-5'"
cd - >/dev/null
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
joined() { tmux -L "$T_SOCK" capture-pane -p -J -t t -S -200; }
opus_calls() { grep -c '"model":"claude-opus' "$T_TMP/mock.jsonl" 2>/dev/null || true; }
# the first prompt is answered
t_text "Say pong"; t_keys Enter
t_wait "$A_REPLY" 60
first=$(t_outcomes "$LEDGER" | grep '"model_asked":"claude-opus-5-5"' | head -n 1)
[ -n "$first" ] || fail "no Opus request in the ledger: $(cat "$LEDGER")"
echo "first: max_tokens $(jnum "$first" max_tokens), asked $(jnum "$first" clamped_from), cost \$$(jnum "$first" cost_usd)"
[ "$(jnum "$first" status)" = 200 ] || fail "the first prompt was not answered: $first"
# then prompts until the budget cannot cover the floor: refused, and why
refused=0
for i in 2 3 4 5; do
	t_text "Say pong again ($i)"; t_keys Enter
	for ((k = 0; k < 600; k++)); do
		if joined | grep -qE "would exceed pane 1 .*\\\$0\.50 ceiling|reached its \\\$0\.50 ceiling"; then
			refused=1
			break
		fi
		[ "$(grep -c "\"status\":200" "$LEDGER")" -ge "$i" ] && break
		sleep 0.1
	done
	[ "$refused" = 1 ] && break
done
[ "$refused" = 1 ] || fail "no refusal after 5 prompts: $(cat "$LEDGER")"
joined | grep -E "would exceed pane 1|reached its" | head -n 2 | cut -c1-200
! joined | grep -qi "/login" || fail "the refusal reads as a login problem"
grep -q '"refused":true' "$LEDGER" || fail "the refusal is not in the ledger"
# what the provider billed, from its own log
billed=$(python3 -c '
import json, sys
print(sum(json.loads(l).get("cost_micros", 0) for l in open(sys.argv[1]) if l.strip()))' "$T_TMP/mock.jsonl")
unpriced=$(python3 -c '
import json, sys
m = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(1 for x in m if x.get("n", 0) > 0 and x.get("status") == 200 and "cost_micros" not in x))' "$T_TMP/mock.jsonl")
echo "provider billed \$$(awk -v m="$billed" 'BEGIN { printf "%.4f", m / 1e6 }') of \$0.50 over $(grep -c '"n":[1-9]' "$T_TMP/mock.jsonl") calls"
[ "$unpriced" = 0 ] || fail "the mock could not price $unpriced calls"
[ "$billed" -le 500000 ] || fail "the provider billed $billed micro-USD, over the \$0.50 ceiling"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0" 10
echo ok
