# The sidebar's team line: with a team ceiling (the in-process store) it
# shows the team's spend in the binding period against its ceiling and
# this member's share, and follows a request from the pane; with a Redis
# store that nothing answers it says the store is unreachable and the
# pane's request is refused with the store's message (fail closed); with
# --budget-fail-open it says budgets are not enforced and serves.
. tests/lib.sh
"$TOKMUX" mock --port 0 --quiet >"$T_TMP/mock.out" &
T_PIDS=$!
for _ in $(seq 50); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.1; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
cat >"$T_TMP/config.json" <<'JSON'
{"panes": [{"name": "main", "cmd": "sh"}], "team": "acme", "member": "alice"}
JSON
cat >"$T_TMP/req.sh" <<'SH'
curl -s "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:k -H content-type:application/json \
    -d '{"model":"claude-haiku-4-5","max_tokens":300,"messages":[{"role":"user","content":"hi"}]}' |
    tee "$(dirname "$0")/last.json"
echo; echo "REQ-DONE"
SH
t_start 160 40 "$TOKMUX" -c "$T_TMP/config.json" --anthropic-upstream "$MOCK" \
	--ledger "$T_TMP/ledger.jsonl" --team-ceiling day=5 --member-ceiling day=2
t_wait "tokmux  total"
t_wait " team acme day .*\\\$0.00/\\\$5.00"
t_wait "alice \\(you\\) \\\$0.00/\\\$2.00"
t_text "sh $T_TMP/req.sh"; t_keys Enter
t_wait "REQ-DONE"
t_wait "alice \\(you\\) \\\$0.000[0-9]*/\\\$2.00"
t_screen | grep -q "alice \\\$0.00/" && fail "the member's share did not move"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait_gone "tokmux  total"

# A Redis store nothing answers: fail closed, then fail open (tokmux run
# again in the same terminal).
t_again() { tmux -L "$T_SOCK" respawn-pane -k -t t "env TERM=xterm-256color $*; echo TOKMUX-EXIT=\$?; sleep 60"; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t_again "$TOKMUX" -c "$T_TMP/config.json" --anthropic-upstream "$MOCK" \
	--ledger "$T_TMP/ledger.jsonl" --budget-store "redis://127.0.0.1:$port"
t_wait "team acme: store unreachable"
t_wait "redis 127.0.0.1:$port"
t_wait "refusing requests"
t_text "sh $T_TMP/req.sh"; t_keys Enter
t_wait "REQ-DONE"
grep -qF "\"type\":\"billing_error\",\"message\":\"tokmux: team budget store unreachable at 127.0.0.1:$port" \
	"$T_TMP/last.json" || fail "the refusal says: $(cat "$T_TMP/last.json")"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait_gone "tokmux  total"
t_again "$TOKMUX" -c "$T_TMP/config.json" --anthropic-upstream "$MOCK" \
	--ledger "$T_TMP/ledger.jsonl" --budget-store "redis://127.0.0.1:$port" --budget-fail-open
t_wait "team acme: NOT enforced"
t_wait "store unreachable, serving"
t_text "sh $T_TMP/req.sh"; t_keys Enter
t_wait "REQ-DONE"
grep -q '"type":"message"' "$T_TMP/last.json" || fail "fail open refused: $(cat "$T_TMP/last.json")"
