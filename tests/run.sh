#!/usr/bin/env bash
# Runs every shell test (tests/ui/*.sh, tests/integration/*.sh). Each test is
# a script that exits 0 on success. A test that cannot run here (a missing
# tool) prints "SKIP: reason" and exits 77, as in automake; it counts as
# skipped, not passed. Prints a closing "N passed, N failed, N skipped" line.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0 failed=()
pattern=${1:-}
for t in tests/integration/*.sh tests/ui/*.sh; do
	[ -f "$t" ] || continue
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	start=$(date +%s.%N)
	log=$(mktemp)
	timeout 300 bash "$t" >"$log" 2>&1
	rc=$?
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-40s %5.1fs\n' "$t" "$secs"
	elif [ "$rc" -eq 77 ]; then
		skip=$((skip + 1))
		printf 'SKIP %-40s %s\n' "$t" "$(grep -m1 '^SKIP:' "$log" | sed 's/^SKIP: *//')"
	else
		fail=$((fail + 1))
		failed+=("$t")
		printf 'FAIL %-40s\n' "$t"
		{ grep -m3 '^FAIL' "$log"; tail -40 "$log"; } | sed 's/^/    | /'
	fi
	rm -f "$log"
done
echo
echo "shell: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
