# Random bytes written to a pane (and resizes meanwhile) never crash tokmux.
. tests/lib.sh
t_start 160 40 "$TOKMUX" -e "'head -c 3000000 /dev/urandom; printf \"\\033c\"; m=SURVIVED; echo RANDOM-\$m; exec cat'" -e cat
tmux -L "$T_SOCK" resize-window -t t -x 90 -y 20
sleep 0.3
tmux -L "$T_SOCK" resize-window -t t -x 160 -y 40
t_wait "RANDOM-SURVIVED" 60
t_screen | grep -q "TOKMUX-EXIT" && fail "tokmux exited"
t_keys C-g 2
t_text "still-typing"; t_keys Enter
t_wait "still-typing"
echo ok
