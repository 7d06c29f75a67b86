#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs what the VM tier needs from Debian: QEMU, a static busybox, cpio,
# xz, and ONE kernel version for image, headers and source. The version is
# the candidate of linux-source-6.12 (the only package that names no
# version), so the three always match. Idempotent: when everything is
# installed it only queries dpkg and returns.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkgs_for() {
	local up=${1%%-*}
	echo "linux-image-$up+deb12-amd64-unsigned linux-headers-$up+deb12-amd64 linux-source-6.12"
}

# flex, bison, bc, libelf-dev and libssl-dev build the in-tree patch
# (test-inkernel-patch.sh); git writes the series (scripts/kernel-patch.sh).
base="qemu-system-x86 busybox-static cpio xz-utils flex bison bc libelf-dev libssl-dev dkms git"

# Fast path: an installed linux-source-6.12 whose image and headers match.
ver=$(vm_installed_version linux-source-6.12)
if [ -n "$ver" ]; then
	missing=""
	for p in $base $(pkgs_for "$ver"); do
		[ "$(vm_installed_version "$p")" ] || missing="$missing $p"
	done
	if [ -z "$missing" ]; then
		echo "vm setup: kernel ${ver%%-*}+deb12-amd64 ($ver), everything installed"
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
for p in $(pkgs_for "$cand"); do
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
echo "vm setup: kernel ${cand%%-*}+deb12-amd64 ($cand) installed"
