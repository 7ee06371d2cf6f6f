# Focus by prefix and by Alt-N: typed text lands only in the focused pane.
. tests/lib.sh
t_start 200 50 "$TOKMUX" -e cat -e cat
t_wait "▶ 1 pane 1"
t_text "alpha-text"; t_keys Enter
t_wait "alpha-text"
t_keys C-g 2
t_wait "▶ 2 pane 2"
t_text "bravo-text"; t_keys Enter
t_wait "bravo-text"
t_keys M-1
t_wait "▶ 1 pane 1"
t_text "charlie-text"; t_keys Enter
t_wait "charlie-text"
# arrows after the prefix
t_keys C-g Right
t_wait "▶ 2 pane 2"
t_text "delta-text"; t_keys Enter
t_wait "delta-text"
read -r _ ca <<<"$(t_pos alpha-text)"
read -r _ cb <<<"$(t_pos bravo-text)"
read -r _ cc <<<"$(t_pos charlie-text)"
read -r _ cd <<<"$(t_pos delta-text)"
echo "cols: $ca $cb $cc $cd"
[ "$ca" -lt 60 ] && [ "$cc" -lt 60 ] || fail "pane 1 text not on the left"
[ "$cb" -ge 60 ] && [ "$cd" -ge 60 ] || fail "pane 2 text not on the right"
# each text appears exactly twice at most (tty echo + cat), never in the other pane
[ "$(t_screen | grep -o 'alpha-text' | wc -l)" -le 2 ] || fail "alpha echoed too often"
# prefix twice sends Ctrl-g through: cat echoes it as ^G
t_keys C-g C-g
t_wait "\^G"
echo ok
