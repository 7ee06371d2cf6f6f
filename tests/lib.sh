# Shared helpers for shell tests: a private tmux server, waiting for text,
# and failing with context. Source it; it cleans up on exit.
set -u
TOKMUX=${TOKMUX:-$PWD/build/tokmux}
T_SOCK="tokmux-test-$$"
T_TMP=$(mktemp -d /tmp/tokmux-test.XXXXXX)
export HOME="$T_TMP/home" XDG_CONFIG_HOME="$T_TMP/config" XDG_STATE_HOME="$T_TMP/state"
# sessions' sockets (tokmux runs as a session): private to the test too
export XDG_RUNTIME_DIR="$T_TMP/run"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export SHELL=/bin/sh

# t_outcomes LEDGER: its outcome lines, one per finished (or refused)
# request, without the intent lines written before a request is forwarded.
t_outcomes() { grep -v '"kind":"intent"' "$1" 2>/dev/null || true; }

# t_sessions_kill: end every session the test started (a detached session
# outlives its terminal: the tmux server going away does not end it).
t_sessions_kill() {
	local s f pid
	for s in "$XDG_RUNTIME_DIR"/tokmux/*; do
		[ -S "$s" ] && timeout 10 "$TOKMUX" kill-session -t "${s##*/}" >/dev/null 2>&1
	done
	# a server stopped or stuck: its pid is in its state file
	for f in "$XDG_STATE_HOME"/tokmux/sessions/*.json; do
		[ -f "$f" ] || continue
		pid=$(sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$f")
		[ -n "$pid" ] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = tokmux ] &&
			kill -9 "$pid" 2>/dev/null
	done
	return 0
}

t_cleanup() {
	tmux -L "$T_SOCK" kill-server 2>/dev/null || true
	for p in ${T_PIDS:-}; do kill "$p" 2>/dev/null || true; done
	t_sessions_kill
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

fail() {
	echo "FAIL: $*"
	if tmux -L "$T_SOCK" has-session 2>/dev/null; then
		echo "--- screen:"
		tmux -L "$T_SOCK" capture-pane -p -t t | sed 's/ *$//'
	fi
	exit 1
}

# t_start W H CMD...: start CMD in a detached tmux session of W x H.
t_start() {
	local w=$1 h=$2
	shift 2
	tmux -L "$T_SOCK" -f /dev/null new-session -d -s t -x "$w" -y "$h" \
		"env TERM=xterm-256color $*; echo TOKMUX-EXIT=\$?; sleep 60"
	tmux -L "$T_SOCK" set -g status off
	tmux -L "$T_SOCK" set -g escape-time 0
}

t_screen() { tmux -L "$T_SOCK" capture-pane -p -t t; }
t_keys() { tmux -L "$T_SOCK" send-keys -t t "$@"; }
t_text() { tmux -L "$T_SOCK" send-keys -t t -l "$1"; }

# t_wait PATTERN [SECONDS]: wait until the screen matches the grep -E pattern.
t_wait() {
	local pat=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		t_screen | grep -qE -- "$pat" && return 0
		sleep 0.05
	done
	fail "timed out waiting for /$pat/"
}

# t_wait_gone PATTERN [SECONDS]
t_wait_gone() {
	local pat=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		t_screen | grep -qE -- "$pat" || return 0
		sleep 0.05
	done
	fail "timed out waiting for /$pat/ to go away"
}

# t_pos PATTERN: "row col" (0-based) of the first match on the screen.
t_pos() {
	t_screen | awk -v pat="$1" '{ i = index($0, pat); if (i > 0) { print NR - 1, i - 1; exit } }'
}
