#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The main job (README): build, then start the broker with several sandboxed
# device processes running mixed workloads (virtio-iommu streaming and
# coIOMMU pin-on-demand). The broker uses the best backend it finds and the
# sim backend where there is no VFIO; it prints progress every second and a
# summary when the last devproc has finished.
#
#   demo.sh [CONFIG]   default: examples/demo.conf
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
conf=${1:-$top/examples/demo.conf}

"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j "$(nproc)" >/dev/null

exec "$top/build/src/broker/vfio-broker" -c "$conf" --exit-when-done \
	--progress 1
