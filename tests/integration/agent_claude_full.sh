# Claude Code at full strength behind tokmux: the request the real Claude
# Code sends through a tokmux pane (claude_first_party: the pane gets
# _CLAUDE_CODE_ASSUME_FIRST_PARTY_BASE_URL and ENABLE_TOOL_SEARCH) carries
# the same betas (tool search, streaming, prompt caching scope...), the same
# deferred tools and request-class headers as the request it sends straight
# to api.anthropic.com. The direct one runs in a private network and mount
# namespace where api.anthropic.com is 127.0.0.1 and the mock listens on
# port 80; the mock logs both requests' shapes. Skips without npm or
# without namespaces (unshare as root).
. tests/agents-lib.sh
agents_install
CLAUDE="$A_BIN/claude"
command -v unshare >/dev/null && command -v ip >/dev/null &&
	unshare -m -n --propagation private true 2>/dev/null ||
	{ echo "SKIP: no private network namespace (unshare -m -n as root)"; exit 77; }
KEY=sk-ant-api03-tokmux-full-test-000000000000
echo '{"defaults": {"text": "Pong from the tokmux mock"}}' >"$T_TMP/script.json"
claude_env() {
	echo env -i PATH="$PATH" HOME="$1" LANG=C.UTF-8 ANTHROPIC_API_KEY="$KEY" DISABLE_TELEMETRY=1 \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
}
# 1. straight to "api.anthropic.com" (the mock on 127.0.0.1:80 in a namespace)
mkdir -p "$T_TMP/direct"
{ echo "127.0.0.1 api.anthropic.com"; cat /etc/hosts; } >"$T_TMP/direct/hosts"
cat >"$T_TMP/direct.sh" <<SH
ip link set lo up
mount --bind "$T_TMP/direct/hosts" /etc/hosts
"$TOKMUX" mock --port 80 --quiet --script "$T_TMP/script.json" --log "$T_TMP/direct.jsonl" \
	>"$T_TMP/direct/mock.out" 2>&1 &
for _ in \$(seq 50); do grep -q listening "$T_TMP/direct/mock.out" && break; sleep 0.1; done
cd "$T_TMP/direct" && timeout 120 $(claude_env "$T_TMP/direct") ANTHROPIC_BASE_URL=http://api.anthropic.com \
	TERM=dumb "$CLAUDE" -p "Say pong" --model claude-haiku-4-5 </dev/null >"$T_TMP/direct/out" 2>&1
echo "rc \$?" >>"$T_TMP/direct/out"
kill %1
SH
unshare -m -n --propagation private bash "$T_TMP/direct.sh"
grep -qF "$A_REPLY" "$T_TMP/direct/out" || fail "Claude Code did not answer directly: $(cat "$T_TMP/direct/out")"
# 2. through tokmux panes, with and without the full-strength environment
a_mock "$T_TMP/script.json" "$T_TMP/pane.jsonl"
run_pane() {    # NAME FIRST_PARTY: one claude -p in a tokmux pane
	mkdir -p "$T_TMP/$1"
	echo "{\"claude_first_party\": $2}" >"$T_TMP/$1/cfg.json"
	tmux -L "$T_SOCK" kill-server 2>/dev/null
	T_SOCK="tokmux-test-$$-$1"       # a fresh server: the last one may still be going away
	cd "$T_TMP/$1"
	t_start 160 40 $(claude_env "$T_TMP/$1") TERM=xterm-256color "$TOKMUX" -c "$T_TMP/$1/cfg.json" \
		--anthropic-upstream "$MOCK" --ledger "$T_TMP/$1/ledger.jsonl" -n 1 \
		-e "'$CLAUDE -p \"Say pong\" --model claude-haiku-4-5 </dev/null >out 2>&1; echo PANE-DONE-\$?'"
	cd - >/dev/null
	t_wait "PANE-DONE-0" 120
	grep -qF "$A_REPLY" "$T_TMP/$1/out" || fail "Claude Code in the pane did not answer: $(cat "$T_TMP/$1/out")"
}
run_pane full true
run_pane plain false
# the generation requests, one line each: betas sorted, deferred tools,
# cache scopes, the request-class header, the stream flag
shape() {
	python3 - "$1" "$2" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# the answered generation requests (a direct Claude Code first sends its body
# gzipped, which the mock cannot read: 400, and it sends it again plainly)
reqs = [r for r in reqs if r.get("n", 0) > 0 and r["status"] == 200]
r = reqs[int(sys.argv[2])]
print("betas", ",".join(sorted(r["betas"])))
print("stream", r["stream"], "tools", r["tools"], "deferred", r["deferred_tools"],
      "cache_scopes", r["cache_scopes"])
print("request-class", r["headers"].get("x-claude-code-request-class", "-"),
      "1p-class", r["headers"].get("x-claude-1p-request-class", "-"))
print("body", ",".join(r["body_keys"]))
PY
}
direct=$(shape "$T_TMP/direct.jsonl" 0) || fail "no direct request: $(cat "$T_TMP/direct.jsonl")"
full=$(shape "$T_TMP/pane.jsonl" 0) || fail "no request from the pane"
plain=$(shape "$T_TMP/pane.jsonl" 1) || fail "no request from the second pane"
echo "direct:"; echo "$direct" | sed "s/^/  /"
echo "pane without the environment:"; echo "$plain" | sed "s/^/  /"
echo "$direct" | grep -q "advanced-tool-use" || fail "the direct request has no tool search beta: $direct"
echo "$direct" | grep -q "deferred [1-9]" || fail "the direct request defers no tool: $direct"
[ "$direct" = "$full" ] || fail "through a tokmux pane the request differs from the direct one:
--- direct
$direct
--- pane
$full"
[ "$direct" = "$plain" ] && echo "note: without the environment the request is the same (this Claude Code)"
# the environment is the pane's own: not set when the user set it
grep -q '"claude_first_party"' "$T_TMP/full/cfg.json"
echo ok
