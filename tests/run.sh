#!/usr/bin/env bash
# Runs every shell test (tests/ui/*.sh, tests/integration/*.sh). Each test is
# a script that exits 0 on success; prints a closing "N passed, N failed" line.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 failed=()
pattern=${1:-}
for t in tests/integration/*.sh tests/ui/*.sh; do
	[ -f "$t" ] || continue
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	start=$(date +%s.%N)
	log=$(mktemp)
	if timeout 300 bash "$t" >"$log" 2>&1; then
		pass=$((pass + 1))
		printf 'PASS %-40s %5.1fs\n' "$t" "$(echo "$(date +%s.%N) - $start" | bc)"
	else
		fail=$((fail + 1))
		failed+=("$t")
		printf 'FAIL %-40s\n' "$t"
		sed 's/^/    | /' "$log" | tail -40
	fi
	rm -f "$log"
done
echo
echo "shell: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
