#!/usr/bin/env python3
"""Write N megabytes of one kind of deterministic terminal output to stdout,
for the pane benchmark (bench/panes.sh). Kinds:

  plain  short ASCII lines (log output)
  wrap   long ASCII lines, 300-1500 columns, that wrap at 200
  sgr    short lines with a 256-colour change before every word
  wide   CJK, kana, Hangul, full-width forms and emoji (two columns each),
         some ASCII between
  tui    a full-screen program repainting at 200x49 with cursor addressing:
         frames that move (CUP), erase (EL) and write a spinner, a status
         area, a few changed lines; every eighth frame repaints every row
  mixed  bench/gen_mixed.py's text (colours, unicode, long lines)

Every line but a tui frame starts with its number ("%08d "); the output
ends with a line "BENCH-END-OF-FILE" (the tui's last frame shows it in its
status row, with "frame NNNNNNNN" the last frame's number), so a screen that
shows it lost nothing. usage: gen_corpus.py KIND MB
"""
import os, random, subprocess, sys

WORDS = ["alpha", "beta", "gamma", "delta", "token", "cache", "stream",
         "claude", "return", "error:", "src/main.c:42:", "warning", "the",
         "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "0x7ffe"]
WIDE = ["日本語", "中文字符", "漢字", "ひらがな", "カタカナ", "한국어", "테스트",
        "ＡＢＣ", "１２３", "🚀", "✅", "🤖", "📦", "東京", "処理中", "完了"]
SPIN = ["·", "✢", "✳", "✶", "✻", "✽"]
COLS, ROWS = 200, 49


def lines(rng, kind):
    """Yield the body (without number and newline) of each line."""
    while True:
        if kind == "plain":
            yield " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        elif kind == "wrap":
            n, ws = rng.randint(300, 1500), []
            while sum(len(w) + 1 for w in ws) < n:
                ws.append(rng.choice(WORDS))
            yield " ".join(ws)
        elif kind == "sgr":
            yield "".join(f"\x1b[38;5;{rng.randint(0, 255)}m{rng.choice(WORDS)} "
                          for _ in range(rng.randint(3, 14))) + "\x1b[0m"
        elif kind == "wide":
            ws = []
            for _ in range(rng.randint(3, 16)):
                ws.append(rng.choice(WIDE) if rng.random() < 0.8 else rng.choice(WORDS))
            yield " ".join(ws)


def gen_lines(out, rng, kind, target):
    total, n = 0, 0
    it = lines(rng, kind)
    while total < target:
        b = (f"{n:08d} " + next(it) + "\n").encode()
        out.write(b)
        total += len(b)
        n += 1
    out.write(b"BENCH-END-OF-FILE\n")


def tui_row(rng, r, frame):
    """One content row of the screen: a few styled words, then erase."""
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 22)))
    c = rng.randint(0, 255)
    return f"\x1b[{r};1H\x1b[38;5;{c}m{r:02d}\x1b[0m {words} {frame}\x1b[K"


def tui_frame(rng, frame, last):
    parts = ["\x1b[?25l"]
    if frame % 8 == 0:
        parts.append(f"\x1b[1;1H\x1b[1;7m tokmux bench · frame {frame}\x1b[0m\x1b[K")
        parts += [tui_row(rng, r, frame) for r in range(2, ROWS - 2)]
    else:
        parts += [tui_row(rng, rng.randint(2, ROWS - 3), frame)
                  for _ in range(rng.randint(1, 5))]
    secs = frame // 20
    parts.append(f"\x1b[{ROWS - 1};2H\x1b[38;5;208m{SPIN[frame % len(SPIN)]}\x1b[0m "
                 f"Thinking… ({secs}s · ↑ {frame * 7 % 9000} tokens · esc to interrupt)\x1b[K")
    end = " BENCH-END-OF-FILE" if last else ""
    parts.append(f"\x1b[{ROWS};1H\x1b[2m frame {frame:08d} · ? for shortcuts{end}\x1b[0m\x1b[K")
    parts.append("\x1b[?25h")
    return "".join(parts).encode()


def gen_tui(out, rng, target):
    out.write(b"\x1b[H\x1b[2J")
    total, frame = 0, 0
    while True:
        b = tui_frame(rng, frame, False)
        if total + len(b) >= target:
            break
        out.write(b)
        total += len(b)
        frame += 1
    out.write(tui_frame(rng, frame, True))


def main():
    kind, mb = sys.argv[1], int(sys.argv[2])
    out = sys.stdout.buffer
    if kind == "mixed":
        out.flush()
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "gen_mixed.py"), str(mb)], check=True)
        return
    rng = random.Random(sum(map(ord, kind)))
    if kind == "tui":
        gen_tui(out, rng, mb << 20)
    elif kind in ("plain", "wrap", "sgr", "wide"):
        gen_lines(out, rng, kind, mb << 20)
    else:
        sys.exit(f"gen_corpus.py: unknown kind {kind}")


main()
