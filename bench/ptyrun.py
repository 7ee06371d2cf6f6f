#!/usr/bin/env python3
"""Run a command on a pseudo-terminal of a given size, drain its output as
fast as possible, and report how long until a marker file appears.

usage: ptyrun.py COLS ROWS MARKER TIMEOUT CMD...
Prints: "<seconds> <bytes of terminal output drained>".
The command gets SIGHUP/SIGKILL once the marker exists (or on timeout).
"""
import fcntl, os, pty, select, signal, struct, sys, termios, time

def main():
    cols, rows, marker, timeout = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    cmd = sys.argv[5:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    start = time.monotonic()
    drained = 0
    done_at = None
    while True:
        now = time.monotonic()
        if now - start > timeout:
            break
        if done_at is None and os.path.exists(marker):
            done_at = now
        if done_at is not None and now - done_at > 0.3:
            break
        r, _, _ = select.select([fd], [], [], 0.01)
        if r:
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                break
            if not data:
                break
            drained += len(data)
    elapsed = (done_at - start) if done_at is not None else -1
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    print(f"{elapsed:.3f} {drained}")

main()
