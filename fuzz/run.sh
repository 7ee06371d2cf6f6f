#!/usr/bin/env bash
# Runs the libFuzzer targets built from fuzz/fuzz_*.c (see fuzz/README.md).
#
#   fuzz/run.sh run SECONDS BIN...    fuzz each target for SECONDS; new inputs
#                                     are kept in build/fuzz/corpus/NAME
#   fuzz/run.sh check SECONDS BIN...  replay each target's committed corpus
#                                     (fuzz/corpus/NAME), then fuzz SECONDS
#                                     more from it; the last line is
#                                     "fuzz: N passed, N failed"
#
# Findings go to build/fuzz/artifacts/NAME-crash-* (or -timeout-, -oom-,
# -leak-). fuzz/NAME.dict, if present, is passed as the target's dictionary.
set -u
cd "$(dirname "$0")/.."
mode=${1:?usage: fuzz/run.sh run|check SECONDS BIN...} secs=${2:?seconds}
shift 2
pass=0 fail=0
art=build/fuzz/artifacts
mkdir -p "$art"

# Options every run shares: a finding in one input is one second of work at
# most (a hang counts), memory is bounded.
common=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

result() {      # result OK|FAIL WHAT LOG
	if [ "$1" = OK ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		tail -40 "$3" | sed 's/^/    | /'
	fi
	printf '%-4s %s\n' "$1" "$2"
}

# The last status line of a libFuzzer log: executions, coverage, speed.
stats() {
	local runs cov ft eps
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$1" | tail -1)
	ft=$(grep -o 'ft: [0-9]*' "$1" | tail -1)
	eps=$(grep -o 'exec/s: [0-9]*' "$1" | tail -1)
	printf '%s runs, %s, %s, %s' "${runs:-0}" "${cov:-cov: ?}" "${ft:-ft: ?}" \
	    "${eps:-exec/s: ?}"
}

for bin in "$@"; do
	name=${bin##*/fuzz_}
	seeds=fuzz/corpus/$name
	dict=()
	[ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
	opts=("${common[@]}" "${dict[@]}" -artifact_prefix="$art/$name-")
	log=$(mktemp)
	if [ "$mode" = check ]; then
		# 1. Every committed input, once.
		files=("$seeds"/*)
		if [ -e "${files[0]}" ] && "$bin" "${opts[@]}" "${files[@]}" \
		    >"$log" 2>&1; then
			result OK "$name: corpus (${#files[@]} inputs)" "$log"
		else
			result FAIL "$name: corpus" "$log"
		fi
		# 2. A short run from it, new inputs in a scratch directory.
		work=$(mktemp -d)
		if "$bin" "${opts[@]}" -max_total_time="$secs" "$work" "$seeds" \
		    >"$log" 2>&1; then
			result OK "$name: ${secs}s run, $(stats "$log")" "$log"
		else
			result FAIL "$name: ${secs}s run" "$log"
		fi
		rm -rf "$work"
	else
		work=build/fuzz/corpus/$name
		mkdir -p "$work"
		if nice -n 10 "$bin" "${opts[@]}" -max_total_time="$secs" \
		    "$work" "$seeds" >"$log" 2>&1; then
			result OK "$name: ${secs}s, $(stats "$log")" "$log"
		else
			result FAIL "$name: ${secs}s" "$log"
		fi
	fi
	rm -f "$log"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
