# Codex CLI (the real CLI, npm @openai/codex) headless (`codex exec`) through
# tokmux gateway -> tokmux mock, offline, with a custom model provider
# (wire_api "responses", base_url = the pane's OPENAI_BASE_URL); the ledger
# matches the mock's usage. Codex ignores the OPENAI_BASE_URL variable.
. tests/agents-lib.sh
agents_install
stack_start
echo "$("$A_BIN/codex" --version 2>/dev/null)"

mkdir -p "$T_TMP/codex/home" "$T_TMP/codex/codex-home" "$T_TMP/codex/work"
# The built-in "openai" provider would first try a WebSocket to /v1/responses
# (7 attempts, ~6 s) before falling back to HTTP; a custom provider does not.
cat >"$T_TMP/codex/codex-home/config.toml" <<TOML
model = "gpt-5-mini"
model_provider = "tokmux"

[model_providers.tokmux]
name = "tokmux"
base_url = "$A_URL/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
TOML
(cd "$T_TMP/codex/work" && a_run codex 45 env -i PATH="$PATH" \
	HOME="$T_TMP/codex/home" CODEX_HOME="$T_TMP/codex/codex-home" \
	LANG=C.UTF-8 TERM=dumb OPENAI_API_KEY=sk-tokmux-test-key \
	"$A_BIN/codex" exec --skip-git-repo-check "Say pong") || exit 1

ledger_check 1
ledger_priced_model gpt-5-mini
echo ok
