#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# profile.sh: where the kernel time of the benchmark's scattered-page case
# goes. Boots one guest (module built without its debug checks) that runs
# "vmtest profile" (tests/vm/guest/profile.c): 2,048 scattered pages mapped
# and unmapped by type1 (one ioctl per page) and v3 tracked and direct
# (batches of 64), once untraced and once under the function_graph tracer
# limited to the VFIO backends, the IOMMU core, VT-d, GUP and xarray
# functions. Prints, per backend and direction, the untraced and traced
# microseconds per page and the traced functions with calls, inclusive and
# self microseconds per page (self = not in a traced callee). The tracer
# adds a few microseconds per traced call under TCG: compare traced_us
# with wall_us before reading small differences.
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

mkdir -p "$VM_WORK/logs"
log=$VM_WORK/logs/profile-$(date +%Y%m%d-%H%M%S).log
VB_V3_DEBUG=0 VB_VM_LOG=$log VB_VM_TIMEOUT=${VB_VM_TIMEOUT:-900} \
	VB_VM_TEST_TIMEOUT=800 "$VM_DIR/run.sh" profile

grep -E '^VMPROF (skipped|filter)' "$log" || true
awk -v top="${PROFILE_TOP:-25}" '
/^VMPROF case=.* wall_us=/ {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	k = f["case"] "/" f["phase"]
	if (!(k in wall)) order[++n] = k
	wall[k] = f["wall_us"]; traced[k] = f["traced_us"]; pages[k] = f["pages"]
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
}' "$log" | tee "$log.table"
grep -E 'VMPROF .*WARNING' "$log" || true
echo "profile: guest log $log, tables $log.table"
