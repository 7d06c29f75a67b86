#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# profile.sh: where the kernel time of the benchmark's scattered-page case
# goes. Boots one guest (module built without its debug checks) that runs
# "vmtest profile" (tests/vm/guest/profile.c): 2,048 scattered pages mapped
# and unmapped by type1 (one ioctl per page) and v3 tracked and direct
# (batches of 64), four times untraced and once under the function_graph tracer
# limited to the VFIO backends, the IOMMU core, VT-d, GUP and xarray
# functions. Prints, per backend and direction, the untraced and traced
# microseconds per page and the traced functions with calls, inclusive and
# self microseconds per page (self = not in a traced callee). The tracer
# adds several microseconds per traced call under TCG, far more than most
# of the functions cost: read its tables for call structure and counts,
# not for cost. The cost split comes from the module itself: it is built
# here with -DV3_PROF, which counts cycles per phase of batch map/unmap
# (one get_cycles() per phase boundary) and logs them per container; the
# last table gives each phase's share over the untraced passes.
#
# Environment: as run.sh (VB_VM_WORKDIR, VB_VM_TIMEOUT, ...).
# PROFILE_TOP=N limits each table to its N largest functions (default 25).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
-h | --help)
	sed -n '3,/^$/p' "$0" | sed -e '/^$/d' -e 's/^# \{0,1\}//'
	exit 0
	;;
esac

vm_kernel_release >/dev/null	# dies naming setup.sh if the kernel is missing
mkdir -p "$VM_WORK/logs"
kdir=$VM_WORK/kmod-prof
make -s -C "$VM_SRC/src/kernel" KDIR="$(vm_kernel_build_dir)" \
	BUILD_DIR="$kdir" V3_DEBUG=0 KCFLAGS=-DV3_PROF >&2 ||
	vm_die "building src/kernel with -DV3_PROF failed"
log=$VM_WORK/logs/profile-$(date +%Y%m%d-%H%M%S).log
VB_V3_KO=$kdir/vfio_iommu_type1v3.ko VB_VM_LOG=$log \
	VB_VM_TIMEOUT=${VB_VM_TIMEOUT:-900} VB_VM_TEST_TIMEOUT=800 \
	"$VM_DIR/run.sh" profile

grep -E '^VMPROF (skipped|filter)' "$log" || true
awk -v top="${PROFILE_TOP:-25}" '
/^VMPROF case=.* wall_us=/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	k = f["case"] "/" f["phase"]
	if (!(k in wall)) order[++n] = k
	wall[k] = f["wall_us"]; traced[k] = f["traced_us"]; pages[k] = f["pages"]
	next
}
/^VMPROF case=.* phases / {
	c = substr($2, 6)
	for (i = 4; i <= NF; i++) { split($i, kv, "="); ph[c, kv[1]] += kv[2]; if (!((c, kv[1]) in seen)) { seen[c, kv[1]] = 1; phn[c, ++nph[c]] = kv[1] } }
	if (!(c in pc)) pcase[++npc] = c
	pc[c]++
	next
}
/^VMPROF case=.* fn=/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	k = f["case"] "/" f["phase"]
	m = ++nfn[k]
	fn[k, m] = f["fn"]; calls[k, m] = f["calls"]
	incl[k, m] = f["incl_us"]; self[k, m] = f["self_us"]
	next
}
END {
	for (c = 1; c <= n; c++) {
		k = order[c]; p = pages[k]
		printf "\n### %s: %.2f us/page untraced, %.2f us/page traced\n\n", k, wall[k] / p, traced[k] / p
		print "| function | calls/page | incl us/page | self us/page |"
		print "|---|---|---|---|"
		# selection sort by inclusive time, largest first
		for (i = 1; i <= nfn[k]; i++) idx[i] = i
		for (i = 1; i <= nfn[k]; i++)
			for (j = i + 1; j <= nfn[k]; j++)
				if (incl[k, idx[j]] + 0 > incl[k, idx[i]] + 0) {
					t = idx[i]; idx[i] = idx[j]; idx[j] = t
				}
		for (i = 1; i <= nfn[k] && i <= top; i++) {
			m = idx[i]
			printf "| %s | %.3f | %.2f | %.2f |\n", fn[k, m], calls[k, m] / p, incl[k, m] / p, self[k, m] / p
		}
	}
	for (c = 1; c <= npc; c++) {
		k = pcase[c]
		printf "\n### %s: module phase cycles (-DV3_PROF), %d untraced passes\n\n", k, pc[k]
		print "| phase | cycles/page | share of its direction |"
		print "|---|---|---|"
		mt = 0; ut = 0
		for (i = 1; i <= nph[k]; i++) {
			nm = phn[k, i]
			if (nm ~ /^map_/) mt += ph[k, nm]
			else if (nm ~ /^unmap_/) ut += ph[k, nm]
		}
		for (i = 1; i <= nph[k]; i++) {
			nm = phn[k, i]
			if (nm ~ /^map_/)
				printf "| %s | %.0f | %.1f%% |\n", nm, ph[k, nm] / ph[k, "mapped"], 100 * ph[k, nm] / mt
			else if (nm ~ /^unmap_/)
				printf "| %s | %.0f | %.1f%% |\n", nm, ph[k, nm] / ph[k, "unmapped"], 100 * ph[k, nm] / ut
		}
	}
}' "$log" | tee "$log.table"
grep -E 'VMPROF .*WARNING' "$log" || true
echo "profile: guest log $log, tables $log.table"
