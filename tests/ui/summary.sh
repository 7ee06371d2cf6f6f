# Quitting tokmux prints the session's summary on the restored terminal:
# cost per pane, the totals, refusals by a ceiling and fallbacks, and the
# command that shows the session in full; the ledger records carry the
# session id it names.
. tests/lib.sh
cat >"$T_TMP/script.json" <<'JSON'
{"defaults": {"usage": {"input_tokens": 2000, "output_tokens": 300}, "chunks": 2},
 "rules": [{"match": {"model": "claude-opus-4-7"}, "action": "529", "retry_after": null}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" &
T_PIDS=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.1; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
cat >"$T_TMP/req.sh" <<'SH'
for model in claude-sonnet-4-5 claude-opus-4-7; do
	curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:key-a -H content-type:application/json \
	    -d "{\"model\":\"$model\",\"max_tokens\":500,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" >/dev/null
done
echo REQS-DONE
exec cat
SH
LEDGER="$T_TMP/ledger.jsonl"
t_start 100 40 "$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 2 \
	--pane-ceiling 2=0.0001 -e "'sh $T_TMP/req.sh'" -e "'sh $T_TMP/req.sh'"
for ((i = 0; i < 600; i++)); do
	[ "$(t_screen | grep -c REQS-DONE)" -eq 2 ] && break
	sleep 0.05
done
[ "$(t_screen | grep -c REQS-DONE)" -eq 2 ] || fail "the panes' requests did not finish"
[ "$(t_outcomes "$LEDGER" | grep -c .)" -eq 4 ] || fail "wanted 4 ledger records: $(cat "$LEDGER")"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0"
session=$(jq -r .session "$LEDGER" | sort -u)
[ "$(wc -l <<<"$session")" -eq 1 ] && [ ${#session} -eq 16 ] ||
	fail "wanted one 16-hex session id in the ledger, got: $session"
t_wait "tokmux session ${session:0:8}: 2 requests"
cost=$(jq -s 'map(.cost_micros) | add' "$LEDGER")
[ "$cost" -gt 0 ] || fail "no cost in the ledger"
# pane 1: two served (one by the fallback); pane 2: both refused by its ceiling
t_wait "^1 pane 1 +2 "
t_screen | grep -E "^1 pane 1 +2 +[0-9.k]+ +\\\$[0-9.]+ +0 +[0-9]+ +0 +1$" >/dev/null ||
	fail "pane 1's summary row is wrong"
t_screen | grep -E "^2 pane 2 +0 +0 +\\\$0.00 +0 +0 +2 +0$" >/dev/null ||
	fail "pane 2's summary row is wrong"
t_screen | grep -E "^total +2 .* 2 +1$" >/dev/null || fail "the total row is wrong"
t_screen | grep -qE "^fallbacks: claude-opus-4-7 -> claude-[a-z0-9-]+ \(1\)$" || fail "no fallback line"
t_screen | grep -qF "details: tokmux report session --session ${session:0:8} --ledger $LEDGER" ||
	fail "no details line"
# the summary's numbers are the report's
"$TOKMUX" report session --session "${session:0:8}" --ledger "$LEDGER" --json >"$T_TMP/r.json" ||
	fail "report failed"
[ "$(jq '.total.cost_micros' "$T_TMP/r.json")" -eq "$cost" ] || fail "report cost differs"
[ "$(jq '.total.refused' "$T_TMP/r.json")" -eq 2 ] || fail "report refusals differ"
t_screen | sed -n "/tokmux session/,/details/p" | sed "s/ *$//"
echo ok
