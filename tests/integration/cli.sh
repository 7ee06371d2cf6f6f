# Command-line and config errors: one clear line, exit 2, never a crash.
. tests/lib.sh
expect() {   # expect CODE PATTERN -- ARGS...
	local code=$1 pat=$2; shift 3
	local out rc
	out=$("$TOKMUX" "$@" 2>&1 </dev/null); rc=$?
	[ "$rc" -eq "$code" ] || fail "tokmux $* exited $rc, wanted $code: $out"
	echo "$out" | grep -qE -- "$pat" || fail "tokmux $* said '$out', wanted /$pat/"
}
echo '{"panes": [{"name": "a", "cmd": 7}]}' >"$T_TMP/bad.json"
expect 2 "bad.json: key panes\[0\].cmd: expected a non-empty string" -- -c "$T_TMP/bad.json"
echo '{"panes": [' >"$T_TMP/broken.json"
expect 2 "broken.json: invalid JSON at line 1" -- -c "$T_TMP/broken.json"
expect 2 "cannot open" -- -c "$T_TMP/missing.json"
expect 2 "-n: expected a number of panes from 1 to 4" -- -n 7
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 0 "usage: tokmux" -- --help
expect 0 "^tokmux [0-9]" -- --version
# a bad default config is reported too
mkdir -p "$XDG_CONFIG_HOME/tokmux"
echo '{"prefix": "g"}' >"$XDG_CONFIG_HOME/tokmux/config.json"
expect 2 "config.json: key prefix: expected a control key" -- -n 1
# themes: an unknown name, and a bad file naming the file and the key
rm -f "$XDG_CONFIG_HOME/tokmux/config.json"
expect 2 "theme 'nosuch' not found" -- --theme nosuch
echo '{"bar_ok": {"fg": "purple"}}' >"$T_TMP/bad-theme.json"
expect 2 "bad-theme.json: key bar_ok.fg: expected a colour" -- --theme "$T_TMP/bad-theme.json"
# (these must fail on the config or theme, not on the missing terminal)
echo ok
