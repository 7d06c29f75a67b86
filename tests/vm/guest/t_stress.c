// SPDX-License-Identifier: BSD-3-Clause
/*
 * Concurrency: STRESS_THREADS threads issue random map/unmap batches on
 * one container, each in its own IOVA slice, and predict every result
 * (success, EEXIST with its failed_index, pages_done) from a private model.
 * The slices do not overlap, so the predictions hold under any
 * interleaving; what is shared is the container's lock, page store and
 * domain. Afterwards the mapped set is checked page by page, through the
 * info capability's mapped_pages, the outstanding pins, and unmap's
 * pages_done.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

#define STRESS_THREADS	4
#define STRESS_OPS	3000
#define SLICE		256
#define BASE		0x8000000ull
#define SLICE_IOVA(t)	(BASE + (uint64_t)(t) * 4 * SLICE * VT_PAGE)

struct stress {
	int fd;
	int id;
	uint8_t *buf;		/* SLICE pages backing this slice */
	uint8_t model[SLICE];
	uint64_t seed;
	int rc;
};

static uint32_t rnd(struct stress *s)
{
	s->seed ^= s->seed << 13;
	s->seed ^= s->seed >> 7;
	s->seed ^= s->seed << 17;
	return (uint32_t)(s->seed >> 16);
}

static void pick(struct stress *s, uint32_t *start, uint32_t *len)
{
	*start = rnd(s) % SLICE;
	*len = 1 + rnd(s) % 8;
	if (*start + *len > SLICE)
		*len = SLICE - *start;
}

static int stress_map(struct stress *s)
{
	struct vfio_iommu_type1v3_map_entry e[3];
	uint8_t claim[SLICE];
	uint32_t n = 1 + rnd(s) % 3, i, p, want_fail = ~0u, failed;
	uint64_t done, total = 0;
	int ret;

	memcpy(claim, s->model, sizeof(claim));
	for (i = 0; i < n; i++) {
		uint32_t start, len;

		pick(s, &start, &len);
		e[i] = (struct vfio_iommu_type1v3_map_entry){
			.iova = SLICE_IOVA(s->id) + (uint64_t)start * VT_PAGE,
			.vaddr = (uintptr_t)(s->buf + (uint64_t)start * VT_PAGE),
			.npages = len,
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		};
		total += len;
		for (p = start; p < start + len; p++) {
			if (claim[p] && want_fail == ~0u)
				want_fail = i;
			claim[p] = 1;
		}
	}
	ret = harness_v3_map(s->fd, e, n, &failed, &done);
	if (want_fail == ~0u) {
		CHECK(ret == 0 && done == total, "thread %d: map of %llu pages: ret %d done %llu",
		      s->id, (unsigned long long)total, ret, (unsigned long long)done);
		memcpy(s->model, claim, sizeof(claim));
	} else {
		CHECK(ret == -EEXIST && failed == want_fail && done == 0,
		      "thread %d: map expected EEXIST at %u: ret %d failed %u done %llu",
		      s->id, want_fail, ret, failed, (unsigned long long)done);
	}
	return 0;
}

static int stress_unmap(struct stress *s)
{
	struct vfio_iommu_type1v3_unmap_entry e[2];
	uint32_t n = 1 + rnd(s) % 2, i, p, failed;
	uint64_t done, want = 0;
	int ret;

	for (i = 0; i < n; i++) {
		uint32_t start, len;

		pick(s, &start, &len);
		if (rnd(s) % 8 == 0)
			len = SLICE - start;	/* sometimes a long range */
		e[i] = (struct vfio_iommu_type1v3_unmap_entry){
			.iova = SLICE_IOVA(s->id) + (uint64_t)start * VT_PAGE,
			.npages = len,
		};
		for (p = start; p < start + len; p++) {
			want += s->model[p];
			s->model[p] = 0;
		}
	}
	ret = harness_v3_unmap(s->fd, e, n, &failed, &done);
	CHECK(ret == 0 && done == want, "thread %d: unmap: ret %d done %llu want %llu",
	      s->id, ret, (unsigned long long)done, (unsigned long long)want);
	return 0;
}

static void *stress_thread(void *arg)
{
	struct stress *s = arg;
	int i;

	for (i = 0; i < STRESS_OPS && !s->rc; i++)
		s->rc = (rnd(s) % 5 < 3) ? stress_map(s) : stress_unmap(s);
	return NULL;
}

/* Single-threaded: each page maps iff the model says it is unmapped. */
static int stress_verify_slice(struct stress *s)
{
	uint64_t done;
	int p, ret;

	for (p = 0; p < SLICE; p++) {
		uint64_t iova = SLICE_IOVA(s->id) + (uint64_t)p * VT_PAGE;

		ret = harness_v3_map1(s->fd, iova, s->buf + (uint64_t)p * VT_PAGE, 1);
		if (s->model[p]) {
			CHECK_ERR(ret, EEXIST, "page the model has mapped");
		} else {
			CHECK_OK(ret, "page the model has unmapped");
			CHECK_OK(harness_v3_unmap1(s->fd, iova, 1, &done), "unmap probe");
			CHECK(done == 1, "probe unmap done %llu", (unsigned long long)done);
		}
	}
	return 0;
}

int t_stress(enum vt_mode mode)
{
	static struct stress st[STRESS_THREADS];
	pthread_t th[STRESS_THREADS];
	struct vt_pins p0, p1;
	struct vt_ctx ctx;
	uint64_t mapped, total = 0, done;
	uint8_t *buf;
	int t, p, rc = 0;

	RUN(harness_pins(&p0));
	RUN(harness_open(&ctx, mode, 1));
	buf = harness_alloc(STRESS_THREADS * SLICE);
	CHECK(buf, "alloc");
	for (t = 0; t < STRESS_THREADS; t++) {
		memset(&st[t], 0, sizeof(st[t]));
		st[t].fd = ctx.container;
		st[t].id = t;
		st[t].buf = buf + (uint64_t)t * SLICE * VT_PAGE;
		st[t].seed = 0x9e3779b97f4a7c15ull * (t + 1) + mode;
		CHECK(!pthread_create(&th[t], NULL, stress_thread, &st[t]), "pthread_create");
	}
	for (t = 0; t < STRESS_THREADS; t++) {
		pthread_join(th[t], NULL);
		rc |= st[t].rc;
	}
	CHECK(!rc, "a thread's prediction failed");
	for (t = 0; t < STRESS_THREADS; t++)
		for (p = 0; p < SLICE; p++)
			total += st[t].model[p];
	CHECK_OK(harness_mapped_pages(ctx.container, &mapped), "info");
	CHECK(mapped == total, "mapped_pages %llu, model %llu", (unsigned long long)mapped,
	      (unsigned long long)total);
	RUN(harness_pins(&p1));
	CHECK((p1.acquired - p1.released) - (p0.acquired - p0.released) == (long long)total &&
	      p1.vmlck_kb - p0.vmlck_kb == (long long)total * 4,
	      "pins +%lld VmLck +%lld kB for %llu mapped pages",
	      (p1.acquired - p1.released) - (p0.acquired - p0.released),
	      p1.vmlck_kb - p0.vmlck_kb, (unsigned long long)total);
	harness_note("%s: %d threads x %d ops, %llu pages mapped at the end",
		     harness_mode_name(mode), STRESS_THREADS, STRESS_OPS,
		     (unsigned long long)total);
	for (t = 0; t < STRESS_THREADS; t++) {
		uint64_t want = 0;

		RUN(stress_verify_slice(&st[t]));
		for (p = 0; p < SLICE; p++)
			want += st[t].model[p];
		CHECK_OK(harness_v3_unmap1(ctx.container, SLICE_IOVA(t), SLICE, &done), "unmap slice");
		CHECK(done == want, "slice %d: unmapped %llu, model %llu", t,
		      (unsigned long long)done, (unsigned long long)want);
	}
	CHECK_OK(harness_mapped_pages(ctx.container, &mapped), "info");
	CHECK(mapped == 0, "mapped_pages %llu after unmapping every slice",
	      (unsigned long long)mapped);
	harness_close(&ctx);
	harness_free(buf, STRESS_THREADS * SLICE);
	return harness_pins_settle(&p0, "after stress");
}
