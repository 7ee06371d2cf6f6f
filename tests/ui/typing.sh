# Typing into a pane while its neighbour streams: every key echoes in the
# focused pane, and the neighbour is neither starved nor loses output while
# the keys' answers are drawn first (the neighbour waits at most a few ms
# per key).
. tests/lib.sh
cat >"$T_TMP/stream.sh" <<'SH'
i=0
while [ $i -lt 400 ]; do
	i=$((i + 1))
	seq 1 200
	echo "tick $i"
	sleep 0.01
done
echo STREAM-DONE
exec cat
SH
t_start 160 40 "$TOKMUX" --no-gateway -e cat -e "'sh $T_TMP/stream.sh'"
t_wait "▶ 1 pane 1"
t_wait "tick [0-9]+"
# one key at a time, as a person types, while the neighbour streams
word=typing-while-streaming-0123456789
for ((k = 0; k < ${#word}; k++)); do
	t_text "${word:k:1}"
	sleep 0.02
done
t_wait "$word"
t_keys Enter
for _ in $(seq 100); do      # the echo, then cat printing the line back
	[ "$(t_screen | grep -c "^$word ")" = 2 ] && break
	sleep 0.05
done
[ "$(t_screen | grep -c "^$word ")" = 2 ] || fail "the typed line did not echo once and print once"
# the neighbour went on: all of its output arrived, the last tick included
t_wait "STREAM-DONE" 30
t_screen | grep -q "tick 400" || fail "the neighbour's last tick is missing"
echo ok
