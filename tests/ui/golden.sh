# A text golden of the whole screen for one fixed scenario (two panes, four
# scripted requests on two keys: answers, a 429 that reaches the agent, a 529
# the gateway retries), so that layout changes show
# up in review. Countdowns, the temp path and the sparkline (which depends
# on where the minute boundary falls) are normalised.
# Regenerate with: UPDATE_GOLDEN=1 bash tests/ui/golden.sh
. tests/lib.sh
GOLDEN=$PWD/tests/ui/golden.txt
cat >"$T_TMP/script.json" <<'JSON'
{"defaults": {"usage": {"input_tokens": 400, "output_tokens": 300, "cache_read_input_tokens": 1200},
              "chunks": 2},
 "rules": [{"match": {"request": 2}, "action": "429", "retry_after": 120},
           {"match": {"request": 3}, "action": "529", "retry_after": null}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" &
T_PIDS=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.1; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
cat >"$T_TMP/req.sh" <<'SH'
for key in golden-a golden-a golden-b golden-b; do
	curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:$key -H content-type:application/json \
	    -d '{"model":"claude-sonnet-4-5","max_tokens":500,"messages":[{"role":"user","content":"hi"}]}' >/dev/null
done
echo REQS-DONE
exec cat
SH
export REQ="$T_TMP/req.sh"     # the pane's command line shows "sh $REQ", not the temp path
t_start 130 40 "$TOKMUX" --anthropic-upstream "$MOCK" --ledger "$T_TMP/ledger.jsonl" -n 2 \
	-e "'sh \$REQ'" -e cat
t_wait REQS-DONE
t_wait "▶ 1 pane 1 · idle"
t_wait_gone "pane 1: "      # the event message has gone
# The screen settles (states, events) a moment after the traffic; on a busy
# machine that takes longer, so compare a few times before calling it a diff.
capture() {
	t_screen | sed -E -e "s|$T_TMP|TMP|g" \
		-e 's/ [0-9]+[smhd]([0-9]+[smh])?( *)$/ T\2/' -e 's/ now( *)$/ T\1/' \
		-e 's/(│  )[ ▁▂▃▄▅▆▇█]+ [0-9.]+[kMG]?( *)$/\1<sparkline>/' \
		-e 's/ +$//' >"$T_TMP/screen.txt"
}
sleep 0.3
capture
if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
	cp "$T_TMP/screen.txt" "$GOLDEN"
	echo "updated $GOLDEN"
fi
for _ in $(seq 20); do
	cmp -s "$GOLDEN" "$T_TMP/screen.txt" && break
	sleep 0.5
	capture
done
diff -u "$GOLDEN" "$T_TMP/screen.txt" || fail "the screen differs from $GOLDEN (UPDATE_GOLDEN=1 to accept)"
echo ok
