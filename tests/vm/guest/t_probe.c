// SPDX-License-Identifier: BSD-3-Clause
/*
 * An IOMMU that cannot unmap one page of a larger mapping is refused.
 *
 * Run in a guest whose IOMMU is QEMU's virtio-iommu (tests/vm/run.sh with
 * VB_VM_IOMMU=virtio): its driver keeps one record per map call and
 * unmaps nothing when asked for a page inside one, so v3, which frees
 * single pages out of multi-page map calls, would unpin pages the device
 * still reaches. Stock type1 never splits a mapping, and attaches the same
 * group: the group and the device work, the refusal is v3's own.
 * virtio-iommu has no interrupt remapping on x86, so both backends are
 * first told to accept that.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tests.h"

static int probe_refused(enum vt_mode mode)
{
	int type = harness_iommu_type(mode), kfd, ret;
	struct vt_ctx ctx;

	RUN(harness_open_groups(&ctx, mode, 1));
	kfd = harness_kmsg_mark();
	ret = ioctl(ctx.container, VFIO_SET_IOMMU, type) ? -errno : 0;
	harness_close(&ctx);
	CHECK(ret == -EOPNOTSUPP, "SET_IOMMU %s on virtio-iommu: %d, not -EOPNOTSUPP",
	      harness_mode_name(mode), ret);
	CHECK(kfd >= 0 && harness_kmsg_find(kfd, "cannot unmap one page of a larger mapping"),
	      "no kernel line saying why");
	close(kfd);
	return 0;
}

int t_probe(enum vt_mode mode)
{
	static const char *const unsafe[] = {
		"/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
		"/sys/module/vfio_iommu_type1v3/parameters/allow_unsafe_interrupts",
	};
	uint64_t unmapped = 0;
	struct vt_ctx ctx;
	void *buf;

	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		RUN(harness_write_file(unsafe[i], "1", 0));
	if (mode != VT_TYPE1)
		return probe_refused(mode);

	/* type1 on the same group: a map and its unmap work */
	buf = harness_alloc(2);
	CHECK(buf, "no memory");
	RUN(harness_open(&ctx, mode, 1));
	CHECK_OK(harness_t1_map(ctx.container, 1ull << 32, buf, 2 * VT_PAGE),
		 "type1 MAP_DMA on virtio-iommu");
	CHECK_OK(harness_t1_unmap(ctx.container, 1ull << 32, 2 * VT_PAGE, &unmapped),
		 "type1 UNMAP_DMA on virtio-iommu");
	CHECK(unmapped == 2 * VT_PAGE, "type1 unmapped %llu bytes of 8192",
	      (unsigned long long)unmapped);
	harness_close(&ctx);
	harness_free(buf, 2);
	return 0;
}
