#!/usr/bin/env bash
# make bench: every benchmark, each a ratio against a peer in the same run.
set -u
cd "$(dirname "$0")/.."
for b in bench/panes.sh bench/attach.sh bench/latency.sh bench/gateway.sh bench/budget.sh; do
	[ -x "$b" ] || continue
	echo "######## $b"
	bash "$b"
done
