#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# build-kernel.sh [OUTDIR]: builds the debug kernel of the VM tier from
# Debian's linux-source-6.12 with the in-tree patch series applied
# (scripts/kernel-patch.sh), configured by allnoconfig plus kernel.config
# beside this script: KASAN, lockdep (PROVE_LOCKING), sleep-in-atomic
# checks, kmemleak, DEBUG_VM and UBSAN, with vfio_iommu_type1v3 built
# in-tree as a module with its invariant checks. OUTDIR (default
# $VB_VM_WORKDIR/debug-kernel, or build-vm/debug-kernel) receives bzImage,
# release, mods/ (modules_install) and build -> the built tree, which is
# what lib.sh's VB_VM_KERNEL expects.
#
# A build is reused while the source package, the series and kernel.config
# are unchanged (their hash is kept in OUTDIR/key). When only the module's
# own sources changed (drivers/vfio/type1v3/*.[ch] in the series; their
# hash is OUTDIR/key-module), they are replaced in the built tree and only
# the modules are rebuilt, in about a minute. About 2 GB of disk; a full
# build takes about ten minutes on two cores.
#
# Environment: JOBS sets make -j (default: the number of CPUs).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:-$VM_WORK/debug-kernel}")
fragment=$here/kernel.config
jobs=${JOBS:-$(nproc)}

for tool in flex bison bc make gcc; do
	command -v "$tool" >/dev/null ||
		vm_die "$tool missing: run tests/vm/setup.sh"
done
[ -r /usr/include/gelf.h ] || vm_die "libelf-dev missing: run tests/vm/setup.sh"
tarball=${LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
[ -r "$tarball" ] || vm_die "no linux-source tarball: run tests/vm/setup.sh"
ttop=$(basename "$tarball" .tar.xz)

mkdir -p "$out"
exec 8>"$out/.lock"
flock 8

series=$(mktemp -d)
trap 'rm -rf "$series"' EXIT
"$VM_SRC/scripts/kernel-patch.sh" "$series/patches" >/dev/null

# series_part module|rest: the sections of the series (one per file in
# each patch) that are the module's sources, or all the others with the
# patches' headers. Only the first kind can change without the kernel.
# The diffstats (from "---" to the first diff) are left out of both: they
# count the module's lines too.
series_part() {
	awk -v want="$1" '
		/^---$/ { stat = 1 }
		/^diff --git / {
			stat = 0
			mod = ($3 ~ /^a\/drivers\/vfio\/type1v3\/[^\/]*\.[ch]$/)
		}
		stat { next }
		(want == "module") == (mod == 1) { print }
	' "$series"/patches/*.patch
}
# dates and the generator's commit line change with every checkout; the
# diffs are what counts
key=$( {
	vm_installed_version linux-source-6.12
	cat "$fragment"
	series_part rest | grep -vE '^(Date: |From [0-9a-f]{40} )'
} | sha256sum | cut -d' ' -f1)
modkey=$(series_part module | sha256sum | cut -d' ' -f1)

if [ -r "$out/key" ] && [ "$(cat "$out/key")" = "$key" ] &&
	[ -r "$out/bzImage" ] && [ -r "$out/release" ] && [ -r "$out/key-module" ]; then
	if [ "$(cat "$out/key-module")" = "$modkey" ]; then
		echo "debug-kernel: reusing $out ($(cat "$out/release"))" >&2
		exit 0
	fi
	# the kernel stands; the module's sources are replaced and the
	# modules rebuilt (kbuild recompiles only what changed)
	echo "debug-kernel: only the module changed: rebuilding it in $out/build" >&2
	rm -f "$out/key-module"
	start=$(date +%s)
	cd "$out/build"
	rm -f drivers/vfio/type1v3/*.[ch]
	series_part module | patch -p1 --batch --forward -s ||
		vm_die "the module's sources do not apply to the built tree"
	make -j"$jobs" modules >"$out/build-module.log" 2>&1 ||
		{ tail -n 40 "$out/build-module.log"; vm_die "the module did not build"; }
	make -s INSTALL_MOD_PATH="$out/mods" modules_install >>"$out/build-module.log" 2>&1 ||
		{ tail -n 20 "$out/build-module.log"; vm_die "modules_install failed"; }
	echo "$modkey" >"$out/key-module"
	echo "debug-kernel: module rebuilt in $(($(date +%s) - start)) s" >&2
	exit 0
fi

rm -rf "$out/key" "$out/key-module" "$out/src" "$out/mods" "$out/bzImage" \
	"$out/release" "$out/build"
mkdir -p "$out/src"
echo "debug-kernel: extracting $tarball" >&2
tar -xJf "$tarball" -C "$out/src"
tree=$out/src/$ttop
for p in "$series"/patches/*.patch; do
	patch -p1 -d "$tree" --batch --forward -s <"$p" ||
		vm_die "$(basename "$p") does not apply to $ttop"
done

cd "$tree"
KCONFIG_ALLCONFIG=$fragment make -s allnoconfig
# every line of the fragment must survive: a dependency it missed would
# otherwise drop a checker (or the module) without a word
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) want="# ${line%=n} is not set" ;;
	CONFIG_*) want=$line ;;
	*) continue ;;
	esac
	grep -qxF "$want" .config ||
		vm_die "kernel.config: '$line' did not survive allnoconfig (a dependency is missing)"
done <"$fragment"

echo "debug-kernel: building bzImage and modules with -j$jobs (log: $out/build.log)" >&2
start=$(date +%s)
make -j"$jobs" bzImage modules >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log"; vm_die "the debug kernel did not build"; }
make -s INSTALL_MOD_PATH="$out/mods" modules_install >>"$out/build.log" 2>&1 ||
	{ tail -n 20 "$out/build.log"; vm_die "modules_install failed"; }
[ -f drivers/vfio/type1v3/vfio_iommu_type1v3.ko ] ||
	vm_die "the in-tree vfio_iommu_type1v3.ko was not built"
cp arch/x86/boot/bzImage "$out/bzImage"
make -s kernelrelease >"$out/release"
ln -sfn "src/$ttop" "$out/build"
echo "$key" >"$out/key"
echo "$modkey" >"$out/key-module"
echo "debug-kernel: $(cat "$out/release") built in $(($(date +%s) - start)) s into $out" >&2
