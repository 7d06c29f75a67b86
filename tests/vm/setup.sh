#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs what the VM tier needs from Debian: QEMU, a static busybox, cpio,
# xz, and ONE kernel version for source, headers and image. The version is
# the candidate of linux-source-6.12 (the only package that names no
# version), so they always match. The image and the amd64 headers are not
# installed but unpacked under VB_VM_IMAGE_CACHE (see lib.sh): the image
# would add a boot entry and a host initramfs for a kernel the host never
# boots, and the amd64 headers package depends on an image. Their common
# part and kbuild tools depend on none and are installed. Idempotent: when
# everything is in place it only queries dpkg and returns.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# installed, at the version of linux-source-6.12
pkgs_for() {
	local up=${1%%-*}
	echo "linux-headers-$up+deb12-common linux-kbuild-$up+deb12 linux-source-6.12"
}

# unpacked, at that version
unpacked_for() {
	local up=${1%%-*}
	echo "linux-image-$up+deb12-amd64-unsigned linux-headers-$up+deb12-amd64"
}

# unpack_kernel VERSION: the packages of unpacked_for VERSION unpacked into
# one vm_image_root, with the module index the image's postinst would have
# built, in place of any other version's; the tree appears only once
# complete. Runs under the cache's lock, so two setups never replace each
# other's tree.
unpack_kernel() {
	local ver=$1 rel root old p hdr
	rel=${ver%%-*}+deb12-amd64
	root=$(vm_image_root "$rel")
	# what every other script checks (VERSION is the installed source's)
	! (vm_debian_release) >/dev/null 2>&1 || return 0
	unpack_tmp=$(mktemp -d "$VM_IMAGE_CACHE/.unpack.XXXXXX")
	for p in $(unpacked_for "$ver"); do
		# apt's download sandbox user could not write into a private
		# directory
		(cd "$unpack_tmp" && apt-get -q -o APT::Sandbox::User=root \
			-o Acquire::Retries=3 download "$p=$ver") ||
			vm_die "could not download $p=$ver"
	done
	for p in "$unpack_tmp"/*.deb; do
		dpkg-deb -x "$p" "$unpack_tmp/root"
	done
	depmod -b "$unpack_tmp/root" "$rel"
	# the headers' tool links are relative to /usr/src; the tools are
	# installed (linux-kbuild), not unpacked here
	hdr=$unpack_tmp/root/usr/src/linux-headers-$rel
	for p in scripts tools; do
		ln -sfn "/usr/lib/linux-kbuild-${ver%%-*}+deb12/$p" "$hdr/$p"
	done
	echo "$ver" >"$unpack_tmp/root/.version"
	rm -rf "$root"
	mv -T "$unpack_tmp/root" "$root"
	for old in "$VM_IMAGE_CACHE"/linux-image-* "$VM_IMAGE_CACHE"/.unpack.*; do
		[ "$old" = "$root" ] || rm -rf "$old"
	done
	echo "vm setup: $(unpacked_for "$ver") $ver unpacked in $root"
}

# flex, bison, bc, libelf-dev and libssl-dev build the in-tree patch
# (test-inkernel-patch.sh); git writes the series (scripts/kernel-patch.sh);
# gcc-12 is the compiler the headers name (a dependency of their package,
# which is unpacked, not installed).
base="qemu-system-x86 busybox-static cpio xz-utils flex bison bc libelf-dev libssl-dev dkms git kmod gcc-12"

# Fast path: an installed linux-source-6.12 whose packages match and whose
# image and headers are unpacked.
ver=$(vm_installed_version linux-source-6.12)
if [ -n "$ver" ]; then
	missing=""
	for p in $base $(pkgs_for "$ver"); do
		[ "$(vm_installed_version "$p")" ] || missing="$missing $p"
	done
	if [ -z "$missing" ] && (vm_debian_release) >/dev/null 2>&1; then
		echo "vm setup: kernel ${ver%%-*}+deb12-amd64 ($ver), everything in place"
		exit 0
	fi
fi

export DEBIAN_FRONTEND=noninteractive
# apt-daily may hold the lists' lock, which DPkg::Lock::Timeout does not
# wait for
n=0
until apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 update -q; do
	n=$((n + 1))
	[ "$n" -lt 30 ] || vm_die "apt-get update keeps failing"
	sleep 10
done
cand=$(apt-cache policy linux-source-6.12 | awk '/Candidate:/ { print $2 }')
[ -n "$cand" ] && [ "$cand" != "(none)" ] || {
	echo "vm setup: no linux-source-6.12 in the archive: Debian 12 has it in bookworm-security (deb http://security.debian.org/debian-security bookworm-security main in the apt sources)" >&2
	exit 1
}
# The image and headers of that version must exist at that exact version.
for p in $(pkgs_for "$cand") $(unpacked_for "$cand"); do
	apt-cache show "$p=$cand" >/dev/null 2>&1 || {
		echo "vm setup: $p=$cand not in the archive" >&2
		exit 1
	}
done
pins=""
for p in $(pkgs_for "$cand"); do
	pins="$pins $p=$cand"
done
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $base $pins
mkdir -p "$VM_IMAGE_CACHE"
unpack_tmp=
trap '[ -z "$unpack_tmp" ] || rm -rf "$unpack_tmp"' EXIT
exec 9>"$VM_IMAGE_CACHE/.lock"
flock 9
unpack_kernel "$cand"
echo "vm setup: kernel ${cand%%-*}+deb12-amd64 ($cand) ready"
