#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# test-dkms.sh: src/kernel/dkms.conf works. Builds the DKMS source tree
# with `make dkms-source`, then has Debian's dkms add, build, install and
# remove the module for the VM tier's kernel, all in private trees
# (--sourcetree, --dkmstree, --installtree), so nothing of an installed
# vfio-iommu-type1v3 is touched. Checks that every step succeeds, that the
# build and its clean steps log no failure, that the installed module sits
# where dkms.conf says, is built for that kernel and is ours, and that
# remove takes it away again. It builds against the headers
# tests/vm/setup.sh unpacked (--kernelsourcedir) and runs no depmod: dkms
# would run it on the kernel's own /lib/modules tree, which does not exist
# unless that kernel is installed on the host, and the module is not in it
# anyway. (dkms signs nothing here: it finds no sign-file, which neither
# the unpacked headers nor the kbuild path it looks in provide.)
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
command -v dkms >/dev/null || {
	echo "test-dkms: FAIL: dkms not found: run tests/vm/setup.sh" >&2
	exit 1
}
rel=$(bash -c '. "$1/tests/vm/lib.sh" && vm_kernel_release' sh "$top") ||
	exit 1
# the headers setup.sh unpacked: /lib/modules/<rel>/build exists only
# where the headers package is installed
kdir=$(bash -c '. "$1/tests/vm/lib.sh" && vm_kernel_build_dir' sh "$top") ||
	exit 1

conf=$top/src/kernel/dkms.conf
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$conf")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$conf")
module=$(sed -n 's/^BUILT_MODULE_NAME\[0\]="\(.*\)"$/\1/p' "$conf")
dest=$(sed -n 's/^DEST_MODULE_LOCATION\[0\]="\(.*\)"$/\1/p' "$conf")
[ -n "$name" ] && [ -n "$version" ] && [ -n "$module" ] && [ -n "$dest" ] || {
	echo "test-dkms: FAIL: cannot read name, version, module or destination from $conf"
	exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
trees="--sourcetree $work/src --dkmstree $work/dkms --installtree $work/lib"
mkdir -p "$work/src" "$work/dkms" "$work/lib/$rel"

fail() {
	echo "test-dkms: FAIL: $*"
	exit 1
}

# step NAME ARGS...: one dkms command, which must succeed; its output is
# kept for the checks and shown on failure.
step() {
	what=$1
	shift
	# shellcheck disable=SC2086 # $trees is a list of options
	if ! dkms "$@" $trees >"$work/$what.log" 2>&1; then
		cat "$work/$what.log"
		fail "dkms $what"
	fi
	echo "test-dkms: dkms $what: ok"
}

make -s -C "$top/src/kernel" KDIR="$kdir" dkms-source \
	DKMS_DIR="$work/src/$name-$version" >/dev/null ||
	fail "make dkms-source"

step add add "$name/$version"
step build build "$name/$version" -k "$rel" --kernelsourcedir "$kdir"
# dkms reports a failing clean (it runs one before and one after the
# build) and goes on: a Kbuild that cannot be cleaned would pass unseen
if grep -n 'bad exit status' "$work/build.log"; then
	cat "$work/build.log"
	fail "a build step of dkms failed"
fi
step install install "$name/$version" -k "$rel" --kernelsourcedir "$kdir" \
	--no-depmod

ko=$(find "$work/lib/$rel$dest" -name "$module.ko*" 2>/dev/null | head -n 1)
[ -n "$ko" ] || fail "no $module.ko* under $work/lib/$rel$dest"
echo "test-dkms: installed $ko"
[ "$(modinfo -F name "$ko")" = "$module" ] || fail "$ko is not $module"
case $(modinfo -F vermagic "$ko") in
"$rel "*) ;;
*) fail "vermagic of $ko is '$(modinfo -F vermagic "$ko")', not for $rel" ;;
esac
[ "$(modinfo -F license "$ko")" = GPL ] || fail "license of $ko"
modinfo -F depends "$ko" | tr , '\n' | grep -qx vfio ||
	fail "$ko does not depend on vfio"
echo "test-dkms: $module built for $rel, installed in $dest"

step remove remove "$name/$version" --all --no-depmod
[ -z "$(find "$work/lib" -name "$module.ko*")" ] ||
	fail "remove left the module installed"
[ ! -e "$work/dkms/$name" ] || fail "remove left $work/dkms/$name"
echo "test-dkms: PASS"
