#!/usr/bin/env python3
"""Write N megabytes of deterministic mixed terminal text to stdout: plain
lines, SGR colours (16, 256, true colour), bold/reverse, CJK wide chars,
combining marks and long wrapping lines. The last line is a known marker."""
import random, sys

mb = int(sys.argv[1]) if len(sys.argv) > 1 else 64
rng = random.Random(42)
words = ["alpha", "beta", "gamma", "delta", "token", "cache", "stream", "claude",
         "naïve", "café", "日本語", "中文字", "e\u0301", "→", "✓", "λx", "ß"]
out = sys.stdout.buffer
total, n = 0, 0
target = mb * 1024 * 1024
while total < target:
    kind = rng.random()
    ws = " ".join(rng.choice(words) for _ in range(rng.randint(3, 30)))
    if kind < 0.3:
        line = ws
    elif kind < 0.5:
        line = f"\x1b[{rng.randint(31, 37)}m{ws}\x1b[0m"
    elif kind < 0.65:
        line = f"\x1b[38;5;{rng.randint(0, 255)}m\x1b[48;5;{rng.randint(0, 255)}m{ws}\x1b[0m"
    elif kind < 0.75:
        line = f"\x1b[38;2;{rng.randint(0,255)};{rng.randint(0,255)};{rng.randint(0,255)}m{ws}\x1b[0m"
    elif kind < 0.85:
        line = f"\x1b[1m{ws}\x1b[7m {n} \x1b[0m"
    else:
        line = ws * rng.randint(5, 12)   # long line that wraps
    b = (f"{n:08d} " + line + "\n").encode()
    out.write(b)
    total += len(b)
    n += 1
out.write(b"BENCH-END-OF-FILE\n")
