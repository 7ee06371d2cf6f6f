# Claude Code (the real CLI, npm @anthropic-ai/claude-code) headless through
# tokmux gateway -> tokmux mock, offline: an API key, a bearer token
# (ANTHROPIC_AUTH_TOKEN) and a subscription OAuth token all pass through, and
# the ledger matches the mock's usage request by request.
. tests/agents-lib.sh
agents_install
stack_start
echo "claude $("$A_BIN/claude" --version 2>/dev/null)"

# claude_run NAME CREDENTIAL: `claude -p` with a fresh HOME (no onboarding
# needed in print mode) and no traffic besides the model call.
claude_run() {
	mkdir -p "$T_TMP/$1/home" "$T_TMP/$1/work"
	(cd "$T_TMP/$1/work" && a_run "$1" 45 env -i PATH="$PATH" HOME="$T_TMP/$1/home" \
		LANG=C.UTF-8 TERM=dumb ANTHROPIC_BASE_URL="$A_URL" "$2" \
		DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
		"$A_BIN/claude" -p "Say pong" --model claude-haiku-4-5) || exit 1
}
claude_run apikey ANTHROPIC_API_KEY=sk-ant-api03-tokmux-test-key
claude_run bearer ANTHROPIC_AUTH_TOKEN=tokmux-test-bearer
claude_run oauth CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-tokmux-test

ledger_check 3
ledger_priced_model claude-haiku-4-5
# each credential reached the gateway (it keeps only a hash of each)
keys=$(sed -n 's/.*"key_hash":"\([0-9a-f]*\)".*/\1/p' "$A_LEDGER" | sort -u | wc -l)
[ "$keys" -eq 3 ] || fail "wanted 3 distinct key hashes in the ledger, got $keys"
# Claude Code makes no other request in print mode with these settings
others=$(grep -c '"n":0' "$A_MOCK_LOG")
[ "$others" -eq 0 ] || fail "unexpected extra requests: $(grep '"n":0' "$A_MOCK_LOG")"
echo ok
