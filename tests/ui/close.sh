# x on a running pane asks; c opens a new pane (up to 4).
. tests/lib.sh
t_start 200 50 "$TOKMUX" -n 1
t_wait "▶ 1 pane 1"
t_keys C-g c
t_wait "▶ 2 pane 2"
t_keys C-g c
t_keys C-g c
t_wait "▶ 4 pane 4"
t_keys C-g c
t_wait "at most 4 panes"
t_keys C-g x
t_wait "Close pane 4"
t_keys y
t_wait_gone " 4 pane 4"
t_wait "▶ 3 pane 3"
echo ok
