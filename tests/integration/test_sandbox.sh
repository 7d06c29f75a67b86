#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The devproc's sandbox is real: a running devproc has no capabilities, no
# new privileges and a seccomp filter, and a syscall its policy forbids kills
# it with SIGSYS.
. "$(dirname "$0")/lib.sh"

cat >"$T/broker.conf" <<CONF
[broker]
backend = sim
socket = $T/broker.sock
control = $T/control.sock
[ram main]
gpa = 0x0
size = 16M
[device 1]
group = sim
fenced = yes
iova = 0x100000 16M
uid = 0
[device 2]
group = sim
fenced = yes
iova = 0x100000 16M
uid = 0
[device 3]
group = sim
fenced = yes
iova = 0x100000 16M
uid = 4321
CONF
start_broker "$T/broker.conf"

# A devproc that holds after its workload, so its status can be read.
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 20 --hold >"$T/hold.out" 2>&1 &
pid=$!
BG_PIDS+=("$pid")
wait_grep 10 'result' "$T/hold.out"
check "held devproc finished its workload OK" grep -q 'result OK' "$T/hold.out"
st=/proc/$pid/status
check "devproc CapEff is 0" grep -qE '^CapEff:[[:space:]]+0+$' "$st"
check "devproc CapPrm is 0" grep -qE '^CapPrm:[[:space:]]+0+$' "$st"
check "devproc NoNewPrivs is 1" grep -qE '^NoNewPrivs:[[:space:]]+1$' "$st"
check "devproc Seccomp is 2 (filter)" grep -qE '^Seccomp:[[:space:]]+2$' "$st"
kill -9 "$pid"

# A devproc that makes a forbidden syscall after entering its sandbox.
"$VB_DEVPROC" --connect "$T/broker.sock" --device 2 --workload virtio-iommu \
	--selftest-forbidden-syscall >"$T/forbidden.out" 2>&1
rc=$?
check "forbidden syscall kills the devproc with SIGSYS (status $rc)" \
	test "$rc" -eq $((128 + 31))

# The broker is still serving: device 2 can be claimed again and used.
check "broker still serves after the devproc died" \
	"$VB_HOSTILE" --connect "$T/broker.sock" --device 2 --expect ok valid

# An unprivileged devproc (no CAP_SETPCAP, so the bounding set cannot
# shrink) enters its sandbox all the same and does its work.
setpriv --reuid=4321 --regid=4321 --clear-groups \
	"$VB_DEVPROC" --connect "$T/broker.sock" --device 3 \
	--workload virtio-iommu --iterations 20 >"$T/unpriv.out" 2>&1
rc=$?
check "an unprivileged devproc sandboxes itself and finishes OK (status $rc)" \
	bash -c "[ $rc -eq 0 ] && grep -q 'result OK' '$T/unpriv.out'"
finish
