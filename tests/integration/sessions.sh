# Sessions without a terminal: start detached (-d), list, name rules, one
# name at a time; a client of another version is refused with a message
# naming both; a socket left by a server killed with -9 is found out and
# removed (ls, attach) and the name is free again; the socket directory is
# private (0700, ours) and a wrong one is refused; another user can neither
# use the directory nor, given a way in, talk to the server (SO_PEERCRED);
# kill-session ends a session and its state file.
. tests/lib.sh
RUN=$XDG_RUNTIME_DIR/tokmux
"$TOKMUX" new -d -s one -n 2 --no-gateway || fail "new -d -s one failed"
"$TOKMUX" new -d -n 1 --no-gateway || fail "new -d failed"
out=$("$TOKMUX" ls)
echo "$out"
echo "$out" | grep -q "^0: 1 pane (created .*), not attached, not metered$" || fail "ls: $out"
echo "$out" | grep -q "^one: 2 panes (created .*), not attached, not metered$" || fail "ls: $out"
[ "$(stat -c %a "$RUN")" = 700 ] || fail "the socket directory has mode $(stat -c %a "$RUN")"
[ "$(stat -c %a "$RUN/one")" = 600 ] || fail "the socket has mode $(stat -c %a "$RUN/one")"
# names: rules, and one server per name
out=$("$TOKMUX" new -d -s one --no-gateway 2>&1) && fail "a second session one started"
[ "$out" = "tokmux new: a session named one is running" ] || fail "second one: '$out'"
out=$("$TOKMUX" new -d -s "a/b" 2>&1) && fail "a session a/b started"
echo "$out" | grep -q "^tokmux new: -s: a session name has only letters" || fail "a/b: '$out'"
# versions: the client says both and gives up
out=$(TOKMUX_TEST_VERSION=9.9.9 "$TOKMUX" attach -t one 2>&1) && fail "a 9.9.9 client attached"
echo "$out" | grep -qx "tokmux attach: session one runs tokmux [0-9.]* (protocol [0-9]*) and this is tokmux 9.9.9 (protocol [0-9]*): different versions cannot talk to each other .*" ||
	fail "version mismatch said: '$out'"
TOKMUX_TEST_VERSION=9.9.9 "$TOKMUX" ls | grep -q "^one: session one runs tokmux .* and this is tokmux 9.9.9" ||
	fail "ls of another version: $(TOKMUX_TEST_VERSION=9.9.9 "$TOKMUX" ls)"
# a server killed with -9 leaves its socket: attach finds out and removes it
pid=$(sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$XDG_STATE_HOME/tokmux/sessions/0.json")
[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = tokmux ] || fail "no server pid for session 0 ($pid)"
kill -9 "$pid"
for _ in $(seq 50); do [ -d /proc/"$pid" ] || break; sleep 0.05; done
[ -S "$RUN/0" ] || fail "the killed server's socket is not there to find"
out=$("$TOKMUX" attach -t 0 2>&1) && fail "attached to a dead session"
[ "$out" = "tokmux attach: no session 0 (its server had died: removed the socket it left)" ] ||
	fail "attach to a dead server said '$out'"
[ ! -e "$RUN/0" ] || fail "the stale socket is still there"
# ... and so does ls, silently, listing the session as stopped (resumable)
"$TOKMUX" new -d -s two -n 1 --no-gateway
pid=$(sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$XDG_STATE_HOME/tokmux/sessions/two.json")
kill -9 "$pid"
for _ in $(seq 50); do [ -d /proc/"$pid" ] || break; sleep 0.05; done
out=$("$TOKMUX" ls)
! echo "$out" | grep -q "^two:" || fail "ls lists a dead session: $out"
echo "$out" | grep -q "^stopped (tokmux resume NAME opens one again): .*two" || fail "ls: $out"
[ ! -e "$RUN/two" ] || fail "ls left the stale socket"
"$TOKMUX" new -d -s two -n 1 --no-gateway || fail "the name two is not free again"
"$TOKMUX" kill-session -t two || fail "kill-session -t two failed"
# the directory must be ours and private
chmod 755 "$RUN"
out=$("$TOKMUX" ls 2>&1) && fail "ls used a directory of mode 755"
echo "$out" | grep -q "has mode 755: others could reach your sessions; refusing to use it" || fail "755: '$out'"
chmod 700 "$RUN"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	# a directory made by someone else is refused (we are root: nobody's)
	mkdir -p "$T_TMP/other/tokmux"
	chown nobody "$T_TMP/other/tokmux"
	out=$(XDG_RUNTIME_DIR="$T_TMP/other" "$TOKMUX" ls 2>&1) && fail "ls used nobody's directory"
	echo "$out" | grep -q "belongs to user $(id -u nobody), not to you (0): refusing to use it" ||
		fail "nobody's directory: '$out'"
	# nobody cannot get in: without search permission, or (let in) it is not
	# nobody's directory
	out=$(as_nobody env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$TOKMUX" attach -t one 2>&1) &&
		fail "nobody attached"
	echo "$out" | grep -q "Permission denied" || fail "nobody's attach said '$out'"
	chmod 711 "$XDG_RUNTIME_DIR" "$T_TMP" "$RUN"
	out=$(as_nobody env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$TOKMUX" attach -t one 2>&1) &&
		fail "nobody attached"
	echo "$out" | grep -q "belongs to user 0, not to you" || fail "nobody's attach said '$out'"
	# given a way in (the socket opened up too), the server still refuses a
	# peer of another uid: it closes without a word
	chmod 777 "$RUN/one"
	out=$(as_nobody /usr/bin/python3 - "$RUN/one" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
hello = struct.pack("=II32s", 0x6d6b6f74, 1, b"0.1.0")
try:
    s.send(struct.pack("=II", 1, len(hello)) + hello)
    data = s.recv(65536)
    print("answered" if data else "closed")
except (BrokenPipeError, ConnectionResetError):
    print("closed")
except socket.timeout:
    print("timeout")
PY
)
	chmod 700 "$XDG_RUNTIME_DIR" "$T_TMP" "$RUN"
	chmod 600 "$RUN/one"
	[ "$out" = closed ] || fail "the server let another user's client in: '$out'"
	# the same client as our own user is answered (the check above can fail)
	out=$(python3 - "$RUN/one" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
hello = struct.pack("=II32s", 0x6d6b6f74, 1, b"0.1.0")
s.send(struct.pack("=II", 1, len(hello)) + hello)
print("answered" if s.recv(65536) else "closed")
PY
)
	[ "$out" = answered ] || fail "the server did not answer its own user: '$out'"
else
	echo "not root or no setpriv: the other-user checks are left out"
fi
# kill-session ends it: no socket, no state file, not listed
"$TOKMUX" kill-session -t one || fail "kill-session failed"
[ ! -e "$RUN/one" ] || fail "kill-session left the socket"
[ ! -e "$XDG_STATE_HOME/tokmux/sessions/one.json" ] || fail "kill-session left the state file"
out=$("$TOKMUX" kill-session -t one 2>&1) && fail "killed session one twice"
[ "$out" = "tokmux kill-session: no session one" ] || fail "kill-session again: '$out'"
echo ok
