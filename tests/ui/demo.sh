# tokmux demo: within 30 s every sidebar feature shows (cost, tokens, cache
# reads and writes, 429s, 529s), four panes show transcripts, pane 4 reaches
# its ceiling; Ctrl-g q y quits with status 0 and
# the demo's temporary ledger directory is gone. The user's ledger is never
# touched.
. tests/lib.sh
mkdir -p "$T_TMP/tmp"
t_start 200 50 "TMPDIR=$T_TMP/tmp" "$TOKMUX" demo
start=$(date +%s)
# every check must hold within 30 s of the start
within() {
	local left=$((start + ${DEMO_SECS:-30} - $(date +%s)))
	t_wait "$1" $((left > 1 ? left : 1))
}
within "refactor"
within "4 bugfix"
within "Read\(src/parser.c\)|Search\(pattern: \"(tok_next|struct token)\"\)"
within "def parse_date|strptime|test_dates|pyproject"
within "Backoff|RetryAfter|retry/"
within "paginate|pageCount"
within 'tokmux +total \$([1-9]|0\.0*[1-9])'
within " in [1-9][0-9.]*k?  out [1-9]"
within "cache r [1-9][0-9.]*k?  w [1-9]"
within "429 [1-9]"
within "529 [1-9]"
within "API error 529 overloaded_error|answered by claude-sonnet|fallback [1-9]"
d=$(echo "$T_TMP"/tmp/tokmux-demo-*)
[ -d "$d" ] || fail "no demo directory in \$TMPDIR"
[ -s "$d/ledger.jsonl" ] || fail "the demo's ledger is empty"
within "ceiling"
[ ! -e "$XDG_STATE_HOME/tokmux/ledger.jsonl" ] || fail "the demo wrote the user's ledger"
echo "features shown after $(($(date +%s) - start)) s"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0" 10
[ ! -e "$d" ] || fail "the demo directory $d is still there"
echo ok
