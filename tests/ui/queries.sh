# Issue 19: what modern TUIs ask before drawing is answered in a pane. The
# default colours (OSC 10/11) are the outer terminal's own answer (here
# tmux's, from its window style), else the theme's; XTVERSION, CSI 18 t and
# DA3 are answered; DA1 still is.
. tests/lib.sh
. tests/termlib.sh
reply() { t_screen | grep -o 'REPLY.*END'; }
# tmux knows its colours: tokmux asks at start and tells the panes once
# the answer is in (it comes with the keys, in a few ms; the pane waits a
# little so as not to race it).
tmux -L "$T_SOCK" -f /dev/null new-session -d -s s -x 10 -y 5 'sleep 60'
tmux -L "$T_SOCK" set -g window-style 'fg=#c0c0c0,bg=#202020'
t_start 200 12 "$TOKMUX" -n 1 --no-gateway -e "'sleep 0.5; $(tl_ask '\033]10;?\033\\\033]11;?\a')'"
t_wait "END"
reply | grep -qF ']10;rgb:c0c0/c0c0/c0c0033\033]11;rgb:2020/2020/2020\aEND' ||
	fail "OSC 10/11 from the outer terminal: $(reply)"
tl_next
# tmux does not know: the theme says (dark by default, light for "light").
for theme in default light; do
	t_start 200 12 "$TOKMUX" -n 1 --no-gateway --theme $theme -e "'$(tl_ask '\033]11;?\a')'"
	t_wait "END"
	want=0000/0000/0000
	[ $theme = light ] && want=ffff/ffff/ffff
	reply | grep -q "]11;rgb:$want" || fail "OSC 11 from the $theme theme: $(reply)"
	tl_next
done
# XTVERSION, the text area's size, DA3, DA1.
t_start 200 12 "$TOKMUX" -n 1 --no-gateway -e "'$(tl_ask '\033[>q\033[18t\033[=c\033[c')'"
t_wait "END"
r=$(reply)
echo "$r" | grep -q 'P>|tokmux' || fail "XTVERSION: $r"
rows=$(tmux -L "$T_SOCK" display -p -t t '#{pane_height}')
echo "$r" | grep -qE '\[8;[0-9]+;[0-9]+t' || fail "CSI 18 t: $r"
echo "$r" | grep -q 'P!|00000000' || fail "DA3: $r"
echo "$r" | grep -q '\[?1;2c' || fail "DA1: $r"
[ -n "$rows" ] || fail "no pane height"
echo ok
