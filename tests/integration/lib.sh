# SPDX-License-Identifier: BSD-3-Clause
# Shared harness for the integration tests (sourced, not run). Each test runs
# in a private temporary directory that is removed, with every process it
# started, when the test exits however it exits.
#
# Needs from ctest: VB_BROKER, VB_BROKERCTL, VB_DEVPROC, VB_HOSTILE (paths).

set -u
: "${VB_BROKER:?} ${VB_BROKERCTL:?} ${VB_DEVPROC:?} ${VB_HOSTILE:?}"

T=$(mktemp -d /tmp/vb-it.XXXXXX)
chmod 755 "$T"
BROKER_PID=
FAILS=0
declare -a BG_PIDS=()

cleanup() {
	local p
	for p in "${BG_PIDS[@]}" $BROKER_PID; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$FAILS" -ne 0 ] && [ -f "$T/broker.log" ]; then
		echo "---- broker log (last 40 lines) ----"
		tail -n 40 "$T/broker.log"
	fi
	rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
check() { # description command...
	local d=$1
	shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}

# start_broker CONFIG [ARGS...]: starts the broker in the background and
# waits until its control socket answers.
start_broker() {
	local conf=$1
	shift
	"$VB_BROKER" -c "$conf" "$@" >"$T/broker.out" 2>"$T/broker.log" &
	BROKER_PID=$!
	for _ in $(seq 100); do
		if "$VB_BROKERCTL" -s "$T/control.sock" stats >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "broker did not start"
	cat "$T/broker.log"
	exit 1
}

# one_device_conf [BROKER_LINES [DEVICE_LINES]]: a sim broker with one
# 16 MiB RAM region at GPA 0 and device 1 (window 0x100000 + 16M), plus
# the given lines (newline-separated) in [broker] and in [device 1].
one_device_conf() {
	printf '[broker]\nbackend = sim\n'
	[ -z "${1:-}" ] || printf '%s\n' "$1"
	printf '[ram main]\ngpa = 0x0\nsize = 16M\n'
	printf '[device 1]\ngroup = sim\niova = 0x100000 16M\n'
	[ -z "${2:-}" ] || printf '%s\n' "$2"
}

# stats_json: the broker's counters as one JSON document.
stats_json() { "$VB_BROKERCTL" -s "$T/control.sock" --json stats; }

# json_num KEY: first numeric value of "KEY" in stdin (flat lookup; the
# tests name keys that are unique in the document section they read).
json_num() { grep -o "\"$1\": *[0-9]*" | head -n1 | grep -o '[0-9]*$'; }

# wait_grep SECONDS PATTERN FILE: polls until FILE has a line matching
# PATTERN, for at most SECONDS; 0 if it does. The check that follows says
# what failed.
wait_grep() {
	for _ in $(seq $(($1 * 10))); do
		grep -q "$2" "$3" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_mapped N: waits up to 5 s for the broker to show N pages mapped in
# all; prints the last value seen.
wait_mapped() {
	local v=
	for _ in $(seq 100); do
		v=$(stats_json | json_num mapped_now)
		[ "${v:-x}" = "$1" ] && break
		sleep 0.05
	done
	echo "$v"
}

finish() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$(basename "$0"): $FAILS check(s) failed"
		exit 1
	fi
	echo "$(basename "$0"): all checks passed"
	exit 0
}
