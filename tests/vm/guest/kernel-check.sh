#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The one verdict on the guest kernel that every VM guest's /init gives
# (vm_root installs this as /bin/kernel-check; busybox sh).
#
# kernel-check mark
#     Where the checked run begins: writes a line of its own to the kernel
#     log and prints it, for verdict to find.
#
# kernel-check since MARK
#     Prints the kernel log written after MARK (all of it if it wrapped).
#
# kernel-check arm PREFIX
#     Before the tests, after the modules are loaded. On a kernel with
#     kmemleak (the debug kernel, tests/vm/debug), scans once and forgets
#     what boot and the module loads left unreferenced, so that a leak
#     found later is the tests' (the module's, mostly). Says so as
#     "PREFIX kmemleak armed".
#
# kernel-check verdict MARK PREFIX
#     After the tests. Fails (exit 1) and prints "PREFIX kernel_log: WHY"
#     for each reason (the caller's result line gives the verdict), when:
#       - kmemleak finds an unreferenced object (its report follows,
#         prefixed "PREFIX kmemleak: "); this scan runs while the module
#         is loaded, so its symbols name the allocation sites;
#       - vfio_iommu_type1v3 is loaded and will not unload: with every
#         test process gone, no container may still hold it;
#       - kmemleak finds one after the unload (what only the module
#         pointed to);
#       - the kernel logged, after MARK, a warning, BUG or oops, or a
#         report of one of the debug kernel's checkers (KASAN and the sleep
#         checks say BUG:, lockdep WARNING:, UBSAN its name). Should the
#         log have wrapped past MARK, all of it is looked at.
set -u
KMEMLEAK=/sys/kernel/debug/kmemleak

mark() {
	m="kernel-check: checked run $$ begins at $(cut -d' ' -f1 /proc/uptime)"
	echo "$m" >/dev/kmsg
	echo "$m"
}

# The kernel log after the line MARK; all of it if MARK is gone.
since() {
	dmesg | awk -v m="$1" '
		index($0, m) { n = 0; next }
		{ l[n++] = $0 }
		END { for (i = 0; i < n; i++) print l[i] }'
}

arm() {
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[ -w $KMEMLEAK ] || return 0
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
	echo "$1 kmemleak armed"
}

# kmemleak reports only objects at least 5 s old whose contents did not
# change since its previous scan, so the first scan of a pair mostly
# records.
leaks() {	# WHEN PREFIX
	[ -w $KMEMLEAK ] || return 0
	sleep 6
	echo scan >$KMEMLEAK
	echo scan >$KMEMLEAK
	grep -q 'unreferenced object' $KMEMLEAK || return 0
	echo "$2 kernel_log: kmemleak found unreferenced objects $1:"
	sed "s/^/$2 kmemleak: /" $KMEMLEAK
	echo clear >$KMEMLEAK
	return 1
}

verdict() {	# MARK PREFIX
	rc=0
	leaks "after the tests" "$2" || rc=1
	if lsmod | grep -q '^vfio_iommu_type1v3 '; then
		if rmmod vfio_iommu_type1v3; then
			echo "$2 vfio_iommu_type1v3 unloaded"
			leaks "after rmmod vfio_iommu_type1v3" "$2" || rc=1
		else
			echo "$2 kernel_log: rmmod vfio_iommu_type1v3 failed"
			rc=1
		fi
	fi
	if since "$1" |
		grep -qE 'WARNING:|BUG:|Oops|general protection|Call Trace|refcount_t|UBSAN:'; then
		echo "$2 kernel_log: warning, BUG or oops during the run"
		rc=1
	fi
	return $rc
}

case ${1:-} in
mark) mark ;;
since) since "$2" ;;
arm) arm "$2" ;;
verdict) verdict "$2" "$3" ;;
*)
	echo "kernel-check: mark | since MARK | arm PREFIX | verdict MARK PREFIX" >&2
	exit 2
	;;
esac
