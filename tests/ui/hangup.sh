# Losing the terminal detaches, it never ends the session: the outer tmux
# server is killed (the client gets SIGHUP, its terminal is gone). The
# session is still listed; a pane counting in a loop kept counting; a scripted
# agent's requests through the gateway to the mock kept being metered (the
# ledger grows while nobody is attached); attaching from a new terminal shows
# the counter further on and the sidebar with every request.
. tests/lib.sh
"$TOKMUX" mock --port 0 --quiet --log "$T_TMP/mock.jsonl" >"$T_TMP/mock.out" 2>&1 &
T_PIDS=$!
for _ in $(seq 100); do grep -q listening "$T_TMP/mock.out" && break; sleep 0.05; done
MOCK=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$MOCK" ] || fail "mock did not start"
LEDGER=$T_TMP/ledger.jsonl
cat >"$T_TMP/agent.sh" <<'SH'
i=0
while [ $i -lt 400 ]; do
	i=$((i + 1))
	curl -s -o /dev/null "$ANTHROPIC_BASE_URL/v1/messages" -H x-api-key:hangup-key \
	    -H content-type:application/json \
	    -d '{"model":"claude-haiku-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}'
	echo "request $i"
	sleep 0.2
done
SH
export AGENT="$T_TMP/agent.sh" COUNT="$T_TMP/count"
t_start 160 40 "$TOKMUX" -s hup --anthropic-upstream "$MOCK" --ledger "$LEDGER" -n 2 \
	-e "'i=0; while [ \$i -lt 3000 ]; do i=\$((i+1)); echo count \$i; echo \$i >\$COUNT; sleep 0.1; done'" \
	-e "'sh \$AGENT'"
t_wait "count [0-9]+"
t_wait " [3-9] req|[1-9][0-9]+ req"
before=$(t_screen | sed -n 's/^count \([0-9]*\) .*/\1/p' | tail -1)
lines_before=$(t_outcomes "$LEDGER" | grep -c .)
echo "attached: count $before, $lines_before requests in the ledger"
# the terminal goes away: tmux's server and every pane of it, the client's included
tmux -L "$T_SOCK" kill-server
for _ in $(seq 50); do "$TOKMUX" ls | grep -q "^hup: .*not attached" && break; sleep 0.1; done
"$TOKMUX" ls | grep -q "^hup: 2 panes (created .*), not attached, \$[0-9.]*$" ||
	fail "after the hang-up tokmux ls says: $("$TOKMUX" ls)"
# nobody attached: the agent's requests are metered all the same
for _ in $(seq 100); do
	[ "$(t_outcomes "$LEDGER" | grep -c .)" -ge $((lines_before + 5)) ] && break
	sleep 0.1
done
lines_detached=$(t_outcomes "$LEDGER" | grep -c .)
[ "$lines_detached" -ge $((lines_before + 5)) ] ||
	fail "detached, the ledger went from $lines_before to only $lines_detached requests"
# and the counting pane counts on (it writes its count to a file too)
count() {   # (a read can catch the file mid-write, empty: read again)
	local v="" i
	for ((i = 0; i < 20 && ${#v} == 0; i++)); do v=$(cat "$COUNT" 2>/dev/null); done
	echo "${v:-0}"
}
c1=$(count)
for _ in $(seq 100); do [ "$(count)" -gt $((c1 + 3)) ] && break; sleep 0.1; done
c2=$(count)
[ "$c2" -gt $((c1 + 3)) ] || fail "detached, the counting pane went from $c1 to $c2 only"
echo "detached: the count went from $c1 to $c2, $lines_detached requests in the ledger"
# a new terminal (a new tmux server) attaches
t_start 160 40 "$TOKMUX" attach -t hup
t_wait "▶ 1 pane 1"
t_wait "count [0-9]+"
after=$(t_screen | sed -n 's/^count \([0-9]*\) .*/\1/p' | tail -1)
echo "attached again: count $after, $lines_detached+ requests in the ledger"
[ "$after" -ge "$c2" ] || fail "the screen shows count $after, the pane had counted to $c2"
# the sidebar counts what was metered while detached: at least that many requests
shown=$(t_screen | sed -n 's/.*│ \([0-9]*\) req  429.*/\1/p' | head -1)
[ -n "$shown" ] && [ "$shown" -ge "$lines_detached" ] ||
	fail "the sidebar shows '$shown' requests, the ledger had $lines_detached"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0"
echo ok
