/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VB_COMMON_CLOCK_H
#define VB_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/*
 * CLOCK_MONOTONIC in nanoseconds: the one clock for latencies, poll and
 * spin budgets and workload timings. Inline, so libvfiobroker can use it
 * without linking vbcommon.
 */
static inline uint64_t vb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* VB_COMMON_CLOCK_H */
