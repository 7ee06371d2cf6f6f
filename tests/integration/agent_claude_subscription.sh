# A subscription (OAuth) Claude Code in two tokmux panes on one account: the
# bearer token and the oauth beta reach the provider unchanged (the mock sees
# an OAuth-shaped request), the mock answers with unified 5-hour/7-day
# headers, and the sidebar shows one gauge for the account and both its
# panes, the binding window (the representative claim) marked, with a
# warning, said once, before that window runs out. Skips (loudly) only
# without npm.
. tests/agents-lib.sh
agents_install
cat >"$T_TMP/script.json" <<JSON
{"defaults": {"text": "$A_REPLY",
              "unified": {"5h": 0.93, "7d": 0.97, "claim": "five_hour", "status": "allowed_warning",
                          "surpassed": 0.9, "reset_5h_s": 4800}}}
JSON
a_mock "$T_TMP/script.json" "$T_TMP/mock.jsonl"
LEDGER=$T_TMP/ledger.jsonl
mkdir -p "$T_TMP/work" "$T_TMP/chome"
cat >"$T_TMP/run.sh" <<SH
"$A_BIN/claude" -p "Say pong" --model claude-haiku-4-5 </dev/null >"out\$TOKMUX_PANE" 2>&1
echo PANE-DONE-\$?
exec cat
SH
cd "$T_TMP/work"
t_start 200 36 env HOME="$T_TMP/chome" CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-tokmux-subscription-test-0000 \
	DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
	"$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 2 \
	-e "'sh $T_TMP/run.sh'" -e "'sleep 2; sh $T_TMP/run.sh'"
cd - >/dev/null
# pane 1's answer: the account is near its 5-hour limit, said at once
t_wait "PANE-DONE-0" 90
t_wait "subscription: 5-hour limit at 93%, resets in 1h[12][0-9]m" 5
t_wait "PANE-DONE-0.*PANE-DONE-0" 90
for p in 1 2; do
	grep -qF "$A_REPLY" "$T_TMP/work/out$p" || fail "pane $p: $(cat "$T_TMP/work/out$p")"
done
python3 - "$T_TMP/mock.jsonl" <<'PY' || fail "the requests did not reach the mock as a subscription's: $(cat "$T_TMP/mock.jsonl")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
reqs = [r for r in reqs if r.get("n", 0) > 0]
assert len(reqs) == 2, reqs
for r in reqs:
    assert r["auth"] == "oauth", r
    assert "oauth-2025-04-20" in r["betas"], r
PY
[ "$(jq -r .key_hash "$LEDGER" | sort -u | wc -l)" = 1 ] || fail "two accounts in the ledger"
# one gauge for the account and both panes: the 5-hour window binds (*)
t_wait "│ subscription pane 1 2" 10
[ "$(t_screen | grep -c "subscription pane")" = 1 ] || fail "more than one subscription gauge"
t_wait "5h .* 93% 1h[12][0-9]m \*"
t_screen | grep -qE "7d .* 97% [0-9]d[0-9]{2}h *│?$" || fail "the 7-day window is not shown (unmarked)"
t_wait "! 5h limit 93%, resets 1h[12][0-9]m"
echo ok
