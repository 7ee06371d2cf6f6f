# The help overlay lists every binding; any key closes it.
. tests/lib.sh
t_start 160 50 "$TOKMUX" -n 2
t_wait "▶ 1 pane 1"
t_keys C-g "?"
t_wait "tokmux keys"
for k in "1-4 " "arrows hjkl" " z " " \[ " " c " " x " " r " " b " " f " " m " " s " "Ctrl-l" " d  .*detach" " q " " \? " "Alt-1" "Mouse" "Sidebar symbols" "429 / 529" "needs input" " n " "subscription"; do
	t_screen | grep -qE -- "$k" || fail "help does not mention '$k'"
done
t_keys Space
t_wait_gone "tokmux keys"
echo ok
