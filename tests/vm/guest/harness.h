/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest test harness: result lines, checks, VFIO container/group setup,
 * v3 ioctl wrappers and the counters that prove pins are dropped.
 *
 * Every test runs in its own process (started by /init), so a crash is a
 * missing RESULT line, which the host counts as a failure. Lines the host
 * parses start with "VMTEST " and are written unbuffered to the console.
 */
#ifndef VT_HARNESS_H
#define VT_HARNESS_H

#include <stdint.h>
#include <stddef.h>
#include <errno.h>
#include <linux/vfio.h>
#include <linux/vfio_type1v3.h>

#define VT_PAGE		4096UL
#define VT_MAX_DEVS	4

enum vt_mode { VT_TYPE1, VT_TRACKED, VT_DIRECT };

struct vt_dev {
	char addr[32];		/* PCI address, e.g. 0000:00:03.0 */
	int group_id;
};

/* A container with one group attached and an IOMMU type set. */
struct vt_ctx {
	enum vt_mode mode;
	int container;
	int group[VT_MAX_DEVS];
	int ngroups;
	struct vt_dev dev[VT_MAX_DEVS];
	int ndevs;
};

/* Pin state of the system and of this process. */
struct vt_pins {
	long long acquired;	/* nr_foll_pin_acquired */
	long long released;	/* nr_foll_pin_released */
	long long vmlck_kb;	/* VmLck: locked_vm */
	long long vmpin_kb;	/* VmPin: pinned_vm */
};

/* The current test's name, for failure lines. */
extern const char *vt_test_name;

void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void harness_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			harness_fail(__FILE__, __LINE__, "(" #cond ") "	\
				     __VA_ARGS__);			\
			return -1;					\
		}							\
	} while (0)

/* Expects a -errno return value equal to -err. */
#define CHECK_ERR(ret, err, what)					\
	CHECK((ret) == -(err), "%s: got %d (%s), want -%s", what,	\
	      (int)(ret), strerror(-(int)(ret)), #err)

#define CHECK_OK(ret, what)						\
	CHECK((ret) == 0, "%s: got %d (%s)", what, (int)(ret),	\
	      strerror(-(int)(ret)))

/* Runs a sub-test expression; propagates failure. */
#define RUN(expr)							\
	do {								\
		if ((expr) != 0)					\
			return -1;					\
	} while (0)

const char *harness_mode_name(enum vt_mode mode);
int harness_iommu_type(enum vt_mode mode);

int harness_find_devs(struct vt_dev *devs, int max);
int harness_open(struct vt_ctx *ctx, enum vt_mode mode, int ngroups);
/* harness_open() without its VFIO_SET_IOMMU (the caller issues it). */
int harness_open_groups(struct vt_ctx *ctx, enum vt_mode mode, int ngroups);
int harness_attach(struct vt_ctx *ctx, int idx);
void harness_close(struct vt_ctx *ctx);

void *harness_alloc(size_t npages);
void harness_free(void *p, size_t npages);

int harness_pins(struct vt_pins *p);
int harness_pins_equal(const struct vt_pins *a, const struct vt_pins *b,
		       const char *where);
int harness_pins_settle(const struct vt_pins *start, const char *where);
long long harness_vmstat(const char *key);
/*
 * The module's share_domains parameter: 0 gives every group an IOMMU
 * domain of its own, so a late attach must replay the mappings into it
 * (with sharing, a compatible group just joins the existing domain).
 * Returns 0 or -1 (reported).
 */
int harness_share_domains(int on);

/* Write @val to the file @path (appending with @append): 0 or -errno. */
int harness_write_file(const char *path, const char *val, int append);

/* tracefs, mounted on first use: 0 or -1 (reported). */
#define VT_TRACEFS	"/sys/kernel/tracing"
int harness_tracefs(void);
/* Write @val to VT_TRACEFS/@file (appending with @append): 0 or -errno. */
int harness_tracefs_write(const char *file, const char *val, int append);
void harness_stat_refresh(void);

/* v3 batched ioctls: 0 or -errno; failed/done may be NULL. */
int harness_v3_map(int fd, struct vfio_iommu_type1v3_map_entry *e,
		   uint32_t n, uint32_t *failed, uint64_t *done);
int harness_v3_unmap(int fd, struct vfio_iommu_type1v3_unmap_entry *e,
		     uint32_t n, uint32_t *failed, uint64_t *done);
int harness_v3_map1(int fd, uint64_t iova, void *vaddr, uint64_t npages);
int harness_v3_unmap1(int fd, uint64_t iova, uint64_t npages, uint64_t *done);

/* type1 ioctls: 0 or -errno. */
int harness_t1_map(int fd, uint64_t iova, void *vaddr, uint64_t size);
int harness_t1_unmap(int fd, uint64_t iova, uint64_t size, uint64_t *unmapped);

struct vt_info {
	uint64_t pgsizes;
	int has_v3;
	uint32_t mode;
	uint64_t mapped_pages;
	uint64_t metadata_bytes;
	int nranges;
	uint64_t range_start[8];
	uint64_t range_end[8];	/* inclusive */
};
int harness_info(int fd, struct vt_info *info);
int harness_mapped_pages(int fd, uint64_t *pages);

/* Reads /dev/kmsg from the position saved by kmsg_mark. */
int harness_kmsg_mark(void);
int harness_kmsg_find(int fd, const char *needle);

uint64_t harness_now_ns(void);
/*
 * perm[0..n) = a permutation of 0..n-1, the same one every run (xorshift
 * from a fixed seed): the benchmarks' scattered layouts.
 */
void harness_shuffle(uint32_t *perm, uint32_t n);
long long harness_dmar_faults(void);



/* Maps/unmaps a contiguous range with the mode's native ioctl (type1 or one
 * v3 batch entry). 0 or -errno. */
int harness_map(struct vt_ctx *ctx, uint64_t iova, void *vaddr, uint64_t npages);
int harness_unmap(struct vt_ctx *ctx, uint64_t iova, uint64_t npages);

#endif
