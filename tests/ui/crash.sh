# When tokmux dies badly (a crash signal, fatal() or abort() in a thread
# other than the UI's), the outer terminal is back to a normal shell state:
# the alternate screen left, the cursor shown, mouse reporting, keypad mode
# and bracketed paste off, the tty cooked with echo. The exit status is the
# crash's own (128 + signal), and the reason is printed on the normal screen.
. tests/lib.sh

# crash_case HOW EXPECT_STATUS EXPECT_MESSAGE
#   HOW: SEGV or ABRT (sent from outside), or fatal / abort (TOKMUX_TEST_CRASH)
crash_case() {
	local how=$1 status=$2 msg=$3 env=""
	case $how in fatal|abort) env="TOKMUX_TEST_CRASH=$how" ;; esac
	# a tmux server of its own per case (lib.sh's cleanup kills the last one)
	tmux -L "$T_SOCK" kill-server 2>/dev/null
	T_SOCK="tokmux-test-$$-$how"
	# after tokmux: the tty flags a shell depends on, then cat -v to show
	# what typing and pasting into this terminal now produce
	cat >"$T_TMP/after.sh" <<'SH'
s=" $(stty -a | tr '\n;' '  ') "
printf 'TTY:'
for f in icanon isig echo icrnl opost; do
	case $s in *" -$f "*) printf ' -%s' "$f" ;; *) printf ' %s' "$f" ;; esac
done
echo
exec cat -v
SH
	tmux -L "$T_SOCK" -f /dev/null new-session -d -s t -x 160 -y 40 \
		"env TERM=xterm-256color $env $TOKMUX --no-gateway -n 2; echo TOKMUX-EXIT=\$?; sh $T_TMP/after.sh"
	tmux -L "$T_SOCK" set -g status off
	tmux -L "$T_SOCK" set -g escape-time 0
	t_wait "▶ 1 pane 1"
	# the workspace has the terminal in every mode it uses
	[ "$(tmux -L "$T_SOCK" display -p -t t '#{alternate_on}')" = 1 ] || fail "$how: not on the alternate screen"
	[ "$(tmux -L "$T_SOCK" display -p -t t '#{mouse_any_flag}')" = 1 ] || fail "$how: mouse reporting is off"
	case $how in
	SEGV|ABRT)
		local shpid pid
		shpid=$(tmux -L "$T_SOCK" display -p -t t '#{pane_pid}')
		pid=$(pgrep -P "$shpid" -x tokmux)
		[ -n "$pid" ] || fail "$how: no tokmux process under $shpid"
		kill -"$how" "$pid" ;;
	esac
	t_wait "TOKMUX-EXIT=$status *$" 10
	t_wait "TTY: icanon isig echo icrnl opost *$"
	t_screen | grep -qF -- "$msg" || fail "$how: the message '$msg' is not on the screen"
	local flags
	flags=$(tmux -L "$T_SOCK" display -p -t t \
		'#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{mouse_standard_flag} #{mouse_sgr_flag} #{keypad_cursor_flag}')
	[ "$flags" = "0 1 0 0 0 0" ] || fail "$how: terminal modes (alternate cursor mouse... keypad) are '$flags', want '0 1 0 0 0 0'"
	# typed text echoes (the tty echoes it before Enter), then cat prints it back
	t_text "typed-after-$how"
	t_wait "^typed-after-$how *$"
	t_keys Enter
	# cat prints the line back: wait until it shows twice (echo, then cat)
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(t_screen | grep -c "^typed-after-$how *$")" = 2 ] && break
		sleep 0.05
	done
	[ "$(t_screen | grep -c "^typed-after-$how *$")" = 2 ] || fail "$how: typed text did not echo once and print once"
	# no bracketed paste: a paste arrives without the ESC [ 200 ~ markers
	tmux -L "$T_SOCK" set-buffer "pasted-after-$how"
	tmux -L "$T_SOCK" paste-buffer -p -t t
	t_keys Enter
	t_wait "pasted-after-$how"
	! t_screen | grep -qF '^[[200~' || fail "$how: bracketed paste is still on"
}

crash_case SEGV 139 "tokmux: crashed by signal 11"
crash_case ABRT 134 "tokmux: crashed by signal 6"
crash_case fatal 1 "tokmux: test crash from another thread (TOKMUX_TEST_CRASH=fatal)"
crash_case abort 134 "tokmux: crashed by signal 6"
echo ok
