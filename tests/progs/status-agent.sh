#!/usr/bin/env bash
# A stand-in agent that speaks OSC 7501 (program status reports), for the
# pane state tests. It asks the terminal first (ESC ] 7501 ; ? then DA1, as
# Claude Code does) and prints whether the 7501 answer came before DA1's.
# Then it reads commands, one per line, from the FIFO given as $1 (so a
# test can drive a pane that is not focused):
#   idle | working | done | clear      state=...
#   permission MSG | question MSG      state=blocked:kind=...:msg=base64(MSG)
#   error MSG                          state=error:msg=base64(MSG)
#   print TEXT                         TEXT on the screen
#   exit                               ends
set -u
fifo=$1
stty raw -echo
printf '\033]7501;?\a\033[c'
ans=
IFS= read -r -s -d c -t 5 ans
stty sane
case "$ans" in
$'\e]7501;?'*$'\e[?'*) echo "STATUS-ANSWERED" ;;
*) echo "STATUS-NOT-ANSWERED: $(printf '%q' "$ans")" ;;
esac
report() { printf '\033]7501;%s\a' "$1"; }
b64() { printf '%s' "$1" | base64 -w0; }
report "state=idle:app=status-agent"
while :; do
	while IFS=' ' read -r cmd rest; do
		case "$cmd" in
		idle|working|done|clear) report "state=$cmd:app=status-agent" ;;
		permission|question) report "state=blocked:app=status-agent:kind=$cmd:msg=$(b64 "$rest")" ;;
		error) report "state=error:app=status-agent:msg=$(b64 "$rest")" ;;
		print) echo "$rest" ;;
		exit) exit 0 ;;
		esac
	done <"$fifo"
done
