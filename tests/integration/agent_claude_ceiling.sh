# Claude Code (the real CLI) through a route whose spend ceiling is 0: the
# gateway refuses with its 402 billing_error (and x-should-retry: false),
# Claude Code prints the tokmux message (not "Please run /login") and stops
# at once, and nothing reaches the provider.
. tests/agents-lib.sh
agents_install
A_GW_ARGS=(--pane-ceiling default=0)
stack_start
mkdir -p "$T_TMP/home" "$T_TMP/work"
start=$(date +%s.%N)
(cd "$T_TMP/work" && timeout -k 5 60 env -i PATH="$PATH" HOME="$T_TMP/home" LANG=C.UTF-8 \
	TERM=dumb ANTHROPIC_BASE_URL="$A_URL" ANTHROPIC_API_KEY=sk-ant-api03-tokmux-test-key \
	DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 CLAUDE_CODE_MAX_RETRIES=2 \
	"$A_BIN/claude" -p "Say pong" --model claude-haiku-4-5 \
	</dev/null >"$T_TMP/claude.out" 2>"$T_TMP/claude.err")
rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc)
printf 'claude: exit %d in %.1fs\n' "$rc" "$secs"
[ "$rc" -ne 124 ] || fail "claude did not stop: $(tail -5 "$T_TMP/claude.err")"
[ "$rc" -ne 0 ] || fail "claude exited 0 although every request was refused"
msg='tokmux: route 1 (default) is blocked: its ceiling is $0.00.'
grep -qF -- "$msg" "$T_TMP/claude.out" "$T_TMP/claude.err" ||
	fail "claude did not print the tokmux message; it printed: $(head -c 600 "$T_TMP/claude.out" "$T_TMP/claude.err")"
! grep -qi "/login" "$T_TMP/claude.out" "$T_TMP/claude.err" ||
	fail "claude read the refusal as a login problem: $(head -c 600 "$T_TMP/claude.out" "$T_TMP/claude.err")"
grep -hF -- "$msg" "$T_TMP/claude.out" "$T_TMP/claude.err" | head -n 1 | cut -c 1-200
# the refusal was not retried by the agent, and nothing went upstream
calls=$(grep -c '"n":[1-9]' "$A_MOCK_LOG" 2>/dev/null)
[ "${calls:-0}" -eq 0 ] || fail "the mock saw $calls model calls"
refused=$(grep -c '"status":402' "$A_LEDGER")
[ "$refused" -eq 1 ] || fail "wanted 1 refused request in the ledger, got $refused: $(cat "$A_LEDGER")"
echo ok
