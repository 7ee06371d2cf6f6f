# Issue 19, what a person sees of modes, cursor and state in a pane:
# several modes in one DECSET (cvvis shows the cursor again), CSI s/u,
# DECSC/DECRC keeping line drawing, DECCOLM clearing a stale frame, mode 47,
# a nested 1049 returning the shell's cursor, CSI 3 J emptying scrollback,
# five combining marks, a title changed twice.
. tests/lib.sh
cat >"$T_TMP/modes.sh" <<'SH'
step() { read -r _; printf '\033[H\033[2J'; }
printf '\033[?25lHIDDEN'; step
printf '\033[?12;25hSHOWN'; step
printf 'AB\033[s\033[5;30Hfar\033[uCD\r\n'
printf '\033(0\0337\033(Blqqk\0338lqqk\033(B\r\n'
printf 'e\314\201\314\202\314\203\314\204\314\205x\r\nSTAGE2'; step
printf 'stale frame\033[?3lafter\r\nSTAGE3'; step
printf 'primary\033[?47h\033[Halt47'; step
printf '\033[?47lBACK\r\n'; step
printf '$ \033[?1049h\033[Hvim\033[?1049h\033[5;5Hinner\033[?1049lls\r\nNESTED'; step
seq 1 300; printf '\033[H\033[2J\033[3JCLEARED'; step
printf '\033]2;first\a'; sleep 0.5; printf '\033]2;second\aTITLED'
exec cat
SH
t_start 120 16 "$TOKMUX" -n 1 --no-gateway -e "'sh $T_TMP/modes.sh'"
cursor() { tmux -L "$T_SOCK" display -p -t t '#{cursor_flag}'; }
wait_cursor() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(cursor)" = "$1" ] && return 0
		sleep 0.05
	done
	fail "cursor_flag is $(cursor), want $1 ($2)"
}
t_wait "HIDDEN"
wait_cursor 0 "after ?25l"
t_keys Enter
t_wait "SHOWN"
wait_cursor 1 "?12;25h (cvvis) shows it again"
t_keys Enter
t_wait "STAGE2"
t_screen | grep -q "^ABCD " || fail "CSI s/u: ABCD not together"
t_screen | grep -q "^┌──┐" || fail "DECRC lost the line drawing set"
t_screen | grep -q "^e"$'\xcc\x81\xcc\x82\xcc\x83\xcc\x84\xcc\x85'"x" ||
	fail "five combining marks"
t_keys Enter
t_wait "STAGE3"
t_screen | grep -q "stale frame" && fail "DECCOLM left the stale frame"
t_screen | grep -q "^after" || fail "DECCOLM: after at home"
t_keys Enter
t_wait "^alt47"
t_screen | grep -q "primary" && fail "mode 47: the primary screen shows"
t_keys Enter
# 47 keeps the cursor where it was (the last step homed it): over "primary"
t_wait "^BACKary"
t_keys Enter
t_wait "NESTED"
t_screen | grep -q '^\$ ls' || fail "nested 1049: the shell's cursor was lost"
t_keys Enter
t_wait "CLEARED"
t_keys C-g "["
t_keys PageUp
sleep 0.3
t_screen | grep -qE "^(29[0-9]|300) " && fail "CSI 3 J left the scrollback"
t_keys q
t_keys Enter
t_wait "TITLED"
t_wait "pane 1 · .* : second"
echo ok
