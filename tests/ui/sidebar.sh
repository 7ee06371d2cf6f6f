# The live sidebar after scripted mock traffic (3 answers, a 429 that reaches
# the agent, a 529 the gateway retries, a persistent 529 on Opus that falls
# back to Sonnet): tokens, cost, requests, the 429 / 529 counts, retries and
# fallbacks equal the ledger's; the b prompt validates and sets
# a ceiling the next request obeys; m lists the requests, s toggles, a narrow
# terminal collapses the sidebar into the status bar; idle CPU stays near zero.
. tests/lib.sh
cat >"$T_TMP/script.json" <<'JSON'
{"defaults": {"usage": {"input_tokens": 200, "output_tokens": 150}, "chunks": 2},
 "rules": [{"match": {"request": 2}, "action": "429", "retry_after": 120},
           {"match": {"request": 3}, "action": "529", "retry_after": null},
           {"match": {"model": "claude-opus-4-7"}, "action": "529", "retry_after": null}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" &
T_PIDS=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.1; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
cat >"$T_TMP/req.sh" <<'SH'
# key A gets the 429 (retry-after 120 s, over the pacing cap: the agent sees
# it, and key A is held back); key B's first request meets the 529, which the
# gateway retries with jitter before answering.
for key in key-a key-a key-b key-b; do
	curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:$key -H content-type:application/json \
	    -d '{"model":"claude-opus-4-1","max_tokens":500,"messages":[{"role":"user","content":"hi"}]}' >/dev/null
done
# Opus 4.7 is overloaded for good: retried, then answered by the fallback
curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:key-c -H content-type:application/json \
    -d '{"model":"claude-opus-4-7","max_tokens":500,"messages":[{"role":"user","content":"hi"}]}' >/dev/null
echo REQS-DONE
exec cat
SH
LEDGER="$T_TMP/ledger.jsonl"
t_start 160 50 "$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 2 -e "'sh $T_TMP/req.sh'" -e sh
t_wait REQS-DONE 30
t_wait "5 req  429 1  529 5"
# the ledger's sums, formatted as the sidebar does
in=$(jq -s 'map(select(.pane == 1) | .input_tokens) | add' <(t_outcomes "$LEDGER"))
out=$(jq -s 'map(select(.pane == 1) | .output_tokens) | add' <(t_outcomes "$LEDGER"))
micros=$(jq -s 'map(select(.pane == 1) | .cost_micros) | add' <(t_outcomes "$LEDGER"))
n429=$(jq -s 'map(.n429) | add' <(t_outcomes "$LEDGER"))
n529=$(jq -s 'map(.n529) | add' <(t_outcomes "$LEDGER"))
nretry=$(jq -s 'map(.retries) | add' <(t_outcomes "$LEDGER"))
nfb=$(jq -s 'map(.fallbacks) | add' <(t_outcomes "$LEDGER"))
used=$(jq -rs 'map(select(.model_asked == "claude-opus-4-7") | .model_used) | .[0]' <(t_outcomes "$LEDGER"))
nreq=$(jq -s 'length' <(t_outcomes "$LEDGER"))
[ "$in" = 800 ] && [ "$out" = 600 ] || fail "ledger has in=$in out=$out, the mock script says 800 / 600"
[ "$n429" = 1 ] && [ "$n529" = 5 ] && [ "$nretry" = 5 ] && [ "$nfb" = 1 ] ||
	fail "ledger has 429 $n429, 529 $n529, retries $nretry, fallbacks $nfb"
case $used in claude-sonnet-*) ;; *) fail "the Opus request was answered by '$used', not a Sonnet" ;; esac
usd=$(awk -v m="$micros" 'BEGIN { c = int((m + 5000) / 10000); printf "$%d.%02d", c / 100, c % 100 }')
usd_re=$(printf '%s' "$usd" | sed 's/[$.]/\\&/g')
echo "ledger: in $in out $out cost $usd ($micros micros) req $nreq 429 $n429 529 $n529"
side=$(t_screen | cut -c128-)
echo "$side" | grep -qF "total $usd" || fail "sidebar total is not the ledger's $usd"
echo "$side" | grep -qF "$usd  no ceiling" || fail "pane cost is not the ledger's $usd"
echo "$side" | grep -qF "in $in out $out cr 0 cw 0" || fail "pane tokens are not the ledger's"
echo "$side" | grep -qF "$nreq req  429 $n429  529 $n529  retry $nretry" || fail "request counts differ from the ledger"
echo "$side" | grep -qE "! (rate_limit_error|overloaded_error)" || fail "no last error"
echo "$side" | grep -qF "fallback $nfb" || fail "the sidebar does not count the fallback"
echo "$side" | grep -qF "$used" || fail "the sidebar does not show the model that answered ($used)"
t_wait "▶ 1 pane 1 · idle"
echo "$side" | grep -qE "key [0-9a-f]{8}" || fail "no rate-limit headroom"
# b: the prompt shows the current value and validates
t_keys C-g b
t_wait "pane 1 ceiling \(now none"
t_text "abc"; t_keys Enter
t_wait "not a dollar amount"
t_keys BSpace BSpace BSpace
t_text "2.50"; t_keys Enter
t_wait "pane 1 ceiling set to \\\$2.50"
# an empty line keeps it; only none removes it
t_keys C-g b
t_wait "pane 1 ceiling \(now \\\$2.50"
t_keys Enter
t_wait "pane 1 ceiling kept \(\\\$2.50\)"
t_keys C-g b
t_wait "pane 1 ceiling \(now \\\$2.50"
t_text "none"; t_keys Enter
t_wait "pane 1 ceiling removed"
t_keys C-g b
t_wait "pane 1 ceiling \(now none"
t_text "2.50"; t_keys Enter
t_wait "pane 1 ceiling set to \\\$2.50"
# ... and the next request obeys a ceiling set with b: pane 2 gets one of a
# hundredth of a cent and its next request is refused with tokmux's 402
t_keys C-g 2
t_keys C-g b
t_wait "pane 2 ceiling \(now none"
t_text "0.0001"; t_keys Enter
t_wait "pane 2 ceiling set to"
t_text "curl -s \$ANTHROPIC_BASE_URL/v1/messages -H x-api-key:key-b -H content-type:application/json -d '{\"model\":\"claude-opus-4-1\",\"max_tokens\":500,\"messages\":[]}'; echo"
t_keys Enter
t_wait "would exceed pane 2 \(sh\)'s \\\$0.0001 ceiling:"
t_text "clear"; t_keys Enter
t_keys C-g 1
# m: the last requests, newest first
t_keys C-g m
t_wait "last requests, newest first"
[ "$(t_screen | grep -c "claude-opus-4-1 ")" -ge 4 ] || fail "the request list does not show 4 requests"
t_screen | grep -qE "│ [0-9:]{8} claude-opus-4-1 +200 +150 .* 200 0" || fail "no 200 row with 200 / 150 tokens"
t_screen | grep -qE " 200 1 529 *│" || fail "no row for the retried 529"
t_screen | grep -qE " 429 0 429 *│" || fail "no 429 row"
t_screen | grep -qE "claude-sonnet-5-5 \(asked claude-opus-.* 200 4 529 fb" || fail "no fallback row"
t_keys q
t_wait_gone "last requests"
# s hides the sidebar: the status bar sums it up
t_keys C-g s
t_wait_gone "burn "
t_wait " tokmux $usd_re \| 6 req 429 1 529 5 \| 1 idle $usd_re \| 2 error "
t_keys C-g s
t_wait "burn "
# narrow: the status bar replaces the sidebar
tmux -L "$T_SOCK" resize-window -t t -x 90 -y 30
t_wait_gone "burn "
t_wait " tokmux $usd_re \| 6 req"
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
