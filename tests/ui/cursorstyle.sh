# Issue 19: DECSCUSR cursor styles reach the outer terminal for the
# focused pane (Ss), and the terminal's own style comes back (Se) when the
# focused pane has none and when tokmux ends. Checked on the bytes tokmux
# writes to its terminal (tmux shows no cursor style).
. tests/lib.sh
. tests/termlib.sh
t_start 120 20 "$(tl_logged "$TOKMUX" -n 2 --no-gateway \
	-e "'printf \"\\\\033[5 qBAR\"; exec cat'" -e "'echo PLAIN; exec cat'")"
t_wait "BAR"
t_wait "PLAIN"
tl_wait_log '\^\[\[5 q'
# since PANE took focus, tokmux wrote the style PATTERN (cat -v form)
focus_writes() {
	local before i
	before=$(wc -c <"$T_TMP/bytes.log")
	t_keys C-g "$1"
	t_wait "▶ $1 pane $1"
	for ((i = 0; i < 100; i++)); do
		tail -c +"$((before + 1))" "$T_TMP/bytes.log" | cat -v | grep -q "$2" && return 0
		sleep 0.05
	done
	fail "$3"
}
# pane 2 never set one: back to the terminal's own (Se of xterm-256color)
focus_writes 2 '\^\[\[2 q' "no Se when pane 2 took focus"
focus_writes 1 '\^\[\[5 q' "pane 1's bar did not come back with its focus"
before=$(wc -c <"$T_TMP/bytes.log")
t_keys C-g q
t_wait "TOKMUX-EXIT|Quit" 10
t_screen | grep -q "Quit tokmux" && t_keys y
t_wait "TOKMUX-EXIT=0"
tail -c +"$((before + 1))" "$T_TMP/bytes.log" | cat -v | grep -q '\^\[\[2 q' ||
	fail "the terminal's own cursor style was not restored at exit"
echo ok
