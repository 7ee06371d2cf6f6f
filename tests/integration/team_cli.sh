# `tokmux team` against a real redis-server (with a password) on a free
# loopback port: ceilings stored with `team set` and shown by `team`
# (table, --json, --watch), a gateway's ledger naming its team and member,
# `team reseed` putting back what a FLUSHALL lost (twice adds nothing),
# and the Redis password never on screen, in errors, the ledger or ps.
. tests/lib.sh
command -v redis-server >/dev/null || { echo "SKIP: no redis-server (scripts/deps.sh)"; exit 77; }
command -v redis-cli >/dev/null || { echo "SKIP: no redis-cli (scripts/deps.sh)"; exit 77; }
PW=s3cret-pw-$$
rport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T_TMP/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$T_TMP/redis" --save "" --appendonly no \
	--requirepass "$PW" >"$T_TMP/redis.log" 2>&1 &
T_PIDS="$!"
rcli() { REDISCLI_AUTH="$PW" redis-cli -p "$rport" "$@"; }
for i in $(seq 100); do [ "$(rcli ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done
[ "$(rcli ping)" = PONG ] || fail "redis-server did not start: $(cat "$T_TMP/redis.log")"

# The password: in the config (the store URL), never on the command line.
cat >"$T_TMP/team.json" <<JSON
{"budget_store": "redis://:$PW@127.0.0.1:$rport", "team": "acme",
 "team_ceilings": {"day": 50}, "member_ceilings": {"day": 10}}
JSON
chmod 600 "$T_TMP/team.json"
team() { "$TOKMUX" team -c "$T_TMP/team.json" "$@"; }
check_no_pw() { grep -q -- "$PW" "$1" && fail "the password is in $1: $(cat "$1")"; return 0; }

team >"$T_TMP/empty.txt" || fail "tokmux team exited $?: $(cat "$T_TMP/empty.txt")"
grep -q "^team acme on redis 127.0.0.1:$rport; periods at UTC: day " "$T_TMP/empty.txt" ||
	fail "header: $(cat "$T_TMP/empty.txt")"
grep -qE '^  day +\$0\.00 +\$0\.00 +\$50\.00 config +\$50\.00 +0 +0$' "$T_TMP/empty.txt" ||
	fail "team day row: $(cat "$T_TMP/empty.txt")"
grep -q "no member has used this team's budget yet" "$T_TMP/empty.txt" || fail "no members line"

# team set: the team and a member, a family, none and unset
team set team day=40 week:opus=20 >"$T_TMP/set.txt" || fail "team set exited $?"
printf 'team:day: $40.00\nteam:week:opus: $20.00\n' | diff - "$T_TMP/set.txt" || fail "team set said: $(cat "$T_TMP/set.txt")"
team set alice day=5 month=none >/dev/null || fail "team set alice"
[ "$(rcli hget 'tokmux:{acme}:ceilings' member:alice:day)" = 5000000 ] || fail "member:alice:day not stored"
team set alice day=unset | grep -qx "member:alice:day: unset (each member's configured ceiling applies)" ||
	fail "unset"
[ -z "$(rcli hget 'tokmux:{acme}:ceilings' member:alice:day)" ] || fail "member:alice:day still stored"
"$TOKMUX" team set -c "$T_TMP/team.json" alice day=x 2>"$T_TMP/err"; [ $? -eq 2 ] || fail "bad value not refused"
grep -qx 'tokmux team set: expected a dollar amount, none or unset after "=", got "x"' "$T_TMP/err" ||
	fail "bad value said: $(cat "$T_TMP/err")"
"$TOKMUX" team set -c "$T_TMP/team.json" alice day=1 year=2 2>/dev/null && fail "bad period accepted"
[ -z "$(rcli hget 'tokmux:{acme}:ceilings' member:alice:day)" ] || fail "a refused team set stored something"

# A gateway of member alice in team acme (the store named on its command
# line with the password: ps must not show it); its ledger names both.
"$TOKMUX" mock --port 0 --quiet >"$T_TMP/mock.out" 2>&1 &
T_PIDS="$T_PIDS $!"
for i in $(seq 100); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.05; done
mport=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$T_TMP/mock.out")
[ -n "$mport" ] || fail "mock did not start: $(cat "$T_TMP/mock.out")"
"$TOKMUX" gateway --port 0 --anthropic-upstream "http://127.0.0.1:$mport" --ledger "$T_TMP/alice.jsonl" \
	--budget-store "redis://:$PW@127.0.0.1:$rport" --team acme --member alice >"$T_TMP/gw.out" 2>&1 &
gw=$!
T_PIDS="$T_PIDS $gw"
for i in $(seq 100); do grep -q "^route default" "$T_TMP/gw.out" && break; sleep 0.05; done
url=$(awk '$1 == "route" && $2 == "default" { print $3 }' "$T_TMP/gw.out")
[ -n "$url" ] || fail "gateway did not start: $(cat "$T_TMP/gw.out")"
tr '\0' ' ' </proc/$gw/cmdline >"$T_TMP/cmdline"
grep -q -- "--budget-store redis://:x*@127.0.0.1:$rport" "$T_TMP/cmdline" || fail "argv: $(cat "$T_TMP/cmdline")"
check_no_pw "$T_TMP/cmdline"
for m in claude-opus-4-5 claude-haiku-4-5 claude-haiku-4-5; do
	curl -sS "$url/v1/messages" -H "x-api-key: sk-ant-k" -H "content-type: application/json" \
		-d "{\"model\":\"$m\",\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" >/dev/null ||
		fail "request failed"
done
kill -TERM "$gw"; wait "$gw"
python3 - "$T_TMP/alice.jsonl" <<'PY' || fail "ledger: $(cat "$T_TMP/alice.jsonl")"
import json, sys
led = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["team"] == "acme" and r["member"] == "alice" for r in led), led
led = [r for r in led if r.get("kind") != "intent"]
assert len(led) == 3, len(led)
assert all(r["team"] == "acme" and r["member"] == "alice" for r in led), led
assert all(r["cost_micros"] > 0 for r in led), led
PY
check_no_pw "$T_TMP/alice.jsonl"
# bob, in another ledger (written as bob's gateway would)
python3 - "$T_TMP/bob.jsonl" <<'PY'
import json, sys, time
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"epoch": time.time(), "team": "acme", "member": "bob",
                        "cost_micros": 2500000, "model_asked": "claude-sonnet-4-5"}) + "\n")
PY

# Redis lost everything (a restart without persistence): reseed from both ledgers
rcli flushall >/dev/null
team reseed --dry-run "$T_TMP/alice.jsonl" "$T_TMP/bob.jsonl" >"$T_TMP/dry.txt" || fail "dry run exited $?"
grep -q "would add" "$T_TMP/dry.txt" || fail "dry run: $(cat "$T_TMP/dry.txt")"
[ "$(rcli dbsize)" = 0 ] || fail "a dry run wrote to the store"
team reseed "$T_TMP/alice.jsonl" "$T_TMP/bob.jsonl" "$T_TMP/bob.jsonl" >"$T_TMP/reseed.txt" || fail "reseed exited $?"
grep -q "^read 4 records from 2 ledgers: 4 in the current periods of this team" "$T_TMP/reseed.txt" ||
	fail "reseed said: $(cat "$T_TMP/reseed.txt")"
team --json >"$T_TMP/status.json" || fail "team --json exited $?"
python3 - "$T_TMP/status.json" "$T_TMP/alice.jsonl" <<'PY' || fail "status after reseed: $(cat "$T_TMP/status.json")"
import json, sys
st = json.loads(open(sys.argv[1]).read())
alice = sum(r["cost_micros"] for r in map(json.loads, open(sys.argv[2])) if r.get("kind") != "intent")
members = {m["member"]: m for m in st["members"]}
assert set(members) == {"alice", "bob"}, members.keys()
def usd(x): return round(x * 1e6)
assert usd(members["alice"]["budget"]["day"]["spent_usd"]) == alice, (members["alice"], alice)
assert usd(members["bob"]["budget"]["day"]["spent_usd"]) == 2500000, members["bob"]
assert usd(st["budget"]["day"]["spent_usd"]) == alice + 2500000, st["budget"]
assert usd(st["budget"]["day:sonnet"]["spent_usd"]) == 2500000, st["budget"]
assert st["budget"]["day"]["ceiling_usd"] == 50 and st["budget"]["day"]["ceiling_from"] == "config"
assert members["bob"]["budget"]["day"]["ceiling_usd"] == 10
PY
team reseed "$T_TMP/alice.jsonl" "$T_TMP/bob.jsonl" >/dev/null || fail "second reseed exited $?"
team --json >"$T_TMP/status2.json"
python3 -c '
import json, sys
a, b = (json.loads(open(p).read()) for p in sys.argv[1:])
assert a["budget"]["day"]["spent_usd"] == b["budget"]["day"]["spent_usd"], (a["budget"], b["budget"])
' "$T_TMP/status.json" "$T_TMP/status2.json" || fail "a second reseed changed the spend"

# --watch: a JSON line per refresh (every 2 s) until interrupted
timeout 3 "$TOKMUX" team -c "$T_TMP/team.json" --watch --json >"$T_TMP/watch.txt"
[ "$(grep -c '"team":"acme"' "$T_TMP/watch.txt")" -eq 2 ] || fail "--watch printed: $(cat "$T_TMP/watch.txt")"

# The password from the environment; a wrong one and a dead store: one
# clear line, never the password
cat >"$T_TMP/nopw.json" <<JSON
{"budget_store": "redis://127.0.0.1:$rport", "team": "acme"}
JSON
TOKMUX_REDIS_PASSWORD="$PW" "$TOKMUX" team -c "$T_TMP/nopw.json" >/dev/null || fail "TOKMUX_REDIS_PASSWORD not used"
TOKMUX_REDIS_PASSWORD="wrong-$PW" "$TOKMUX" team -c "$T_TMP/nopw.json" >/dev/null 2>"$T_TMP/wrong.err" &&
	fail "a wrong password was accepted"
grep -q "^tokmux team: team budget store unreachable at 127.0.0.1:$rport" "$T_TMP/wrong.err" ||
	fail "wrong password said: $(cat "$T_TMP/wrong.err")"
check_no_pw "$T_TMP/wrong.err"
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TOKMUX" team --budget-store "redis://:$PW@127.0.0.1:$dead" >/dev/null 2>"$T_TMP/dead.err"; rc=$?
[ $rc -eq 1 ] || fail "a dead store exited $rc"
grep -qx "tokmux team: team budget store unreachable at 127.0.0.1:$dead: Connection refused" "$T_TMP/dead.err" ||
	fail "dead store said: $(cat "$T_TMP/dead.err")"
"$TOKMUX" team --budget-store "redis://:$PW@127.0.0.1:99999" 2>"$T_TMP/bad.err"; [ $? -eq 2 ] || fail "bad URL"
check_no_pw "$T_TMP/bad.err"
"$TOKMUX" team --budget-store "rediss://:$PW@127.0.0.1:$rport" 2>"$T_TMP/tls.err"; [ $? -eq 2 ] || fail "rediss"
grep -q "rediss:// (TLS) is not supported" "$T_TMP/tls.err" || fail "rediss said: $(cat "$T_TMP/tls.err")"
check_no_pw "$T_TMP/tls.err"
for cmd in "" gateway team; do
	TOKMUX_REDIS_PASSWORD="$PW" "$TOKMUX" $cmd --help >"$T_TMP/help.txt" 2>&1
	check_no_pw "$T_TMP/help.txt"
	grep -q -- "--budget-store URL" "$T_TMP/help.txt" || fail "tokmux $cmd --help has no --budget-store"
done
# no shared store: tokmux team says what to do
"$TOKMUX" team 2>"$T_TMP/mem.err"; [ $? -eq 2 ] || fail "team without a store"
grep -qx "tokmux team: no shared budget store: give --budget-store redis://HOST:PORT or set budget_store in the config (docs/TEAM.md)" \
	"$T_TMP/mem.err" || fail "without a store said: $(cat "$T_TMP/mem.err")"
echo ok
