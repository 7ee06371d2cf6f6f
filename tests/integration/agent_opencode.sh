# OpenCode (the real CLI, npm opencode-ai) headless (`opencode run`) through
# tokmux gateway -> tokmux mock, offline, once with the Anthropic provider
# (ANTHROPIC_BASE_URL, Messages API) and once with the OpenAI provider
# (OPENAI_BASE_URL, Responses API); the ledger matches the mock's usage.
. tests/agents-lib.sh
agents_install
stack_start
echo "opencode $("$A_BIN/opencode" --version 2>/dev/null)"

# oc_run NAME MODEL VAR=VALUE...: a fresh HOME; the models.dev fetch and the
# update check are off; npm/bun lookups go to a closed port (offline).
oc_run() {
	local name=$1 model=$2
	shift 2
	mkdir -p "$T_TMP/$name/home" "$T_TMP/$name/work"
	(cd "$T_TMP/$name/work" && a_run "$name" 45 env -i PATH="$PATH" \
		HOME="$T_TMP/$name/home" LANG=C.UTF-8 TERM=dumb "$@" \
		OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 \
		npm_config_registry=http://127.0.0.1:9/ \
		"$A_BIN/opencode" run -m "$model" "Say pong") || exit 1
}
oc_run anthropic anthropic/claude-haiku-4-5 \
	ANTHROPIC_BASE_URL="$A_URL" ANTHROPIC_API_KEY=sk-ant-api03-tokmux-test-key
oc_run openai openai/gpt-5-mini \
	OPENAI_BASE_URL="$A_URL/v1" OPENAI_API_KEY=sk-tokmux-test-key

# each run is a title call (small model) plus the answer
ledger_check 4
ledger_priced_model claude-haiku-4-5
ledger_priced_model gpt-5-mini
grep -q '"path":"/v1/messages"' "$A_MOCK_LOG" || fail "no Messages call reached the mock"
grep -q '"path":"/v1/responses"' "$A_MOCK_LOG" || fail "no Responses call reached the mock"
echo ok
