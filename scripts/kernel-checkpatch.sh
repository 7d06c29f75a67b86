#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# kernel-checkpatch.sh FILE...
#
# Run the kernel's scripts/checkpatch.pl --strict --no-tree -f on each FILE,
# taking checkpatch.pl, spelling.txt and const_structs.checkpatch from
# Debian's linux-source tarball (/usr/src/linux-source-6.12.tar.xz, or
# $LINUX_SOURCE). Exits non-zero if any file has an error, warning or check.
set -eu

die() { echo "kernel-checkpatch: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $0 FILE..."
tarball=${LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
[ -r "$tarball" ] || die "no linux-source tarball: apt-get install linux-source-6.12"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
top=$(basename "$tarball" .tar.xz)
tar -xJf "$tarball" -C "$tmp" "$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" "$top/scripts/const_structs.checkpatch" ||
	die "cannot extract checkpatch.pl from $tarball"

rc=0
for f in "$@"; do
	perl "$tmp/$top/scripts/checkpatch.pl" --strict --no-tree --quiet \
		--no-summary --show-types -f "$f" || rc=1
done
[ $rc -eq 0 ] && echo "kernel-checkpatch: $# files clean"
exit $rc
