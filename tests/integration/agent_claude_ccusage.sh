# tokmux report against ccusage on the same Claude Code session: the real
# Claude Code (print mode, three models, one a dated id) talks to the mock
# through tokmux gateway, so Claude Code writes its own session logs under
# its HOME and tokmux its ledger. `ccusage daily --json --breakdown` (read
# from those logs) and `tokmux report --json --breakdown` must agree per
# day and model id: tokens exactly, cost to the cent.
#
# The one pricing difference: ccusage prices every cache write at the
# 5-minute rate (1.25 x input); the API bills 1-hour writes at 2 x input,
# and tokmux does too. The test checks that tokmux's cost minus ccusage's
# is exactly that surcharge on the 1-hour writes (0.75 x the input price
# per token), so any other disagreement fails.
. tests/agents-lib.sh
agents_install
out=$(bash tests/ccusage-install.sh 2>"$T_TMP/ccusage-install.err") ||
	fail "tests/ccusage-install.sh failed: $(tail -5 "$T_TMP/ccusage-install.err")"
case "$out" in
SKIP:*) echo "$out"; exit 77 ;;
esac
CCUSAGE=${out#bin }/ccusage
stack_start
echo "claude $("$A_BIN/claude" --version 2>/dev/null), ccusage $("$CCUSAGE" --version 2>/dev/null)"

mkdir -p "$T_TMP/cc/home" "$T_TMP/cc/work"
for model in claude-haiku-4-5 claude-sonnet-4-5 claude-haiku-4-5-20251001 claude-haiku-4-5; do
	(cd "$T_TMP/cc/work" && a_run "claude-$model" 45 env -i PATH="$PATH" \
		HOME="$T_TMP/cc/home" LANG=C.UTF-8 TERM=dumb ANTHROPIC_BASE_URL="$A_URL" \
		ANTHROPIC_API_KEY=sk-ant-api03-tokmux-test-key DISABLE_TELEMETRY=1 \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
		"$A_BIN/claude" -p "Say pong" --model "$model") || exit 1
done
ledger_check 4 >/dev/null
logs=$(find "$T_TMP/cc/home/.claude/projects" -name '*.jsonl' | wc -l)
[ "$logs" -eq 4 ] || fail "Claude Code wrote $logs session logs, wanted 4"

env -i PATH="$PATH" HOME="$T_TMP/cc/home" TZ=UTC "$CCUSAGE" daily --json --breakdown --offline \
	--mode calculate --timezone UTC >"$T_TMP/ccusage.json" 2>"$T_TMP/ccusage.err" ||
	fail "ccusage failed: $(tail -5 "$T_TMP/ccusage.err")"
"$TOKMUX" report daily --json --breakdown --timezone UTC --ledger "$A_LEDGER" \
	>"$T_TMP/tokmux.json" 2>"$T_TMP/tokmux.err" || fail "tokmux report failed: $(cat "$T_TMP/tokmux.err")"

cat >"$T_TMP/compare.py" <<'PY'
import json, sys
cc = json.load(open(sys.argv[1]))
tm = json.load(open(sys.argv[2]))
ledger = [r for r in map(json.loads, open(sys.argv[3])) if r.get("kind") != "intent"]
INPUT_PRICE = {"claude-haiku-4-5": 1.0, "claude-sonnet-4-5": 3.0}   # $ per million input tokens

def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)

# ccusage: (day, model id) -> sums
c = {}
for d in cc["daily"]:
    for m in d["modelBreakdowns"]:
        c[(d["date"], m["modelName"])] = m
# tokmux: the dated ids under each model, per day
t = {}
for d in tm["daily"]:
    for m in d["models"]:
        for i in m["ids"]:
            t[(d["date"], i["model"])] = (m["model"], i)
if set(c) != set(t):
    # a run across midnight UTC: the logs and the ledger may date a request
    # a moment apart; then compare per model over both days
    days = lambda keys: {k[0] for k in keys}
    if days(c) == days(t):
        fail("ccusage has %s, tokmux %s" % (sorted(c), sorted(t)))
    print("note: the run crossed midnight; comparing per model over the whole run")
print("%-12s %-28s %9s %9s %9s %9s %10s %10s" % ("day", "model", "input", "output", "cache rd",
      "cache wr", "ccusage $", "tokmux $"))
for key in sorted(c):
    if key not in t:
        continue
    cm, (group, tmi) = c[key], t[key]
    for ck, tk in (("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
                   ("cacheReadTokens", "cache_read_tokens")):
        if cm[ck] != tmi[tk]:
            fail("%s %s: %s ccusage %d, tokmux %d" % (key[0], key[1], ck, cm[ck], tmi[tk]))
    writes = tmi["cache_write_5m_tokens"] + tmi["cache_write_1h_tokens"]
    if cm["cacheCreationTokens"] != writes:
        fail("%s %s: cache writes ccusage %d, tokmux %d" % (key[0], key[1],
             cm["cacheCreationTokens"], writes))
    # the 1-hour writes' surcharge over the 5-minute rate ccusage uses
    surcharge = tmi["cache_write_1h_tokens"] * 0.75 * INPUT_PRICE[group] / 1e6
    diff = tmi["cost_usd"] - cm["cost"]
    if abs(diff - surcharge) > 2e-6 * tmi["requests"] + 1e-6:
        fail("%s %s: cost tokmux %.6f - ccusage %.6f = %.6f, not the 1h surcharge %.6f" %
             (key[0], key[1], tmi["cost_usd"], cm["cost"], diff, surcharge))
    if abs(diff) >= 0.005:
        fail("%s %s: costs differ by %.4f, more than a cent's rounding" % (key[0], key[1], diff))
    print("%-12s %-28s %9d %9d %9d %9d %10.6f %10.6f" % (key[0], key[1], cm["inputTokens"],
          cm["outputTokens"], cm["cacheReadTokens"], cm["cacheCreationTokens"], cm["cost"],
          tmi["cost_usd"]))
# and the totals
for ck, tk in (("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
               ("cacheReadTokens", "cache_read_tokens")):
    if cc["totals"][ck] != tm["total"][tk]:
        fail("total %s: ccusage %d, tokmux %d" % (ck, cc["totals"][ck], tm["total"][tk]))
if abs(cc["totals"]["totalCost"] - tm["total"]["cost_usd"]) >= 0.01:
    fail("total cost ccusage %.6f, tokmux %.6f" % (cc["totals"]["totalCost"], tm["total"]["cost_usd"]))
if tm["total"]["requests"] != len(ledger):
    fail("tokmux counted %d requests, the ledger has %d" % (tm["total"]["requests"], len(ledger)))
print("total: ccusage $%.6f, tokmux $%.6f (%d requests)" % (cc["totals"]["totalCost"],
      tm["total"]["cost_usd"], tm["total"]["requests"]))
PY
python3 "$T_TMP/compare.py" "$T_TMP/ccusage.json" "$T_TMP/tokmux.json" "$A_LEDGER" ||
	fail "reports disagree"
# the dated id is grouped under its model
jq -e '.daily[0].models[] | select(.model == "claude-haiku-4-5") | .ids | length == 2' \
	"$T_TMP/tokmux.json" >/dev/null || fail "claude-haiku-4-5-20251001 not under claude-haiku-4-5"
echo ok
