# The refusal as each real agent shows it, in a tokmux pane whose ceiling
# is 0: OpenCode on the Anthropic and on the OpenAI provider, and Codex.
# Each prints tokmux's sentence (the ceiling, how to raise it) on its
# screen, does not retry it (OpenCode: its title call and the answer,
# Codex: one call), and nothing reaches the provider.
. tests/agents-lib.sh
agents_install
cat >"$T_TMP/script.json" <<JSON
{"defaults": {"text": "$A_REPLY"}}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" --log "$T_TMP/mock.jsonl" \
	>"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
MOCK=$(a_wait_line "$T_TMP/mock.out" '^mock listening on ') || fail "mock did not start"
MOCK=${MOCK#mock listening on }
MSG='is blocked: its ceiling is $0.00. Raise it with Ctrl-g b or --pane-ceiling.'

# screen_joined: the pane's lines with wrapped ones joined
screen_joined() { tmux -L "$T_SOCK" capture-pane -p -J -t t; }

# in_pane NAME WANT_CALLS CMD: run CMD in a one-pane tokmux with a zero
# ceiling; wait for the refusal on screen; check the ledger's count.
in_pane() {
	local name=$1 want=$2 cmd=$3 i
	mkdir -p "$T_TMP/$name/home" "$T_TMP/$name/work"
	printf '%s\n' "$cmd" >"$T_TMP/$name/run.sh"
	cd "$T_TMP/$name/work"
	t_start 220 50 env HOME="$T_TMP/$name/home" "$TOKMUX" --anthropic-upstream "$MOCK" \
		--openai-upstream "$MOCK" --ledger "$T_TMP/$name/ledger.jsonl" --pane-ceiling 1=0 -n 1 \
		-e "'sh $T_TMP/$name/run.sh; echo AGENT-EXIT=\$?; exec cat'"
	cd - >/dev/null
	for ((i = 0; i < 1200; i++)); do
		screen_joined | grep -q "AGENT-EXIT=[0-9]" && break
		sleep 0.1
	done
	screen_joined | grep -q "AGENT-EXIT=[0-9]" || fail "$name did not stop within 120 s"
	screen_joined | grep -qF "$MSG" || fail "$name did not show the refusal"
	! screen_joined | grep -qi "/login" || fail "$name shows the refusal as a login problem"
	screen_joined | grep -F "$MSG" | head -n 1 | cut -c1-200
	local n
	n=$(grep -c '"refused":true' "$T_TMP/$name/ledger.jsonl")
	[ "$n" -eq "$want" ] || fail "$name made $n requests (refused), wanted $want: it retried"
	tmux -L "$T_SOCK" kill-server
	T_SOCK="$T_SOCK-$name"     # a new server: the old one may still be going away
}

OC_ENV='OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_AUTOUPDATE=1 npm_config_registry=http://127.0.0.1:9/'
in_pane opencode-anthropic 2 "env $OC_ENV ANTHROPIC_API_KEY=sk-ant-api03-tokmux-test-key \
	'$A_BIN/opencode' run -m anthropic/claude-haiku-4-5 'Say pong'"
in_pane opencode-openai 2 "env $OC_ENV OPENAI_API_KEY=sk-tokmux-test-key \
	'$A_BIN/opencode' run -m openai/gpt-5-mini 'Say pong'"
# Codex reads its provider from config.toml: write the pane's URL there
in_pane codex 1 "mkdir -p \"\$HOME/ch\" && printf 'model = \"gpt-5-mini\"\nmodel_provider = \"tokmux\"\n\
[model_providers.tokmux]\nname = \"tokmux\"\nbase_url = \"%s\"\nenv_key = \"OPENAI_API_KEY\"\n\
wire_api = \"responses\"\n' \"\$OPENAI_BASE_URL\" >\"\$HOME/ch/config.toml\" && \
env CODEX_HOME=\"\$HOME/ch\" OPENAI_API_KEY=sk-tokmux-test-key '$A_BIN/codex' exec \
	--skip-git-repo-check 'Say pong'"
calls=$(grep -c '"n":[1-9]' "$T_TMP/mock.jsonl" 2>/dev/null)
[ "${calls:-0}" -eq 0 ] || fail "the mock saw $calls model calls"
echo ok
