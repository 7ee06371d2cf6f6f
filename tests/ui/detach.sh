# Detach and attach: a session of 4 panes, text typed in two, one pane in
# scrollback mode; Ctrl-g d detaches (the client says so and exits 0, the
# session runs on, not attached); tokmux attach draws the whole screen again
# from the server's state: capture-pane before and after are the same, the
# scrolled-back view included. Then the view goes live and typing works.
. tests/lib.sh
t_start 160 50 "$TOKMUX" -s work -n 4 -e "'seq 1 500; exec cat'" -e cat -e cat -e cat
t_wait "▶ 1 pane 1"
t_wait "^500 "
t_keys C-g 2
t_text "typed into pane two"; t_keys Enter
t_keys C-g 3
t_text "and into pane three"; t_keys Enter
t_wait "typed into pane two"
t_wait "and into pane three"
t_keys C-g 1
t_keys C-g "["
t_keys PPage
t_wait "scrollback -"
t_wait_gone "working"      # the panes' states have settled
# The screen as a person sees it: every cell's character, colours and
# attributes (tmux's escape-coded capture, decoded so that attributes no
# one can see, bold on a blank, compare equal however they were written).
cat >"$T_TMP/cells.py" <<'PY'
import re, sys
out = []
for line in sys.stdin.read().split("\n"):
    st = {"fg": "", "bg": "", "a": set()}
    cells = []
    for tok in re.findall(r"\x1b\[([0-9;:]*)m|(.)", line):
        if tok[1] == "":
            ps = (tok[0] or "0").replace(":", ";").split(";")
            i = 0
            while i < len(ps):
                p = int(ps[i] or 0)
                if p == 0: st = {"fg": "", "bg": "", "a": set()}
                elif p in (38, 48):
                    n = 3 if ps[i + 1] == "5" else 5
                    st["fg" if p == 38 else "bg"] = ";".join(ps[i:i + n]); i += n - 1
                elif 30 <= p <= 37 or 90 <= p <= 97: st["fg"] = str(p)
                elif 40 <= p <= 47 or 100 <= p <= 107: st["bg"] = str(p)
                elif p == 39: st["fg"] = ""
                elif p == 49: st["bg"] = ""
                elif 1 <= p <= 9: st["a"] = st["a"] | {p}
                elif 21 <= p <= 29: st["a"] = st["a"] - {p - 20, 2 if p == 22 else p - 20}
                i += 1
            continue
        ch = tok[1]
        a = st["a"] if ch != " " else st["a"] & {4, 7, 9}
        cells.append((ch, st["fg"] if ch != " " or 7 in a else "", st["bg"], tuple(sorted(a))))
    while cells and cells[-1] == (" ", "", "", ()): cells.pop()
    out.append(repr(cells))
print("\n".join(out))
PY
capture() { tmux -L "$T_SOCK" capture-pane -p -e -t t | python3 "$T_TMP/cells.py" >"$1"; }
capture "$T_TMP/before.txt"
t_screen | grep -q "pane 1 · scrollback -[1-9]" && ! t_screen | grep -q "^500 " ||
	fail "pane 1 is not scrolled back"
t_keys C-g d
t_wait "^\[detached \(from session work\)\]"
t_wait "TOKMUX-EXIT=0"
"$TOKMUX" ls >"$T_TMP/ls.txt" || fail "tokmux ls failed"
grep -q "^work: 4 panes (created .*), not attached, \$0.00$" "$T_TMP/ls.txt" ||
	fail "tokmux ls said: $(cat "$T_TMP/ls.txt")"
# the same terminal attaches again
tmux -L "$T_SOCK" respawn-pane -k -t t \
	"env TERM=xterm-256color $TOKMUX attach -t work; echo TOKMUX-EXIT=\$?; sleep 60"
t_wait "▶ 1 pane 1"
for _ in $(seq 20); do
	capture "$T_TMP/after.txt"
	cmp -s "$T_TMP/before.txt" "$T_TMP/after.txt" && break
	sleep 0.25
done
diff "$T_TMP/before.txt" "$T_TMP/after.txt" >"$T_TMP/diff.txt" ||
	fail "the screen after attach differs from the one before detach: $(head -20 "$T_TMP/diff.txt")"
"$TOKMUX" ls | grep -q "^work: 4 panes .*, 1 attached" || fail "tokmux ls: $("$TOKMUX" ls)"
# still the same session: leave scrollback, type, quit ends it for good
t_keys q
t_wait_gone "scrollback -"
t_text "after attach"; t_keys Enter
t_wait "^after attach"
t_keys C-g q
t_wait "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0"
[ -z "$("$TOKMUX" ls)" ] || fail "the session is still listed: $("$TOKMUX" ls)"
[ ! -e "$XDG_STATE_HOME/tokmux/sessions/work.json" ] || fail "the ended session left its state file"
echo ok
