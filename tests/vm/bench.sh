#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# bench.sh: the kernel backend benchmark. Boots one guest (module built
# without its debug checks) that runs the "bench" guest program: 65,536
# scattered 4 KiB pages through type1 (one ioctl per page) and v3 tracked
# and direct (batches of 1, 16, 64, 512), 65,536 pages spread 1 in 64, and
# a dense 1 GiB mapping, then 9 paired passes (type1, v3 direct and v3
# tracked batch 64 on the same 65,536 scattered pages, back to back) for
# the speed ratios. Prints a table (markdown) and the issue's targets.
# The guest log is kept; see docs/benchmarks.md for how to read it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mkdir -p "$VM_WORK/logs"
log=$VM_WORK/logs/bench-$(date +%Y%m%d-%H%M%S).log
VB_V3_DEBUG=0 VB_VM_LOG=$log VB_VM_TIMEOUT=${VB_VM_TIMEOUT:-900} \
	VB_VM_TEST_TIMEOUT=800 "$VM_DIR/run.sh" bench

awk '
function median(list) { return quant(list, 0.5) }
# quantile q (0..1) of a space-separated list, nearest rank
function quant(list, q,    a, m, t, i, j) {
	m = split(list, a, " ")
	for (i = 2; i <= m; i++)	# insertion sort, m <= a few dozen
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	i = int(q * (m - 1) + 1.5); if (i < 1) i = 1; if (i > m) i = m
	return a[i]
}
/VMBENCH noise/ {
	for (i = 3; i <= NF; i++) { split($i, kv, "="); noise[kv[1]] = kv[2] }
	next
}
/VMBENCH pair=/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	npairs++; pair_pages = f["pages"]
	pr["direct"] = pr["direct"] " " f["direct_pps"] / f["type1_pps"]
	pr["tracked"] = pr["tracked"] " " f["tracked_pps"] / f["type1_pps"]
	next
}
/VMBENCH round=/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	key = f["backend"] "/" f["layout"] "/" f["batch"]
	if (!(key in seen)) { seen[key] = 1; order[++n] = key; pages[key] = f["pages"] }
	for (v in f) if (v != "backend" && v != "layout" && v != "batch" && v != "round")
		vals[key, v] = vals[key, v] " " f[v]
	rounds[key]++
}
function med(key, v) { return median(vals[key, v]) }
function best(key, v,    a, m, i, b) {
	m = split(vals[key, v], a, " "); b = a[1]
	for (i = 2; i <= m; i++) if (a[i] + 0 > b + 0) b = a[i]
	return b
}
function verdict(ok) { return ok ? "met" : "MISSED" }
function mem(key, what, limit,    sl, me, w) {
	sl = med(key, "slab_bpp"); me = med(key, "meta_bpp"); w = sl > me ? sl : me
	printf "- %s <= %s B/page: slab %.3f, metadata_bytes %.3f -> %s\n", what, limit, sl, me, verdict(w <= limit)
}
END {
	if (!n) { print "bench: no VMBENCH lines in the log"; exit 1 }
	print "| backend | layout | batch | pages | slab B/page | IOMMU PT B/page | v3 metadata_bytes/page | map pages/s | unmap pages/s | map+unmap pages/s | best map+unmap pages/s | rounds |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, p, "/")
		printf "| %s | %s | %s | %d | %.2f | %.2f | %s | %d | %d | %d | %d | %d |\n",
			p[1], p[2], p[3] == 0 ? "1 entry" : p[3], pages[k],
			med(k, "slab_bpp"), med(k, "iopt_bpp"),
			p[1] == "type1" ? "-" : sprintf("%.2f", med(k, "meta_bpp")),
			med(k, "map_pps"), med(k, "unmap_pps"), med(k, "both_pps"),
			best(k, "both_pps"), rounds[k]
	}
	printf "\nCounter noise with nothing mapped: slab %d bytes, IOMMU PT %d pages.\n\n", noise["slab_bytes"], noise["iommu_pages"]
	print "Targets (bytes per mapped page: the larger of slab growth and the"
	print "module'"'"'s own metadata_bytes, since SLUB'"'"'s per-CPU slabs can hide small"
	print "allocations from slab growth):"
	mem("direct/dense/0", "direct dense", 0.3)
	mem("direct/sparse64/512", "direct sparse 1-in-64", 10)
	mem("tracked/dense/0", "tracked dense", 10)
	t1 = med("type1/scattered/1", "both_pps"); b1 = best("type1/scattered/1", "both_pps")
	for (m = 1; m <= 2; m++) {
		mode = m == 1 ? "tracked" : "direct"
		r = med(mode "/scattered/64", "both_pps") / t1
		rb = best(mode "/scattered/64", "both_pps") / b1
		# rounds interleave the cases: a ratio within one round compares
		# both backends under the same host load
		nt = split(vals["type1/scattered/1", "both_pps"], tl, " ")
		nv = split(vals[mode "/scattered/64", "both_pps"], vl, " "); rl = ""
		for (j = 1; j <= nv && j <= nt; j++) rl = rl " " vl[j] / tl[j]
		rr = median(rl)
		# the verdict is the median ratio of the paired passes (see bench.c)
		pm = npairs ? quant(pr[mode], 0.5) : 0
		printf "- %s batch 64 >= 10x type1 map+unmap pages/s: %.1fx (median of %d paired passes of %d pages; quartiles %.1fx-%.1fx, range %.1fx-%.1fx) -> %s\n", mode, pm, npairs, pair_pages, quant(pr[mode], 0.25), quant(pr[mode], 0.75), quant(pr[mode], 0), quant(pr[mode], 1), verdict(pm >= 10)
		printf "  (65,536-page cases: %.1fx medians, %.1fx best rounds, %.1fx median of per-round ratios)\n", r, rb, rr
		printf "  (map alone %.1fx, unmap alone %.1fx, medians)\n", med(mode "/scattered/64", "map_pps") / med("type1/scattered/1", "map_pps"), med(mode "/scattered/64", "unmap_pps") / med("type1/scattered/1", "unmap_pps")
	}
}' "$log" | tee "$log.table"
echo "bench: guest log $log, table $log.table"
