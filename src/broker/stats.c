/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters, histograms and their presentation: the control socket's
 * `stats` / `clients` answers (text or JSON), the progress line and the
 * exit summary. Totals are the sum over domains, which see every request.
 */
#include "broker/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/domain.h"
#include "broker/peer.h"
#include "common/clock.h"
#include "common/log.h"

void stats_hist_add(struct stats_hist *h, uint64_t v)
{
	unsigned int i = v ? 64 - (unsigned int)__builtin_clzll(v) : 0;

	if (i >= STATS_HIST_BUCKETS)
		i = STATS_HIST_BUCKETS - 1;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

uint64_t stats_hist_quantile(const struct stats_hist *h, unsigned int permille)
{
	uint64_t need, seen = 0;

	if (!h->count)
		return 0;
	/* Smallest bucket holding at least permille/1000 of the samples. */
	need = (h->count * permille + 999) / 1000;
	if (!need)
		need = 1;
	for (unsigned int i = 0; i < STATS_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= need) {
			uint64_t upper = i ? (1ull << i) - 1 : 0;

			return upper < h->max ? upper : h->max;
		}
	}
	return h->max;
}

static void stats_hist_merge(struct stats_hist *d, const struct stats_hist *s)
{
	for (unsigned int i = 0; i < STATS_HIST_BUCKETS; i++)
		d->bucket[i] += s->bucket[i];
	d->count += s->count;
	d->sum += s->sum;
	if (s->max > d->max)
		d->max = s->max;
}

void stats_add(struct stats_counters *d, const struct stats_counters *s)
{
	d->requests += s->requests;
	d->map_requests += s->map_requests;
	d->unmap_requests += s->unmap_requests;
	d->sync_requests += s->sync_requests;
	d->stats_requests += s->stats_requests;
	d->pages_mapped += s->pages_mapped;
	d->pages_unmapped += s->pages_unmapped;
	d->pages_released += s->pages_released;
	d->batches += s->batches;
	d->errors += s->errors;
	stats_hist_merge(&d->batch_entries, &s->batch_entries);
	stats_hist_merge(&d->latency_us, &s->latency_us);
}

void stats_total(const struct broker *b, struct stats_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < b->n_domains; i++)
		stats_add(out, &b->domains[i].stats);
}

static double stats_mean(const struct stats_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

static double stats_elapsed(const struct broker *b)
{
	double s = (double)(vb_now_ns() - b->start_ns) / 1e9;

	return s > 1e-6 ? s : 1e-6;
}

static void stats_hist_json(FILE *f, const struct stats_hist *h)
{
	unsigned int last = 0;

	for (unsigned int i = 0; i < STATS_HIST_BUCKETS; i++)
		if (h->bucket[i])
			last = i;
	fprintf(f, "{\"count\":%" PRIu64 ",\"sum\":%" PRIu64 ",\"max\":%" PRIu64
		",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"buckets\":[",
		h->count, h->sum, h->max, stats_hist_quantile(h, 500),
		stats_hist_quantile(h, 990));
	for (unsigned int i = 0; h->count && i <= last; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", h->bucket[i]);
	fputs("]}", f);
}

static void stats_counters_json(FILE *f, const struct stats_counters *c)
{
	fprintf(f, "\"requests\":%" PRIu64 ",\"map_requests\":%" PRIu64
		",\"unmap_requests\":%" PRIu64 ",\"sync_requests\":%" PRIu64
		",\"stats_requests\":%" PRIu64 ",\"pages_mapped\":%" PRIu64
		",\"pages_unmapped\":%" PRIu64 ",\"pages_released\":%" PRIu64
		",\"batches\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"batch_entries\":",
		c->requests, c->map_requests, c->unmap_requests,
		c->sync_requests, c->stats_requests, c->pages_mapped,
		c->pages_unmapped, c->pages_released, c->batches, c->errors);
	stats_hist_json(f, &c->batch_entries);
	fputs(",\"latency_us\":", f);
	stats_hist_json(f, &c->latency_us);
}

static void stats_counters_text(FILE *f, const char *indent,
				const struct stats_counters *c)
{
	fprintf(f, "%srequests %" PRIu64 " (map %" PRIu64 ", unmap %" PRIu64
		", sync %" PRIu64 ", stats %" PRIu64 "), errors %" PRIu64 "\n",
		indent, c->requests, c->map_requests, c->unmap_requests,
		c->sync_requests, c->stats_requests, c->errors);
	fprintf(f, "%spages mapped %" PRIu64 ", unmapped %" PRIu64
		" (released on disconnect %" PRIu64 ")\n", indent,
		c->pages_mapped, c->pages_unmapped, c->pages_released);
	fprintf(f, "%sbatches %" PRIu64 ", entries/batch mean %.1f p50 <=%" PRIu64
		" max %" PRIu64 "\n", indent, c->batches,
		stats_mean(&c->batch_entries),
		stats_hist_quantile(&c->batch_entries, 500), c->batch_entries.max);
	fprintf(f, "%slatency us: p50 <=%" PRIu64 " p99 <=%" PRIu64 " max %" PRIu64
		" mean %.1f\n", indent, stats_hist_quantile(&c->latency_us, 500),
		stats_hist_quantile(&c->latency_us, 990), c->latency_us.max,
		stats_mean(&c->latency_us));
}

static void stats_usage_json(FILE *f, const struct backend_usage *u)
{
	fprintf(f, "{\"mapped_pages\":%" PRIu64 ",\"extents\":%" PRIu64
		",\"bytes_self\":%" PRIu64 ",\"bytes_type1\":%" PRIu64
		",\"bytes_iommufd\":%" PRIu64 ",\"bytes_v3\":%" PRIu64 "}",
		u->mapped_pages, u->extents, u->bytes_self, u->bytes_type1,
		u->bytes_iommufd, u->bytes_v3);
}

/*
 * Clients: connections that hold a device. Connections still to say
 * HELLO, refused ones being closed and ones awaiting teardown are not.
 */
static unsigned int stats_clients(const struct broker *b)
{
	const struct peer *p;
	unsigned int n = 0;

	TAILQ_FOREACH(p, &b->peers, link)
		n += p->state == PEER_READY;
	return n;
}

void stats_print(const struct broker *b, bool json, FILE *f)
{
	struct stats_counters t;

	stats_total(b, &t);
	if (json) {
		fprintf(f, "{\"backend\":\"%s\",\"uptime_s\":%.3f,\"clients\":%u,"
			"\"mapped_now\":%" PRIu64 ",\"peak_pages\":%" PRIu64
			",\"peak_usage\":", b->be->ops->name, stats_elapsed(b),
			stats_clients(b), b->mapped_now, b->peak_pages);
		stats_usage_json(f, &b->peak_usage);
		fputs(",\"total\":{", f);
		stats_counters_json(f, &t);
		fputs("},\"domains\":[", f);
		for (unsigned int i = 0; i < b->n_domains; i++) {
			const struct domain *d = &b->domains[i];

			fprintf(f, "%s{\"id\":%u,\"name\":\"%s\",\"pending\":%u,",
				i ? "," : "", d->id, d->name, d->n_pending);
			stats_counters_json(f, &d->stats);
			fputc('}', f);
		}
		fputs("]}\n", f);
		return;
	}
	fprintf(f, "backend %s, up %.1f s, %u client(s), %" PRIu64
		" page(s) mapped now, peak %" PRIu64 "\n", b->be->ops->name,
		stats_elapsed(b), stats_clients(b), b->mapped_now,
		b->peak_pages);
	fputs("total:\n", f);
	stats_counters_text(f, "  ", &t);
	for (unsigned int i = 0; i < b->n_domains; i++) {
		const struct domain *d = &b->domains[i];

		fprintf(f, "domain %u (%s), %u pending:\n", d->id, d->name,
			d->n_pending);
		stats_counters_text(f, "  ", &d->stats);
	}
}

static const char *const stats_state_names[] = {
	[PEER_NEW] = "new", [PEER_READY] = "ready",
	[PEER_CLOSING] = "closing", [PEER_DEAD] = "dead",
};

void stats_print_clients(const struct broker *b, bool json, FILE *f)
{
	const struct peer *p;
	unsigned int i = 0;

	if (json)
		fputs("{\"clients\":[", f);
	TAILQ_FOREACH(p, &b->peers, link) {
		long dev = p->dev ? (long)p->dev->id : -1;
		long dom = p->dev ? (long)p->dev->domain->id : -1;
		uint64_t max = p->dev ? p->dev->cfg->max_pages : 0;

		if (json) {
			fprintf(f, "%s{\"device\":%ld,\"domain\":%ld,\"pid\":%d,"
				"\"uid\":%u,\"gid\":%u,\"spawned\":%s,\"state\":\"%s\","
				"\"pending\":%u,\"pages_current\":%" PRIu64 ","
				"\"quota_pages\":%" PRIu64 ",",
				i ? "," : "", dev, dom, (int)p->pid,
				(unsigned int)p->uid, (unsigned int)p->gid,
				p->bound ? "true" : "false",
				stats_state_names[p->state], p->pending,
				p->pages_current, max);
			stats_counters_json(f, &p->stats);
			fputc('}', f);
		} else {
			fprintf(f, "device %ld domain %ld pid %d uid %u%s: %s, %u pending, %" PRIu64
				" page(s) mapped now", dev, dom, (int)p->pid,
				(unsigned int)p->uid, p->bound ? " (spawned)" : "",
				stats_state_names[p->state], p->pending,
				p->pages_current);
			if (max)
				fprintf(f, " (quota %" PRIu64 ")", max);
			fputc('\n', f);
			stats_counters_text(f, "  ", &p->stats);
		}
		i++;
	}
	if (json)
		fputs("]}\n", f);
	else if (!i)
		fputs("no clients\n", f);
}

void stats_progress(struct broker *b)
{
	struct stats_counters t;
	uint64_t now = vb_now_ns(), pages;
	double dt;

	stats_total(b, &t);
	pages = t.pages_mapped + t.pages_unmapped;
	dt = (double)(now - (b->prog_ns ? b->prog_ns : b->start_ns)) / 1e9;
	/* a log line: it must never wait for a stalled reader either */
	log_msg(LOG_LVL_INFO, "progress", "%u client(s), %" PRIu64
		" mapped, %" PRIu64 " unmapped, %.0f pages/s, %" PRIu64
		" mapped now, %" PRIu64 " error(s)", stats_clients(b),
		t.pages_mapped, t.pages_unmapped,
		dt > 0 ? (double)(pages - b->prog_pages) / dt : 0.0,
		b->mapped_now, t.errors);
	b->prog_ns = now;
	b->prog_pages = pages;
}

static void stats_bytes(FILE *f, const char *name, uint64_t bytes,
			uint64_t pages)
{
	fprintf(f, "  %-8s %12" PRIu64 " bytes (%.1f KiB", name, bytes,
		(double)bytes / 1024.0);
	if (pages)
		fprintf(f, ", %.1f bytes per page", (double)bytes / (double)pages);
	fputs(")\n", f);
}

/* An estimate a backend cannot make (no extents to count) reads 0. */
static void stats_estimate(FILE *f, const char *name, uint64_t bytes,
			   uint64_t pages)
{
	if (!bytes && pages)
		fprintf(f, "  %-8s not estimated by this backend\n", name);
	else
		stats_bytes(f, name, bytes, pages);
}

static unsigned int stats_children_failed(const struct broker *b)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->n_devices; i++)
		n += b->devices[i].child_failed;	/* spawn.c's verdict */
	return n;
}

void stats_summary(const struct broker *b, FILE *f)
{
	const struct backend_usage *u = &b->peak_usage;
	struct stats_counters t;
	double s = stats_elapsed(b);

	stats_total(b, &t);
	fprintf(f, "summary (backend %s, %.2f s):\n", b->be->ops->name, s);
	if (b->n_children)
		fprintf(f, "  devprocs %u spawned, %u failed\n", b->n_children,
			stats_children_failed(b));
	fprintf(f, "  requests %" PRIu64 ", errors %" PRIu64 "\n", t.requests,
		t.errors);
	fprintf(f, "  pages mapped %" PRIu64 ", unmapped %" PRIu64
		" (released on disconnect %" PRIu64 ")\n", t.pages_mapped,
		t.pages_unmapped, t.pages_released);
	fprintf(f, "  batches %" PRIu64 ", mean batch %.1f entries (max %" PRIu64
		")\n", t.batches, stats_mean(&t.batch_entries),
		t.batch_entries.max);
	fprintf(f, "  throughput %.0f pages/s (mapped + unmapped)\n",
		(double)(t.pages_mapped + t.pages_unmapped) / s);
	fprintf(f, "  latency p50 <=%" PRIu64 " us, p99 <=%" PRIu64 " us, max %"
		PRIu64 " us\n", stats_hist_quantile(&t.latency_us, 500),
		stats_hist_quantile(&t.latency_us, 990), t.latency_us.max);
	fprintf(f, "  peak mapping set: %" PRIu64 " pages in %" PRIu64
		" extents; memory it takes this backend (own), and each kernel backend:\n",
		b->peak_pages, u->extents);
	stats_bytes(f, "own", u->bytes_self, b->peak_pages);
	stats_estimate(f, "type1", u->bytes_type1, b->peak_pages);
	stats_estimate(f, "iommufd", u->bytes_iommufd, b->peak_pages);
	stats_estimate(f, "v3", u->bytes_v3, b->peak_pages);
}

int stats_summary_json(const struct broker *b, FILE *f, const char *path)
{
	struct stats_counters t;
	double s = stats_elapsed(b);

	stats_total(b, &t);
	fprintf(f, "{\"backend\":\"%s\",\"seconds\":%.3f,\"requests\":%" PRIu64
		",\"errors\":%" PRIu64 ",\"pages_mapped\":%" PRIu64
		",\"pages_unmapped\":%" PRIu64 ",\"pages_released\":%" PRIu64
		",\"batches\":%" PRIu64 ",\"mean_batch\":%.3f"
		",\"pages_per_second\":%.1f,\"latency_p50_us\":%" PRIu64
		",\"latency_p99_us\":%" PRIu64 ",\"peak_pages\":%" PRIu64
		",\"peak_usage\":", b->be->ops->name, s, t.requests, t.errors,
		t.pages_mapped, t.pages_unmapped, t.pages_released, t.batches,
		stats_mean(&t.batch_entries),
		(double)(t.pages_mapped + t.pages_unmapped) / s,
		stats_hist_quantile(&t.latency_us, 500),
		stats_hist_quantile(&t.latency_us, 990), b->peak_pages);
	stats_usage_json(f, &b->peak_usage);
	fprintf(f, ",\"devprocs\":%u,\"devprocs_failed\":%u,\"total\":{",
		b->n_children, stats_children_failed(b));
	stats_counters_json(f, &t);
	fputs("}}\n", f);
	if (fclose(f)) {
		int err = errno;

		log_err("writing %s: %s", path, strerror(err));
		return -err;
	}
	return 0;
}
