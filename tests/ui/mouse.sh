# Mouse: a click focuses the pane under it; the wheel scrolls a pane's
# scrollback. Mouse reports are typed into tokmux's terminal in the SGR form
# xterm-256color's terminfo announces (ESC [ < button ; col ; row M/m, 1-based).
. tests/lib.sh
t_start 120 40 "$TOKMUX" -e "'seq 1 500; exec cat'" -e "'m=TWO; echo PANE-\$m; exec cat'"
t_wait "PANE-TWO"
t_wait "▶ 1 pane 1"
# left click at column 60, row 5: pane 2
t_text $'\e[<0;61;6M'
t_text $'\e[<0;61;6m'
t_wait "▶ 2 pane 2"
# typed text now lands in pane 2
t_text "typed-after-click"; t_keys Enter
t_wait "typed-after-click"
read -r _ c <<<"$(t_pos typed-after-click)"
[ "$c" -ge 40 ] || fail "text went to pane 1 (col $c)"
# wheel up over pane 1 (column 5, row 10): scrolls it back 3 lines and focuses it
t_text $'\e[<64;6;11M'
t_wait "▶ 1 pane 1 .*scrollback -3"
t_text $'\e[<64;6;11M'
t_wait "scrollback -6"
# wheel down twice returns to the live screen
t_text $'\e[<65;6;11M'
t_text $'\e[<65;6;11M'
t_wait_gone "scrollback -"
t_wait "^500 "
echo ok
