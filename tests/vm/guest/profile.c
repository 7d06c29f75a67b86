// SPDX-License-Identifier: BSD-3-Clause
/*
 * Kernel profile of the scattered-page benchmark (vmtest profile; driven
 * by tests/vm/profile.sh).
 *
 * Debian's 6.12 kernel has no function profiler (CONFIG_FUNCTION_PROFILER
 * is off), so this uses the function_graph tracer restricted to a list of
 * functions (set_ftrace_filter) and to this process (set_ftrace_pid), and
 * folds the trace into per-function call counts, inclusive time and self
 * time (inclusive minus the traced callees). Each case maps PROF_PAGES
 * scattered pages (the benchmark's layout: IOVA 2 i pages, random user
 * pages) and unmaps them: type1 with one ioctl per page, v3 tracked and
 * direct in batches of 64. Each case runs PROF_UNTRACED times untraced
 * (the fastest is the honest figure) and once traced; the difference
 * shows how much the tracer itself adds (each traced call costs a few
 * microseconds under TCG, charged to its caller's self time).
 *
 * Output: "VMPROF case=C phase=P wall_us=W traced_us=T pages=N" per phase,
 * "VMPROF case=C phase=P fn=F calls=N incl_us=I self_us=S" per function
 * and, when the module was built with -DV3_PROF, "VMPROF case=C phases
 * ..." with its own cycle counts per phase of each untraced pass; the
 * host formats them (profile.sh).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "tests.h"

#define PROF_PAGES	2048u
#define PROF_BATCH	64u
#define PROF_UNTRACED	4
#define PROF_BASE	0x100000000ull
#define PROF_MAXFN	256
#define PROF_DEPTH	64

/*
 * What is traced. Names missing from this kernel (inlined, renamed) are
 * skipped and reported; the module globs cover both VFIO backends.
 */
static const char *const prof_filter[] = {
	"*:mod:vfio_iommu_type1v3", "*:mod:vfio_iommu_type1",
	"vfio_fops_unl_ioctl",
	"iommu_map", "iommu_unmap", "iommu_unmap_fast", "iommu_iova_to_phys",
	"intel_iommu_map_pages", "intel_iommu_unmap_pages",
	"intel_iommu_iova_to_phys", "intel_iommu_iotlb_sync_map",
	"intel_iommu_tlb_sync", "__domain_mapping", "domain_unmap",
	"pfn_to_dma_pte", "dma_pte_clear_level", "dma_pte_clear_range",
	"cache_tag_flush_range", "cache_tag_flush_range_np",
	"qi_submit_sync", "qi_batch_flush_descs", "clflush_cache_range",
	"iommu_put_pages_list",
	"pin_user_pages_fast", "pin_user_pages_remote", "unpin_user_page",
	"unpin_user_pages", "unpin_user_pages_dirty_lock",
	"folio_mark_dirty", "__account_locked_vm", "account_locked_vm",
	"xa_load", "xa_find", "xa_find_after", "xa_erase", "__xa_insert",
	"xa_store", "xas_store",
	"__kmalloc_noprof", "__kvmalloc_node_noprof", "kfree", "kvfree",
	"kmem_cache_alloc_noprof", "kmem_cache_free",
	"_copy_from_user", "_copy_to_user",
	"down_write_killable", "mmap_write_lock_killable", "up_write",
	"__cond_resched",
};

struct prof_fn {
	char name[64];
	unsigned long calls;
	double incl_us;
	double self_us;
};

struct prof_frame {
	int fn;
	double child_us;
};

static struct prof_fn prof_fns[PROF_MAXFN];
static int prof_nfns;

static int prof_setup(void)
{
	char buf[32];
	size_t i;
	int skipped = 0;

	RUN(harness_tracefs());
	CHECK_OK(harness_tracefs_write("tracing_on", "0", 0), "tracing_on");
	CHECK_OK(harness_tracefs_write("current_tracer", "nop", 0), "nop tracer");
	CHECK_OK(harness_tracefs_write("buffer_size_kb", "65536", 0), "buffer_size_kb");
	CHECK_OK(harness_tracefs_write("set_ftrace_filter", "", 0), "clear filter");
	for (i = 0; i < sizeof(prof_filter) / sizeof(prof_filter[0]); i++) {
		if (harness_tracefs_write("set_ftrace_filter", prof_filter[i], 1)) {
			printf("VMPROF skipped=%s\n", prof_filter[i]);
			skipped++;
		}
	}
	snprintf(buf, sizeof(buf), "%d", getpid());
	CHECK_OK(harness_tracefs_write("set_ftrace_pid", buf, 0), "set_ftrace_pid");
	/* the options exist while the tracer is current, and persist */
	CHECK_OK(harness_tracefs_write("current_tracer", "function_graph", 0), "function_graph");
	CHECK_OK(harness_tracefs_write("options/funcgraph-tail", "1", 0), "funcgraph-tail");
	CHECK_OK(harness_tracefs_write("options/funcgraph-irqs", "0", 0), "funcgraph-irqs");
	CHECK_OK(harness_tracefs_write("current_tracer", "nop", 0), "nop tracer");
	printf("VMPROF filter_skipped=%d\n", skipped);
	return 0;
}

static int prof_fn_index(const char *name)
{
	int i;

	for (i = 0; i < prof_nfns; i++)
		if (!strcmp(prof_fns[i].name, name))
			return i;
	if (prof_nfns == PROF_MAXFN)
		return -1;
	snprintf(prof_fns[prof_nfns].name, sizeof(prof_fns[0].name), "%s", name);
	return prof_nfns++;
}

/* Duration in microseconds from the part of a line left of '|', or -1. */
static double prof_duration(const char *left)
{
	const char *us = strstr(left, " us");
	const char *p;

	if (!us)
		return -1;
	p = us;
	while (p > left && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')))
		p--;
	return p == us ? -1 : atof(p);
}

/*
 * Fold one trace line. Formats (funcgraph-tail on):
 *   " 0)   0.345 us    |    leaf();"
 *   " 0)               |  parent() {"
 *   " 0) + 11.12 us    |  } /" "* parent *" "/"
 */
static void prof_line(char *line, struct prof_frame *stack, int *depth)
{
	char *bar = strchr(line, '|'), *s, *e;
	double d;
	int fn;

	if (!bar || line[0] == '#')
		return;
	*bar = 0;
	d = prof_duration(line);
	for (s = bar + 1; *s == ' '; s++)
		;
	if (s[0] == '}') {		/* close: "} / * name * /" */
		s = strstr(s, "/* ");
		if (!s || *depth == 0 || d < 0)
			return;
		s += 3;
		e = strstr(s, " */");
		if (e)
			*e = 0;
		fn = stack[--*depth].fn;
		if (fn >= 0) {
			prof_fns[fn].incl_us += d;
			prof_fns[fn].self_us += d - stack[*depth].child_us;
		}
		if (*depth)
			stack[*depth - 1].child_us += d;
		return;
	}
	e = strstr(s, "()");
	if (!e)
		return;
	*e = 0;
	fn = prof_fn_index(s);
	if (fn >= 0)
		prof_fns[fn].calls++;
	if (strchr(e + 1, '{')) {	/* entry of a function with callees */
		if (*depth < PROF_DEPTH) {
			stack[*depth].fn = fn;
			stack[*depth].child_us = 0;
			++*depth;
		}
		return;
	}
	if (d < 0)
		return;
	if (fn >= 0) {
		prof_fns[fn].incl_us += d;
		prof_fns[fn].self_us += d;
	}
	if (*depth)
		stack[*depth - 1].child_us += d;
}

static int prof_report(const char *cname, const char *phase)
{
	static struct prof_frame stack[PROF_DEPTH];
	char line[512];
	int depth = 0, i;
	FILE *f;

	prof_nfns = 0;
	memset(prof_fns, 0, sizeof(prof_fns));
	f = fopen(VT_TRACEFS "/trace", "r");
	CHECK(f, "open trace: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		prof_line(line, stack, &depth);
	fclose(f);
	for (i = 0; i < prof_nfns; i++)
		printf("VMPROF case=%s phase=%s fn=%s calls=%lu incl_us=%.1f self_us=%.1f\n",
		       cname, phase, prof_fns[i].name, prof_fns[i].calls,
		       prof_fns[i].incl_us, prof_fns[i].self_us);
	f = fopen(VT_TRACEFS "/per_cpu/cpu0/stats", "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "overrun:", 8) && atol(line + 8))
				printf("VMPROF case=%s phase=%s WARNING trace %s", cname,
				       phase, line);
		fclose(f);
	}
	return harness_tracefs_write("trace", "", 0);
}

static int prof_map(struct vt_ctx *ctx, const uint32_t *perm, uint8_t *buf)
{
	static struct vfio_iommu_type1v3_map_entry e[PROF_BATCH];
	uint32_t i, k, failed;
	uint64_t done;

	for (i = 0; i < PROF_PAGES; i += PROF_BATCH) {
		for (k = 0; k < PROF_BATCH; k++) {
			uint64_t iova = PROF_BASE + 2ull * (i + k) * VT_PAGE;
			uint8_t *va = buf + (uint64_t)perm[i + k] * VT_PAGE;

			if (ctx->mode == VT_TYPE1) {
				CHECK_OK(harness_t1_map(ctx->container, iova, va, VT_PAGE),
					 "type1 map");
				continue;
			}
			e[k] = (struct vfio_iommu_type1v3_map_entry){
				.iova = iova, .vaddr = (uintptr_t)va, .npages = 1,
				.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			};
		}
		if (ctx->mode != VT_TYPE1) {
			CHECK_OK(harness_v3_map(ctx->container, e, k, &failed, &done),
				 "v3 map");
			CHECK(done == k, "pages_done %llu", (unsigned long long)done);
		}
	}
	return 0;
}

static int prof_unmap(struct vt_ctx *ctx)
{
	static struct vfio_iommu_type1v3_unmap_entry u[PROF_BATCH];
	uint64_t done, total = 0;
	uint32_t i, k;

	for (i = 0; i < PROF_PAGES; i += PROF_BATCH) {
		for (k = 0; k < PROF_BATCH; k++) {
			uint64_t iova = PROF_BASE + 2ull * (i + k) * VT_PAGE;

			if (ctx->mode == VT_TYPE1) {
				CHECK_OK(harness_t1_unmap(ctx->container, iova, VT_PAGE, &done),
					 "type1 unmap");
				total += done / VT_PAGE;
				continue;
			}
			u[k] = (struct vfio_iommu_type1v3_unmap_entry){
				.iova = iova, .npages = 1,
			};
		}
		if (ctx->mode != VT_TYPE1) {
			CHECK_OK(harness_v3_unmap(ctx->container, u, k, NULL, &done),
				 "v3 unmap");
			total += done;
		}
	}
	CHECK(total == PROF_PAGES, "unmapped %llu", (unsigned long long)total);
	return 0;
}

/*
 * A module built with -DV3_PROF logs its phase cycle counts when a
 * container is released ("v3prof ..."): pass them on.
 */
static void prof_phases(int fd, const char *cname)
{
	char rec[2048];
	ssize_t n;

	if (fd < 0)
		return;
	for (;;) {
		char *p, *nl;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		p = strstr(rec, "v3prof ");
		if (!p)
			continue;
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		printf("VMPROF case=%s phases %s\n", cname, p + 7);
	}
	close(fd);
}

/* One map and one unmap of the case, traced or not; times in us. */
static int prof_pass(enum vt_mode mode, const uint32_t *perm, uint8_t *buf,
		     int traced, double *map_us, double *unmap_us)
{
	struct vt_ctx ctx;
	uint64_t t0, t1, t2;

	RUN(harness_open(&ctx, mode, 1));
	/*
	 * The tracer is installed only for the traced pass: with
	 * function_graph current, its hooks run even while tracing_on is 0.
	 */
	if (traced) {
		CHECK_OK(harness_tracefs_write("current_tracer", "function_graph", 0),
			 "function_graph");
		CHECK_OK(harness_tracefs_write("tracing_on", "1", 0), "tracing_on");
	}
	t0 = harness_now_ns();
	RUN(prof_map(&ctx, perm, buf));
	t1 = harness_now_ns();
	*map_us = (t1 - t0) / 1e3;
	if (traced) {
		CHECK_OK(harness_tracefs_write("tracing_on", "0", 0), "tracing_off");
		RUN(prof_report(harness_mode_name(mode), "map"));
		CHECK_OK(harness_tracefs_write("tracing_on", "1", 0), "tracing_on");
	}
	t1 = harness_now_ns();
	RUN(prof_unmap(&ctx));
	t2 = harness_now_ns();
	*unmap_us = (t2 - t1) / 1e3;
	if (traced) {
		CHECK_OK(harness_tracefs_write("tracing_on", "0", 0), "tracing_off");
		RUN(prof_report(harness_mode_name(mode), "unmap"));
		CHECK_OK(harness_tracefs_write("current_tracer", "nop", 0), "nop tracer");
	}
	harness_close(&ctx);
	return 0;
}

int t_profile(enum vt_mode unused)
{
	static const enum vt_mode modes[] = { VT_TYPE1, VT_TRACKED, VT_DIRECT };
	uint32_t perm[PROF_PAGES], i;
	uint8_t *buf;
	size_t m;
	int r;

	(void)unused;
	harness_shuffle(perm, PROF_PAGES);
	buf = mmap(NULL, PROF_PAGES * VT_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED, "mmap: %s", strerror(errno));
	madvise(buf, PROF_PAGES * VT_PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < PROF_PAGES; i++)
		buf[(uint64_t)i * VT_PAGE] = 1;
	RUN(prof_setup());

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		double map_us, unmap_us, tmap_us, tunmap_us;
		const char *name = harness_mode_name(modes[m]);

		/*
		 * Untraced first (the first pass of the first backend also
		 * migrates the buffer's pages out of ZONE_MOVABLE, which the
		 * long-term pin needs); the host is shared, so the fastest of
		 * the untraced passes is reported.
		 */
		map_us = unmap_us = 1e30;
		for (r = 0; r < PROF_UNTRACED; r++) {
			int kmsg = harness_kmsg_mark();
			double a, b;

			RUN(prof_pass(modes[m], perm, buf, 0, &a, &b));
			prof_phases(kmsg, name);
			map_us = a < map_us ? a : map_us;
			unmap_us = b < unmap_us ? b : unmap_us;
		}
		RUN(prof_pass(modes[m], perm, buf, 1, &tmap_us, &tunmap_us));
		printf("VMPROF case=%s phase=map wall_us=%.0f traced_us=%.0f pages=%u\n",
		       name, map_us, tmap_us, PROF_PAGES);
		printf("VMPROF case=%s phase=unmap wall_us=%.0f traced_us=%.0f pages=%u\n",
		       name, unmap_us, tunmap_us, PROF_PAGES);
	}
	harness_tracefs_write("current_tracer", "nop", 0);
	munmap(buf, PROF_PAGES * VT_PAGE);
	return 0;
}
