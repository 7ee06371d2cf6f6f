# Resizing the outer terminal relays the panes out, down to 7x3, and back:
# no line of pane output may be lost. Pane 0's last line was drawn at full
# width and is cut to 9 then 3 columns on the way (there is no reflow, the
# hidden cells must come back); pane 1 prints during the resizes, lines
# short enough never to wrap even at 3 columns.
. tests/lib.sh
t_start 200 50 "$TOKMUX" -e "'i=0; while [ \$i -lt 4000 ]; do echo l-\$i; i=\$((i+1)); done; echo FLOOD-\$i-DONE; exec cat'" \
	-e "'i=0; while [ \$i -lt 40 ]; do echo t\$i; sleep 0.05; i=\$((i+1)); done; echo END; exec cat'"
t_wait FLOOD-4000-DONE 20
for size in "100 30" "20 6" "7 3" "160 40" "40 10" "200 50"; do
	set -- $size
	tmux -L "$T_SOCK" resize-window -t t -x "$1" -y "$2"
	sleep 0.2
	t_screen | grep -q "TOKMUX-EXIT" && fail "tokmux exited at $1x$2"
done
# t_below TEXT: the text below TEXT's first match, from the same column.
t_below() {
	set -- $(t_pos "$1")
	[ $# -eq 2 ] || return 0
	t_screen | sed -n "$(($1 + 2))p" | cut -c$(($2 + 1))- | awk '{ print $1 }'
}
t_wait "FLOOD-4000-DONE" 5
for ((i = 0; i < 100; i++)); do
	[ "$(t_below t39)" = END ] && break
	sleep 0.05
done
[ "$(t_below l-3999)" = FLOOD-4000-DONE ] || fail "l-3999 not followed by FLOOD-4000-DONE"
[ "$(t_below t38)" = t39 ] || fail "t38 not followed by t39"
[ "$(t_below t39)" = END ] || fail "t39 not followed by END"
# the panes still work after all that
t_keys C-g 2
t_text "after-resize"; t_keys Enter
t_wait after-resize
echo ok
