# A child that exits shows its status; r restarts it, x closes it; with no
# panes left tokmux ends.
. tests/lib.sh
t_start 200 50 "$TOKMUX" -n 1 -e "'echo RUN-MARK; exit 3'"
t_wait "exited 3: r restart, x close"
t_keys r
t_wait "RUN-MARK" 
t_wait "exited 3: r restart, x close"
[ "$(t_screen | grep -c RUN-MARK)" -ge 2 ] || fail "restart did not run the command again"
t_keys x
t_wait "TOKMUX-EXIT=0"
echo ok
