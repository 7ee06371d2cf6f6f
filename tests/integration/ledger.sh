# The ledger keeps every request (issue 14): `tokmux gateway` killed with
# -9 while streams are in flight leaves their intent lines, and after a
# restart the daily ceiling counts them at their reservation and `tokmux
# report` shows them unsettled. A ledger that cannot be written (a file
# size limit put on the running gateway: EFBIG, as a full disk) is said
# once on stderr and in /metrics; under a ceiling the next requests are
# refused as a spending limit naming the ledger; once it can be written
# again the held records go in, in order, and nothing is torn or lost.
. tests/lib.sh
LEDGER=$T_TMP/ledger.jsonl
cat >"$T_TMP/slow.json" <<'JSON'
{"defaults": {"chunks": 40, "chunk_delay_ms": 50}}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/slow.json" --log "$T_TMP/mock.jsonl" \
	>"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
for i in $(seq 100); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.05; done
mport=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$T_TMP/mock.out")
[ -n "$mport" ] || fail "mock did not start: $(cat "$T_TMP/mock.out")"

# gw_start NAME [ARGS...]: a gateway on the ledger with a daily ceiling; sets GW, URL, BASE.
gw_start() {
	local name=$1
	shift
	"$TOKMUX" gateway --port 0 --anthropic-upstream "http://127.0.0.1:$mport" \
		--ledger "$LEDGER" --daily-ceiling 50 "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
	GW=$!
	T_PIDS="$T_PIDS $GW"
	for i in $(seq 100); do grep -q "^route default" "$T_TMP/$name.out" 2>/dev/null && break; sleep 0.05; done
	URL=$(awk '$1 == "route" && $2 == "default" { print $3 }' "$T_TMP/$name.out")
	[ -n "$URL" ] || fail "gateway $name did not start: $(cat "$T_TMP/$name.out" "$T_TMP/$name.err")"
	BASE=${URL%/p/*}
}
body='{"model":"claude-sonnet-4-5","max_tokens":2000,"stream":true,"messages":[{"role":"user","content":"hello"}]}'
ask() {   # ask FILE: one request, the body to FILE, prints the status
	curl -sS -N -o "$1" -w '%{http_code}' "$URL/v1/messages" -H "x-api-key: sk-ant-k" \
		-H "content-type: application/json" -d "$body"
}
intents() { grep -c '"kind":"intent"' "$LEDGER" 2>/dev/null || true; }
metric() {      # /metrics needs the user's metrics token (docs/GATEWAY.md)
	curl -s -H "Authorization: Bearer $(cat "$XDG_STATE_HOME/tokmux/metrics-token")" "$BASE/metrics" |
		awk -v n="$1" '$1 == n { print $2 }'
}

# ---- kill -9 with 6 streams in flight
gw_start gw1
for i in 1 2 3 4 5 6; do ask "$T_TMP/s$i.out" >/dev/null 2>&1 & done
for i in $(seq 100); do [ "$(intents)" -ge 6 ] && break; sleep 0.05; done
[ "$(intents)" = 6 ] || fail "wanted 6 intent lines before the streams end, got $(intents): $(cat "$LEDGER")"
kill -9 "$GW"
wait "$GW" 2>/dev/null
[ "$(t_outcomes "$LEDGER" | grep -c .)" = 0 ] || fail "outcomes before the kill: $(cat "$LEDGER")"
reserved=$(jq -s 'map(select(.kind == "intent") | .reserved_micros) | add' "$LEDGER")
[ "$reserved" -gt 0 ] || fail "the intents hold no reservation: $(cat "$LEDGER")"
echo "killed with 6 in flight, reserved $reserved micro-dollars"

gw_start gw2
want=$(awk -v m="$reserved" 'BEGIN { printf "%.6f", m / 1e6 }')
[ "$(metric tokmux_daily_spend_usd)" = "$want" ] ||
	fail "after the restart today's spend is $(metric tokmux_daily_spend_usd), wanted the reservations $want"
"$TOKMUX" report --json --ledger "$LEDGER" >"$T_TMP/rep.json" || fail "report failed"
[ "$(jq .total.unsettled "$T_TMP/rep.json")" = 6 ] || fail "report: $(jq .total "$T_TMP/rep.json")"
[ "$(jq .total.requests "$T_TMP/rep.json")" = 0 ] || fail "report counts unsettled as served"
"$TOKMUX" report --ledger "$LEDGER" >"$T_TMP/rep.txt" 2>&1 || fail "report failed"
grep -q "unsettled$" "$T_TMP/rep.txt" && grep -q "^unsettled: 6 request(s)" "$T_TMP/rep.txt" ||
	fail "report text: $(cat "$T_TMP/rep.txt")"
echo "restarted: today's spend $want (the reservations), report: 6 unsettled"

# ---- the ledger cannot be written: a file size limit on the running gateway
[ "$(ask "$T_TMP/ok1.out")" = 200 ] || fail "a request before the limit failed"
size=$(stat -c %s "$LEDGER")
prlimit --pid "$GW" --fsize="$size":unlimited || fail "prlimit failed"
[ "$(ask "$T_TMP/held.out")" = 200 ] || fail "the request that found the ledger failing was not served"
st=$(ask "$T_TMP/refused.out")
[ "$st" = 402 ] || fail "under a ceiling with a failing ledger: status $st $(cat "$T_TMP/refused.out")"
grep -q '"billing_error"' "$T_TMP/refused.out" && grep -q "the ledger cannot be written (File too large)" "$T_TMP/refused.out" ||
	fail "refusal: $(cat "$T_TMP/refused.out")"
[ "$(ask "$T_TMP/refused2.out")" = 402 ] || fail "second refusal"
[ "$(metric tokmux_ledger_writable)" = 0 ] || fail "/metrics: writable $(metric tokmux_ledger_writable)"
held=$(metric tokmux_ledger_held_records)
[ "$held" -ge 4 ] || fail "/metrics: $held records held, wanted the intent and outcome of one, two refusals"
[ "$(stat -c %s "$LEDGER")" = "$size" ] || fail "the ledger grew past the limit"
[ "$(grep -c "ledger: cannot write: File too large" "$T_TMP/gw2.err")" = 1 ] ||
	fail "stderr: $(cat "$T_TMP/gw2.err")"
echo "failing: refused 402, $held records held, one line on stderr"
# room again: the retry timer writes them (no request needed)
prlimit --pid "$GW" --fsize=unlimited:unlimited || fail "prlimit failed"
for i in $(seq 200); do [ "$(metric tokmux_ledger_writable)" = 1 ] && break; sleep 0.05; done
[ "$(metric tokmux_ledger_writable)" = 1 ] || fail "the ledger did not recover: $(cat "$T_TMP/gw2.err")"
[ "$(metric tokmux_ledger_held_records)" = 0 ] || fail "records still held"
[ "$(metric tokmux_ledger_lost_records_total)" = 0 ] || fail "records lost"
grep -q "ledger: writing again" "$T_TMP/gw2.err" || fail "stderr: $(cat "$T_TMP/gw2.err")"
[ "$(grep -c "ledger:" "$T_TMP/gw2.err")" = 2 ] || fail "more than one line per change: $(cat "$T_TMP/gw2.err")"
[ "$(ask "$T_TMP/ok2.out")" = 200 ] || fail "a request after the recovery failed"
kill -TERM "$GW"; wait "$GW" || fail "gateway exited non-zero"
# every line whole; each outcome after its intent; 6 still unsettled
python3 - "$LEDGER" <<'PY' || fail "ledger: $(cat "$LEDGER")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]     # every line is JSON: nothing torn
intents = [r for r in recs if r.get("kind") == "intent"]
outs = [r for r in recs if r.get("kind") != "intent"]
assert len(intents) == 9, len(intents)
assert len(outs) == 5, outs                            # 3 served, 2 refused
assert sum(1 for r in outs if r.get("refused")) == 2, outs
pos = {r["id"]: i for i, r in enumerate(recs) if r.get("kind") == "intent"}
for i, r in enumerate(recs):
    if r.get("kind") != "intent" and r.get("id"):
        assert pos[r["id"]] < i, r
assert len([i for i in pos if i not in {r.get("id") for r in outs}]) == 6
PY
"$TOKMUX" report --json --ledger "$LEDGER" 2>"$T_TMP/rep.err" >"$T_TMP/rep.json" || fail "report failed"
[ "$(jq .total.unsettled "$T_TMP/rep.json") $(jq .total.requests "$T_TMP/rep.json") $(jq .total.refused "$T_TMP/rep.json")" = "6 3 2" ] ||
	fail "report: $(jq .total "$T_TMP/rep.json")"
[ ! -s "$T_TMP/rep.err" ] || fail "report skipped lines: $(cat "$T_TMP/rep.err")"
echo ok
