#!/usr/bin/env bash
# Installs the real coding agents (Claude Code, OpenCode, Codex CLI) with npm
# into a private cache directory, for the agent integration tests. Idempotent:
# a package already installed at the pinned version is left alone.
#
#   tests/agents-install.sh [DIR]      (default: $TOKMUX_AGENT_CACHE or
#                                       $HOME/.cache/tokmux-agents)
# Prints "bin DIR/node_modules/.bin" on success. If npm is not installed it
# prints "SKIP: npm unavailable" and exits 0; an npm failure exits 1.
# npm is needed only when something is missing from the cache.
#
# Pinned versions (verified offline against tokmux mock + gateway):
#   @anthropic-ai/claude-code 2.1.332  (native binary; npm warns engines
#                                       node>=22, but it runs with node 20)
#   opencode-ai               1.18.33  (native binary)
#   @openai/codex             0.171.0  (node launcher + native binary)
# Override one with e.g. TOKMUX_CLAUDE_VERSION=latest.
set -u
dir=${1:-${TOKMUX_AGENT_CACHE:-$HOME/.cache/tokmux-agents}}
pkgs=(
	"@anthropic-ai/claude-code@${TOKMUX_CLAUDE_VERSION:-2.1.332}"
	"opencode-ai@${TOKMUX_OPENCODE_VERSION:-1.18.33}"
	"@openai/codex@${TOKMUX_CODEX_VERSION:-0.171.0}"
)

# installed NAME VERSION: the package is in DIR at that version.
installed() {
	local pj="$dir/node_modules/$1/package.json" v
	[ -f "$pj" ] || return 1
	[ "$2" = latest ] && return 0
	v=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pj" | head -n 1)
	[ "$v" = "$2" ]
}

missing=()
for p in "${pkgs[@]}"; do
	name=${p%@*} ver=${p##*@}
	installed "$name" "$ver" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	# npm is only needed when something is missing from the cache.
	if ! command -v npm >/dev/null 2>&1; then
		echo "SKIP: npm unavailable (cannot install ${missing[*]})"
		exit 0
	fi
	mkdir -p "$dir" || exit 1
	echo "installing ${missing[*]} into $dir" >&2
	# One install for all, so npm keeps every package in one tree.
	if ! npm install --prefix "$dir" --no-audit --no-fund \
		--loglevel=error "${pkgs[@]}" >&2; then
		echo "agents-install: npm install failed" >&2
		exit 1
	fi
fi
for b in claude opencode codex; do
	[ -x "$dir/node_modules/.bin/$b" ] || { echo "agents-install: $b missing in $dir" >&2; exit 1; }
done
echo "bin $dir/node_modules/.bin"
