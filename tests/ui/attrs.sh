# Issue 19: attributes and colours reach the outer terminal. With a
# terminfo that says it can (Smulx, Setulc, Smol, Tc): dim, hidden,
# strikethrough, overline, curly underline, underline colour, true colour;
# SGR sub-parameters as xterm reads them (4;58;5;196 does not blink,
# 38:2::255:0:0 is red). Then with plain xterm-256color: the fallbacks.
. tests/lib.sh
. tests/termlib.sh
tl_terminfo
cat >"$T_TMP/attrs.sh" <<'SH'
printf 'A\033[2mdim\033[0m B\033[8mhid\033[0m C\033[9mstrk\033[0m D\033[53mover\033[0m'
printf ' E\033[4:3mcurly\033[0m F\033[4;58;5;196mulc\033[0m G\033[38:2::255:0:0mred\033[0m'
printf ' H\033[38;2;1;2;3mtc\033[0m I\033[4:5;58:2::0:0:255mdash\033[0m DONE\n'
exec cat
SH
t_start 140 12 env TERM=tokmux-test COLORTERM= "$TOKMUX" -n 1 --no-gateway -e "'sh $T_TMP/attrs.sh'"
t_wait "DONE"
tl_has 1 '\033[2mdim' "dim"
tl_has 1 '\033[8mhid' "hidden"
tl_has 1 '\033[9mstrk' "strikethrough"
# tmux 3.3a shows overline (53) as 5:3 in capture-pane
tl_row 1 | grep -qE $'\033\\[(53|5:3)mover' || fail "overline: $(tl_row 1 | cat -v)"
tl_has 1 '\033[4:3mcurly' "curly underline"
tl_has 1 '\033[4m\033[58;2;255;0;0mulc' "underline colour (and no blink)"
tl_has 1 '\033[38;2;255;0;0mred' "38:2::255:0:0"
tl_has 1 '\033[38;2;1;2;3mtc' "true colour"
tl_has 1 '\033[4:5m\033[58;2;0;0;255mdash' "dashed underline in blue"
tl_hasnt 1 '\033[5m' "blink"
tl_next

# The same on plain xterm-256color: what ncurses can say.
t_start 140 12 env TERM=xterm-256color COLORTERM= "$TOKMUX" -n 1 --no-gateway -e "'sh $T_TMP/attrs.sh'"
t_wait "DONE"
tl_has 1 '\033[2mdim' "dim"
tl_has 1 '\033[9mstrk' "strikethrough (smxx)"
tl_has 1 ' Dover E' "overline: none"
tl_has 1 '\033[4mcurly' "a plain underline for curly"
tl_hasnt 1 '58;' "underline colour"
tl_has 1 '\033[38;5;196mred' "red in 256 colours"
tl_has 1 '\033[38;5;16mtc' "true colour mapped to 256"
echo ok
