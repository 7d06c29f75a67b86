#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Guest side of tests/vm/e2e/bench.sh (busybox sh). Arguments:
# BIN_DIR SRC_DIR ROUNDS. Uses the first edu device's IOMMU group.
#
# Prints, per round:
#   BENCH speed mode=M workload=W round=R pages=N secs=S pps=P
#     (W virtio-iommu-64 is virtio-iommu with up to 64-page buffers,
#      virtio-iommu-q and virtio-iommu-64q the same streams with --coalesce,
#      coiommu-16 coiommu with DMA operations of 1..16 pages whose misses
#      are pinned by one request, --dma-pages 16)
#     pages mapped + unmapped per second of the workload (the devproc's
#     own timing of its workload loop; start-up is not counted), with the
#     guest RAM populated beforehand in every mapping of it (the broker's
#     "populate", the devproc's --populate), as in a running guest: the
#     first touch of a page would otherwise dominate every path. For
#       M = v3-direct, v3, type1: vfio-devproc through the broker,
#           both busy-polling (see speed_broker), requests through the
#           shared ring; v3-direct-socket: v3 direct through the socket
#           (ring = no); v3-direct-block: v3 direct without polling, on
#           one vCPU; sim: the broker's sim backend, polling through the
#           ring as v3-direct does, i.e. the request path without any
#           kernel mapping work
#       M = direct: vb-direct-type1, the same workload code holding the
#           container itself, one type1 ioctl per page (crosvm today)
#   BENCH mem workload=W mode=M size=small|large held=H peak=P slab=B meta=X
#     W holding its mappings (--keep-mapped), sampled while it holds H
#     pages: coiommu with a working-set cap of 4096 or 32768 pages,
#     virtio-iommu with the last of its rounds of 800 or 8000 buffers of
#     1..4 pages at consecutive IOVAs (about 2,000 and 20,000 pages, a
#     device with that many DMA buffers outstanding); B = slab bytes above
#     the pre-run sample (every slab
#     cache: /proc/slabinfo active_objs * objsize), X = the backend's own
#     metadata bytes as the broker reports them (v3: the module's count;
#     type1: 96 B per extent, an estimate; direct: -1)
#
# (3), the memory runs and the "no polling" broker path run pinned to
# vCPU 0 (taskset; the broker's devprocs inherit it): under TCG a wakeup
# across vCPUs waits for QEMU to deliver an IPI, which costs milliseconds
# and would measure that instead of the paths. The polling broker paths
# run unpinned, the broker and the devproc each busy on a vCPU of its own,
# so they use two vCPUs where (3) uses one (docs/benchmarks.md).
set -u
BIN=$1 SRC=$2 ROUNDS=$3
PIN="taskset -c 0"
BROKER=$BIN/src/broker/vfio-broker
CTL=$BIN/src/brokerctl/vfio-brokerctl
DIRECT=/bin/vb-direct-type1
T=/tmp/bench
mkdir -p $T

G=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ] || continue
	g=$(readlink $d/iommu_group)
	G=${g##*/}
	break
done
[ -n "$G" ] || { echo "E2E ERROR no edu device"; exit 1; }

slab() { awk '!/^(#|slabinfo)/ { s += $2 * $4 } END { printf "%d\n", s }' /proc/slabinfo; }
settle() { echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null; echo 3 >/proc/sys/vm/drop_caches; }
now() { awk '{ print $1 }' /proc/uptime; }

# Same geometry for every mode: 256 MiB of guest RAM at GPA 0, one window
# of 128 MiB at IOVA 1 MiB (what vb-direct-type1 uses).
# Every speed run passes --no-touch: the workloads' write and read-back of
# each page the device uses is their self-check, not the mapping path a
# passthrough device's process pays for (its device DMAs by itself), and
# it cost more than the mapping in every path alike.
VARGS="--workload virtio-iommu --iterations 1500 --buffers 16 --buffer-pages 4 --pipeline 8 --no-touch"
# Large buffers: the same stream with up to 64 pages per request, where a
# request's fixed cost is spread over ~32 pages.
LARGS="--workload virtio-iommu --iterations 60 --buffers 16 --buffer-pages 64 --pipeline 8 --no-touch"
# The small-buffer stream as a device that drains its queue sends it: one
# request per round's 16 buffers (--coalesce).
QARGS="$VARGS --coalesce"
LQARGS="$LARGS --coalesce"
CARGS="--workload coiommu --iterations 30000 --pages 65536 --working-set 4096 --pipeline 8 --no-touch"
# The same accesses grouped in DMA operations of 1..16 pages, each
# operation's misses pinned together (coIOMMU's batched pin notification).
C16ARGS="$CARGS --dma-pages 16"

conf() {	# extra-device-lines [populate [poll_us [ring [group]]]]
	printf '[broker]\ncontrol = %s\npoll_us = %s\nring = %s\n[ram guest]\nsize = 256M\npopulate = %s\n' \
		$T/ctl "${3:-0}" "${4:-yes}" "${2:-no}"
	printf '[device 1]\ngroup = %s\nfenced = yes\niova = 0x100000 0x8000000\n' ${5:-$G}
	echo "$1"
}

# The broker paths run as a throughput deployment would: broker and devproc
# busy-poll (poll_us, --spin-us) and the guest schedules them on its two
# vCPUs, so a request and its reply pass without a wakeup. Mode
# v3-direct-block is v3 direct without polling, both processes on vCPU 0,
# for comparison.
POLL_US=2000
speed_broker() {	# mode workload args...
	mode=$1 wl=$2 be=$1 poll=$POLL_US pin= ring=yes grp=$G
	shift 2
	case $mode in
	v3-direct-block) be=v3-direct poll=0 pin=$PIN ;;
	v3-direct-socket) be=v3-direct ring=no ;;
	sim) grp=sim ;;
	esac
	conf "spawn = vfio-devproc $* --populate --spin-us $poll --quiet" yes $poll $ring $grp >$T/conf
	t0=$(now)
	$pin $BROKER -c $T/conf -b $be --exit-when-done >$T/out 2>$T/log
	rc=$?
	t1=$(now)
	if [ $rc -ne 0 ]; then
		echo "E2E ERROR bench $mode $wl: broker rc $rc"
		sed 's/^/E2E LOG /' $T/out $T/log | tail -20
		return
	fi
	set -- $(awk '/^vfio-devproc: .* result OK/ {
		for (i = 1; i < NF; i++) v[$i] = $(i + 1)
		print v["pages_mapped"] + v["pages_unmapped"], v["seconds"], v["pages_per_s"]; exit }' $T/out)
	echo "BENCH speed mode=$mode workload=$wl round=$r pages=${1:-0} secs=${2:-0} pps=${3:-0} broker_secs=$(awk -v a=$t0 -v b=$t1 'BEGIN { print b - a }')"
}

speed_direct() {	# workload args...
	wl=$1
	shift
	$PIN $DIRECT --group $G --ram-size 0x10000000 --populate "$@" >$T/out 2>$T/log
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "E2E ERROR bench direct $wl: rc $rc"
		sed 's/^/E2E LOG /' $T/out $T/log | tail -20
		return
	fi
	set -- $(awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1) }
		END { print v["pages_mapped"] + v["pages_unmapped"], v["seconds"], v["pages_per_s"] }' $T/out)
	echo "BENCH speed mode=direct workload=$wl round=$r pages=$1 secs=$2 pps=$3"
}

wait_file() {	# file pattern seconds
	t=$(($3 * 10))
	while [ $t -gt 0 ]; do
		grep -q "$2" $1 2>/dev/null && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

mem_broker() {	# mode workload size devproc-args...
	mode=$1 wl=$2 size=$3
	shift 3
	# populated RAM: the memfd's page cache is then the same for every
	# set size, so its growth cancels in the slope
	conf "spawn = vfio-devproc $* --keep-mapped --hold" yes >$T/conf
	rm -f $T/ctl
	settle
	s0=$(slab)
	# emptied before the fork: the redirection runs in the child, and
	# wait_file could still read the last run's "result OK"
	: >$T/out
	$PIN $BROKER -c $T/conf -b $mode >$T/out 2>$T/log &
	bp=$!
	if ! wait_file $T/out 'result OK' 300; then
		echo "E2E ERROR bench mem $mode $wl $size: devproc did not finish"
		kill $bp
		wait $bp
		sed 's/^/E2E LOG /' $T/out $T/log | tail -20
		return
	fi
	settle
	s1=$(slab)
	js=$($CTL -s $T/ctl --json stats)
	held=$(echo "$js" | sed 's/.*"mapped_now":\([0-9]*\).*/\1/')
	# the metadata count is the one at the peak: per page of the peak
	peak=$(echo "$js" | sed 's/.*"peak_pages":\([0-9]*\).*/\1/')
	meta=$(echo "$js" | sed 's/.*"peak_usage":{[^}]*"bytes_self":\([0-9]*\).*/\1/')
	kill $bp
	wait $bp
	echo "BENCH mem workload=$wl mode=$mode size=$size held=$held peak=$peak slab=$((s1 - s0)) meta=$meta"
}

mem_direct() {	# workload size devproc-args...
	wl=$1 size=$2
	shift 2
	settle
	s0=$(slab)
	: >$T/out	# as in mem_broker
	$PIN $DIRECT --group $G --ram-size 0x10000000 --populate "$@" \
		--keep-mapped --hold >$T/out 2>$T/log &
	dp=$!
	if ! wait_file $T/out 'result OK' 300; then
		echo "E2E ERROR bench mem direct $wl $size: did not finish"
		kill -9 $dp
		wait $dp
		return
	fi
	settle
	s1=$(slab)
	held=$(awk '{ for (i = 1; i < NF; i++) if ($i == "pages_current") print $(i + 1) }' $T/out)
	kill -9 $dp
	wait $dp
	echo "BENCH mem workload=$wl mode=direct size=$size held=$held peak=$held slab=$((s1 - s0)) meta=-1"
}

# mem_all workload size devproc-args...: every path holding the same set
mem_all() {
	for m in v3-direct v3 type1; do
		mem_broker $m "$@"
	done
	mem_direct "$@"
}

# speed_all workload args...: the workload on every path back to back,
# (3) first in odd rounds and last in even ones, so a round's ratios
# compare runs seconds apart and neither side always runs first
speed_all() {
	w=$1
	shift
	[ $((r % 2)) -eq 0 ] || speed_direct $w "$@"
	for m in v3-direct v3 type1 v3-direct-socket v3-direct-block sim; do
		speed_broker $m $w "$@"
	done
	[ $((r % 2)) -eq 1 ] || speed_direct $w "$@"
}

r=1
while [ $r -le $ROUNDS ]; do
	speed_all virtio-iommu $VARGS
	speed_all virtio-iommu-q $QARGS
	speed_all virtio-iommu-64 $LARGS
	speed_all virtio-iommu-64q $LQARGS
	speed_all coiommu $CARGS
	speed_all coiommu-16 $C16ARGS
	r=$((r + 1))
done
CMEM="--workload coiommu --iterations 200000 --pages 65536"
VMEM="--workload virtio-iommu --iterations 1 --buffer-pages 4 --pipeline 8"
mem_all coiommu small $CMEM --working-set 4096
mem_all coiommu large $CMEM --working-set 32768
mem_all virtio-iommu small $VMEM --buffers 800
mem_all virtio-iommu large $VMEM --buffers 8000
exit 0
