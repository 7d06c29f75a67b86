#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs the Debian 12 packages the userspace build and tests need.
# Idempotent: does nothing when everything is present. Needs root to install.
set -eu

pkgs="build-essential cmake pkg-config libevent-dev libseccomp-dev
libcap-ng-dev check libsubunit-dev clang libclang-rt-14-dev llvm-14"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# The lists' lock is not the dpkg lock DPkg::Lock::Timeout waits for: on a
# fresh machine apt-daily may hold it for a while.
n=0
until apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 update -qq; do
	n=$((n + 1))
	[ "$n" -lt 30 ] || { echo "deps.sh: apt-get update keeps failing" >&2; exit 1; }
	sleep 10
done
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing
