# `tokmux gateway` in front of `tokmux mock`, driven with curl: routes are
# printed, streaming and JSON requests are metered exactly (ledger and
# report agree with the mock's log), /metrics and /healthz answer, and
# nothing secret reaches the ledger.
. tests/lib.sh
"$TOKMUX" mock --port 0 --quiet --log "$T_TMP/mock.jsonl" >"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
for i in $(seq 100); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.05; done
mport=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$T_TMP/mock.out")
[ -n "$mport" ] || fail "mock did not start: $(cat "$T_TMP/mock.out")"
cat >"$T_TMP/cfg.json" <<JSON
{"panes": [{"name": "claude", "cmd": "claude --resume secret-prompt"}]}
JSON
"$TOKMUX" gateway --port 0 -c "$T_TMP/cfg.json" --anthropic-upstream "http://127.0.0.1:$mport" \
	--openai-upstream "http://127.0.0.1:$mport" --ledger "$T_TMP/ledger.jsonl" >"$T_TMP/gw.out" 2>&1 &
gw=$!
T_PIDS="$T_PIDS $gw"
for i in $(seq 100); do grep -q "^route default" "$T_TMP/gw.out" && break; sleep 0.05; done
claude=$(awk '$1 == "route" && $2 == "claude" { print $3 }' "$T_TMP/gw.out")
dflt=$(awk '$1 == "route" && $2 == "default" { print $3 }' "$T_TMP/gw.out")
[ -n "$claude" ] && [ -n "$dflt" ] || fail "no routes printed: $(cat "$T_TMP/gw.out")"
base=${claude%/p/*}

body='{"model":"claude-sonnet-4-5","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"hello there"}]}'
out=$(curl -sS -N "$claude/v1/messages" -H "x-api-key: sk-ant-secret-key" -H "content-type: application/json" -d "$body")
echo "$out" | grep -q "event: message_stop" || fail "stream did not finish: $out"
# OpenCode-style path without /v1, non-streaming
out=$(curl -sS "$dflt/messages" -H "x-api-key: sk-ant-secret-key" -H "content-type: application/json" \
	-d '{"model":"claude-haiku-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}')
echo "$out" | grep -q '"usage"' || fail "JSON reply without usage: $out"
# OpenAI chat through the /v1 base
out=$(curl -sS "$dflt/v1/chat/completions" -H "Authorization: Bearer sk-openai-secret" -H "content-type: application/json" \
	-d '{"model":"gpt-5","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}')
echo "$out" | grep -q "\[DONE\]" || fail "chat stream did not finish: $out"
# unknown token, health, metrics, Origin
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/p/0000/v1/messages" -d '{}')" = 404 ] || fail "unknown token not 404"
[ "$(curl -s "$base/healthz")" = ok ] || fail "healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Origin: http://evil.test' "$claude/v1/messages" -d '{}')" = 403 ] || fail "Origin not refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")" = 401 ] || fail "/metrics without its token"
curl -s -H "Authorization: Bearer $(cat "$XDG_STATE_HOME/tokmux/metrics-token")" "$base/metrics" >"$T_TMP/metrics.txt"
grep -q 'tokmux_requests_total' "$T_TMP/metrics.txt" || fail "metrics: $(head -5 "$T_TMP/metrics.txt")"

kill -TERM "$gw"; wait "$gw" || fail "gateway exited non-zero after SIGTERM"
# the ledger agrees with the mock, request by request
python3 - "$T_TMP/mock.jsonl" "$T_TMP/ledger.jsonl" <<'PY' || fail "ledger does not match the mock"
import json, sys
mock = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
led = [l for l in lines if l.get("kind") != "intent"]
intents = {l["id"]: l for l in lines if l.get("kind") == "intent"}
# every served request wrote its intent before it went upstream, same id
assert len(intents) == 3 and sorted(intents) == sorted(l["id"] for l in led), (intents, led)
assert all(intents[l["id"]]["model_asked"] == l["model_asked"] and
           intents[l["id"]]["epoch"] <= l["epoch"] for l in led), (intents, led)
mock = [m for m in mock if m.get("n", 0) > 0]
assert len(mock) == 3 and len(led) == 3, (len(mock), len(led))
for m, l in zip(sorted(mock, key=lambda m: m["n"]), sorted(led, key=lambda l: l["epoch"])):
    assert m["model"] == l["model_used"], (m, l)
    assert m["output_tokens"] == l["output_tokens"], (m, l)
    assert m["input_tokens"] == l["input_tokens"] + l["cache_read_tokens"] or m["input_tokens"] == l["input_tokens"], (m, l)
    assert l["priced"] and l["cost_micros"] > 0, l
assert led[0]["agent"] == "claude", led[0]["agent"]
print("ledger ok:", [(l["model_used"], l["input_tokens"], l["output_tokens"], l["cost_usd"]) for l in led])
PY
grep -q "secret" "$T_TMP/ledger.jsonl" && fail "a secret reached the ledger"
grep -q "hello there" "$T_TMP/ledger.jsonl" && fail "prompt text reached the ledger"
grep -q "secret" "$T_TMP/metrics.txt" && fail "a secret reached /metrics"
# report agrees with the ledger
"$TOKMUX" report --json --ledger "$T_TMP/ledger.jsonl" >"$T_TMP/report.json" || fail "report failed"
python3 - "$T_TMP/ledger.jsonl" "$T_TMP/report.json" <<'PY' || fail "report does not match the ledger"
import json, sys
led = [r for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip()) if r.get("kind") != "intent"]
rep = json.load(open(sys.argv[2]))
t = rep["total"]
assert t["requests"] == len(led), t
assert t["output_tokens"] == sum(l["output_tokens"] for l in led), t
assert abs(t["cost_usd"] - sum(l["cost_usd"] for l in led)) < 1e-9, t
PY
"$TOKMUX" report --ledger "$T_TMP/ledger.jsonl" --by model | grep -q "claude-sonnet-4-5" || fail "report table lacks the model"
echo ok
