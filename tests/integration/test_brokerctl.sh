#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# vfio-brokerctl's exit status says what happened: 2 for bad usage, 1 when
# the broker cannot be reached, answers "error:" (also when the stream
# splits it across reads) or answers nothing for 10 s, 0 for an answer.
# The answers come from vb-fake-control, a broker would not misbehave so.
. "$(dirname "$0")/lib.sh"

FAKE=$(dirname "$VB_HOSTILE")/vb-fake-control

# ctl EXPECTED-STATUS PATTERN DESCRIPTION ARGS...: runs brokerctl (at most
# 30 s) and checks its status and that its output matches PATTERN.
ctl() {
	local want=$1 pat=$2 what=$3 rc
	shift 3
	timeout 30 "$VB_BROKERCTL" "$@" >"$T/out" 2>&1
	rc=$?
	check "$what: status $rc, want $want" test "$rc" -eq "$want"
	if grep -q -- "$pat" "$T/out"; then
		pass "$what: says '$pat'"
	else
		fail "$what: says '$pat'"
		sed 's/^/  | /' "$T/out"
	fi
}

# fake MODE: a fake control socket at $T/fake.sock, waited for (it
# appears there only once it listens)
fake() {
	rm -f "$T/fake.sock"
	"$FAKE" "$T/fake.sock" "$1" &
	BG_PIDS+=($!)
	for _ in $(seq 50); do
		[ -S "$T/fake.sock" ] && return 0
		sleep 0.1
	done
	fail "vb-fake-control $1 did not start"
}

ctl 2 usage "no socket" stats
ctl 2 "unknown command 'frob'" "unknown command" -s "$T/none.sock" frob
ctl 0 "usage:" "--help" --help
ctl 1 "connect $T/none.sock" "no broker there" -s "$T/none.sock" stats

fake ok
ctl 0 "backend sim" "an answer" -s "$T/fake.sock" stats

fake split
ctl 1 "error: no such command" "an error answer in two reads" \
	-s "$T/fake.sock" stats

fake silent
start=$(date +%s)
ctl 1 "no answer from $T/fake.sock for 10 s" "a broker that answers nothing" \
	-s "$T/fake.sock" stats
took=$(($(date +%s) - start))
check "... gives up after 10-20 s (took $took s)" test "$took" -ge 9 -a "$took" -le 20

[ "$FAILS" -eq 0 ] || exit 1
echo "test_brokerctl: PASS"
