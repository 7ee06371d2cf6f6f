#!/usr/bin/env bash
# A program that only prints: no status reports, no notifications, no
# requests. Prints a line every 0.2 s while the file $1 exists, then waits.
set -u
i=0
while [ -e "$1" ]; do
	i=$((i + 1))
	echo "printing line $i"
	sleep 0.2
done
echo "PRINTER-DONE"
exec cat >/dev/null
