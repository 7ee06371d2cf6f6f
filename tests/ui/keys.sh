# Issue 19: Ctrl-h reaches the program as 0x08 and Backspace as the pane's
# kbs (0x7f), also when the outer terminfo says kbs=^H (it got 0x7f for
# both). tmux sends 0x08 for C-h and 0x7f for BSpace.
. tests/lib.sh
. tests/termlib.sh
tl_terminfo
cat >"$T_TMP/keys.sh" <<'SH'
stty raw -echo
printf 'READY\r\n'
k=$(head -c 3 | od -An -tx1 | tr -d ' \n')
stty sane
echo "GOT=$k"
exec cat
SH
for term in tokmux-bs xterm-256color; do
	t_start 100 10 env TERM=$term "$TOKMUX" -n 1 --no-gateway -e "'sh $T_TMP/keys.sh'"
	t_wait "READY"
	t_keys C-h BSpace a
	t_wait "GOT="
	t_screen | grep -q "GOT=087f61" || fail "TERM=$term: want 08 7f 61"
	tl_next
done
echo ok
