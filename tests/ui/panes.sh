# Four panes, each printing a marker: every marker shows up in its own quadrant.
. tests/lib.sh
t_start 200 50 "$TOKMUX" \
	-e "'m=ONE; echo MARK-\$m; exec cat'" -e "'m=TWO; echo MARK-\$m; exec cat'" \
	-e "'m=THREE; echo MARK-\$m; exec cat'" -e "'m=FOUR; echo MARK-\$m; exec cat'"
for m in ONE TWO THREE FOUR; do t_wait "MARK-$m"; done
read -r r1 c1 <<<"$(t_pos MARK-ONE)"
read -r r2 c2 <<<"$(t_pos MARK-TWO)"
read -r r3 c3 <<<"$(t_pos MARK-THREE)"
read -r r4 c4 <<<"$(t_pos MARK-FOUR)"
echo "positions: $r1,$c1 $r2,$c2 $r3,$c3 $r4,$c4"
# 2x2 grid: 1 top-left, 2 top-right, 3 bottom-left, 4 bottom-right
[ "$r1" -lt 25 ] && [ "$c1" -lt 80 ] || fail "pane 1 not top-left"
[ "$r2" -lt 25 ] && [ "$c2" -ge 80 ] || fail "pane 2 not top-right"
[ "$r3" -ge 25 ] && [ "$c3" -lt 80 ] || fail "pane 3 not bottom-left"
[ "$r4" -ge 25 ] && [ "$c4" -ge 80 ] || fail "pane 4 not bottom-right"
[ "$r1" -eq "$r2" ] && [ "$r3" -eq "$r4" ] && [ "$c1" -eq "$c3" ] && [ "$c2" -eq "$c4" ] || fail "grid not aligned"
# each pane has a title line naming it, the focused one marked
t_wait "▶ 1 pane 1"
t_screen | grep -q " 4 pane 4" || fail "no title for pane 4"
# the sidebar is on the right (placeholder until the gateway)
t_screen | grep -q "tokmux" || fail "no sidebar"
echo ok
