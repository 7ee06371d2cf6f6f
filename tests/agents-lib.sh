# Shared helpers for the real-agent tests (tests/integration/agent_*.sh):
# install the agents (cached), start `tokmux mock` + `tokmux gateway` on free
# ports, and compare the gateway ledger with the mock log request by request.
# Source it from the repo root; it sources tests/lib.sh (which replaces HOME).
set -u
# The cache lives under the real HOME, not the throwaway one of lib.sh.
export TOKMUX_AGENT_CACHE=${TOKMUX_AGENT_CACHE:-$HOME/.cache/tokmux-agents}
. tests/lib.sh

# The reply every agent must print (the mock splits it into 5 chunks).
A_REPLY="Pong from the tokmux mock"

# agents_install: sets A_BIN, or prints "SKIP: reason" and exits 77 (the
# skip status of tests/run.sh) when npm is missing.
agents_install() {
	local out
	out=$(bash tests/agents-install.sh 2>"$T_TMP/install.err") ||
		fail "tests/agents-install.sh failed: $(tail -5 "$T_TMP/install.err")"
	case "$out" in
	SKIP:*) echo "$out"; exit 77 ;;
	esac
	A_BIN=${out#bin }
	[ -d "$A_BIN" ] || fail "agents-install printed '$out'"
}

# a_wait_line FILE PATTERN: wait (5 s at most) until FILE has a line matching
# the grep -E pattern and print the first one.
a_wait_line() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -m1 -E -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# stack_start: mock (script with cache figures and a fixed reply) behind
# the gateway. Sets A_MOCK_LOG, A_LEDGER, A_URL (the `default` route).
# Extra gateway arguments may be given in the array A_GW_ARGS.
stack_start() {
	local line port
	cat >"$T_TMP/script.json" <<-JSON
	{"comment": "agent tests: a fixed reply; cache figures so the comparison covers them",
	 "defaults": {"text": "$A_REPLY", "chunks": 5, "chunk_tokens": 3,
	  "usage": {"cache_read_input_tokens": 1000, "cache_creation_5m": 200,
	            "cache_creation_1h": 300}}}
	JSON
	A_MOCK_LOG=$T_TMP/mock.jsonl A_LEDGER=$T_TMP/ledger.jsonl
	"$TOKMUX" mock --port 0 --script "$T_TMP/script.json" --log "$A_MOCK_LOG" \
		>"$T_TMP/mock.out" 2>"$T_TMP/mock.err" &
	T_PIDS="${T_PIDS:-} $!"
	line=$(a_wait_line "$T_TMP/mock.out" '^mock listening on ') ||
		fail "mock did not start: $(cat "$T_TMP/mock.err")"
	port=${line##*:}
	"$TOKMUX" gateway --port 0 --ledger "$A_LEDGER" \
		--anthropic-upstream "http://127.0.0.1:$port" \
		--openai-upstream "http://127.0.0.1:$port" \
		${A_GW_ARGS[@]+"${A_GW_ARGS[@]}"} \
		>"$T_TMP/gw.out" 2>"$T_TMP/gw.err" &
	T_PIDS="$T_PIDS $!"
	line=$(a_wait_line "$T_TMP/gw.out" '^route default http://') ||
		fail "gateway did not start: $(cat "$T_TMP/gw.err")"
	A_URL=${line#route default }
}

# a_run NAME SECONDS CMD...: run an agent headless (stdin closed, a clean
# environment given by the caller through env -i), output in $T_TMP/NAME.out.
a_run() {
	local name=$1 secs=$2 rc start
	shift 2
	start=$(date +%s.%N)
	timeout -k 5 "$secs" "$@" </dev/null >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	rc=$?
	printf 'agent %s: exit %d in %.1fs\n' "$name" "$rc" "$(echo "$(date +%s.%N) - $start" | bc)"
	[ "$rc" -eq 124 ] && fail "$name timed out after ${secs}s: $(tail -5 "$T_TMP/$name.err")"
	[ "$rc" -eq 0 ] || fail "$name exited $rc: $(tail -5 "$T_TMP/$name.err")"
	grep -qF -- "$A_REPLY" "$T_TMP/$name.out" ||
		fail "$name did not print the mock's reply; it printed: $(head -c 400 "$T_TMP/$name.out")"
}

# jnum LINE KEY / jstr LINE KEY: a top-level number / string of a flat JSON line.
jnum() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p" <<<"$1"; }
jstr() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" <<<"$1"; }

# ledger_check N: the ledger holds exactly the mock's N or more model calls,
# each with the mock's token figures; priced models cost more than 0.
# Prints one line per request. Sets A_PRICED (how many were priced).
ledger_check() {
	local want=$1 calls rec id m f lv mv cost
	calls=$(grep -c '"n":[1-9]' "$A_MOCK_LOG")
	[ "$calls" -ge "$want" ] || fail "mock saw $calls model calls, wanted at least $want"
	# The ledger line is written once the response is done; allow a moment.
	for ((i = 0; i < 40; i++)); do
		[ "$(t_outcomes "$A_LEDGER" | grep -c .)" -ge "$calls" ] && break
		sleep 0.05
	done
	[ "$(t_outcomes "$A_LEDGER" | grep -c .)" -eq "$calls" ] ||
		fail "ledger has $(t_outcomes "$A_LEDGER" | grep -c .) records for $calls mock calls"
	A_PRICED=0
	while IFS= read -r rec; do
		id=$(jstr "$rec" request_id)
		[ -n "$id" ] || fail "ledger record without request_id: $rec"
		m=$(grep -F "\"request_id\":\"$id\"" "$A_MOCK_LOG") ||
			fail "ledger request $id is not in the mock log"
		[ "$(jnum "$m" status)" = 200 ] && [ "$(jnum "$rec" status)" = 200 ] ||
			fail "request $id: status mock $(jnum "$m" status), ledger $(jnum "$rec" status)"
		[ "$(jstr "$rec" model_asked)" = "$(jstr "$m" model)" ] ||
			fail "request $id: model ledger $(jstr "$rec" model_asked), mock $(jstr "$m" model)"
		for f in input_tokens:input_tokens output_tokens:output_tokens \
			cache_read_tokens:cache_read cache_write_5m_tokens:cache_write_5m \
			cache_write_1h_tokens:cache_write_1h; do
			lv=$(jnum "$rec" "${f%%:*}") mv=$(jnum "$m" "${f##*:}")
			[ -n "$lv" ] && [ "$lv" = "$mv" ] ||
				fail "request $id ($(jstr "$m" model)): ${f%%:*} ledger '$lv', mock '$mv'"
		done
		cost=$(jnum "$rec" cost_usd)
		if grep -q '"priced":true' <<<"$rec"; then
			awk -v c="$cost" 'BEGIN { exit !(c > 0) }' ||
				fail "request $id: priced model $(jstr "$rec" model_used) cost $cost"
			A_PRICED=$((A_PRICED + 1))
		fi
		printf '  %s %s in=%s out=%s cache_read=%s w5m=%s w1h=%s cost=$%s\n' \
			"$id" "$(jstr "$rec" model_used)" "$(jnum "$rec" input_tokens)" \
			"$(jnum "$rec" output_tokens)" "$(jnum "$rec" cache_read_tokens)" \
			"$(jnum "$rec" cache_write_5m_tokens)" "$(jnum "$rec" cache_write_1h_tokens)" "$cost"
	done < <(t_outcomes "$A_LEDGER")
}

# ledger_priced_model MODEL: the ledger has a priced, non-zero-cost record
# for MODEL (the one the test asked the agent to use).
ledger_priced_model() {
	t_outcomes "$A_LEDGER" | grep -F "\"model_used\":\"$1\"" | grep -q '"priced":true' ||
		fail "no priced ledger record for $1: $(cat "$A_LEDGER")"
}

# a_mock SCRIPT LOG: start `tokmux mock` with the script file and log on a
# free port; sets MOCK (its URL) and adds it to T_PIDS.
a_mock() {
	"$TOKMUX" mock --port 0 --quiet --script "$1" --log "$2" >"$T_TMP/mock.out" 2>&1 &
	T_PIDS="${T_PIDS:-} $!"
	MOCK=$(a_wait_line "$T_TMP/mock.out" '^mock listening on ') || fail "mock did not start"
	MOCK=${MOCK#mock listening on }
}

# a_claude_home HOME WORKDIR KEY: Claude Code's first-run questions answered
# in HOME/.claude.json: onboarding done, WORKDIR trusted, KEY approved.
a_claude_home() {
	mkdir -p "$1" "$2"
	cat >"$1/.claude.json" <<-JSON
	{"hasCompletedOnboarding": true,
	 "customApiKeyResponses": {"approved": ["${3: -20}"], "rejected": []},
	 "projects": {"$2": {"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}}}
	JSON
}
