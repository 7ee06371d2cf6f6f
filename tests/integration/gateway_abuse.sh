# `tokmux gateway` in front of `tokmux mock`, probed the way issue 14 did:
# a retry-after of 3000000000 (the key was locked out until a restart, "for
# another -2147483648 s") gives sane waits on /metrics and in the refusal,
# and other keys are served; eight concurrent 60 MB bodies (915 MB peak
# before) stay within the bodies' memory budget, the rest answered 503 with
# retry-after in the API's error shape; requests pipelined behind local
# answers are served; a body announced past the limit gets one 413 and no
# "100 Continue".
. tests/lib.sh
cat >"$T_TMP/script.json" <<'JSON'
{"rules": [{"match": {"request": 1}, "action": "429", "retry_after": "3000000000"}]}
JSON
"$TOKMUX" mock --port 0 --quiet --script "$T_TMP/script.json" >"$T_TMP/mock.out" 2>&1 &
T_PIDS="$!"
for i in $(seq 100); do grep -q listening "$T_TMP/mock.out" 2>/dev/null && break; sleep 0.05; done
mock=$(sed -n 's/.*listening on //p' "$T_TMP/mock.out")
[ -n "$mock" ] || fail "mock did not start: $(cat "$T_TMP/mock.out")"
"$TOKMUX" gateway --port 0 --anthropic-upstream "$mock" --openai-upstream "$mock" \
	--ledger "$T_TMP/ledger.jsonl" >"$T_TMP/gw.out" 2>&1 &
gw=$!
T_PIDS="$T_PIDS $gw"
for i in $(seq 100); do grep -q "^route default" "$T_TMP/gw.out" 2>/dev/null && break; sleep 0.05; done
url=$(awk '$1 == "route" && $2 == "default" { print $3 }' "$T_TMP/gw.out")
[ -n "$url" ] || fail "no route: $(cat "$T_TMP/gw.out")"
base=${url%/p/*}
port=${base##*:}
token=$(cat "$XDG_STATE_HOME/tokmux/metrics-token")

# ask KEY: one request; prints "STATUS RETRY-AFTER" and keeps the body in $T_TMP/body
ask() {
	curl -s -D "$T_TMP/head" -o "$T_TMP/body" -w '%{http_code}' "$url/v1/messages" \
		-H "x-api-key: $1" -H 'content-type: application/json' \
		-d '{"model":"claude-haiku-4-5","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}'
	printf ' %s\n' "$(tr -d '\r' <"$T_TMP/head" | sed -n 's/^retry-after: //Ip')"
}

# 1. the provider's 429 with retry-after: 3000000000 (passed on as it is)
read -r st ra <<<"$(ask key-a)"
[ "$st" = 429 ] && [ "$ra" = 3000000000 ] || fail "first request: $st retry-after $ra"
curl -s -H "Authorization: Bearer $token" "$base/metrics" >"$T_TMP/metrics.txt"
wait=$(awk '/^tokmux_ratelimit_wait_seconds\{/ { print $2 }' "$T_TMP/metrics.txt")
awk -v w="$wait" 'BEGIN { exit !(w > 800 && w <= 900) }' ||
	fail "/metrics wait for the key: '$wait' (want at most 900 s)"
awk '/^tokmux_ratelimit_reset_seconds\{/ && ($2 < 0 || $2 > 8 * 86400) { bad = 1 }
	END { exit bad }' "$T_TMP/metrics.txt" || fail "a reset out of range on /metrics"
# 2. the same key: refused by tokmux with a sane, positive wait
read -r st ra <<<"$(ask key-a)"
[ "$st" = 429 ] || fail "second request: $st"
[ "$ra" -ge 800 ] && [ "$ra" -le 900 ] || fail "refusal's retry-after: '$ra'"
grep -Eq 'for another [0-9]+ s' "$T_TMP/body" || fail "refusal: $(cat "$T_TMP/body")"
grep -q -- '-[0-9]' <(grep -o 'for another [-0-9]* s' "$T_TMP/body") && fail "negative wait"
# 3. another key is not held up
read -r st ra <<<"$(ask key-b)"
[ "$st" = 200 ] || fail "another key: $st $(cat "$T_TMP/body")"

# 4. pipelining behind local answers, and one 413 without 100 Continue
python3 - "$port" "$token" "${url##*/p/}" <<'PY' || fail "raw requests"
import re, socket, sys
port, token, route = int(sys.argv[1]), sys.argv[2], sys.argv[3]
host = "Host: 127.0.0.1:%d\r\n" % port
def talk(data, want):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(10)
    s.sendall(data)
    got = b""
    while got.count(b"HTTP/1.1 ") < want or not got.endswith((b"ok", b"\n", b"}")):
        c = s.recv(65536)
        if not c:
            break
        got += c
    s.close()
    return got
got = talk(("GET /healthz HTTP/1.1\r\n" + host + "\r\n"
            "GET /nowhere HTTP/1.1\r\n" + host + "\r\n"
            "GET /metrics HTTP/1.1\r\n" + host + "Authorization: Bearer " + token + "\r\n"
            "Connection: close\r\n\r\n").encode(), 3)
assert re.findall(rb"HTTP/1\.1 (\d{3})", got) == [b"200", b"404", b"200"], got[:600]
assert b"tokmux_requests_total" in got
got = talk(("POST /p/%s/v1/messages HTTP/1.1\r\n" % route + host +
            "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (64 << 20 | 1)).encode(), 1)
assert got.count(b"HTTP/1.1 ") == 1 and got.startswith(b"HTTP/1.1 413"), got[:300]
assert b"request_too_large" in got, got
print("pipelined: 200 404 200; one 413")
PY

# 5. eight concurrent 60 MB bodies: the bodies' budget (256 MB) holds
python3 - "$url" <<'PY' >"$T_TMP/bodies.out" || fail "bodies: $(cat "$T_TMP/bodies.out")"
import socket, sys, threading, json
url = sys.argv[1]
port, route = int(url.split(":")[2].split("/")[0]), url.split("/p/")[1]
pre = b'{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"'
post = b'"}]}'
body = pre + b"x" * (60 * 1024 * 1024 - len(pre) - len(post)) + post
res = [b""] * 8
def one(i):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(120)
    head = ("POST /p/%s/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nx-api-key: key-c\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (route, port, len(body))).encode()
    try:
        s.sendall(head)
        s.sendall(body)
    except OSError:
        pass        # answered (503) before the body was sent
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            res[i] += c
    except OSError:
        pass
    s.close()
ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
ok = busy = 0
for r in res:
    head, _, rest = r.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/1.1 200"):
        ok += 1
    elif head.startswith(b"HTTP/1.1 503"):
        assert b"\r\nretry-after: 5" in head.lower().replace(b"Retry-After", b"retry-after"), head
        err = json.loads(rest)
        assert err["type"] == "error" and err["error"]["type"] == "overloaded_error", err
        busy += 1
    else:
        raise SystemExit("unexpected answer: %r" % r[:300])
assert ok >= 1 and busy >= 1, (ok, busy)
print(ok, busy)
PY
read -r served busy <"$T_TMP/bodies.out"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$gw/status")
echo "8 x 60 MB bodies: $served served, $busy answered 503; gateway peak RSS $((hwm / 1024)) MB"
[ "$hwm" -lt $((400 * 1024)) ] || fail "peak RSS $((hwm / 1024)) MB with a 256 MB budget"
kill -TERM "$gw"
wait "$gw" || fail "gateway exited non-zero"
echo ok
