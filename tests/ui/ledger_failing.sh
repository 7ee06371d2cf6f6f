# A ledger that cannot be written shows in the sidebar at once: a file size
# limit is put on the running session's server (EFBIG, as a full disk); the
# sidebar says "! ledger not written:" with the error and the records held,
# the status of the agent's requests turns to 402 (a daily ceiling is set);
# once the limit is lifted the retry timer writes the held records, the
# lines go away and the requests are served again.
. tests/lib.sh
"$TOKMUX" mock --port 0 --quiet --log "$T_TMP/mock.jsonl" >"$T_TMP/mock.out" 2>&1 &
T_PIDS=$!
for _ in $(seq 100); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.05; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
LEDGER=$T_TMP/ledger.jsonl
cat >"$T_TMP/agent.sh" <<'SH'
i=0
while [ $i -lt 600 ]; do
	i=$((i + 1))
	st=$(curl -s -o /dev/null -w '%{http_code}' "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:k \
	    -H content-type:application/json \
	    -d '{"model":"claude-haiku-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}')
	echo "request $i status $st"
	sleep 0.2
done
SH
export AGENT="$T_TMP/agent.sh"
t_start 160 40 "$TOKMUX" -s lf --anthropic-upstream "$MOCK" --ledger "$LEDGER" --daily-ceiling 20 \
	-n 1 -e "'sh \$AGENT'"
t_wait "request [0-9]+ status 200"
pid=$(sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$XDG_STATE_HOME"/tokmux/sessions/lf.json)
[ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = tokmux ] || fail "no server pid: $pid"
t_screen | grep -q "ledger not written" && fail "a failure shown before any"
prlimit --pid "$pid" --fsize="$(stat -c %s "$LEDGER")":unlimited || fail "prlimit failed"
t_wait "! ledger not written:" 10
t_wait "│   File too large" 5
t_wait "│   [0-9]+ held, retrying" 5
t_wait "status 402" 10
prlimit --pid "$pid" --fsize=unlimited:unlimited || fail "prlimit failed"
t_wait_gone "ledger not written" 20
n=$(t_screen | sed -n 's/^request \([0-9]*\) status.*/\1/p' | tail -1)
t_wait "^request ($((n + 1))|$((n + 2))|$((n + 3))) status 200" 10
python3 - "$LEDGER" <<'PY' || fail "the ledger is not whole: $(tail -3 "$LEDGER")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert any(r.get("refused") and "ledger cannot be written" in (r.get("error") or "") for r in recs), "no refusal recorded"
PY
echo ok
