#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job (README): build, then start the broker with several sandboxed
# device processes running mixed workloads (virtio-iommu streaming and
# coIOMMU pin-on-demand). Every device of examples/demo.conf is a sim
# device, so `backend = auto` picks the sim backend on any machine; a
# config naming VFIO groups gets the best kernel backend there is. The
# broker prints progress every second and a summary when the last devproc
# has finished; `vfio-brokerctl -s /run/vfio-broker-demo.ctl stats` reads it meanwhile.
#
#   demo.sh [CONFIG]   default: examples/demo.conf
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
conf=${1:-$top/examples/demo.conf}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root: the broker's control socket is /run/vfio-broker-demo.ctl, and packages may need installing" >&2
	exit 1
fi
"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j "$(nproc)" >/dev/null

exec "$top/build/src/broker/vfio-broker" -c "$conf" --exit-when-done \
	--progress 1
