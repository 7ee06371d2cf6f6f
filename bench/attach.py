#!/usr/bin/env python3
"""Attach to a session: time to the first full frame, tokmux against tmux.

A session of four panes is made, each holding a full 10 000-line scrollback
(head -12000 of the mixed text), then a marker line PANE-READY-<n>. Then,
RUNS times: a client attaches on a pseudo-terminal of COLS x ROWS (this
script is that terminal) and the time is taken from its start until every
pane's marker has arrived in its output (the panes' last lines: the bottom
of the frame); it detaches again. The first attach after the session was
made is not timed (it is where the session takes the terminal's size).

usage: attach.py MUX COLS ROWS DATA RUNS TOKMUX
Prints "MUX attach: median .. ms (runs: ..; .. bytes per frame)".
"""
import os, pty, select, signal, struct, subprocess, sys, termios, fcntl, time

MARKERS = [b"PANE-READY-%d" % i for i in range(1, 5)]
SESSION = "benchattach"
TMUX = ["tmux", "-L", "tokbench-attach", "-f", None]


def pane_cmd(data, n):
    return "head -12000 %s; echo PANE-READY-%d; exec cat" % (data, n)


def spawn(argv, cols, rows):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def read_until(fd, needles, timeout):
    """Seconds until every needle arrived, and the bytes read; None on timeout."""
    start = time.perf_counter()
    got = b""
    while True:
        left = start + timeout - time.perf_counter()
        if left <= 0:
            return None, got
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            data = os.read(fd, 1 << 16)
        except OSError:
            return None, got
        if not data:
            return None, got
        got += data
        if all(n in got for n in needles):
            return time.perf_counter() - start, got


def drain(fd, secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.perf_counter()))
        if r:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                return n
            if not data:
                return n
            n += len(data)
    return n


def reap(pid, fd, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        drain(fd, 0.05)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            os.close(fd)
            return
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    os.close(fd)


def attach_argv(mux, tokmux):
    if mux == "tokmux":
        return [tokmux, "attach", "-t", SESSION]
    return TMUX + ["attach", "-t", SESSION]


def detach(mux, fd):
    os.write(fd, b"\x07d" if mux == "tokmux" else b"\x02d")


def make_session(mux, cols, rows, data, tokmux, conf):
    if mux == "tokmux":
        argv = [tokmux, "new", "-s", SESSION, "-n", "4"]
        for i in range(1, 5):
            argv += ["-e", pane_cmd(data, i)]
        pid, fd = spawn(argv, cols, rows)
    else:
        TMUX[4] = conf
        subprocess.run(TMUX + ["new-session", "-d", "-s", SESSION, "-x", str(cols), "-y", str(rows),
                               pane_cmd(data, 1), ";", "split-window", "-h", pane_cmd(data, 2), ";",
                               "split-window", "-v", pane_cmd(data, 4), ";", "select-pane", "-L", ";",
                               "split-window", "-v", pane_cmd(data, 3)], check=True)
        pid, fd = spawn(attach_argv(mux, tokmux), cols, rows)
    secs, _ = read_until(fd, MARKERS, 300)
    if secs is None:
        sys.exit("%s: the panes did not load" % mux)
    drain(fd, 1.0)
    detach(mux, fd)
    reap(pid, fd)


def main():
    mux, cols, rows, data, runs, tokmux = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        sys.argv[4], int(sys.argv[5]), sys.argv[6]
    conf = os.path.join(os.path.dirname(data), "attach-tmux.conf")
    with open(conf, "w") as f:
        f.write("set -g history-limit 10000\nset -g status off\n")
    make_session(mux, cols, rows, data, tokmux, conf)
    times, sizes = [], []
    for _ in range(runs):
        pid, fd = spawn(attach_argv(mux, tokmux), cols, rows)
        secs, got = read_until(fd, MARKERS, 30)
        if secs is None:
            sys.exit("%s: no full frame after attach" % mux)
        times.append(secs * 1000)
        sizes.append(len(got) + drain(fd, 0.3))
        detach(mux, fd)
        reap(pid, fd)
    if mux == "tokmux":
        subprocess.run([tokmux, "kill-session", "-t", SESSION])
    else:
        subprocess.run(TMUX + ["kill-server"])
    times.sort()
    med = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    print("%s attach: median %.1f ms (runs: %s; %d bytes per frame)" %
          (mux, med, " ".join("%.1f" % t for t in times), sorted(sizes)[len(sizes) // 2]))


main()
