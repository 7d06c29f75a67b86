#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# bench.sh: the kernel backend benchmark. Boots one guest (module built
# without its debug checks) that runs the "bench" guest program: 65,536
# scattered 4 KiB pages through type1 (one ioctl per page) and v3 tracked
# and direct (batches of 1, 16, 64, 512), 65,536 pages spread 1 in 64, and
# a dense 1 GiB mapping. Prints a table (markdown) and the issue's targets.
# The guest log is kept; see docs/benchmarks.md for how to read it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mkdir -p "$VM_WORK/logs"
log=$VM_WORK/logs/bench-$(date +%Y%m%d-%H%M%S).log
VB_V3_DEBUG=0 VB_VM_LOG=$log VB_VM_TIMEOUT=${VB_VM_TIMEOUT:-900} \
	VB_VM_TEST_TIMEOUT=800 "$VM_DIR/run.sh" bench

awk '
/VMBENCH noise/ {
	for (i = 3; i <= NF; i++) { split($i, kv, "="); noise[kv[1]] = kv[2] }
	next
}
/VMBENCH backend=/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	n++
	row[n] = sprintf("| %s | %s | %s | %d | %.2f | %.2f | %s | %d | %d | %d |",
		f["backend"], f["layout"], f["batch"] == 0 ? "1 entry" : f["batch"],
		f["pages"], f["slab_bpp"], f["iopt_bpp"],
		f["backend"] == "type1" ? "-" : sprintf("%.2f", f["meta_bpp"]),
		f["map_pps"], f["unmap_pps"], f["both_pps"])
	key = f["backend"] "/" f["layout"] "/" f["batch"]
	slab[key] = f["slab_bpp"]; both[key] = f["both_pps"]
}
function verdict(ok) { return ok ? "met" : "MISSED" }
END {
	if (!n) { print "bench: no VMBENCH lines in the log"; exit 1 }
	print "| backend | layout | batch | pages | slab B/page | IOMMU PT B/page | v3 metadata_bytes/page | map pages/s | unmap pages/s | map+unmap pages/s |"
	print "|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= n; i++) print row[i]
	printf "\nCounter noise with nothing mapped: slab %d bytes, IOMMU PT %d pages.\n\n", noise["slab_bytes"], noise["iommu_pages"]
	print "Targets (slab growth per mapped page; rates are map+unmap):"
	d = slab["direct/dense/0"]; printf "- direct dense <= 0.3 B/page: %.3f -> %s\n", d, verdict(d <= 0.3)
	s = slab["direct/sparse64/512"]; printf "- direct sparse 1-in-64 <= 10 B/page: %.3f -> %s\n", s, verdict(s <= 10)
	t = slab["tracked/dense/0"]; printf "- tracked dense <= 10 B/page: %.3f -> %s\n", t, verdict(t <= 10)
	t1 = both["type1/scattered/1"]
	for (m = 1; m <= 2; m++) {
		mode = m == 1 ? "tracked" : "direct"
		r = both[mode "/scattered/64"] / t1
		printf "- %s batch 64 >= 10x type1 pages/s: %.1fx -> %s\n", mode, r, verdict(r >= 10)
	}
}' "$log" | tee "$log.table"
echo "bench: guest log $log, table $log.table"
