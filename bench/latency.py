#!/usr/bin/env python3
"""Keystroke latency through a terminal multiplexer.

Runs the multiplexer on a pseudo-terminal of its own (this script is the
outer terminal), with two panes: the focused one runs `cat`, the other
either sleeps (idle) or prints a few thousand lines every 50 ms (stream).
Then, one key at a time, writes a printable character to the multiplexer's
terminal and times how long until its echo (the inner tty echoes it, the
multiplexer draws it) comes back in the multiplexer's output. After each
echo a Ctrl-U erases the line again, so the pane never shows an old key,
and the next key follows after a pause of 15-35 ms, as when typing.

The keys are non-ASCII letters (é ü ñ ø: two UTF-8 bytes each, c3 xx):
neither multiplexer's own output (digits of the neighbour, borders, the
sidebar) contains those bytes; a calibration second before the keys counts
any that would, and the result says so.

usage: latency.py MUX SCENARIO KEYS [TOKMUX]
  MUX: tokmux or tmux; SCENARIO: idle or stream; KEYS: keys to time.
Prints one line: "MUX SCENARIO n=.. p50=.. p90=.. p99=.. max=.. (ms)
timeouts=.. stray=..", and the raw latencies (ms) on a second line.
LATDBG=1: each key's write and echo times (CLOCK_MONOTONIC µs) on stderr,
to line up with a multiplexer's own trace.
"""
import fcntl, math, os, pty, random, select, signal, struct, sys, termios, time

KEYS = ["é", "ü", "ñ", "ø"]
COLS, ROWS = 200, 50
STREAM = "while :; do seq 1 3000; sleep 0.05; done"
IDLE = "exec sleep 100000"
TIMEOUT = 1.0


def spawn(mux, scenario, tokmux):
    other = STREAM if scenario == "stream" else IDLE
    if mux == "tokmux":
        # pane bodies of 82 columns side by side, beside the sidebar
        cols, rows = COLS, ROWS
        argv = [tokmux, "-n", "2", "-e", "exec cat", "-e", other]
    else:
        # the same pane size without tokmux's sidebar and title rows
        cols, rows = COLS - 34, ROWS - 1
        argv = ["tmux", "-L", "tokmux-latency", "-f", "/dev/null", "new-session",
                "exec cat", ";", "set", "-g", "status", "off", ";",
                "split-window", "-h", other, ";", "select-pane", "-L"]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


class Reader:
    """Drains the multiplexer's output; finds a byte string in what arrives."""

    def __init__(self, fd):
        self.fd = fd
        self.tail = b""

    def drain(self, secs):
        end = time.perf_counter() + secs
        got = b""
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                return got
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                data = os.read(self.fd, 1 << 16)
                if not data:
                    raise EOFError
                got += data

    def wait_for(self, needle, timeout):
        """Seconds until needle arrived (in output read from now on), or None."""
        start = time.perf_counter()
        self.tail = b""
        while True:
            left = start + timeout - time.perf_counter()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            data = os.read(self.fd, 1 << 16)
            now = time.perf_counter()
            if not data:
                raise EOFError
            buf = self.tail + data
            if needle in buf:
                return now
            self.tail = buf[-(len(needle) - 1):]


def percentile(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    k = max(0, min(len(sorted_ms) - 1, math.ceil(p / 100.0 * len(sorted_ms)) - 1))
    return sorted_ms[k]


def measure(fd, nkeys):
    rd = Reader(fd)
    rnd = random.Random(1)
    # the workspace is up once a key echoes
    up = False
    for _ in range(100):
        os.write(fd, KEYS[0].encode())
        if rd.wait_for(KEYS[0].encode(), 0.2) is not None:
            up = True
            break
    if not up:
        raise SystemExit("the multiplexer never echoed a key")
    os.write(fd, b"\x15")
    rd.drain(1.0)
    # calibration: key bytes in output nobody typed
    stray = sum(rd.drain(1.0).count(k.encode()) for k in KEYS)
    lat, timeouts = [], 0
    for i in range(nkeys + 5):
        key = KEYS[i % len(KEYS)].encode()
        t0 = time.perf_counter()
        os.write(fd, key)
        t1 = rd.wait_for(key, TIMEOUT)
        if os.environ.get("LATDBG"):
            sys.stderr.write(f"KEY {int(t0*1e6)} {int(t1*1e6) if t1 else -1} {(t1-t0)*1000 if t1 else -1:.3f}\n")
        if i >= 5:    # warm-up keys are not counted
            if t1 is None:
                timeouts += 1
            else:
                lat.append((t1 - t0) * 1000.0)
        os.write(fd, b"\x15")
        rd.drain(rnd.uniform(0.015, 0.035))
    return lat, timeouts, stray


def main():
    mux, scenario, nkeys = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tokmux = sys.argv[4] if len(sys.argv) > 4 else "build/tokmux"
    pid, fd = spawn(mux, scenario, tokmux)
    try:
        lat, timeouts, stray = measure(fd, nkeys)
    finally:
        if mux == "tmux":
            os.system("tmux -L tokmux-latency kill-server 2>/dev/null")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    s = sorted(lat)
    print(f"{mux} {scenario} n={len(s)} p50={percentile(s, 50):.2f} p90={percentile(s, 90):.2f} "
          f"p99={percentile(s, 99):.2f} max={s[-1] if s else float('nan'):.2f} (ms) "
          f"timeouts={timeouts} stray={stray}")
    print("raw " + " ".join(f"{x:.3f}" for x in lat), flush=True)


main()
