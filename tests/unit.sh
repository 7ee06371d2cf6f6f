#!/usr/bin/env bash
# Runs every cmocka binary in BUILD/tests and sums their results.
# usage: tests/unit.sh BUILD_DIR LABEL
set -u
dir=$1 label=${2:-unit}
pass=0 fail=0 bad=()
for t in "$dir"/tests/test_*; do
	case "$t" in *.o|*.d) continue ;; esac
	[ -x "$t" ] || continue
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [ "$rc" -ne 0 ]; then
		[ -z "$f" ] && fail=$((fail + 1))   # crashed before cmocka's summary
		bad+=("$t")
		printf '%s\n' "$out" | tail -40
	fi
	printf '%-8s %-40s %s\n' "$( [ $rc -eq 0 ] && echo PASS || echo FAIL)" "$t" "${p:-0} passed"
done
echo "$label: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ ${#bad[@]} -eq 0 ]
