# A BEL from a pane that is not focused marks its title until it is focused.
. tests/lib.sh
t_start 160 40 "$TOKMUX" -e cat -e "'sleep 1; printf \"\\\\a\"; m=RANG; echo BELL-\$m; exec cat'"
t_wait "BELL-RANG"
t_wait " 2 pane 2 · .*\[bell\]"
t_keys C-g 2
t_wait "▶ 2 pane 2"
t_wait_gone "\[bell\]"
echo ok
