# Issue 19: a long line of a shell's output is rewrapped when the pane
# narrows (it was cut, its end hidden) and joined again when it widens;
# the prompt's cursor stays after the prompt.
. tests/lib.sh
line="L$(printf 'a%.0s' $(seq 1 100))Z"
t_start 160 20 "$TOKMUX" -n 1 --no-gateway -e "'echo $line; printf \"\\\$ \"; exec cat'"
t_wait "aZ"
t_screen | grep -qE "^$line( |\$)" || fail "the line is not on one row at first"
tmux -L "$T_SOCK" resize-window -t t -x 80 -y 20
# narrower: the line goes on over several rows, its end is not lost
t_wait "^a+Z( |$)"
t_screen | grep -q "^La" || fail "the start of the line is gone"
n=$(t_screen | grep -E '^L?a+Z?( |$)' | tr -cd 'a' | wc -c)
[ "$n" -eq 100 ] || fail "narrow: $n of 100 a's on screen"
tmux -L "$T_SOCK" resize-window -t t -x 160 -y 20
t_wait "^$line( |$)"
# the cursor is still after the prompt: typing lands there
t_text "typed"
t_wait '^\$ typed'
echo ok
