# Resizing the outer terminal relays the panes out, down to 20x6, during output.
. tests/lib.sh
t_start 200 50 "$TOKMUX" -e "'i=0; while [ \$i -lt 4000 ]; do echo line-\$i; i=\$((i+1)); done; echo FLOOD-\$i-DONE; exec cat'" \
	-e "'m=STILL; echo \$m-HERE; exec cat'"
t_wait STILL-HERE
for size in "100 30" "20 6" "7 3" "160 40" "40 10" "200 50"; do
	set -- $size
	tmux -L "$T_SOCK" resize-window -t t -x "$1" -y "$2"
	sleep 0.2
	t_screen | grep -q "TOKMUX-EXIT" && fail "tokmux exited at $1x$2"
done
t_wait FLOOD-4000-DONE 20
t_wait STILL-HERE
# the panes still work after all that
t_keys C-g 2
t_text "after-resize"; t_keys Enter
t_wait after-resize
echo ok
