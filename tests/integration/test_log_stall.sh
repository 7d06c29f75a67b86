#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The broker's stderr is a pipe nobody reads (a supervisor that stopped
# draining it): a flood of lines about clients fills it, and the broker
# keeps serving, sandboxed, instead of waiting in write(), also while its
# progress lines and libevent's warnings want out. Once the pipe is read
# again, the next line says how many lines were dropped.
. "$(dirname "$0")/lib.sh"

one_device_conf "socket = $T/broker.sock
control = $T/control.sock" "uid = 0" >"$T/broker.conf"
mkfifo "$T/log.fifo"
# read+write: opening never waits, and the pipe always has a reader
exec 3<>"$T/log.fifo"
"$VB_BROKER" -c "$T/broker.conf" --progress 1 >"$T/broker.out" \
	2>"$T/log.fifo" &
BROKER_PID=$!
for _ in $(seq 100); do
	"$VB_BROKERCTL" -s "$T/control.sock" stats >/dev/null 2>&1 && break
	sleep 0.1
done

# about a thousand lines of about a hundred bytes: more than a pipe holds
"$VB_HOSTILE" --connect "$T/broker.sock" --expect disconnect log-flood \
	>"$T/flood.out" 2>&1
check "log flood: clients cut off as they should be" test $? = 0
sleep 2.5	# progress lines come due while the pipe is full
timeout 60 "$VB_DEVPROC" --connect "$T/broker.sock" --device 1 \
	--workload virtio-iommu --iterations 200 >"$T/d1.out" 2>&1
rc=$?
check "a client while the log pipe is full: OK within 60 s (status $rc)" \
	bash -c "[ $rc = 0 ] && grep -q 'result OK' '$T/d1.out'"

# drain; a later line carries the report
timeout 2 cat <&3 >"$T/drained1.txt"
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 10 >"$T/d2.out" 2>&1
for _ in $(seq 25); do
	timeout 0.2 cat <&3 >>"$T/drained2.txt"
	grep -q 'info: progress: ' "$T/drained2.txt" && break
done
size1=$(stat -c %s "$T/drained1.txt")
check "the pipe was full (it held $size1 bytes of a 64 KiB pipe)" \
	test "$size1" -ge 61440
# (a progress line may carry the report while the first drain still reads)
check "the next line said how many lines were dropped" \
	grep -q 'warn: log: [0-9]* line(s) lost: the log reader did not keep up' \
	"$T/drained1.txt" "$T/drained2.txt"
check "progress lines went on after the stall" \
	grep -q 'info: progress: ' "$T/drained2.txt"
check "broker still running" kill -0 "$BROKER_PID"
finish
