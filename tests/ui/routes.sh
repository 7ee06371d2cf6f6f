# Every pane gets a gateway route, and a session has 16. Once they are used
# up (panes closed and opened again), a new pane is refused with a message
# instead of starting without ANTHROPIC_BASE_URL, unmetered and past its
# ceilings.
. tests/lib.sh
t_start 200 50 "$TOKMUX" -n 4
t_wait " 4 pane 4"
t_keys C-g 4
t_wait "▶ 4 pane 4"
for i in $(seq 12); do          # routes 4..15
	t_keys C-g x
	t_wait "Close pane 4"
	t_keys y
	t_wait_gone " 4 pane 4"
	t_keys C-g c
	t_wait "▶ 4 pane 4"
done
t_keys -l 'echo URL=$ANTHROPIC_BASE_URL'
t_keys Enter
t_wait "URL=http://127.0.0.1:[0-9]+/p/[0-9a-f]{32}"
t_keys C-g x
t_wait "Close pane 4"
t_keys y
t_wait_gone " 4 pane 4"
t_keys C-g c
t_wait "no gateway route left"
sleep 0.3
t_screen | grep -q " 4 pane 4" && fail "a pane without a gateway route was opened"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0"
echo ok
