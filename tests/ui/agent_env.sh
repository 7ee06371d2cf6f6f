# The environment a pane's agent gets: TERM_PROGRAM=tokmux (not the outer
# terminal's, whose features an agent would expect); in front of Anthropic's
# own API (claude_first_party: auto for https://api.anthropic.com, or true)
# the variables that keep Claude Code at full strength, never over the
# user's own values; none of them in front of another upstream (auto).
. tests/lib.sh
show='env | LC_ALL=C sort | grep -E "^(_CLAUDE_CODE_ASSUME_FIRST_PARTY_BASE_URL|ENABLE_TOOL_SEARCH|TERM_PROGRAM|TERM_PROGRAM_VERSION)=" | tr "\n" " "; echo ENV-END'
# auto, the default upstream (the gateway is never called here)
t_start 200 20 env TERM_PROGRAM=iTerm.app TERM_PROGRAM_VERSION=3.6 "$TOKMUX" -n 1 -e "'$show'"
t_wait "ENV-END"
t_screen | grep -q "^ENABLE_TOOL_SEARCH=true TERM_PROGRAM=tokmux _CLAUDE_CODE_ASSUME_FIRST_PARTY_BASE_URL=1 ENV-END" ||
	fail "pane environment in front of api.anthropic.com"
tmux -L "$T_SOCK" kill-server
# the user's own value wins
T_SOCK="$T_SOCK-2"
t_start 200 20 env ENABLE_TOOL_SEARCH=false "$TOKMUX" -n 1 -e "'$show'"
t_wait "ENV-END"
t_screen | grep -q "ENABLE_TOOL_SEARCH=false" || fail "the user's ENABLE_TOOL_SEARCH was replaced"
tmux -L "$T_SOCK" kill-server
# another upstream: nothing (auto)
T_SOCK="$T_SOCK-3"
t_start 200 20 "$TOKMUX" --anthropic-upstream http://127.0.0.1:9 -n 1 -e "'$show'"
t_wait "ENV-END"
t_screen | grep -q "^TERM_PROGRAM=tokmux ENV-END" || fail "pane environment in front of another upstream"
echo ok
