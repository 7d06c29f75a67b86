// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinning, mapping, unmapping and rollback of IOVA pages.
 *
 * Map: every entry of a batch is validated first. The whole batch is then
 * charged to locked_vm at once, and each entry is pinned in chunks of
 * V3_DMA_PIN_CHUNK pages (pin_user_pages_fast, FOLL_LONGTERM, FOLL_WRITE
 * when the device may write). Each chunk is claimed in the page store
 * first (the claim is the EEXIST check), then pinned, then its physically
 * contiguous runs become one iommu_map() per domain; a chunk that fails
 * leaves the store again. Between claim and map the store names pages no
 * domain has yet, which nobody can see: all of it is under iommu->lock,
 * and must stay so. A failure undoes the failing chunk locally and the
 * finished part of the batch through the ordinary unmap path, then
 * returns the charge.
 *
 * Unmap: mapped pages are collected (their PFN read back from the first
 * domain, since the store holds none) into a context of at most
 * V3_DMA_UNMAP_CHUNK pages; the runs are removed from every domain with
 * iommu_unmap_fast() into one iotlb gather per domain, flushed once with
 * iommu_iotlb_sync(), and only after the flush are the pages unpinned. A
 * batch of up to V3_DMA_UNMAP_CHUNK pages therefore costs one IOTLB flush
 * per domain.
 *
 * Everything here runs with iommu->lock held; nothing sleeps under a
 * spinlock (the xarray's own lock is taken only inside the stores).
 */
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "type1v3.h"

#ifdef V3_PROF
#include <linux/timex.h>

static void v3_prof_start(struct v3_iommu *iommu)
{
	iommu->prof_t = get_cycles();
}

/* Charge the cycles since the last lap to @phase. */
static void v3_prof_lap(struct v3_iommu *iommu, enum v3_prof_phase phase)
{
	u64 now = get_cycles();

	iommu->prof[phase] += now - iommu->prof_t;
	iommu->prof_t = now;
}

void v3_dma_prof_report(struct v3_iommu *iommu)
{
	static const char * const names[V3_PROF_N] = {
		"map_setup", "map_store", "map_pin", "map_iommu",
		"map_end", "unmap_find", "unmap_phys", "unmap_store",
		"unmap_iommu", "unmap_unpin", "unmap_end",
	};
	char buf[512];
	int i, n;

	n = scnprintf(buf, sizeof(buf), "mapped=%llu unmapped=%llu",
		      iommu->prof_pages[0], iommu->prof_pages[1]);
	for (i = 0; i < V3_PROF_N; i++)
		n += scnprintf(buf + n, sizeof(buf) - n, " %s=%llu", names[i],
			       iommu->prof[i]);
	pr_info("v3prof %s\n", buf);
}
#else
static inline void v3_prof_start(struct v3_iommu *iommu) {}
static inline void v3_prof_lap(struct v3_iommu *iommu, int phase) {}
#endif

#define V3_DMA_PIN_CHUNK	512
#define V3_DMA_UNMAP_CHUNK	4096
#define V3_DMA_SMALL		8
#define V3_DMA_RESCHED_ENTRIES	64

/*
 * A run of mapped pages with consecutive IOVAs. @join: nothing is mapped
 * between the previous run and this one (the gap lies inside one allowed
 * IOVA range and holds no page of ours), so a single unmap call may cover
 * both runs and the gap.
 */
struct v3_dma_run {
	unsigned long	pfn;
	unsigned long	npages;
	bool		join;
};

/*
 * Pages waiting for the IOTLB flush before they may be unpinned. Pages the
 * device could write are filled from the front, read-only ones from the
 * back, so each group is unpinned with one call.
 */
struct v3_dma_unmap_ctx {
	struct page		**pages;
	struct v3_dma_run	*runs;
	unsigned int		max;
	unsigned int		ndirty;
	unsigned int		nclean;
	unsigned int		nlost;	/* in the store, but no translation */
	unsigned int		nruns;
	u64			done;
	const struct v3_range	*range;	/* last range a gap was found in */
	/* used when no memory can be had, so teardown never fails */
	struct page		*small_pages[V3_DMA_SMALL];
	struct v3_dma_run	small_runs[V3_DMA_SMALL];
};

/*
 * An empty container belongs to no mm: whoever maps next owns it, so a
 * process that unmapped everything may hand the fd on (or exec) and the
 * new owner can map. v3_dma_account() calls it whenever a charge is given
 * back or refused.
 */
static void v3_dma_put_mm(struct v3_iommu *iommu)
{
	if (iommu->npages || !iommu->mm)
		return;
	mmdrop(iommu->mm);
	iommu->mm = NULL;
}

static int v3_dma_account(struct v3_iommu *iommu, long npages)
{
	struct mm_struct *mm = iommu->mm;
	int ret;

	if (!npages || !mm)
		return 0;
	if (!mmget_not_zero(mm)) {
		ret = npages > 0 ? -ESRCH : 0;	/* the owner has exited */
		goto put;
	}
	if (npages > 0) {
		ret = mmap_write_lock_killable(mm);
		if (ret)
			goto out;
	} else {
		/* a release must always give the charge back */
		mmap_write_lock(mm);
	}
	/* only a charge consults the limit, so only a charge asks for the cap */
	ret = __account_locked_vm(mm, abs(npages), npages > 0, current,
				  npages > 0 && capable(CAP_IPC_LOCK));
	mmap_write_unlock(mm);
out:
	mmput(mm);
put:
	if (npages < 0 || ret)
		v3_dma_put_mm(iommu);
	return ret;
}

/*
 * Is [@start, @last] inside one allowed IOVA range? A batch's entries
 * mostly fall in the range the previous one did (*@hint), so that one is
 * tried before the list.
 */
static bool v3_dma_iova_valid(struct v3_iommu *iommu,
			      const struct v3_range **hint, u64 start, u64 last)
{
	const struct v3_range *r = *hint;

	if (r && r->start <= start && last <= r->last)
		return true;
	r = v3_domain_iova_range(iommu, start, last);
	if (r)
		*hint = r;
	return r;
}

static int v3_dma_check_entry(struct v3_iommu *iommu,
			      const struct vfio_iommu_type1v3_map_entry *e,
			      const struct v3_range **hint)
{
	unsigned long pfn, last, vpfn, vlast;
	u32 prot = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

	if (!e->flags || (e->flags & ~prot) || e->__reserved)
		return -EINVAL;
	if (v3_dma_range(e->iova, e->npages, &pfn, &last) ||
	    v3_dma_range(e->vaddr, e->npages, &vpfn, &vlast))
		return -EINVAL;
	/* vaddr must be a user address the pin can name */
	if (e->vaddr != untagged_addr(e->vaddr))
		return -EINVAL;
	if (!v3_dma_iova_valid(iommu, hint, e->iova,
			       ((u64)last << PAGE_SHIFT) + PAGE_SIZE - 1))
		return -EINVAL;
	return 0;
}

static void v3_dma_ctx_free(struct v3_dma_unmap_ctx *ctx)
{
	if (ctx->pages != ctx->small_pages)
		kvfree(ctx->pages);
	if (ctx->runs != ctx->small_runs)
		kvfree(ctx->runs);
}

static void v3_dma_ctx_init(struct v3_dma_unmap_ctx *ctx, u64 want)
{
	ctx->ndirty = 0;
	ctx->nclean = 0;
	ctx->nlost = 0;
	ctx->nruns = 0;
	ctx->done = 0;
	ctx->range = NULL;
	ctx->pages = ctx->small_pages;
	ctx->runs = ctx->small_runs;
	ctx->max = V3_DMA_SMALL;
	if (want <= V3_DMA_SMALL)
		return;

	want = min_t(u64, want, V3_DMA_UNMAP_CHUNK);
	ctx->pages = kvmalloc_array(want, sizeof(*ctx->pages), GFP_KERNEL);
	ctx->runs = kvmalloc_array(want, sizeof(*ctx->runs), GFP_KERNEL);
	if (ctx->pages && ctx->runs) {
		ctx->max = want;
		return;
	}
	v3_dma_ctx_free(ctx);
	ctx->pages = ctx->small_pages;
	ctx->runs = ctx->small_runs;
}

static void v3_dma_unmap_run(struct iommu_domain *dom,
			     const struct v3_dma_run *run,
			     struct iommu_iotlb_gather *gather)
{
	size_t len = (size_t)run->npages << PAGE_SHIFT;
	size_t got;

	got = iommu_unmap_fast(dom, (dma_addr_t)run->pfn << PAGE_SHIFT, len,
			       gather);
	/*
	 * Attach refuses drivers that cannot unmap part of a mapping
	 * (v3_domain_probe_split()), so this is a driver bug; it is loud in
	 * every build because the pages are unpinned next.
	 */
	WARN_ONCE(got != len,
		  "vfio_iommu_type1v3: IOMMU unmapped %zu of %zu bytes at iova 0x%llx\n",
		  got, len, (u64)run->pfn << PAGE_SHIFT);
}

/*
 * Unmap the collected runs from one domain. Joined runs go in one call
 * spanning their gaps: the gaps hold nothing of ours (see v3_dma_ctx_add)
 * and clearing an empty PTE is harmless, while each call costs a full
 * page-table walk in the driver, which for scattered single pages was
 * the largest per-page cost of an unmap. VT-d clears the whole span; a
 * driver that stops short (AMD-Vi, where a page-table level is missing)
 * says so, and the rest of the span's runs are then unmapped one by one.
 * (Both are x86; arm64's io-pgtable would WARN on each hole, which is one
 * reason the module is x86-64 only, see Kbuild; virtio-iommu, which
 * cannot unmap part of a mapping at all, is refused at attach.)
 */
static void v3_dma_ctx_unmap(struct iommu_domain *dom,
			     const struct v3_dma_unmap_ctx *ctx,
			     struct iommu_iotlb_gather *gather)
{
	unsigned int i, j;

	for (i = 0; i < ctx->nruns; i = j) {
		const struct v3_dma_run *run = &ctx->runs[i];
		unsigned long start = run->pfn, stop;
		size_t len, got;

		for (j = i + 1; j < ctx->nruns && ctx->runs[j].join; j++)
			run = &ctx->runs[j];
		if (j == i + 1) {
			v3_dma_unmap_run(dom, run, gather);
			continue;
		}
		len = (size_t)(run->pfn + run->npages - start) << PAGE_SHIFT;
		got = iommu_unmap_fast(dom, (dma_addr_t)start << PAGE_SHIFT,
				       len, gather);
		if (got >= len)
			continue;
		stop = start + (got >> PAGE_SHIFT);
		for (run = &ctx->runs[i]; run < &ctx->runs[j]; run++)
			if (run->pfn >= stop)
				v3_dma_unmap_run(dom, run, gather);
	}
}

/*
 * Remove the collected runs from every domain, flush, then unpin.
 *
 * Drivers that gather page by page (VT-d) flush on their own as
 * soon as a range is disjoint from what the gather already holds, which
 * for scattered pages would mean one flush per page. Starting the gather
 * with the span of all runs keeps every run inside it, so the batch costs
 * one flush per domain; it may invalidate more than was unmapped, which
 * is always safe.
 */
static void v3_dma_ctx_flush(struct v3_iommu *iommu,
			     struct v3_dma_unmap_ctx *ctx)
{
	struct iommu_iotlb_gather gather;
	unsigned long first = ULONG_MAX, end = 0;
	struct v3_domain *d;
	unsigned int i;

	if (!ctx->nruns)
		return;
	for (i = 0; i < ctx->nruns; i++) {
		first = min(first, ctx->runs[i].pfn);
		end = max(end, ctx->runs[i].pfn + ctx->runs[i].npages);
	}

	list_for_each_entry(d, &iommu->domains, next) {
		iommu_iotlb_gather_init(&gather);
		iommu_iotlb_gather_add_range(&gather,
					     (unsigned long)first << PAGE_SHIFT,
					     (size_t)(end - first) << PAGE_SHIFT);
		v3_dma_ctx_unmap(d->domain, ctx, &gather);
		iommu_iotlb_sync(d->domain, &gather);
	}
	v3_prof_lap(iommu, V3_PROF_UNMAP_IOMMU);

	/* the device can no longer reach these pages: drop our pins */
	unpin_user_pages_dirty_lock(ctx->pages, ctx->ndirty, true);
	unpin_user_pages(ctx->pages + ctx->max - ctx->nclean, ctx->nclean);
	v3_prof_lap(iommu, V3_PROF_UNMAP_UNPIN);

	ctx->done += ctx->ndirty + ctx->nclean + ctx->nlost;
	ctx->ndirty = 0;
	ctx->nclean = 0;
	ctx->nlost = 0;
	ctx->nruns = 0;
}

/*
 * May a new run at @pfn share one unmap call with @prev? Only if it lies
 * above it and nothing of ours is mapped in between: [@from, @pfn) is
 * known empty (the caller's search came from there), the rest of the gap
 * is searched. The gap must also stay inside one allowed IOVA range, so a
 * span never touches a reserved region (an MSI doorbell some IOMMU layers
 * map into the domain themselves).
 */
static bool v3_dma_can_join(struct v3_iommu *iommu,
			    struct v3_dma_unmap_ctx *ctx,
			    const struct v3_dma_run *prev, unsigned long from,
			    unsigned long pfn)
{
	unsigned long end = prev->pfn + prev->npages, probe = end;

	if (pfn < end)
		return false;
	if (end < from && v3_store_find(iommu, &probe, from - 1))
		return false;
	return v3_dma_iova_valid(iommu, &ctx->range, (u64)end << PAGE_SHIFT,
				 ((u64)pfn << PAGE_SHIFT) - 1);
}

/*
 * Collect page @pfn, already taken out of the store with protection @prot,
 * so that a later entry of the same batch naming it cannot collect it twice.
 */
static void v3_dma_ctx_add(struct v3_iommu *iommu,
			   struct v3_dma_unmap_ctx *ctx, unsigned long from,
			   unsigned long pfn, int prot)
{
	struct v3_dma_run *run;
	struct page *page;
	phys_addr_t phys;

	phys = v3_dma_phys(iommu, pfn);
	v3_prof_lap(iommu, V3_PROF_UNMAP_PHYS);
	run = ctx->nruns ? &ctx->runs[ctx->nruns - 1] : NULL;

	if (ctx->ndirty + ctx->nclean + ctx->nlost == ctx->max) {
		v3_dma_ctx_flush(iommu, ctx);
		run = NULL;
	}

	if (run && run->pfn + run->npages == pfn) {
		run->npages++;
	} else {
		bool join = run && (run->pfn + run->npages == pfn ||
				    v3_dma_can_join(iommu, ctx, run, from,
						    pfn));

		run = &ctx->runs[ctx->nruns++];
		run->pfn = pfn;
		run->npages = 1;
		run->join = join;
	}

	/*
	 * A page in the store with no translation breaks the invariant (a
	 * driver that dropped it behind our back): its pin cannot be found
	 * to drop, so say so in every build.
	 */
	if (WARN_ONCE(!phys || !pfn_valid(PHYS_PFN(phys)),
		      "vfio_iommu_type1v3: iova 0x%llx is ours but has no translation; its pin is lost\n",
		      (u64)pfn << PAGE_SHIFT)) {
		ctx->nlost++;
		return;
	}
	page = pfn_to_page(PHYS_PFN(phys));
	if (prot & IOMMU_WRITE)
		ctx->pages[ctx->ndirty++] = page;
	else
		ctx->pages[ctx->max - ++ctx->nclean] = page;
}

/* Collect the mapped pages of [pfn, last]; returns how many there were. */
static u64 v3_dma_unmap_range(struct v3_iommu *iommu,
			      struct v3_dma_unmap_ctx *ctx,
			      unsigned long pfn, unsigned long last)
{
	const struct v3_dma_run *prev = ctx->nruns ?
					&ctx->runs[ctx->nruns - 1] : NULL;
	unsigned long from = pfn, probe;
	u64 n = 0;
	int prot;

	/*
	 * Searching from the end of the previous run instead of from @pfn
	 * costs the same and also tells whether the gap between them is
	 * empty, which v3_dma_can_join() would otherwise search for again.
	 */
	if (prev && prev->pfn + prev->npages < pfn)
		from = prev->pfn + prev->npages;
	probe = from;
	prot = v3_store_take(iommu, &probe, pfn, last);
	if (prot == -EEXIST) {		/* something of ours in the gap */
		from = pfn;
		probe = pfn;
		prot = v3_store_take(iommu, &probe, pfn, last);
	}
	pfn = probe;

	/* each page leaves the store as it is collected (see ctx_add) */
	while (prot > 0) {
		v3_prof_lap(iommu, V3_PROF_UNMAP_STORE);
		v3_dma_ctx_add(iommu, ctx, from, pfn, prot);
		v3_prof_lap(iommu, V3_PROF_UNMAP_FIND);
		n++;
		if (pfn == last)
			break;
		from = ++pfn;
		/* by pages taken: sparse ones may never meet an aligned pfn */
		if (!(n % V3_DMA_UNMAP_CHUNK))
			cond_resched();
		prot = v3_store_take(iommu, &pfn, pfn, last);
	}
	return n;
}

int v3_dma_unmap(struct v3_iommu *iommu,
		 const struct vfio_iommu_type1v3_unmap_entry *entries,
		 u32 nr, u64 *pages_done, u64 *entry_done)
{
	struct v3_dma_unmap_ctx ctx;
	unsigned long pfn, last;
	u64 want = 0;
	u32 i;

	*pages_done = 0;
	if (!iommu->npages)
		return 0;
	v3_prof_start(iommu);
	for (i = 0; i < nr; i++)
		if (check_add_overflow(want, entries[i].npages, &want))
			want = U64_MAX;

	v3_dma_ctx_init(&ctx, min_t(u64, want, iommu->npages));
	for (i = 0; i < nr; i++) {
		u64 n = 0;

		/* entries were validated by the caller */
		if (!v3_dma_range(entries[i].iova, entries[i].npages, &pfn,
				  &last))
			n = v3_dma_unmap_range(iommu, &ctx, pfn, last);
		if (entry_done)
			entry_done[i] = n;
		if (!((i + 1) % V3_DMA_RESCHED_ENTRIES))
			cond_resched();
	}
	v3_dma_ctx_flush(iommu, &ctx);
	v3_dma_ctx_free(&ctx);

	*pages_done = ctx.done;
	v3_dma_account(iommu, -(long)ctx.done);
#ifdef V3_PROF
	iommu->prof_pages[1] += ctx.done;
#endif
	v3_prof_lap(iommu, V3_PROF_UNMAP_END);
	return 0;
}

void v3_dma_unmap_all(struct v3_iommu *iommu)
{
	struct v3_dma_unmap_ctx ctx;

	if (!iommu->npages)
		return;
	v3_dma_ctx_init(&ctx, iommu->npages);
	v3_dma_unmap_range(iommu, &ctx, 0, ULONG_MAX);
	v3_dma_ctx_flush(iommu, &ctx);
	v3_dma_ctx_free(&ctx);
	V3_CHECK(!iommu->npages);
	v3_dma_account(iommu, -(long)ctx.done);
}

/*
 * Length of the next piece of a run to hand to iommu_map(). Every domain
 * is restricted to PAGE_SIZE mappings (see domain.c), but VT-d still builds
 * a superpage by itself from a 2 MiB aligned call of 512 pages or more; a
 * piece therefore never crosses a 2 MiB IOVA boundary and is never a whole
 * 2 MiB block, so that any single page can later be unmapped alone.
 */
unsigned long v3_dma_piece(unsigned long pfn, unsigned long npages)
{
	unsigned long block = SZ_2M >> PAGE_SHIFT;
	unsigned long len = min(npages, block - (pfn & (block - 1)));

	return len == block ? len - 1 : len;
}

/*
 * iommu_map() a physically contiguous run in pieces; see v3_dma_piece().
 * *@done grows by the pages mapped, also on failure (a failed iommu_map()
 * has undone its own piece).
 */
static int v3_dma_map_pieces(struct iommu_domain *dom, unsigned long pfn,
			     phys_addr_t phys, unsigned long npages, int prot,
			     unsigned long *done)
{
	while (npages) {
		unsigned long n = v3_dma_piece(pfn, npages);
		int ret;

		ret = iommu_map(dom, (dma_addr_t)pfn << PAGE_SHIFT, phys,
				n << PAGE_SHIFT, prot | IOMMU_CACHE,
				GFP_KERNEL_ACCOUNT);
		if (ret)
			return ret;
		*done += n;
		pfn += n;
		phys += (phys_addr_t)n << PAGE_SHIFT;
		npages -= n;
	}
	return 0;
}

int v3_dma_map_run(struct iommu_domain *dom, unsigned long pfn,
		   phys_addr_t phys, unsigned long npages, int prot)
{
	unsigned long done = 0;

	return v3_dma_map_pieces(dom, pfn, phys, npages, prot, &done);
}

/*
 * iommu_map() of a run without its iotlb_sync_map: the batch syncs once
 * per domain at its end instead (v3_dma_sync_map). iommu_map() syncs on
 * every call, and 6.12 exports no iommu_map_nosync(), so this calls the
 * domain's map_pages op the way __iommu_map() does. Domains here map
 * PAGE_SIZE pages only (domain.c), so no page-size split is needed, and
 * pieces follow v3_dma_piece(). *@done grows by the pages mapped, also
 * on failure, so the caller can unmap exactly those.
 */
static int v3_dma_map_nosync(struct iommu_domain *dom, unsigned long pfn,
			     phys_addr_t phys, unsigned long npages, int prot,
			     unsigned long *done)
{
	const struct iommu_domain_ops *ops = dom->ops;

	if (!ops->map_pages)
		return v3_dma_map_pieces(dom, pfn, phys, npages, prot, done);
	while (npages) {
		unsigned long n = v3_dma_piece(pfn, npages);
		size_t mapped = 0;
		int ret;

		ret = ops->map_pages(dom, (dma_addr_t)pfn << PAGE_SHIFT, phys,
				     PAGE_SIZE, n, prot | IOMMU_CACHE,
				     GFP_KERNEL_ACCOUNT, &mapped);
		*done += mapped >> PAGE_SHIFT;
		if (ret)
			return ret;
		if (WARN_ON_ONCE(mapped != n << PAGE_SHIFT))
			return -EIO;
		pfn += n;
		phys += (phys_addr_t)n << PAGE_SHIFT;
		npages -= n;
	}
	return 0;
}

/*
 * Make what a batch mapped in [@first, @last] visible to every domain's
 * hardware: one iotlb_sync_map per domain over the batch's IOVA span.
 * Syncing more than was mapped only invalidates more, which is safe.
 */
static int v3_dma_sync_map(struct v3_iommu *iommu, unsigned long first,
			   unsigned long last)
{
	struct v3_domain *d;
	int ret;

	list_for_each_entry(d, &iommu->domains, next) {
		const struct iommu_domain_ops *ops = d->domain->ops;

		if (!ops->map_pages || !ops->iotlb_sync_map)
			continue;
		ret = ops->iotlb_sync_map(d->domain,
					  (dma_addr_t)first << PAGE_SHIFT,
					  (size_t)(last - first + 1) <<
					  PAGE_SHIFT);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Map @n pinned pages at @pfn into every domain. On failure nothing of
 * this chunk stays mapped; the caller still owns the pins.
 */
static int v3_dma_map_pages(struct v3_iommu *iommu, unsigned long pfn,
			    struct page **pages, unsigned int n, int prot)
{
	struct v3_domain *d;
	unsigned int i, j;
	int ret = 0;

	list_for_each_entry(d, &iommu->domains, next) {
		unsigned long done = 0;

		for (i = 0; i < n; i = j) {
			unsigned long first = page_to_pfn(pages[i]);

			for (j = i + 1; j < n; j++)
				if (page_to_pfn(pages[j]) != first + (j - i))
					break;
			ret = v3_dma_map_nosync(d->domain, pfn + i,
						PFN_PHYS(first), j - i, prot,
						&done);
			if (ret)
				break;
		}
		if (ret) {
			/*
			 * Only the pages this call mapped, which lie at the
			 * chunk's start: asked to unmap a range whose first
			 * page has no page table, VT-d clears the whole block
			 * of that level (up to 1 GiB), other mappings too.
			 */
			if (done)
				iommu_unmap(d->domain,
					    (dma_addr_t)pfn << PAGE_SHIFT,
					    (size_t)done << PAGE_SHIFT);
			goto unwind;
		}
	}
	return 0;

unwind:
	list_for_each_entry_continue_reverse(d, &iommu->domains, next)
		iommu_unmap(d->domain, (dma_addr_t)pfn << PAGE_SHIFT,
			    (size_t)n << PAGE_SHIFT);
	return ret;
}

/*
 * Map one validated entry; *done counts the pages it left mapped.
 *
 * Each chunk is claimed in the store before it is pinned: the store's
 * insert refuses a page that is already there, which makes it the EEXIST
 * check as well, one lookup per page instead of a probe and an insert.
 * Until the chunk is mapped the store holds pages that are not, which no
 * one sees: everything here runs under iommu->lock.
 */
static int v3_dma_map_entry(struct v3_iommu *iommu,
			    const struct vfio_iommu_type1v3_map_entry *e,
			    struct page **pages, u64 *done)
{
	unsigned long pfn = e->iova >> PAGE_SHIFT;
	unsigned long vaddr = e->vaddr;
	u64 left = e->npages;
	unsigned int gup = FOLL_LONGTERM;
	int prot = 0, ret = 0;

	*done = 0;
	v3_prof_lap(iommu, V3_PROF_MAP_SETUP);
	if (e->flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (e->flags & VFIO_DMA_MAP_FLAG_WRITE) {
		prot |= IOMMU_WRITE;
		gup |= FOLL_WRITE;
	}

	while (left) {
		int n = min_t(u64, left, V3_DMA_PIN_CHUNK);
		int got;

		if (fatal_signal_pending(current))
			return -EINTR;

		ret = v3_store_insert(iommu, pfn, n, vaddr >> PAGE_SHIFT, prot);
		v3_prof_lap(iommu, V3_PROF_MAP_STORE);
		if (ret)
			return ret;

		got = pin_user_pages_fast(vaddr, n, gup, pages);
		v3_prof_lap(iommu, V3_PROF_MAP_PIN);
		if (got < n)	/* the rest is claimed again on the next pass */
			v3_store_erase(iommu, pfn + max(got, 0), n - max(got, 0));
		if (got <= 0)
			return got ? got : -EFAULT;

		ret = v3_dma_map_pages(iommu, pfn, pages, got, prot);
		v3_prof_lap(iommu, V3_PROF_MAP_IOMMU);
		if (ret) {
			v3_store_erase(iommu, pfn, got);
			unpin_user_pages(pages, got);
			return ret;
		}

		*done += got;
		left -= got;
		pfn += got;
		vaddr += (unsigned long)got << PAGE_SHIFT;
		if (left)
			cond_resched();
	}
	return 0;
}

/*
 * Undo the first @done pages a batch mapped (whole entries from the first,
 * up to part of entry @last) and give back the charge of all @total.
 */
static void v3_dma_map_undo(struct v3_iommu *iommu,
			    const struct vfio_iommu_type1v3_map_entry *entries,
			    u32 nr, u32 last, u64 done, u64 total)
{
	struct v3_dma_unmap_ctx ctx;
	unsigned long pfn;
	u32 j;

	v3_dma_ctx_init(&ctx, done);
	for (j = 0; j <= last && j < nr && done; j++) {
		u64 n = min_t(u64, entries[j].npages, done);

		pfn = entries[j].iova >> PAGE_SHIFT;
		v3_dma_unmap_range(iommu, &ctx, pfn, pfn + n - 1);
		done -= n;
	}
	v3_dma_ctx_flush(iommu, &ctx);
	v3_dma_ctx_free(&ctx);
	v3_dma_account(iommu, -(long)total);
}

void v3_dma_map_revert(struct v3_iommu *iommu,
		       const struct vfio_iommu_type1v3_map_entry *entries,
		       u32 nr, u64 total)
{
	lockdep_assert_held(&iommu->lock);
	v3_dma_map_undo(iommu, entries, nr, nr - 1, total, total);
}

int v3_dma_map(struct v3_iommu *iommu,
	       const struct vfio_iommu_type1v3_map_entry *entries,
	       u32 nr, u32 *failed, u64 *pages_done)
{
	unsigned long first = ULONG_MAX, last = 0;
	const struct v3_range *range = NULL;
	struct page **pages;
	u64 total = 0, done = 0;
	u32 i;
	int ret;

	*pages_done = 0;
	*failed = U32_MAX;

	if (list_empty(&iommu->domains))
		return -ENODEV;	/* no page table to hold the mappings */
	v3_prof_start(iommu);
	if (iommu->mm && iommu->mm != current->mm)
		return -EPERM;

	for (i = 0; i < nr; i++) {
		ret = v3_dma_check_entry(iommu, &entries[i], &range);
		if (!ret && check_add_overflow(total, entries[i].npages,
					       &total))
			ret = -EINVAL;
		if (ret) {
			*failed = i;
			return ret;
		}
	}
	if (total > LONG_MAX >> PAGE_SHIFT)
		return -ENOMEM;	/* more than any RLIMIT_MEMLOCK */

	if (!iommu->mm) {
		mmgrab(current->mm);
		iommu->mm = current->mm;
	}

	ret = v3_dma_account(iommu, total);
	if (ret)
		return ret;

	pages = kmalloc_array(min_t(u64, total, V3_DMA_PIN_CHUNK),
			      sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		v3_dma_account(iommu, -(long)total);
		return -ENOMEM;
	}

	for (i = 0; i < nr; i++) {
		u64 n;

		ret = v3_dma_map_entry(iommu, &entries[i], pages, &n);
		done += n;
		if (ret)
			break;
		first = min_t(unsigned long, first, entries[i].iova >> PAGE_SHIFT);
		last = max_t(unsigned long, last,
			     (entries[i].iova >> PAGE_SHIFT) + n - 1);
		if (!(i % V3_DMA_RESCHED_ENTRIES))
			cond_resched();
	}
	kfree(pages);
	if (!ret)
		ret = v3_dma_sync_map(iommu, first, last);

	if (ret) {
		/* a failed sync after the last entry blames no entry */
		*failed = i < nr ? i : U32_MAX;
		/* whole entries before i, then the head of entry i */
		v3_dma_map_undo(iommu, entries, nr, i, done, total);
		return ret;
	}

	*pages_done = total;
#ifdef V3_PROF
	iommu->prof_pages[0] += total;
#endif
	v3_prof_lap(iommu, V3_PROF_MAP_END);
	return 0;
}

/* Invalidate the vaddrs of a tracked range; *@done: pages it held. */
int v3_dma_invalidate_vaddr(struct v3_iommu *iommu, u64 iova, u64 npages,
			    u64 *done)
{
	unsigned long pfn, last;

	if (v3_dma_range(iova, npages, &pfn, &last))
		return -EINVAL;
	*done = v3_tracked_set_vaddr(iommu, pfn, last, 0, true);
	return 0;
}

/*
 * Give a tracked range new vaddrs. An update from a new process (live
 * update after exec) moves the container, and its locked_vm charge, to
 * the caller's mm.
 */
int v3_dma_set_vaddr(struct v3_iommu *iommu, u64 iova, u64 npages, u64 vaddr)
{
	unsigned long pfn, last, vpfn, vlast;
	struct mm_struct *old = iommu->mm;
	int ret;

	if (v3_dma_range(iova, npages, &pfn, &last) ||
	    v3_dma_range(vaddr, npages, &vpfn, &vlast))
		return -EINVAL;

	/* a range that cannot be updated must not move the container */
	if (!v3_tracked_full(iommu, pfn, last))
		return -EINVAL;
	if (old && old != current->mm && iommu->npages) {
		ret = mmap_write_lock_killable(current->mm);
		if (ret)
			return ret;
		ret = __account_locked_vm(current->mm, iommu->npages, true,
					  current, capable(CAP_IPC_LOCK));
		mmap_write_unlock(current->mm);
		if (ret)
			return ret;
		v3_dma_account(iommu, -(long)iommu->npages);
		mmgrab(current->mm);
		iommu->mm = current->mm;
		mmdrop(old);
	}
	v3_tracked_set_vaddr(iommu, pfn, last, vaddr >> PAGE_SHIFT, false);
	return 0;
}
