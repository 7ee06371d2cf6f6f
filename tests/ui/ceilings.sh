# What the screen says about ceilings, with the prefix key set to Ctrl-a in
# the config: the help overlay, the status bar and the refusal text name
# Ctrl-a; --pane-ceiling 2=0 blocks pane 2 and the sidebar says so; its
# refusal leaves "blocked (ceiling 0)" in the title, which clears once b
# raises the ceiling; a slow request shows the money reserved in flight
# while it runs; the model line is the conversation's model (requests with
# tools), the helper model (no tools) beside it; --ceiling 0 blocks the
# workspace and the sidebar says so; a request whose worst case does not
# fit is sent with a lower output limit, counted and marked in m.
. tests/lib.sh
cat >"$T_TMP/script.json" <<'JSON'
{"defaults": {"usage": {"input_tokens": 100, "output_tokens": 50}, "chunks": 2},
 "rules": [{"match": {"model": "claude-sonnet-4-5"}, "chunks": 6, "chunk_delay_ms": 700}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" &
T_PIDS=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.1; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
cat >"$T_TMP/config.json" <<'JSON'
{"prefix": "C-a", "panes": [{"name": "main", "cmd": "sh"}, {"cmd": "sh"}]}
JSON
# req MODEL [tools|-] [MAX_TOKENS]: one request from the pane's shell
cat >"$T_TMP/req.sh" <<'SH'
tools=""
[ "${2:-}" = tools ] && tools=',"tools":[{"name":"read","description":"read a file","input_schema":{"type":"object"}}]'
curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:k -H content-type:application/json \
    -d "{\"model\":\"$1\",\"max_tokens\":${3:-300},\"stream\":true$tools,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" |
    tee "$(dirname "$0")/last.json"
echo; echo "REQ-DONE $1"
SH
LEDGER="$T_TMP/ledger.jsonl"
t_start 160 50 "$TOKMUX" -c "$T_TMP/config.json" --anthropic-upstream "$MOCK" --ledger "$LEDGER" \
	--pane-ceiling 2=0
t_wait "tokmux  total"
# the prefix key's name everywhere the keys are named
side=$(t_screen | cut -c100-)
t_screen | grep -qF "blocked: ceiling \$0" || fail "the sidebar does not say pane 2 is blocked"
t_keys C-a "?"
t_wait "tokmux keys \(prefix Ctrl-a, then:\)"
t_screen | grep -qF "(twice) send Ctrl-a to the pane" || fail "the help names another prefix"
t_screen | grep -q "Ctrl-g" && fail "the help still names Ctrl-g"
t_keys q
t_wait_gone "tokmux keys"
t_keys C-a
t_wait " Ctrl-a: 1-4 focus"
# pane 2 is blocked: the agent reads why, with the configured key
t_keys 2
t_text "sh $T_TMP/req.sh claude-haiku-4-5"; t_keys Enter
t_wait "REQ-DONE claude-haiku-4-5"
t_wait "is blocked: its ceiling is"
grep -qF 'tokmux: pane 2 (sh) is blocked: its ceiling is $0.00. Raise it with Ctrl-a b or --pane-ceiling.' \
	"$T_TMP/last.json" || fail "the refusal says: $(cat "$T_TMP/last.json")"
t_wait "2 pane 2 .*blocked \(ceiling 0\)"
# raising the ceiling clears the title's flag
t_keys C-a b
t_wait "pane 2 ceiling \(now \\\$0.00"
t_text "5"; t_keys Enter
t_wait "pane 2 ceiling set to \\\$5.00"
t_wait_gone "blocked \(ceiling 0\)"
t_screen | grep -qF "blocked: ceiling \$0" && fail "the sidebar still says blocked"
# money reserved in flight, while a slow request runs (and gone after)
t_keys C-a 1
t_text "clear; sh $T_TMP/req.sh claude-sonnet-4-5 tools"; t_keys Enter
t_wait "1 in flight, \\\$0\.[0-9]*[1-9][0-9]* reserved"
t_wait "REQ-DONE claude-sonnet-4-5" 20
t_wait_gone "in flight"
# the conversation's model, the helper beside it
t_text "clear; sh $T_TMP/req.sh claude-haiku-4-5"; t_keys Enter
t_wait "REQ-DONE claude-haiku-4-5"
t_wait "claude-sonnet-4-5 \+haiku-4-5"
# a request whose worst case does not fit is served with a lower output
# limit: the sidebar counts it, m shows the limit sent and the one asked
t_keys C-a b
t_wait "pane 1 ceiling \(now none"
t_text "0.05"; t_keys Enter
t_wait "pane 1 ceiling set to \\\$0.05"
t_text "clear; sh $T_TMP/req.sh claude-haiku-4-5 - 20000"; t_keys Enter
t_wait "REQ-DONE claude-haiku-4-5"
t_wait "clamped 1 \(limit lowered\)"
t_keys C-a m
t_wait "last requests, newest first"
t_wait "clamped [0-9.]+k<20\.0k"
t_keys q
tmux -L "$T_SOCK" kill-server
T_SOCK="$T_SOCK-b"     # a new server: the old one may still be going away
# --ceiling 0 blocks the workspace, and the sidebar says so
t_start 160 50 "$TOKMUX" -c "$T_TMP/config.json" --anthropic-upstream "$MOCK" --ledger "$LEDGER" \
	--ceiling 0
t_wait " ws  blocked: ceiling \\\$0"
t_text "sh $T_TMP/req.sh claude-haiku-4-5"; t_keys Enter
t_wait "REQ-DONE claude-haiku-4-5"
grep -qF 'tokmux: this workspace is blocked: its ceiling is $0.00. Raise it with --ceiling.' \
	"$T_TMP/last.json" || fail "the refusal says: $(cat "$T_TMP/last.json")"
echo ok
