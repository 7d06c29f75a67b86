#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A client killed in the middle of its stream leaves nothing mapped, and the
# mappings of a client beside it in the same domain stay exactly as they were.
. "$(dirname "$0")/lib.sh"

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
domain = shared
iova = 0x100000 64M
uid = 0
[device 2]
group = sim
domain = shared
iova = 0x10000000 64M
uid = 0
CONF
start_broker "$T/broker.conf"

# The neighbour maps its working set and holds it.
"$VB_DEVPROC" --connect "$T/broker.sock" --device 2 --workload coiommu \
	--pages 4096 --working-set 256 --iterations 2000 --keep-mapped --hold \
	>"$T/keep.out" 2>&1 &
keep=$!
BG_PIDS+=("$keep")
wait_grep 10 'result' "$T/keep.out"
check "neighbour finished its workload OK" grep -q 'result OK' "$T/keep.out"
before=$(stats_json | json_num mapped_now)
check "neighbour holds its working set mapped ($before pages)" \
	test "${before:-0}" -eq 256

# The victim streams for a long time; kill it while it has pages mapped.
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload coiommu \
	--pages 16384 --working-set 2048 --iterations 100000000 \
	>"$T/victim.out" 2>&1 &
victim=$!
BG_PIDS+=("$victim")
for _ in $(seq 200); do
	now=$(stats_json | json_num mapped_now)
	[ "${now:-0}" -gt $((before + 100)) ] && break
	sleep 0.05
done
check "victim had pages mapped when killed ($now in all)" \
	test "${now:-0}" -gt $((before + 100))
kill -9 "$victim"
wait "$victim" 2>/dev/null

after=$(wait_mapped "$before")
check "killed client's pages are all unmapped, neighbour's kept ($after == $before)" \
	test "${after:-x}" = "$before"
check "broker logged the release" \
	grep -qE 'dev 1 pid [0-9]+: released [1-9][0-9]* page\(s\) left mapped' "$T/broker.log"
check "broker still alive" kill -0 "$BROKER_PID"

# Ctrl-C at a terminal signals the whole foreground process group. The
# broker, started as a group of its own here, must stop its spawned
# devprocs itself and not count them as failed (they run in groups of
# their own and never see the SIGINT).
one_device_conf "control = $T/ctl2.sock" \
	"spawn = $VB_DEVPROC --workload virtio-iommu --iterations 1 --hold" \
	>"$T/intr.conf"
# (env: a background job of a script starts with SIGINT ignored, which
# its children would inherit; a terminal gives it the default action)
setsid env --default-signal=INT "$VB_BROKER" -c "$T/intr.conf" \
	>"$T/intr.out" 2>"$T/intr.log" &
intr=$!
BG_PIDS+=("$intr")
wait_grep 10 'result OK' "$T/intr.out"
check "spawned devproc finished its workload and holds" grep -q 'result OK' "$T/intr.out"
kill -INT -- "-$intr"
wait "$intr"
rc=$?
check "broker stopped by SIGINT to its process group exits 0 (status $rc)" test "$rc" = 0
check "its devproc was stopped, not counted as failed" \
	grep -q 'devprocs 1 spawned, 0 failed' "$T/intr.out"

# A start-up that fails after a devproc was spawned (here the next
# device's program does not exist) stops that devproc before exiting.
printf '#!/bin/sh\nexec sleep 300\n' >"$T/sleeper.sh"
chmod +x "$T/sleeper.sh"
{
	one_device_conf "" "spawn = $T/sleeper.sh"
	printf '[device 2]\ngroup = sim\niova = 0x100000 16M\nspawn = no-such-devproc\n'
} >"$T/badspawn.conf"
timeout 20 "$VB_BROKER" -c "$T/badspawn.conf" >"$T/badspawn.out" 2>"$T/badspawn.log"
rc=$?
check "a spawn that fails at start-up fails the broker (status $rc)" test "$rc" = 1
check "the failure is logged" grep -q "device 2: cannot spawn its devproc" "$T/badspawn.log"
sp=$(sed -n 's/.*device 1: spawned .* (pid \([0-9]*\)).*/\1/p' "$T/badspawn.log")
BG_PIDS+=(${sp:-})
check "device 1's devproc had started (pid ${sp:-none})" test -n "$sp"
check "and was stopped when start-up failed" \
	sh -c "! kill -0 ${sp:-0} 2>/dev/null || grep -q '^State:.*Z' /proc/${sp:-0}/status"
finish
