#!/usr/bin/env bash
# Installs ccusage (npm) into a private cache directory for the comparison
# test (tests/integration/agent_claude_ccusage.sh). Idempotent: a copy at the
# pinned version is left alone. Prints "bin DIR/node_modules/.bin" on
# success; "SKIP: npm unavailable" (exit 0) when npm is missing and the
# cache has no copy; exit 1 when npm fails.
#
#   tests/ccusage-install.sh [DIR]     (default: $TOKMUX_AGENT_CACHE/ccusage or
#                                       $HOME/.cache/tokmux-agents/ccusage)
#
# Pinned: ccusage 18.0.11, the last release that is plain JavaScript (20.x
# runs a native binary from an optional package the registry does not
# always serve). Override with TOKMUX_CCUSAGE_VERSION.
set -u
dir=${1:-${TOKMUX_AGENT_CACHE:-$HOME/.cache/tokmux-agents}/ccusage}
ver=${TOKMUX_CCUSAGE_VERSION:-18.0.11}
pj="$dir/node_modules/ccusage/package.json"
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pj" 2>/dev/null | head -n 1)
if [ "$have" != "$ver" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "SKIP: npm unavailable (cannot install ccusage@$ver)"
		exit 0
	fi
	mkdir -p "$dir" || exit 1
	echo "installing ccusage@$ver into $dir" >&2
	npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "ccusage@$ver" >&2 ||
		{ echo "ccusage-install: npm install failed" >&2; exit 1; }
fi
[ -x "$dir/node_modules/.bin/ccusage" ] || { echo "ccusage-install: ccusage missing in $dir" >&2; exit 1; }
echo "bin $dir/node_modules/.bin"
