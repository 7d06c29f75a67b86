#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The broker's own sandbox is real: the running broker (sim backend, started
# as root) has no capabilities, no_new_privs and a seccomp filter, and still
# serves clients, its control socket and its shutdown (stopping a spawned
# devproc, writing the summaries) under that filter. A spawned devproc only
# has its own filter. A start-up-only VFIO ioctl after entry kills the
# broker with SIGSYS; --no-sandbox really leaves it unsandboxed.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	fail "this test must run as root (it checks that root's capabilities are dropped)"
	finish
fi

status_is() { # PID KEY REGEX
	grep -qE "^$2:[[:space:]]+$3\$" "/proc/$1/status"
}

cat >"$T/broker.conf" <<CONF
[broker]
backend = sim
socket = $T/broker.sock
control = $T/control.sock
[ram main]
gpa = 0x0
size = 64M
[device 1]
group = sim
fenced = yes
iova = 0x100000 16M
spawn = $VB_DEVPROC --workload virtio-iommu --iterations 50 --hold --gpa-base 0x0 --gpa-size 0x1000000
[device 2]
group = sim
domain = shared
iova = 0x100000 16M
uid = 0
[device 3]
group = sim
domain = shared
iova = 0x10000000 16M
uid = 0
CONF
start_broker "$T/broker.conf" --summary-json "$T/summary.json"
bp=$BROKER_PID

check "broker logs that it is sandboxed" \
	grep -q 'sandboxed: no capabilities, no_new_privs, seccomp' "$T/broker.log"
check "broker CapEff is 0" status_is "$bp" CapEff 0000000000000000
check "broker CapPrm is 0" status_is "$bp" CapPrm 0000000000000000
check "broker CapInh is 0" status_is "$bp" CapInh 0000000000000000
check "broker CapBnd is 0 (bounding set cleared)" status_is "$bp" CapBnd 0000000000000000
check "broker CapAmb is 0" status_is "$bp" CapAmb 0000000000000000
check "broker NoNewPrivs is 1" status_is "$bp" NoNewPrivs 1
check "broker Seccomp is 2 (filter)" status_is "$bp" Seccomp 2
check "broker has exactly one filter" status_is "$bp" Seccomp_filters 1

# The spawned devproc was started before the broker's filter was loaded:
# it carries only the filter it loaded itself (an inherited broker filter
# would make two, and would have killed its exec).
spid=$(sed -n 's/.*device 1: spawned .* (pid \([0-9]*\)).*/\1/p' "$T/broker.log" | head -n1)
wait_grep 10 'device 1 workload .* result' "$T/broker.out"
check "spawned devproc finished its workload OK under the sandboxed broker" \
	grep -q 'device 1 workload virtio-iommu: .* result OK' "$T/broker.out"
if [ -n "$spid" ] && [ -e "/proc/$spid/status" ]; then
	check "spawned devproc Seccomp is 2" status_is "$spid" Seccomp 2
	check "spawned devproc has only its own filter" status_is "$spid" Seccomp_filters 1
	check "spawned devproc NoNewPrivs is 1" status_is "$spid" NoNewPrivs 1
	check "spawned devproc CapEff is 0" status_is "$spid" CapEff 0000000000000000
else
	fail "spawned devproc (pid '${spid}') is not running (--hold)"
fi

# Clients through the listening socket, after the broker's sandbox entry.
"$VB_DEVPROC" --connect "$T/broker.sock" --device 2 --workload virtio-iommu \
	--iterations 300 --gpa-base 0x1000000 --gpa-size 0x1000000 \
	>"$T/d2.out" 2>&1 &
d2=$!
"$VB_DEVPROC" --connect "$T/broker.sock" --device 3 --workload coiommu \
	--iterations 3000 --pages 2048 --working-set 256 \
	--gpa-base 0x2000000 --gpa-size 0x1000000 >"$T/d3.out" 2>&1 &
d3=$!
BG_PIDS+=("$d2" "$d3")
wait "$d2"
r2=$?
wait "$d3"
r3=$?
check "virtio-iommu devproc through the socket: exit 0, result OK" \
	bash -c "[ $r2 -eq 0 ] && grep -q 'result OK' '$T/d2.out'"
check "coiommu devproc through the socket: exit 0, result OK" \
	bash -c "[ $r3 -eq 0 ] && grep -q 'result OK' '$T/d3.out'"
check "a raw client still gets valid answers" \
	"$VB_HOSTILE" --connect "$T/broker.sock" --device 2 --expect ok valid

# The control socket (accept4, FIONREAD, readv/writev) under the filter.
req=$(stats_json | json_num requests)
check "control socket answers stats (requests=${req:-none})" test "${req:-0}" -gt 300
check "control socket answers clients" \
	bash -c "'$VB_BROKERCTL' -s '$T/control.sock' --json clients | grep -q '\"spawned\":true'"
check "broker is alive and still filtered after serving" status_is "$bp" Seccomp 2

# Shutdown under the filter: SIGTERM reaches the held devproc (the kill
# rule for its pid), children are reaped, summaries are written.
kill -TERM "$bp"
wait "$bp"
rc=$?
BROKER_PID=
check "broker exits 0 on SIGTERM (status $rc; 159 would be SIGSYS)" test "$rc" -eq 0
check "summary printed" grep -q '^summary (backend sim' "$T/broker.out"
check "summary JSON written" grep -q '"backend":"sim"' "$T/summary.json"
# The devproc leaves --hold by itself when the broker closes its socket, so
# either it or the broker's SIGTERM ends it first; both are reaped.
check "broker ended and reaped the held devproc" \
	grep -qE "device 1: devproc $spid (stopped|exited 0)" "$T/broker.log"
check "no SIGSYS anywhere in the log" bash -c "! grep -qi 'signal 31\|Bad system call' '$T/broker.log'"

# A start-up-only VFIO request after entry: SIGSYS, before any kernel call.
one_device_conf "socket = $T/plain.sock
control = $T/plain.ctl" "uid = 0" >"$T/plain.conf"
timeout 20 "$VB_BROKER" -c "$T/plain.conf" --selftest-forbidden-ioctl \
	>"$T/selftest.out" 2>"$T/selftest.log"
rc=$?
check "VFIO_SET_IOMMU after entry kills the broker with SIGSYS (status $rc)" \
	test "$rc" -eq $((128 + 31))
check "the forbidden ioctl never returned" \
	bash -c "! grep -q 'filter is not working' '$T/selftest.log'"

# --no-sandbox: loudly unsandboxed.
"$VB_BROKER" -c "$T/plain.conf" --no-sandbox >"$T/nosb.out" 2>"$T/nosb.log" &
np=$!
BG_PIDS+=("$np")
wait_grep 10 'ready:' "$T/nosb.log"
check "--no-sandbox warns" grep -q 'warn: .*NOT SANDBOXED' "$T/nosb.log"
check "--no-sandbox: Seccomp is 0" status_is "$np" Seccomp 0
check "--no-sandbox: capabilities kept" \
	bash -c "! grep -qE '^CapEff:[[:space:]]+0+\$' /proc/$np/status"
kill -TERM "$np"
wait "$np"
check "--no-sandbox broker exits 0" test $? -eq 0
finish
