# The outer terminal is told of a pane that needs the user: with notify_osc
# "osc9" tokmux writes one OSC 9 notification (what the pane needs, never a
# control character of the program's text) per change, and none for the
# focused pane. tokmux runs under script(1), which records every byte it
# writes to its terminal.
. tests/lib.sh
command -v script >/dev/null || { echo "SKIP: no script(1)"; exit 77; }
mkfifo "$T_TMP/fifo"
cat >"$T_TMP/cfg.json" <<JSON
{"notify_osc": "osc9", "panes": [{"name": "shell"}, {"name": "agent"}]}
JSON
REC=$T_TMP/typescript
t_start 160 40 script -qfc "\"$TOKMUX -c $T_TMP/cfg.json --no-gateway -e cat -e 'bash $PWD/tests/progs/status-agent.sh $T_TMP/fifo'\"" "$REC"
say() { echo "$*" >"$T_TMP/fifo"; }
t_wait "STATUS-ANSWERED"
say working
t_wait " 2 agent · working"
say "permission approve Bash: rm -rf x"
t_wait " 2 agent · needs input: permission"
say "permission approve Bash: rm -rf x"     # no change: no second notification
say working
t_wait " 2 agent · working"
say done
t_wait " 2 agent · idle \[!\]"
sleep 0.3
count() { grep -aoF -- "$1" "$REC" | wc -l; }
want=$'\e]9;tokmux: pane 2 agent: needs input: permission - approve Bash: rm -rf x\a'
[ "$(count "$want")" = 1 ] || fail "the OSC 9 for the permission was written $(count "$want") times"
want=$'\e]9;tokmux: pane 2 agent: turn over\a'
[ "$(count "$want")" = 1 ] || fail "the OSC 9 for the turn's end was written $(count "$want") times"
[ "$(count $'\e]9;')" = 2 ] || fail "$(count $'\e]9;') OSC 9 notifications, not 2"
# the focused pane is not told
t_keys C-g 2
t_wait "▶ 2 agent"
say working
t_wait "▶ 2 agent · working"
say done
t_wait "▶ 2 agent · idle"
sleep 0.3
[ "$(count $'\e]9;')" = 2 ] || fail "the focused pane was told"
echo ok
