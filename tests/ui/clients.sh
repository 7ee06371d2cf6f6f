# Several terminals on one session: a second, read-only (-r) one of another
# size attaches; the session takes the smallest width and height (the bigger
# terminal shows it in its top-left corner); what is typed in the first
# shows in both, what is typed in the read-only one goes nowhere; the
# read-only one detaches and the session takes the first one's size again;
# a third attaches, and quitting ends the session for every terminal.
. tests/lib.sh
t_start 160 50 "$TOKMUX" -s multi -n 2 -e cat -e cat
t_wait "▶ 1 pane 1"
r_screen() { tmux -L "$T_SOCK" capture-pane -p -t "$1"; }
r_wait() {   # r_wait TARGET PATTERN
	local i
	for ((i = 0; i < 200; i++)); do
		r_screen "$1" | grep -qE -- "$2" && return 0
		sleep 0.05
	done
	echo "--- $1:"; r_screen "$1"
	fail "timed out waiting for /$2/ on $1"
}
width() { r_screen "$1" | sed 's/ *$//' | awk '{ if (length($0) > w) w = length($0) } END { print w }'; }
# the sidebar's right edge: where the first line's text ends
tmux -L "$T_SOCK" new-session -d -s ro -x 120 -y 40 \
	"env TERM=xterm-256color $TOKMUX attach -r -t multi; echo RO-EXIT=\$?; sleep 60"
r_wait ro "▶ 1 pane 1"
# both show the 120 x 40 session: nothing is drawn past column 120 or row 40
for _ in $(seq 200); do [ "$(width t)" -le 120 ] && break; sleep 0.05; done
[ "$(width t)" -le 120 ] || fail "the 160-column terminal draws $(width t) columns"
[ "$(r_screen t | sed -n '41,50p' | tr -d ' \n')" = "" ] || fail "rows past 40 are drawn on"
"$TOKMUX" ls | grep -q "^multi: 2 panes .*, 2 attached" || fail "ls: $("$TOKMUX" ls)"
# typing: the first terminal's keys reach the pane, shown in both
t_text "typed in the first"; t_keys Enter
r_wait ro "^typed in the first"
t_wait "^typed in the first"
# the read-only terminal's keys do nothing (the first one's marker comes after them)
tmux -L "$T_SOCK" send-keys -t ro -l "typed read-only"
tmux -L "$T_SOCK" send-keys -t ro Enter
tmux -L "$T_SOCK" send-keys -t ro C-g 2
t_text "marker"; t_keys Enter
t_wait "^marker"
! t_screen | grep -q "typed read-only" || fail "keys of the read-only terminal reached a pane"
t_screen | grep -q "▶ 1 pane 1" || fail "the read-only terminal moved the focus"
# it detaches (Ctrl-g d works read-only): the session grows back to 160 x 50
tmux -L "$T_SOCK" send-keys -t ro C-g d
r_wait ro "^\[detached \(from session multi\)\]"
r_wait ro "RO-EXIT=0"
for _ in $(seq 200); do [ "$(width t)" -gt 150 ] && break; sleep 0.05; done
[ "$(width t)" -gt 150 ] || fail "after the detach the session is $(width t) columns wide"
# a third terminal, attached as an equal; quitting ends it for both
tmux -L "$T_SOCK" new-session -d -s third -x 170 -y 50 \
	"env TERM=xterm-256color $TOKMUX attach -t multi; echo THIRD-EXIT=\$?; sleep 60"
r_wait third "▶ 1 pane 1"
t_keys C-g q
r_wait third "Quit tokmux"
t_keys y
t_wait "TOKMUX-EXIT=0"
r_wait third "THIRD-EXIT=0"
[ -z "$("$TOKMUX" ls)" ] || fail "the session is still listed: $("$TOKMUX" ls)"
echo ok
