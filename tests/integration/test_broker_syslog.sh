#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# --syslog under the broker's seccomp filter. In a private mount namespace
# (so the machine's /dev is untouched) a stand-in syslogd listens on
# /dev/log. Lines the broker logs after its sandbox entry must arrive there
# (sent without waiting on the socket connected at start-up); when the
# syslogd goes away mid-run, the broker keeps serving, then shuts down
# cleanly; when a syslogd stops reading (stopped with SIGSTOP), a flood of
# lines does not stall the broker, and once it reads again the broker
# reports how many lines it dropped.
. "$(dirname "$0")/lib.sh"

SINK=$(dirname "$VB_HOSTILE")/vb-syslog-sink
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
	fail "needs root and unshare(1) for a private /dev/log"
	finish
fi
[ -x "$SINK" ] || { fail "no $SINK"; finish; }

one_device_conf "" \
	"spawn = $VB_DEVPROC --workload coiommu --iterations 2000 --pages 1024 --working-set 128" \
	>"$T/spawn.conf"
one_device_conf "socket = $T/broker.sock
control = $T/control.sock" "uid = 0" >"$T/listen.conf"

# Everything that needs the private /dev/log runs inside the namespace and
# leaves its results in $T.
timeout 120 unshare -m bash -s <<INNER
set -u
mount --make-rprivate /
mkdir -p "$T/olddev"
mount --rbind /dev "$T/olddev"
mount -t tmpfs tmpfs /dev
for f in null zero urandom; do
	touch /dev/\$f
	mount --bind "$T/olddev/\$f" /dev/\$f
done
"$SINK" /dev/log >"$T/syslog.txt" 2>&1 &
sp=\$!
for _ in \$(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done

# 1: a whole --exit-when-done run logging to syslog.
"$VB_BROKER" -c "$T/spawn.conf" --syslog --exit-when-done \
	>"$T/run1.out" 2>"$T/run1.err"
echo \$? >"$T/run1.rc"

# listen_broker N: a --syslog broker on the listening socket as \$bp, once
# its control socket answers; its output in run<N>.out and .err.
listen_broker() {
	"$VB_BROKER" -c "$T/listen.conf" --syslog >"$T/run\$1.out" \
		2>"$T/run\$1.err" &
	bp=\$!
	for _ in \$(seq 100); do
		"$VB_BROKERCTL" -s "$T/control.sock" stats >/dev/null 2>&1 && break
		sleep 0.1
	done
}

# 2: syslogd goes away while the broker serves.
listen_broker 2
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 100 >"$T/d1.out" 2>&1 &
dp=\$!
wait \$dp
echo \$? >"$T/d1.rc"
echo \$dp >"$T/d1.pid"
# the sink must have this devproc's disconnect before it goes away (run 1
# logged one for device 1 too, with another pid)
for _ in \$(seq 100); do
	grep -q "peer_free: dev 1 pid \$dp:" "$T/syslog.txt" 2>/dev/null && break
	sleep 0.1
done
kill \$sp
wait \$sp 2>/dev/null
rm -f /dev/log
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 100 >"$T/d2.out" 2>&1
echo \$? >"$T/d2.rc"
"$VB_BROKERCTL" -s "$T/control.sock" stats >"$T/stats2.txt" 2>&1
echo \$? >"$T/stats2.rc"
kill -TERM \$bp
wait \$bp
echo \$? >"$T/run2.rc"

# 3: a syslogd that stops reading.
"$SINK" /dev/log >"$T/syslog3.txt" 2>&1 &
sp=\$!
for _ in \$(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
listen_broker 3
kill -STOP \$sp
# about a thousand lines about clients, far more than the socket queues
"$VB_HOSTILE" --connect "$T/broker.sock" --expect disconnect log-flood \
	>"$T/flood3.out" 2>&1
echo \$? >"$T/flood3.rc"
timeout 60 "$VB_DEVPROC" --connect "$T/broker.sock" --device 1 \
	--workload virtio-iommu --iterations 100 >"$T/d3.out" 2>&1
echo \$? >"$T/d3.rc"
kill -CONT \$sp
# a line after the stall carries the report
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 10 >"$T/d4.out" 2>&1
for _ in \$(seq 100); do
	grep -q 'line(s) lost' "$T/syslog3.txt" 2>/dev/null && break
	sleep 0.1
done
kill -TERM \$bp
wait \$bp
echo \$? >"$T/run3.rc"
kill \$sp
INNER

rc1=$(cat "$T/run1.rc" 2>/dev/null)
check "--syslog run exits 0 under the filter (status ${rc1:-none}; 159 = SIGSYS)" \
	test "${rc1:-x}" = 0
check "the sandbox entry line reached syslog" \
	grep -q 'vfio-broker\[[0-9]*\]: broker_sandbox_enter: sandboxed:' "$T/syslog.txt"
check "lines logged after entry reached syslog" \
	grep -q 'vfio-broker\[[0-9]*\]: broker_check_done: every spawned devproc has finished' "$T/syslog.txt"
check "the spawned devproc finished OK" grep -q 'result OK' "$T/run1.out"
check "nothing of the broker's went to stderr" \
	bash -c "! grep -q 'vfio-broker\[' '$T/run1.err'"

check "a client before syslogd went away: OK" \
	bash -c "[ \"\$(cat '$T/d1.rc')\" = 0 ] && grep -q 'result OK' '$T/d1.out'"
d1pid=$(cat "$T/d1.pid" 2>/dev/null)
check "its disconnect was logged to syslog" \
	grep -q "vfio-broker\[[0-9]*\]: peer_free: dev 1 pid ${d1pid:-none}:" "$T/syslog.txt"
check "a client after syslogd went away: OK (broker kept serving)" \
	bash -c "[ \"\$(cat '$T/d2.rc')\" = 0 ] && grep -q 'result OK' '$T/d2.out'"
check "control socket still answers" \
	bash -c "[ \"\$(cat '$T/stats2.rc')\" = 0 ] && grep -q '^backend sim' '$T/stats2.txt'"
rc2=$(cat "$T/run2.rc" 2>/dev/null)
check "broker without syslogd exits 0 on SIGTERM (status ${rc2:-none})" \
	test "${rc2:-x}" = 0

check "a log flood into a syslogd that stopped reading: clients cut off as they should be" \
	test "$(cat "$T/flood3.rc" 2>/dev/null)" = 0
check "a client during the stall: OK within 60 s (the broker did not wait on syslog)" \
	bash -c "[ \"\$(cat '$T/d3.rc')\" = 0 ] && grep -q 'result OK' '$T/d3.out'"
check "once syslogd read again, the broker said how many lines it dropped" \
	grep -q 'vfio-broker\[[0-9]*\]: log: [0-9]* line(s) lost: the log reader did not keep up' \
	"$T/syslog3.txt"
rc3=$(cat "$T/run3.rc" 2>/dev/null)
check "broker after the stall exits 0 on SIGTERM (status ${rc3:-none})" \
	test "${rc3:-x}" = 0
finish
