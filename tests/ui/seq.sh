# 200000 lines through a pane: nothing dropped, the last line is 200000.
. tests/lib.sh
t_start 200 50 "$TOKMUX" -n 1 -e "'seq 1 200000; exec cat'"
t_wait "^ *200000 *" 60
# the line before it is 199999: no lines lost at the end
t_screen | grep -B1 -E "^ *200000 *$" | head -1 | grep -qE "^ *199999 *$" || fail "199999 not just above 200000"
# scrollback holds the lines before the screen: scroll up a page and see them
t_keys C-g "["
t_keys PageUp
t_wait "^ *1999[0-4][0-9] *$"
t_keys q
t_wait "^ *200000 *$"
echo ok
