# Zoom the focused pane to the full pane area and back.
. tests/lib.sh
t_start 200 50 "$TOKMUX" -e "'m=LEFT; echo \$m-MARK; exec cat'" -e "'m=RIGHT; echo \$m-MARK; exec cat'"
t_wait LEFT-MARK
t_wait RIGHT-MARK
t_keys C-g 2
t_wait "▶ 2 pane 2"
t_keys C-g z
t_wait "\[zoom\]"
t_wait_gone LEFT-MARK
read -r r c <<<"$(t_pos RIGHT-MARK)"
[ "$c" -lt 5 ] || fail "zoomed pane does not start at the left edge (col $c)"
t_keys C-g z
t_wait LEFT-MARK
t_wait_gone "\[zoom\]"
echo ok
