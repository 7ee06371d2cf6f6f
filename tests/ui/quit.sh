# Quit asks first; n keeps going, y ends tokmux and every pane.
. tests/lib.sh
t_start 120 30 "$TOKMUX" -n 2
t_wait "▶ 1 pane 1"
t_keys C-g q
t_wait "Quit tokmux"
t_keys n
t_wait_gone "Quit tokmux"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0"
echo ok
