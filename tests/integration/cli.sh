# Command-line and config errors: one clear line with the program's name
# once, exit 2, never a crash; every front end takes --help and --version
# and parses its options the same way.
. tests/lib.sh
expect() {   # expect CODE PATTERN -- ARGS...
	local code=$1 pat=$2; shift 3
	local out rc
	out=$("$TOKMUX" "$@" 2>&1 </dev/null); rc=$?
	[ "$rc" -eq "$code" ] || fail "tokmux $* exited $rc, wanted $code: $out"
	echo "$out" | grep -qE -- "$pat" || fail "tokmux $* said '$out', wanted /$pat/"
}
# expect_line CODE LINE -- ARGS...: stderr is exactly LINE, stdout is empty
expect_line() {
	local code=$1 want=$2; shift 3
	local out err rc
	out=$("$TOKMUX" "$@" 2>"$T_TMP/err" </dev/null); rc=$?
	err=$(cat "$T_TMP/err")
	[ "$rc" -eq "$code" ] || fail "tokmux $* exited $rc, wanted $code: $err"
	[ "$err" = "$want" ] || fail "tokmux $* said '$err', wanted '$want'"
	[ -z "$out" ] || fail "tokmux $* printed '$out' on stdout"
}
echo '{"panes": [{"name": "a", "cmd": 7}]}' >"$T_TMP/bad.json"
expect 2 "bad.json: key panes\[0\].cmd: expected a non-empty string" -- -c "$T_TMP/bad.json"
echo '{"panes": [' >"$T_TMP/broken.json"
expect 2 "broken.json: invalid JSON at line 1" -- -c "$T_TMP/broken.json"
expect 2 "cannot open" -- -c "$T_TMP/missing.json"
expect 2 "-n: expected a number of panes from 1 to 4" -- -n 7
expect 2 "unknown command \"frobnicate\"" -- frobnicate
expect 0 "usage: tokmux" -- --help
expect 0 "^tokmux [0-9]" -- --version
# a bad default config is reported too
mkdir -p "$XDG_CONFIG_HOME/tokmux"
echo '{"prefix": "g"}' >"$XDG_CONFIG_HOME/tokmux/config.json"
expect 2 "config.json: key prefix: expected a control key" -- -n 1
expect 2 "config.json: key prefix: expected a control key" -- gateway --port 0
# themes: an unknown name, and a bad file naming the file and the key
rm -f "$XDG_CONFIG_HOME/tokmux/config.json"
expect 2 "theme 'nosuch' not found" -- --theme nosuch
echo '{"bar_ok": {"fg": "purple"}}' >"$T_TMP/bad-theme.json"
expect 2 "bad-theme.json: key bar_ok.fg: expected a colour" -- --theme "$T_TMP/bad-theme.json"
# (these must fail on the config or theme, not on the missing terminal)

# Every front end: --help on stdout (exit 0), --version, an unknown option
# and a missing value, each in one line naming the program once.
for cmd in "" gateway report team mock demo sim-agent new attach ls kill-session resume; do
	prog="tokmux${cmd:+ $cmd}"
	out=$("$TOKMUX" $cmd --help 2>&1 </dev/null) || fail "$prog --help exited $?"
	echo "$out" | head -1 | grep -q "^usage: $prog" || fail "$prog --help said: $out"
	echo "$out" | grep -q -- "--version" || fail "$prog --help does not mention --version"
	expect 0 "^tokmux [0-9]+\.[0-9]+\.[0-9]+$" -- $cmd --version
	expect 0 "^usage: $prog" -- $cmd -h
	expect_line 2 "$prog: unknown option \"--bogus\" (try $prog --help)" -- $cmd --bogus
	expect_line 2 "$prog: --help takes no value" -- $cmd --help=1
done
# every command tokmux --help lists is one
for cmd in $("$TOKMUX" --help | sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p'); do
	"$TOKMUX" "$cmd" --help >/dev/null || fail "tokmux --help lists $cmd, which has no --help"
	n=$((${n:-0} + 1))
done
[ "${n:-0}" -eq 11 ] || fail "tokmux --help lists $n commands, wanted 11"

# --port: both spellings on tokmux and gateway; "" and out of range refused
for cmd in "" gateway mock; do
	prog="tokmux${cmd:+ $cmd}"
	expect_line 2 "$prog: --port: expected 0..65535, got \"\"" -- $cmd --port ""
	expect_line 2 "$prog: --port: expected 0..65535, got \"\"" -- $cmd --port=
	expect_line 2 "$prog: --port: expected 0..65535, got \"70000\"" -- $cmd --port=70000
	expect_line 2 "$prog: --port: expected 0..65535, got \"x\"" -- $cmd --port x
	expect_line 2 "$prog: --port needs a value" -- $cmd --port
done
# --port N and --port=N reach the gateway: it serves on that port
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for form in "--port $port" "--port=$port"; do
	# emptied here: the shell truncates a background job's files only when
	# the job starts, so the wait below could read the last round's routes
	: >"$T_TMP/gw.out"
	"$TOKMUX" gateway $form --ledger "$T_TMP/ledger.jsonl" >"$T_TMP/gw.out" 2>"$T_TMP/gw.err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^route default' "$T_TMP/gw.out" 2>/dev/null && break
		sleep 0.05
	done
	grep -q "^route default http://127.0.0.1:$port/p/" "$T_TMP/gw.out" ||
		fail "gateway $form printed '$(cat "$T_TMP/gw.out" "$T_TMP/gw.err")'"
	# the port is taken now: a second gateway says so once, exit 1
	"$TOKMUX" gateway --port "$port" --ledger "$T_TMP/ledger.jsonl" >/dev/null 2>"$T_TMP/gw2.err"
	rc=$?
	kill "$pid"
	wait "$pid"
	[ "$rc" -eq 1 ] || fail "a second gateway on port $port exited $rc"
	grep -qx "tokmux gateway: cannot listen on 127.0.0.1:$port: .*" "$T_TMP/gw2.err" ||
		fail "a second gateway said '$(cat "$T_TMP/gw2.err")'"
done
# tokmux --port N passes the options and fails only on the missing terminal
expect 2 "needs a terminal|not a terminal" -- --port "$port"
expect 2 "needs a terminal|not a terminal" -- --port="$port"

# missing values and bad values, per front end
expect_line 2 "tokmux: -n needs a value" -- -n
expect_line 2 "tokmux: --ceiling: expected a dollar amount (0 blocks), got \"-1\"" -- --ceiling -1
# --pane-ceiling must name a pane (a number 1-4, or a configured name) or route
expect_line 2 "tokmux: --pane-ceiling claude=0.5: no pane or route is named \"claude\" (a number from 1 to 4, or the name of a configured pane)" -- --pane-ceiling claude=0.5
expect_line 2 "tokmux: --pane-ceiling 5=1: no pane or route is named \"5\" (a number from 1 to 4, or the name of a configured pane)" -- --pane-ceiling 5=1
expect_line 2 "tokmux gateway: --pane-ceiling 2=1: no pane or route is named \"2\" (a number from 1 to 1, or the name of a configured pane)" -- gateway --port 0 --pane-ceiling 2=1
expect_line 2 "tokmux: --min-output-tokens: expected a number of output tokens from 1 to 1000000000, got \"0\"" -- --min-output-tokens 0
expect_line 2 "tokmux gateway: --ledger needs a value" -- gateway --ledger
expect_line 2 "tokmux gateway: --pane-ceiling: expected a dollar amount after \"=\", got \"x\"" -- gateway --pane-ceiling 2=x
expect_line 2 "tokmux gateway: unexpected argument \"extra\"" -- gateway --port 0 extra
# sessions: names and arguments
expect_line 2 "tokmux attach: -t: a session name has only letters, digits, '_', '.' and '-' (\"a/b\" does not)" -- attach -t a/b
expect_line 2 "tokmux kill-session: -t: a session name cannot start with '.'" -- kill-session -t .x
expect_line 2 "tokmux new: -s: a session name has 1 to 64 characters" -- new -s ""
expect_line 2 "tokmux resume: unexpected argument \"b\"" -- resume a b
expect_line 2 "tokmux ls: unexpected argument \"extra\"" -- ls extra
expect_line 1 "tokmux attach: no session is running (tokmux new starts one)" -- attach
expect_line 1 "tokmux kill-session: no session is running" -- kill-session
expect_line 1 "tokmux resume: no stopped session to resume (tokmux ls lists the sessions)" -- resume
expect 2 "needs a terminal on stdin and stdout \(or -d\)" -- new -s x
expect_line 2 "tokmux report: --by: expected pane, model, agent, branch, member or team, got \"week\"" -- report --by week
expect_line 2 "tokmux report: unknown view: expected daily, weekly, monthly, session or blocks, got \"yearly\"" -- report yearly
for cmd in "" gateway; do      # the team budget's flags, on both
	prog="tokmux${cmd:+ $cmd}"
	expect_line 2 "$prog: --team-ceiling: expected a period of day, week or month, got \"year\"" -- $cmd --team-ceiling year=5
	expect_line 2 "$prog: --member-ceiling: expected a model family of opus, sonnet or haiku, got \"gpt\"" -- $cmd --member-ceiling day:gpt=5
	expect_line 2 "$prog: --team: expected a team name of 1 to 63 letters, digits, '.', '_' or '-', got \"a b\"" -- $cmd --team "a b"
	expect_line 2 "$prog: --budget-store: expected memory or redis://[:PASSWORD@]HOST[:PORT][/DB]" -- $cmd --budget-store "mysql://u:s3cret@h"
	expect_line 2 "$prog: --budget-fail-open takes no value" -- $cmd --budget-fail-open=yes
done
expect_line 2 "tokmux team: unknown command \"frob\" (expected set or reseed; try tokmux team --help)" -- team frob
expect_line 2 "tokmux team set: unknown option \"--json\" (try tokmux team set --help)" -- team set --json team day=5
expect_line 2 "tokmux report: --since needs a value" -- report --since
expect_line 2 "tokmux mock: --script needs a value" -- mock --script
expect_line 2 "tokmux sim-agent: --api: expected anthropic or openai, got \"x\"" -- sim-agent --api x
expect_line 2 "tokmux sim-agent: --requests: expected 1..200, got \"0\"" -- sim-agent --requests 0
expect_line 2 "tokmux demo: unexpected argument \"now\"" -- demo now
# library errors keep their own words: the program's name once, no other prefix
echo '{"prices": {"m": {"input": 3}}}' >"$T_TMP/prices.json"
expect_line 1 "tokmux gateway: $T_TMP/prices.json: key prices.m.output: expected a number of USD per million tokens (required)" -- gateway --port 0 -c "$T_TMP/prices.json"
: >"$T_TMP/file"    # a file where the ledger's directory should be
expect_line 1 "tokmux gateway: ledger $T_TMP/file/ledger.jsonl: Not a directory" -- gateway --port 0 --ledger "$T_TMP/file/ledger.jsonl"
echo '{"rules": [{"action": "boom"}]}' >"$T_TMP/script.json"
expect 1 "^tokmux mock: $T_TMP/script.json: key rules\[0\].action: expected one of ok" -- mock --port 0 --script "$T_TMP/script.json"
echo ok
