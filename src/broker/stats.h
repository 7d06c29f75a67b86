/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters kept per client and per domain. Histograms have power-of-two
 * buckets: bucket 0 holds the value 0, bucket i (i >= 1) holds
 * [2^(i-1), 2^i). Quantiles are therefore reported as the upper bound of
 * their bucket, good to a factor of two, at a fixed cost per sample.
 */
#ifndef VB_BROKER_STATS_H
#define VB_BROKER_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define STATS_HIST_BUCKETS	40

struct stats_hist {
	uint64_t bucket[STATS_HIST_BUCKETS];
	uint64_t count;
	uint64_t sum;
	uint64_t max;
};

struct stats_counters {
	uint64_t requests;	/* every request, answered or not yet */
	uint64_t map_requests;
	uint64_t unmap_requests;
	uint64_t sync_requests;
	uint64_t stats_requests;
	uint64_t pages_mapped;
	uint64_t pages_unmapped;	/* by UNMAP requests and by cleanup */
	uint64_t pages_released;	/* of those, by cleanup after a client left */
	uint64_t batches;		/* backend calls */
	uint64_t errors;		/* replies with status != 0 */
	struct stats_hist batch_entries;	/* entries per backend call */
	struct stats_hist latency_us;	/* receipt to reply */
};

struct broker;

void stats_hist_add(struct stats_hist *h, uint64_t v);
/* Upper bound of the bucket holding quantile @permille/1000; 0 if empty. */
uint64_t stats_hist_quantile(const struct stats_hist *h, unsigned int permille);
void stats_add(struct stats_counters *dst, const struct stats_counters *src);

/* Totals over all domains (every request lands in exactly one). */
void stats_total(const struct broker *b, struct stats_counters *out);

/* Control-socket answers and the exit summary. */
void stats_print(const struct broker *b, bool json, FILE *f);
void stats_print_clients(const struct broker *b, bool json, FILE *f);
void stats_summary(const struct broker *b, FILE *f);
/* Writes the summary as JSON to @f and closes it. @f is opened at start-up,
 * because the sandboxed broker cannot open files; @path names it in
 * messages. */
int stats_summary_json(const struct broker *b, FILE *f, const char *path);
/* One progress line (to stderr); remembers the last totals in @b. */
void stats_progress(struct broker *b);

#endif /* VB_BROKER_STATS_H */
