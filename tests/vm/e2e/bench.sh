#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# tests/vm/e2e/bench.sh [--build DIR] [--rounds N]
#
# Issue 4's measurement, in one guest run (the module built without its
# debug checks): the virtio-iommu and coIOMMU workloads of vfio-devproc
#   (1) through the broker on v3 (direct and tracked mode),
#   (2) through the broker on type1,
#   both with the broker and devproc busy-polling on the guest's two vCPUs
#   and requests passing through the shared ring, and (1) v3 direct once
#   more through the socket (ring = no), and once without polling, on one
#   vCPU, and the broker's sim backend the same way (the request path
#   without kernel work),
#   (3) the way crosvm does it today: the same workload code holding the
#       type1 container itself, one ioctl per page (direct_type1.c),
# on populated guest RAM, reporting pages (mapped + unmapped) per second of
# the workload (each process times its own workload loop), and kernel bytes per
# mapped page from runs of both workloads that hold their mappings (coIOMMU
# its working set of 4096 or 32768 pages, virtio-iommu 800 or 8000 buffers):
# the slope of slab bytes between the small and the large set (so
# per-process constants cancel), and the backend's own metadata count where
# it has one.
# Prints markdown tables; the guest log is kept under $VM_WORK/e2e-bench.
# --rounds 0 runs the memory measurement alone (a few minutes).
# --report LOG prints the tables of a kept guest log again, without a run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

build=${VB_BUILD_DIR:-$VM_SRC/build}
rounds=3
log=
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--report) log=$2; shift 2 ;;
	*) vm_die "bench: unknown argument $1" ;;
	esac
done
[ -z "$log" ] || [ -r "$log" ] || vm_die "bench: cannot read $log"

# The run: boot one guest with the bench; $log is its serial log.
run_bench() {
	. "$here/lib-e2e.sh"
	e2e_use_build "$build"
	work=$VM_WORK/e2e-bench
	mkdir -p "$work"

	# The baseline: the devproc's workload code plus a type1 "client" of its own.
	gcc -static -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
		-Wstrict-prototypes -Wmissing-prototypes \
		-I"$VM_SRC/include" -I"$VM_SRC/src" -o "$work/vb-direct-type1" \
		"$here/direct_type1.c" "$VM_SRC"/src/devproc/{guest_mem,lru,workload,workload_virtio_iommu,workload_coiommu}.c \
		"$VM_SRC/src/common/log.c" || vm_die "bench: building vb-direct-type1 failed"

	e2e_initramfs "$work" 0 "$here/bench-guest.sh" "$rounds" "$work/vb-direct-type1"
	log=$work/guest-$(date +%Y%m%d-%H%M%S).log
	echo "bench: kernel $(vm_kernel_release), $rounds round(s), build $E2E_BUILD, log $log"
	qrc=0
	e2e_boot "$work" "$log" "${VB_VM_TIMEOUT:-3000}" || qrc=$?
	[ "$qrc" -eq 0 ] || echo "bench: QEMU exited $qrc"
	grep -oE 'E2E (ERROR|LOG).*' "$log" || true
}
[ -n "$log" ] || run_bench

awk '
function median(list,    a, m, t, i, j) {
	m = split(list, a, " ")
	for (i = 2; i <= m; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return a[int((m + 1) / 2)]
}
/BENCH speed/ {
	delete f
	for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	k = f["workload"] SUBSEP f["mode"]
	if (!(f["workload"] in wseen)) { wseen[f["workload"]] = 1; wls[++nw] = f["workload"] }
	pps[k] = pps[k] " " f["pps"]; pages[k] = f["pages"]; n[k]++
}
/BENCH mem/ {
	delete f
	for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	m = f["workload"] SUBSEP f["mode"]
	if (!(f["workload"] in mseen)) { mseen[f["workload"]] = 1; mwls[++nmw] = f["workload"] }
	# slab is sampled while "held" pages are mapped; the backend count
	# is the one at the peak, per page of the peak (logs before peak=
	# was printed: held)
	pk = f["peak"] > 0 ? f["peak"] : f["held"]
	if (f["size"] == "small") { h1[m] = f["held"]; p1[m] = pk; s1[m] = f["slab"]; x1[m] = f["meta"] }
	else { h2[m] = f["held"]; p2[m] = pk; s2[m] = f["slab"]; x2[m] = f["meta"] }
}
END {
	nm = split("v3-direct v3 type1 v3-direct-socket v3-direct-block sim direct", modes, " ")
	name["v3-direct"] = "(1) broker, v3 direct"
	name["v3"] = "(1) broker, v3 tracked"
	name["type1"] = "(2) broker, type1"
	name["v3-direct-socket"] = "(1) broker, v3 direct, socket (ring = no)"
	name["v3-direct-block"] = "(1) broker, v3 direct, no polling, one vCPU"
	name["sim"] = "broker on sim (no kernel work), as (1) v3 direct"
	name["direct"] = "(3) container in the devproc, type1 per page"
	for (w = 1; w <= nw; w++) {
		wl = wls[w]
		printf "\n%s: pages mapped + unmapped per second (median of rounds)\n\n", wl
		print "| path | pages per run | pages/s | vs (3) | vs (3), median of per-round ratios |"
		print "|---|---:|---:|---:|---:|"
		base = median(pps[wl, "direct"])
		nb = split(pps[wl, "direct"], bl, " ")
		for (i = 1; i <= nm; i++) {
			k = wl SUBSEP modes[i]
			if (!(k in n)) { printf "| %s | - | missing | - | - |\n", name[modes[i]]; continue }
			v = median(pps[k])
			# a round runs a workload on every path back to back: a
			# ratio within a round compares runs under the same load
			nv = split(pps[k], vl, " "); rl = ""
			for (j = 1; j <= nv && j <= nb; j++)
				if (bl[j] > 0) rl = rl " " vl[j] / bl[j]
			printf "| %s | %d | %.0f | %s | %s |\n", name[modes[i]], pages[k], v,
			       (base > 0 ? sprintf("%.2fx", v / base) : "-"),
			       (rl != "" ? sprintf("%.2fx", median(rl)) : "-")
		}
	}
	nmm = split("v3-direct v3 type1 direct", mmodes, " ")
	for (w = 1; w <= nmw; w++) {
		wl = mwls[w]
		printf "\nkernel bytes per mapped page (%s holding its mappings)\n\n", wl
		print "| path | pages held (small / large) | slab slope B/page | backend metadata B/page (small / large) |"
		print "|---|---:|---:|---:|"
		for (i = 1; i <= nmm; i++) {
			m = wl SUBSEP mmodes[i]
			if (!(m in h1) || !(m in h2) || h2[m] == h1[m]) {
				printf "| %s | - | missing | - |\n", name[mmodes[i]]; continue
			}
			slope = (s2[m] - s1[m]) / (h2[m] - h1[m])
			meta = x1[m] < 0 ? "-" : sprintf("%.2f / %.2f", x1[m] / p1[m], x2[m] / p2[m])
			printf "| %s | %d / %d | %.2f | %s |\n", name[mmodes[i]], h1[m], h2[m], slope, meta
		}
	}
}' "$log"
grep -q 'E2E EXIT rc=0' "$log" || { echo "bench: the guest script failed"; exit 1; }
! grep -q 'E2E ERROR' "$log" || { echo "bench: a measurement failed (see above)"; exit 1; }
