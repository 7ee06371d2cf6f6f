#!/usr/bin/env bash
# A stand-in agent that sends each notification form a terminal knows, for
# the pane state tests. Commands, one per line, from the FIFO given as $1:
#   osc9 TEXT | osc777 TITLE;BODY | osc99 TITLE;BODY | bel
#   work         OSC 9;4;3 (progress, indeterminate: working)
#   progress N   OSC 9;4;1;N      stop   OSC 9;4;0
#   exit
set -u
fifo=$1
b64() { printf '%s' "$1" | base64 -w0; }
echo "NOTIFY-AGENT-READY"
while :; do
	while IFS=' ' read -r cmd rest; do
		case "$cmd" in
		osc9) printf '\033]9;%s\a' "$rest" ;;
		osc777) printf '\033]777;notify;%s\a' "$rest" ;;
		osc99)
			printf '\033]99;i=t1:p=title:e=1:d=0;%s\033\\' "$(b64 "${rest%%;*}")"
			printf '\033]99;i=t1:p=body:e=1:d=1;%s\033\\' "$(b64 "${rest#*;}")" ;;
		bel) printf '\a' ;;
		work) printf '\033]9;4;3;\a' ;;
		progress) printf '\033]9;4;1;%s\a' "$rest" ;;
		stop) printf '\033]9;4;0;\a' ;;
		exit) exit 0 ;;
		esac
	done <"$fifo"
done
