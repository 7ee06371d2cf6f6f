# /metrics of a real `tokmux gateway` in front of `tokmux mock`, after
# traffic with a 529 fallback, a refusal by a ceiling, a model name with a
# quote, a backslash and a newline, a pane name with a quote, and more
# (pane, model) pairs than the table keeps: Prometheus's own checker
# (promtool check metrics) accepts the page, and a second client (a parser
# of the text format written here, in Python) reads every sample back:
# HELP and TYPE before each family, no sample twice, counters ending in
# _total, cumulative histograms, label values decoded exactly, and the
# counts per pane equal to the requests each pane sent (nothing counted
# under another pane). SKIP (77) only when promtool cannot be installed,
# after the Python checks have passed.
. tests/lib.sh
cat >"$T_TMP/script.json" <<'JSON'
{"defaults": {"usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 50}},
 "rules": [{"match": {"model": "claude-opus-4-7"}, "action": "529", "retry_after": null}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
for i in $(seq 100); do grep -q listening "$T_TMP/mock.out" 2>/dev/null && break; sleep 0.05; done
mock=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$mock" ] || fail "mock did not start: $(cat "$T_TMP/mock.out")"
cat >"$T_TMP/cfg.json" <<'JSON'
{"panes": [{"name": "a \"quoted\" pane"}, {"name": "tight", "ceiling_usd": 0.000001}]}
JSON
"$TOKMUX" gateway --port 0 -c "$T_TMP/cfg.json" --anthropic-upstream "$mock" \
	--ledger "$T_TMP/ledger.jsonl" >"$T_TMP/gw.out" 2>&1 &
T_PIDS="$T_PIDS $!"
for i in $(seq 100); do grep -q "^route default" "$T_TMP/gw.out" 2>/dev/null && break; sleep 0.05; done
quoted=$(awk '$1 == "route" && $2 == "a" { print $NF }' "$T_TMP/gw.out")
tight=$(awk '$1 == "route" && $2 == "tight" { print $3 }' "$T_TMP/gw.out")
dflt=$(awk '$1 == "route" && $2 == "default" { print $3 }' "$T_TMP/gw.out")
[ -n "$quoted" ] && [ -n "$tight" ] && [ -n "$dflt" ] || fail "routes: $(cat "$T_TMP/gw.out")"
base=${dflt%/p/*}

# ask URL MODEL_JSON KEY: one request; prints the status
ask() {
	curl -s -o /dev/null -w '%{http_code}' "$1/v1/messages" -H "x-api-key: $3" \
		-H 'content-type: application/json' \
		-d "{\"model\":$2,\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
}
# the quoted pane: 4 requests, one of them a weird model name, two fall back
# from the overloaded model (whose circuit then opens: 5 529s in a row)
[ "$(ask "$quoted" '"we\"ird\\mo\ndel"' key-q)" = 200 ] || fail "weird model"
[ "$(ask "$quoted" '"claude-sonnet-4-5"' key-q)" = 200 ] || fail "sonnet"
[ "$(ask "$quoted" '"claude-opus-4-7"' key-q)" = 200 ] || fail "fallback"
[ "$(ask "$quoted" '"claude-opus-4-7"' key-q)" = 200 ] || fail "fallback"
# 70 models on the default route: more pairs than the table's 64
for i in $(seq 1 70); do
	[ "$(ask "$dflt" "\"model-$i\"" key-d)" = 200 ] || fail "request model-$i"
done
# the tight pane: refused by its ceiling (never served)
st=$(ask "$tight" '"claude-sonnet-4-5"' key-t)
[ "$st" = 402 ] || fail "the tight pane was not refused with 402: $st"
# /metrics needs the user's metrics token (made by the gateway, mode 0600)
tokfile=$XDG_STATE_HOME/tokmux/metrics-token
[ -f "$tokfile" ] || fail "no metrics token in $tokfile"
[ "$(stat -c %a "$tokfile")" = 600 ] || fail "the metrics token is mode $(stat -c %a "$tokfile")"
token=$(cat "$tokfile")
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")" = 401 ] || fail "/metrics without the token"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer x$token" "$base/metrics")" = 401 ] ||
	fail "/metrics with a wrong token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics?token=$token")" = 200 ] ||
	fail "/metrics?token= refused"
curl -s -H "Authorization: Bearer $token" "$base/metrics" >"$T_TMP/metrics.txt"
grep -q '^tokmux_requests_total' "$T_TMP/metrics.txt" || fail "metrics: $(head -5 "$T_TMP/metrics.txt")"
for secret in key-d key-q key-t; do
	grep -q "$secret" "$T_TMP/metrics.txt" && fail "an API key reached /metrics"
done

cat >"$T_TMP/parse.py" <<'PY'
# A second client: the Prometheus text format (0.0.4) read by hand.
import json, math, re, sys

def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')

def parse_labels(s, i):
    """Labels from s[i] == '{' up to '}': (dict, index after '}')."""
    labels, i = {}, i + 1
    while s[i] != '}':
        m = LABEL.match(s, i)
        if not m:
            fail("bad label name at %r" % s[i:])
        name, i = m.group(0), m.end()
        if s[i] != '=' or s[i + 1] != '"':
            fail("bad label %r" % s)
        i, val = i + 2, []
        while s[i] != '"':
            if s[i] == '\\':
                esc = s[i + 1]
                if esc not in 'n"\\':
                    fail("bad escape \\%s in %r" % (esc, s))
                val.append('\n' if esc == 'n' else esc)
                i += 2
            else:
                val.append(s[i])
                i += 1
        if name in labels:
            fail("label %s twice in %r" % (name, s))
        labels[name] = ''.join(val)
        i += 1
        if s[i] == ',':
            i += 1
    return labels, i + 1

families, samples, seen, current = {}, [], set(), None
text = open(sys.argv[1], 'rb').read().decode('utf-8')   # must be UTF-8
for line in text.split('\n')[:-1]:
    if line.startswith('# HELP ') or line.startswith('# TYPE '):
        kind, rest = line[2:6], line[7:]
        name, _, arg = rest.partition(' ')
        if not NAME.fullmatch(name) or not arg:
            fail("bad %s line %r" % (kind, line))
        fam = families.setdefault(name, {})
        if kind in fam:
            fail("%s twice for %s" % (kind, name))
        if kind == 'TYPE':
            if arg not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                fail("type %r" % arg)
            if 'HELP' not in fam or current != name:
                fail("TYPE of %s without its HELP just before" % name)
        elif any(s[0].startswith(name) and s[0] in (name, name + '_bucket', name + '_sum',
                 name + '_count') for s in samples):
            fail("HELP of %s after its samples" % name)
        fam[kind] = arg
        current = name
        continue
    if line.startswith('#') or not line:
        fail("unexpected line %r" % line)
    m = NAME.match(line)
    name, i = m.group(0), m.end()
    labels = {}
    if line[i] == '{':
        labels, i = parse_labels(line, i)
    if line[i] != ' ':
        fail("no value in %r" % line)
    value = float(line[i + 1:])
    if math.isnan(value):
        fail("NaN in %r" % line)
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    fam = name if name in families else base
    if fam != current or 'TYPE' not in families.get(fam, {}):
        fail("sample %r outside its family (current %s)" % (line, current))
    key = (name, tuple(sorted(labels.items())))
    if key in seen:
        fail("sample twice: %r" % line)
    seen.add(key)
    samples.append((name, labels, value))

for name, fam in families.items():
    if (fam['TYPE'] == 'counter') != name.endswith('_total'):
        fail("%s is a %s" % (name, fam['TYPE']))
    if fam['TYPE'] == 'histogram':
        buckets = [(float(l['le']), v) for n, l, v in samples if n == name + '_bucket']
        count = [v for n, l, v in samples if n == name + '_count'][0]
        if [b for b in buckets] != sorted(buckets) or buckets[-1] != (math.inf, count):
            fail("histogram %s not cumulative or +Inf != count" % name)
        if any(b[1] < a[1] for a, b in zip(buckets, buckets[1:])):
            fail("histogram %s decreases" % name)

def total(metric, **want):
    return sum(v for n, l, v in samples if n == metric and
               all(l.get(k) == w for k, w in want.items()))

print(json.dumps({
    "families": len(families), "samples": len(samples),
    "served_default": total("tokmux_requests_total", pane="default"),
    "served_quoted": total("tokmux_requests_total", pane='a "quoted" pane'),
    "served_tight": total("tokmux_requests_total", pane="tight"),
    "weird": total("tokmux_requests_total", model='we"ird\\mo\ndel'),
    "default_other": total("tokmux_requests_total", pane="default", model="other"),
    "pairs_default": len([1 for n, l, v in samples if n == "tokmux_requests_total" and
                          l.get("pane") == "default"]),
    "cost": round(total("tokmux_cost_usd_total") * 1e6),
    "refused_tight": total("tokmux_responses_total", pane="tight", **{"class": "refused"}),
    "fallbacks_quoted": total("tokmux_fallbacks_total", pane='a "quoted" pane'),
    "ttfb_count": total("tokmux_upstream_ttfb_seconds_count"),
    "added_count": total("tokmux_gateway_added_seconds_count"),
    "ratelimit_keys": len({l["key"] for n, l, v in samples if n == "tokmux_ratelimit_limit"}),
    "circuits": len([1 for n, l, v in samples if n == "tokmux_circuit_state"]),
    "tight_ceiling": total("tokmux_pane_ceiling_usd", pane="tight"),
}, sort_keys=True))
PY
python3 "$T_TMP/parse.py" "$T_TMP/metrics.txt" >"$T_TMP/parsed.json" || fail "$(cat "$T_TMP/parsed.json")"
cat "$T_TMP/parsed.json"
p() { jq -r ".$1" "$T_TMP/parsed.json"; }
[ "$(p served_default)" = 70 ] || fail "default route served $(p served_default), sent 70"
[ "$(p served_quoted)" = 4 ] || fail "quoted pane served $(p served_quoted), sent 4"
[ "$(p served_tight)" = 0 ] || fail "the refused request counted as served"
[ "$(p refused_tight)" = 1 ] || fail "refusal not counted: $(p refused_tight)"
[ "$(p weird)" = 1 ] || fail "the weird model name did not read back"
# the quoted pane took the first pairs of the table; the default route the
# rest, and its models past the table count as its own "other"
q=$(jq -rs 'map(select(.pane == 1 and .kind != "intent") | .model_used) | unique | length' "$T_TMP/ledger.jsonl")
[ "$(p default_other)" = $((70 - (64 - q))) ] ||
	fail "models past the table: $(p default_other), wanted $((70 - (64 - q)))"
[ "$(p pairs_default)" = $((64 - q + 1)) ] || fail "default route series: $(p pairs_default)"
[ "$(p fallbacks_quoted)" = 2 ] || fail "fallbacks counted: $(p fallbacks_quoted)"
[ "$(p ttfb_count)" = 74 ] && [ "$(p added_count)" = 74 ] ||
	fail "histograms counted $(p ttfb_count) / $(p added_count), wanted 74 served"
[ "$(p ratelimit_keys)" = 2 ] || fail "rate limits for $(p ratelimit_keys) keys, wanted 2 served keys"
[ "$(p circuits)" -ge 1 ] || fail "no circuit state for the overloaded model"
[ "$(p tight_ceiling)" = 1e-06 ] || fail "tight pane ceiling $(p tight_ceiling)"
ledger_cost=$(jq -s 'map(.cost_micros) | add' "$T_TMP/ledger.jsonl")
[ "$(p cost)" = "$ledger_cost" ] || fail "metrics cost $(p cost) micro-dollars, ledger $ledger_cost"

# Prometheus's own checker
if ! command -v promtool >/dev/null 2>&1; then
	echo "SKIP: promtool not installed (scripts/deps.sh installs prometheus when it can);" \
		"the Python checks passed"
	exit 77
fi
promtool check metrics <"$T_TMP/metrics.txt" >"$T_TMP/promtool.out" 2>&1 ||
	fail "promtool check metrics: $(cat "$T_TMP/promtool.out")"
echo "promtool: $(cat "$T_TMP/promtool.out")"

# A real Prometheus scrapes the gateway with the token from the file (the
# "tokmux" job: up) and without it (the "open" job: down, 401).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T_TMP/prom.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: tokmux
    authorization: {credentials_file: "$tokfile"}
    static_configs: [{targets: ["${base#http://}"]}]
  - job_name: open
    static_configs: [{targets: ["${base#http://}"]}]
YML
prometheus --config.file="$T_TMP/prom.yml" --storage.tsdb.path="$T_TMP/prom" \
	--web.listen-address="127.0.0.1:$port" >"$T_TMP/prom.log" 2>&1 &
T_PIDS="$T_PIDS $!"
up() {      # up JOB: the job's last "up" sample, "" until scraped
	curl -s "http://127.0.0.1:$port/api/v1/query?query=up%7Bjob%3D%22$1%22%7D" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
for i in $(seq 300); do
	[ -n "$(up tokmux)" ] && [ -n "$(up open)" ] && break
	sleep 0.1
done
[ "$(up tokmux)" = 1 ] || fail "Prometheus with the token: up=$(up tokmux) $(tail -5 "$T_TMP/prom.log")"
[ "$(up open)" = 0 ] || fail "Prometheus without the token: up=$(up open)"
n=$(curl -s "http://127.0.0.1:$port/api/v1/query?query=sum(tokmux_requests_total)" |
	jq -r '.data.result[0].value[1]')
[ "$n" = 74 ] || fail "Prometheus read $n requests, wanted 74"
echo "prometheus: scraped with the token, refused without"
echo ok
