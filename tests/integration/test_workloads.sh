#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The broker spawns sandboxed devprocs over socketpairs, one per workload
# (virtio-iommu pipelined, synchronous and coalesced, coIOMMU, replay).
# Devices that write guest memory get GPA ranges of their own: each checks
# that what it wrote reads back, which another device writing the same
# pages would break now and then.
# Every devproc checks its own results, the broker exits 0 only if all of
# them passed, and its summary shows everything mapped was unmapped again. A devproc
# whose checks fail makes the broker's run fail.
. "$(dirname "$0")/lib.sh"

conf() { # trace-for-device-4 [ring]
	cat <<CONF
[broker]
backend = sim
ring = ${2:-yes}
control = $T/control.sock
max_entries = 128
window = 16
[ram low]
gpa = 0x0
size = 64M
[ram high]
gpa = 0x180000000
size = 16M
[device 1]
group = sim
domain = shared
iova = 0x100000 32M
spawn = vfio-devproc --workload virtio-iommu --iterations 300 --buffers 32 --buffer-pages 8 --pipeline 8 --gpa-base 0x0 --gpa-size 0x1000000
[device 2]
group = sim
domain = shared
iova = 0x4000000 32M
spawn = vfio-devproc --workload virtio-iommu --iterations 100 --buffers 8 --pipeline 0 --gpa-base 0x1000000 --gpa-size 0x1000000
[device 3]
group = sim
fenced = yes
iova = 0x100000 256M
spawn = vfio-devproc --workload coiommu --iterations 20000 --pages 8192 --working-set 512 --pipeline 8 --gpa-base 0x2000000 --gpa-size 0x2000000
[device 4]
group = sim
fenced = yes
iova = 0x100000 16M
spawn = vfio-devproc --workload replay --trace $1
[device 5]
group = sim
fenced = yes
iova = 0x100000 32M
spawn = vfio-devproc --workload virtio-iommu --iterations 200 --buffers 40 --coalesce --pipeline 4 --gpa-base 0x180000000 --gpa-size 0x800000
CONF
}

conf "$VB_SOURCE_DIR/docs/replay-example.trace" >"$T/good.conf"
"$VB_BROKER" -c "$T/good.conf" --exit-when-done --summary-json "$T/sum.json" \
	>"$T/broker.out" 2>"$T/broker.log"
rc=$?
check "broker exits 0 when every devproc passed (rc $rc)" test "$rc" -eq 0
for w in "device 1 workload virtio-iommu" "device 2 workload virtio-iommu" \
	"device 3 workload coiommu" "device 4 workload replay" \
	"device 5 workload virtio-iommu"; do
	check "$w: result OK" grep -q "$w: .* errors 0 result OK" \
		"$T/broker.out" "$T/broker.log"
done
s=$(cat "$T/sum.json")
mapped=$(json_num pages_mapped <<<"$s")
unmapped=$(json_num pages_unmapped <<<"$s")
check "every devproc's requests went through a shared ring" \
	test "$(grep -c 'requests through a shared ring' "$T/broker.log")" -eq 5
check "pages were mapped ($mapped)" test "${mapped:-0}" -gt 10000
check "every mapped page was unmapped ($unmapped)" test "$mapped" = "$unmapped"
check "5 devprocs, none failed" \
	test "$(json_num devprocs <<<"$s")/$(json_num devprocs_failed <<<"$s")" = 5/0
check "the replay's refused entries were counted as errors" \
	test "$(json_num errors <<<"$s")" -ge 5
check "batches merged several entries (mean batch > 1)" \
	grep -qE '"mean_batch":([2-9]|1\.[0-9]*[1-9]|[1-9][0-9])' <<<"$s"
for b in type1 iommufd v3; do
	check "summary gives the peak's $b memory in bytes" \
		grep -qE "^ +$b +[1-9][0-9]* bytes" "$T/broker.out"
done
peak=$(json_num bytes_type1 <<<"$s")
check "type1 estimate is 96 B per extent ($peak)" \
	test "$peak" -eq $((96 * $(json_num extents <<<"$s")))

# The same devprocs with ring = no: every request and reply a datagram.
conf "$VB_SOURCE_DIR/docs/replay-example.trace" no >"$T/sock.conf"
"$VB_BROKER" -c "$T/sock.conf" --exit-when-done --summary-json "$T/sock.json" \
	>"$T/sock.out" 2>"$T/sock.log"
rc=$?
check "ring = no: broker exits 0 when every devproc passed (rc $rc)" test "$rc" -eq 0
check "ring = no: every devproc used the socket" \
	test "$(grep -c 'requests through the socket' "$T/sock.log")" -eq 5
sock_mapped=$(json_num pages_mapped <"$T/sock.json")
check "ring = no: every mapped page ($sock_mapped) was unmapped" \
	test "${sock_mapped:-0}" -gt 0 -a \
	"$sock_mapped" = "$(json_num pages_unmapped <"$T/sock.json")"

# Busy polling on both sides (the broker's poll_us, the devprocs'
# --spin-us) on populated RAM: the same checks hold, the broker says it
# polls, and it still stops once every devproc is done.
cat >"$T/poll.conf" <<CONF
[broker]
backend = sim
poll_us = 500
[ram r]
size = 24M
populate = yes
[device 1]
group = sim
iova = 0x100000 16M
spawn = vfio-devproc --workload virtio-iommu --iterations 200 --coalesce --spin-us 200 --populate --gpa-base 0 --gpa-size 0x800000
[device 2]
group = sim
iova = 0x100000 16M
spawn = vfio-devproc --workload coiommu --iterations 3000 --pages 2048 --working-set 128 --spin-us 200 --gpa-base 0x800000 --gpa-size 0x800000
[device 3]
group = sim
iova = 0x100000 16M
spawn = vfio-devproc --workload coiommu --dma-pages 8 --iterations 3000 --pages 2048 --working-set 128 --spin-us 200 --gpa-base 0x1000000 --gpa-size 0x800000
CONF
timeout 120 "$VB_BROKER" -c "$T/poll.conf" --exit-when-done >"$T/poll.out" 2>"$T/poll.log"
rc=$?
check "polling broker exits 0 when every devproc passed (rc $rc)" test "$rc" -eq 0
check "polling broker logs its poll window" grep -q "polling: 500 us" "$T/poll.log"
for w in "device 1 workload virtio-iommu" "device 2 workload coiommu"; do
	check "polling, $w: result OK" grep -q "$w: .* errors 0 result OK" \
		"$T/poll.out" "$T/poll.log"
done
# --dma-pages 8: an operation's misses pinned by one MAP, so fewer MAPs
# than pages pinned (the devproc's own checks passed on every reply)
line=$(grep -h "device 3 workload coiommu: .* result OK" "$T/poll.out" "$T/poll.log")
set -- $(awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1) }
	END { print v["maps"] + 0, v["pages_mapped"] + 0 }' <<<"$line")
check "polling, coiommu --dma-pages 8: result OK, $1 MAPs for $2 pages pinned" \
	test "${1:-0}" -gt 0 -a "${1:-0}" -lt "${2:-0}"

# virtio-iommu --keep-mapped: the last round's buffers stay mapped (the
# devproc checks STATS shows exactly them), and that is not nothing.
one_device_conf "" "spawn = vfio-devproc --workload virtio-iommu --iterations 3 --buffers 20 --buffer-pages 4 --keep-mapped --gpa-base 0 --gpa-size 0x800000" \
	>"$T/keep.conf"
timeout 60 "$VB_BROKER" -c "$T/keep.conf" --exit-when-done >"$T/keep.out" 2>"$T/keep.log"
rc=$?
check "virtio-iommu --keep-mapped: broker exits 0 (rc $rc)" test "$rc" -eq 0
line=$(grep -h "device 1 workload virtio-iommu: .* result OK" "$T/keep.out" "$T/keep.log")
kept=$(awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1) }
	END { print v["pages_mapped"] - v["pages_unmapped"] }' <<<"$line")
check "virtio-iommu --keep-mapped: result OK with 20..80 pages left mapped ($kept)" \
	test "${kept:-0}" -ge 20 -a "${kept:-0}" -le 80

# max_mapped through the real config, broker and client library: the
# trace expects EDQUOT one page past the quota, and room again after an
# unmap; a broker without the quota would map that page and fail it.
one_device_conf "" "max_mapped = 32K
spawn = vfio-devproc --workload replay --trace $VB_SOURCE_DIR/tests/integration/data/quota.trace" \
	>"$T/quota.conf"
timeout 60 "$VB_BROKER" -c "$T/quota.conf" --exit-when-done --summary-json "$T/quota.json" \
	>"$T/quota.out" 2>"$T/quota.log"
rc=$?
check "max_mapped: the quota replay passes (rc $rc)" test "$rc" -eq 0
check "max_mapped: every operation as the trace expects" \
	grep -q "device 1 workload replay: requests 10 .* result OK" "$T/quota.out" "$T/quota.log"
check "max_mapped: the broker refused exactly one request" \
	test "$(json_num errors <"$T/quota.json")" = 1

# The same run with a trace whose expectation is wrong must fail.
conf "$VB_SOURCE_DIR/tests/integration/data/bad-expectation.trace" >"$T/bad.conf"
"$VB_BROKER" -c "$T/bad.conf" --exit-when-done >"$T/bad.out" 2>"$T/bad.log"
rc=$?
check "broker exits non-zero when a devproc's checks fail (rc $rc)" test "$rc" -ne 0
check "the failing replay reports FAIL" \
	grep -q "device 4 workload replay: .* result FAIL" "$T/bad.out" "$T/bad.log"
finish
