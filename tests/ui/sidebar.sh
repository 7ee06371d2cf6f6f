# The live sidebar after scripted mock traffic (2 answers, a 429, a 529):
# tokens, cost, requests and the 429 / 529 counts equal the ledger's; the
# b prompt validates, m lists the requests, s toggles, a narrow terminal
# collapses the sidebar into the status bar; idle CPU stays near zero.
. tests/lib.sh
cat >"$T_TMP/script.json" <<'JSON'
{"defaults": {"usage": {"input_tokens": 400, "output_tokens": 300}, "chunks": 2},
 "rules": [{"match": {"request": 2}, "action": "429", "retry_after": null},
           {"match": {"request": 3}, "action": "529"}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" &
T_PIDS=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.1; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
cat >"$T_TMP/req.sh" <<'SH'
for i in 1 2 3 4; do
	curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:test-key -H content-type:application/json \
	    -d '{"model":"claude-opus-4-1","max_tokens":500,"messages":[{"role":"user","content":"hi"}]}' >/dev/null
done
echo REQS-DONE
exec cat
SH
LEDGER="$T_TMP/ledger.jsonl"
t_start 160 50 "$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 2 -e "'sh $T_TMP/req.sh'" -e cat
t_wait REQS-DONE
t_wait "4 req  429 1  529 1"
# the ledger's sums, formatted as the sidebar does
in=$(jq -s 'map(select(.pane == 1) | .input_tokens) | add' "$LEDGER")
out=$(jq -s 'map(select(.pane == 1) | .output_tokens) | add' "$LEDGER")
micros=$(jq -s 'map(select(.pane == 1) | .cost_micros) | add' "$LEDGER")
n429=$(jq -s 'map(select(.status == 429)) | length' "$LEDGER")
n529=$(jq -s 'map(select(.status == 529)) | length' "$LEDGER")
nreq=$(jq -s 'length' "$LEDGER")
[ "$in" = 800 ] && [ "$out" = 600 ] || fail "ledger has in=$in out=$out, the mock script says 800 / 600"
usd=$(awk -v m="$micros" 'BEGIN { c = int((m + 5000) / 10000); printf "$%d.%02d", c / 100, c % 100 }')
usd_re=$(printf '%s' "$usd" | sed 's/[$.]/\\&/g')
echo "ledger: in $in out $out cost $usd ($micros micros) req $nreq 429 $n429 529 $n529"
side=$(t_screen | cut -c128-)
echo "$side" | grep -qF "total $usd" || fail "sidebar total is not the ledger's $usd"
echo "$side" | grep -qF "$usd  no ceiling" || fail "pane cost is not the ledger's $usd"
echo "$side" | grep -qF "in $in out $out cr 0 cw 0" || fail "pane tokens are not the ledger's"
echo "$side" | grep -qF "$nreq req  429 $n429  529 $n529  retry 0" || fail "request counts differ from the ledger"
echo "$side" | grep -qF "! overloaded_error" || fail "no last error"
t_wait "▶ 1 pane 1 · waiting for you"
echo "$side" | grep -qE "key [0-9a-f]{8}" || fail "no rate-limit headroom"
# b: the prompt shows the current value and validates; without the policy module it says so
t_keys C-g b
t_wait "pane 1 ceiling \(now none"
t_text "abc"; t_keys Enter
t_wait "not a dollar amount"
t_keys BSpace BSpace BSpace
t_text "2.50"; t_keys Enter
t_wait "pane 1 ceiling (set to \\\$2.50|not set: ceilings arrive with the policy module)"
# m: the last requests, newest first
t_keys C-g m
t_wait "last requests, newest first"
[ "$(t_screen | grep -c "claude-opus-4-1 ")" -ge 4 ] || fail "the request list does not show 4 requests"
t_screen | grep -qE "│ [0-9:]{8} claude-opus-4-1 +400 +300 .* 200 0" || fail "no 200 row with 400 / 300 tokens"
t_screen | grep -qE " 529 0" || fail "no 529 row"
t_keys q
t_wait_gone "last requests"
# s hides the sidebar: the status bar sums it up
t_keys C-g s
t_wait_gone "burn "
t_wait " tokmux $usd_re \| 4 req 429 1 529 1 \| 1 waiting $usd_re \| 2 idle"
t_keys C-g s
t_wait "burn "
# narrow: the status bar replaces the sidebar
tmux -L "$T_SOCK" resize-window -t t -x 90 -y 30
t_wait_gone "burn "
t_wait " tokmux $usd_re \| 4 req"
tmux -L "$T_SOCK" resize-window -t t -x 160 -y 50
t_wait "burn "
# idle: no countdown is visible once the rate-limit windows have reset?
# The mock's windows reset each minute, so the sidebar ticks once a second;
# that is still near zero CPU: measure it.
pid=$(pgrep -f -n "$TOKMUX --anthropic-upstream $MOCK" || true)
if [ -n "$pid" ]; then
	t0=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
	sleep 2
	t1=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
	echo "idle CPU ticks in 2 s: $((t1 - t0))"
	[ $((t1 - t0)) -le 4 ] || fail "idle CPU: $((t1 - t0)) ticks in 2 s"
fi
echo ok
