# Helpers for UI tests of what tokmux sends to its terminal (issue 19).
# Source after tests/lib.sh.

# tl_terminfo: compile "tokmux-test" into the private $HOME/.terminfo:
# xterm-256color plus what tmux reads for underline styles and colour,
# overline and true colour (Smulx, Setulc, Smol, Tc), and "tokmux-bs":
# xterm-256color whose kbs is ^H.
tl_terminfo() {
	command -v tic >/dev/null || { echo "SKIP: no tic"; exit 77; }
	cat >"$T_TMP/ti.src" <<'TI'
tokmux-test|xterm-256color with extended underline styles and colours,
	Smulx=\E[4:%p1%dm,
	Setulc=\E[58:2::%p1%{65536}%/%d:%p1%{256}%/%{255}%&%d:%p1%{255}%&%d%;m,
	Smol=\E[53m, Tc, use=xterm-256color,
tokmux-bs|xterm-256color whose Backspace is ^H,
	kbs=^H, use=xterm-256color,
TI
	tic -x -o "$HOME/.terminfo" "$T_TMP/ti.src" || fail "tic failed"
}

# tl_row N: screen row N (0 = top) with attributes as SGR (capture-pane -e).
tl_row() { tmux -L "$T_SOCK" capture-pane -p -e -t t | sed -n "$(($1 + 1))p"; }

# tl_has ROW TEXT WHAT: row ROW holds TEXT (a fixed string with escapes
# written as \033), or fail naming WHAT.
tl_has() {
	local want
	want=$(printf '%b' "$2")
	tl_row "$1" | grep -qF -- "$want" ||
		fail "$3: row $1 has no $(printf '%q' "$want"): $(tl_row "$1" | cat -v)"
}

# tl_hasnt ROW TEXT WHAT: the opposite.
tl_hasnt() {
	local want
	want=$(printf '%b' "$2")
	tl_row "$1" | grep -qF -- "$want" &&
		fail "$3: row $1 has $(printf '%q' "$want"): $(tl_row "$1" | cat -v)"
	return 0
}

# tl_wait_log PATTERN [SECONDS]: wait until the byte log (tl_logged) holds
# the extended regex PATTERN (bytes shown by cat -v: ESC is ^[).
tl_wait_log() {
	local pat=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		cat -v "$T_TMP/bytes.log" 2>/dev/null | grep -qE -- "$pat" && return 0
		sleep 0.05
	done
	fail "tokmux never wrote /$pat/; it wrote: $(cat -v "$T_TMP/bytes.log" | tail -c 600)"
}

# tl_logged CMD...: CMD with every byte it writes to its terminal logged in
# $T_TMP/bytes.log (script(1) in between: it passes everything through).
tl_logged() {
	command -v script >/dev/null || { echo "SKIP: no script(1)"; exit 77; }
	printf 'script -q -f -e -c %q %q' "$*" "$T_TMP/bytes.log"
}

# A pane command that shows what the terminal answers to a query: the
# reply's bytes as "REPLY<od -c, no spaces>END" on one line (ESC is 033,
# BEL \a). $1: the query (printf).
tl_ask() {
	cat >"$T_TMP/ask.sh" <<'ASK'
stty raw -echo min 0 time 20
printf "$1"
r=$(head -c 200 | od -An -c | tr -d ' \n')
stty sane
printf 'REPLY%sEND\r\n' "$r"
exec cat
ASK
	printf 'sh %s %q' "$T_TMP/ask.sh" "$1"
}

# tl_next: end this tmux server and use a new one for the next t_start (a
# new session right after kill-server can reach the dying server).
tl_next() {
	tmux -L "$T_SOCK" kill-server 2>/dev/null
	T_SOCK="$T_SOCK-n$((${tl_n:=0} + 1))"
	tl_n=$((tl_n + 1))
}
