/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The workloads' own checks, against a fake broker in a forked child that
 * keeps a page-granular map of its window (EEXIST all-or-nothing, unmap
 * skipping holes, ERANGE outside the window, STATS). A correct fake must
 * give result OK; a fake that lies (pages_done off by one, a wrong
 * pages_current, a spurious EEXIST) must be caught by the workload.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devproc/devproc.h"
#include "devproc/replay_trace.h"
#include "proto/codec.h"
#include "check_main.h"

#define WIN_START	0x100000ull
#define WIN_PAGES	4096u
#define RAM_SIZE	(16u << 20)

/* FAULT_GARBLE: the second request is answered by a malformed datagram */
enum fault { FAULT_NONE, FAULT_DONE, FAULT_STATS, FAULT_EXIST, FAULT_GARBLE };

struct fake {
	int fd;
	enum fault fault;
	uint8_t mapped[WIN_PAGES];
	struct vb_stats st;
	uint64_t peak;
};

static void fake_send(struct fake *f, const void *buf, ssize_t n)
{
	if (n <= 0 || send(f->fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		_exit(80);
}

static int fake_page(uint64_t iova, uint64_t i, uint32_t *idx)
{
	uint64_t p;

	if (iova < WIN_START || (iova - WIN_START) % VB_PAGE_SIZE)
		return -ERANGE;
	p = (iova - WIN_START) / VB_PAGE_SIZE + i;
	if (p >= WIN_PAGES)
		return -ERANGE;
	*idx = (uint32_t)p;
	return 0;
}

static struct vb_reply fake_map(struct fake *f, const struct vb_msg *m)
{
	struct vb_reply r = { .failed_index = VB_NO_INDEX };
	struct vb_map_entry e;
	uint32_t idx = 0;

	f->st.map_requests++;
	for (uint32_t k = 0; k < m->count; k++) {
		vb_msg_map_entry(m, k, &e);
		for (uint64_t i = 0; i < e.npages; i++) {
			int rc = fake_page(e.iova, i, &idx);

			if (!rc && f->mapped[idx])
				rc = -EEXIST;
			if (rc) {
				r.status = -rc;
				r.failed_index = k;
				return r;
			}
		}
	}
	if (f->fault == FAULT_EXIST && f->st.map_requests == 10) {
		r.status = EEXIST;
		r.failed_index = 0;
		return r;
	}
	for (uint32_t k = 0; k < m->count; k++) {
		vb_msg_map_entry(m, k, &e);
		for (uint64_t i = 0; i < e.npages; i++) {
			fake_page(e.iova, i, &idx);
			f->mapped[idx] = 1;
		}
		r.pages_done += e.npages;
	}
	f->st.pages_mapped += r.pages_done;
	f->st.pages_current += r.pages_done;
	if (f->st.pages_current > f->peak)
		f->peak = f->st.pages_current;
	if (f->fault == FAULT_DONE && f->st.map_requests == 5)
		r.pages_done++;
	return r;
}

static struct vb_reply fake_unmap(struct fake *f, const struct vb_msg *m)
{
	struct vb_reply r = { .failed_index = VB_NO_INDEX };
	struct vb_unmap_entry e;
	uint32_t idx = 0;

	f->st.unmap_requests++;
	/* as the broker does (protocol.md 8.2): every entry is checked
	 * first, and a request with a bad one unmaps nothing */
	for (uint32_t k = 0; k < m->count; k++) {
		vb_msg_unmap_entry(m, k, &e);
		for (uint64_t i = 0; i < e.npages; i++) {
			if (fake_page(e.iova, i, &idx)) {
				r.status = ERANGE;
				r.failed_index = k;
				return r;
			}
		}
	}
	for (uint32_t k = 0; k < m->count; k++) {
		vb_msg_unmap_entry(m, k, &e);
		for (uint64_t i = 0; i < e.npages; i++) {
			fake_page(e.iova, i, &idx);
			if (f->mapped[idx]) {
				f->mapped[idx] = 0;
				r.pages_done++;
			}
		}
	}
	f->st.pages_unmapped += r.pages_done;
	f->st.pages_current -= r.pages_done;
	return r;
}

/* Serve one client until it hangs up; report the peak on @report. */
__attribute__((noreturn))
static void fake_broker(int fd, enum fault fault, int report)
{
	static uint8_t buf[VB_MSG_MAX_LEN];
	static struct fake f;
	struct vb_welcome w = {
		.version = 1, .n_iova = 1, .n_ram = 1, .device_id = 4,
		.domain_id = 1, .page_size = VB_PAGE_SIZE, .max_entries = 64,
		.window = 8,
	};
	struct vb_range iova = { .start = WIN_START,
				 .size = WIN_PAGES * VB_PAGE_SIZE };
	struct vb_ram_region ram = { .gpa = 0, .size = RAM_SIZE,
				     .flags = VB_RAM_F_SHARED };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;
	struct vb_msg m;
	ssize_t n;
	int memfd;

	f.fd = fd;
	f.fault = fault;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0 || vb_decode(buf, (size_t)n, VB_DIR_TO_BROKER, 0, 0, &m) ||
	    m.hdr.type != VB_MSG_HELLO)
		_exit(81);
	memfd = memfd_create("ram", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, RAM_SIZE))
		_exit(82);
	n = vb_encode_welcome(buf, sizeof(buf), 0, &w, &iova, &ram);
	iov = (struct iovec){ .iov_base = buf, .iov_len = (size_t)n };
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &memfd, sizeof(int));
	if (sendmsg(fd, &mh, 0) != n)
		_exit(83);

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		struct vb_reply r = { .failed_index = VB_NO_INDEX };
		struct vb_stats st;

		if (vb_decode(buf, (size_t)n, VB_DIR_TO_BROKER, 1, 0, &m))
			_exit(84);
		f.st.requests++;
		if (f.fault == FAULT_GARBLE && f.st.requests == 2) {
			fake_send(&f, "bad", 3);
			continue;
		}
		switch (m.hdr.type) {
		case VB_MSG_MAP:
			r = fake_map(&f, &m);
			break;
		case VB_MSG_UNMAP:
			r = fake_unmap(&f, &m);
			break;
		case VB_MSG_SYNC:
			break;
		case VB_MSG_STATS:
			st = f.st;
			if (f.fault == FAULT_STATS)
				st.pages_current++;
			fake_send(&f, buf, vb_encode_stats(buf, sizeof(buf), 1,
							   m.hdr.id, &st));
			continue;
		default:
			_exit(85);
		}
		if (r.status)
			f.st.errors++;
		fake_send(&f, buf, vb_encode_reply(buf, sizeof(buf), 1,
						   m.hdr.id, &r));
	}
	n = snprintf((char *)buf, sizeof(buf), "%llu %llu\n",
		     (unsigned long long)f.peak,
		     (unsigned long long)f.st.pages_current);
	if (write(report, buf, (size_t)n) != n)
		_exit(86);
	_exit(0);
}

struct run {
	struct devproc dp;
	uint64_t peak, current;	/* from the fake, after the run */
	bool touched;		/* guest RAM holds anything but zeros */
	int rc;
};

static void run_workload(struct run *r, const char *workload, enum fault fault,
			 const struct devproc_opts *o, struct replay_trace *t)
{
	int sv[2], rep[2], status;
	char line[64] = "";
	pid_t pid;
	ssize_t n;
	unsigned long long a = 0, b = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ck_assert_int_eq(pipe(rep), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		close(rep[0]);
		fake_broker(sv[1], fault, rep[1]);
	}
	close(sv[1]);
	close(rep[1]);
	memset(&r->dp, 0, sizeof(r->dp));
	r->dp.opts = *o;
	r->dp.opts.workload = workload;
	r->dp.opts.quiet = true;
	r->dp.trace = t;
	ck_assert_int_eq(vb_client_open_fd(sv[0], VB_DEVICE_ANY,
					   &r->dp.client), 0);
	r->dp.info = vb_client_get_info(r->dp.client);
	ck_assert_int_eq(guest_mem_map(&r->dp.gm, r->dp.info, false), 0);
	if (!strcmp(workload, "virtio-iommu"))
		r->rc = workload_virtio_iommu_run(&r->dp);
	else if (!strcmp(workload, "coiommu"))
		r->rc = workload_coiommu_run(&r->dp);
	else
		r->rc = workload_replay_run(&r->dp);
	r->touched = false;
	for (uint64_t i = 0; i < r->dp.gm.region[0].size && !r->touched; i++)
		r->touched = r->dp.gm.region[0].base[i] != 0;
	guest_mem_unmap(&r->dp.gm);
	vb_client_close(r->dp.client);
	n = read(rep[0], line, sizeof(line) - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(sscanf(line, "%llu %llu", &a, &b), 2);
	r->peak = a;
	r->current = b;
	close(rep[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "fake broker status 0x%x", status);
}

static const struct devproc_opts defaults = {
	.iterations = 50, .buffer_pages = 4, .buffers = 16,
	.working_set = 64, .pages = 1024, .seed = 7, .pipeline = 8,
};

/*
 * The buffers' guest memory: the first RAM region by default, also for
 * its start when only --gpa-size is given; an explicit --gpa-base 0 is
 * GPA 0, not "the default".
 */
START_TEST(gpa_range_defaults)
{
	struct vb_client_info in = { .device_id = 4, .n_ram = 2 };
	struct devproc dp = { .info = &in, .opts.workload = "t" };
	uint64_t b = 0, sz = 0;

	in.ram[0] = (struct vb_ram_region){ .gpa = 1ull << 30, .size = 64 << 20 };
	in.ram[1] = (struct vb_ram_region){ .gpa = 0, .size = 16 << 20 };
	ck_assert_int_eq(workload_gpa_range(&dp, &b, &sz), 0);
	ck_assert_uint_eq(b, 1ull << 30);
	ck_assert_uint_eq(sz, 64 << 20);
	dp.opts.gpa_size = 8 << 20;
	ck_assert_int_eq(workload_gpa_range(&dp, &b, &sz), 0);
	ck_assert_uint_eq(b, 1ull << 30);
	ck_assert_uint_eq(sz, 8 << 20);
	dp.opts.has_gpa_base = true;	/* --gpa-base 0: the second region */
	dp.opts.gpa_size = 0;
	ck_assert_int_eq(workload_gpa_range(&dp, &b, &sz), 0);
	ck_assert_uint_eq(b, 0);
	ck_assert_uint_eq(sz, 16 << 20);
	ck_assert_uint_eq(dp.res.errors, 0);
}
END_TEST

START_TEST(virtio_iommu_ok)
{
	static const unsigned int depth[] = { 0, 1, 8, 100 };

	for (size_t i = 0; i < 4; i++) {
		struct devproc_opts o = defaults;
		struct run r;

		o.pipeline = depth[i];
		run_workload(&r, "virtio-iommu", FAULT_NONE, &o, NULL);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_msg(r.dp.res.errors == 0, "pipeline %u", depth[i]);
		ck_assert_uint_eq(r.dp.res.maps, 50 * 16);
		ck_assert_uint_eq(r.dp.res.unmaps, 50 * 16);
		ck_assert_uint_eq(r.dp.res.pages_mapped,
				  r.dp.res.pages_unmapped);
		ck_assert_uint_ge(r.dp.res.pages_mapped, 50 * 16);
		ck_assert_uint_eq(r.current, 0);
		/* never more than one round's buffers mapped at once */
		ck_assert_uint_le(r.peak, 16 * 4);
	}
}
END_TEST

START_TEST(coiommu_ok)
{
	struct devproc_opts o = defaults;
	struct run r;

	o.iterations = 5000;
	run_workload(&r, "coiommu", FAULT_NONE, &o, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.dp.res.errors, 0);
	ck_assert_uint_eq(r.current, 0);
	/* the cap holds, give or take one unsent unpin batch */
	ck_assert_uint_le(r.peak, 64 + 64);
	ck_assert_uint_ge(r.peak, 64);
	/* skewed: far fewer pins than accesses */
	ck_assert_uint_lt(r.dp.res.maps, 5000);
	ck_assert_uint_gt(r.dp.res.maps, 64);

	o.keep_mapped = true;
	run_workload(&r, "coiommu", FAULT_NONE, &o, NULL);
	ck_assert_uint_eq(r.dp.res.errors, 0);
	ck_assert_uint_gt(r.current, 0);
	ck_assert_uint_le(r.current, 64);
}
END_TEST

/*
 * --dma-pages: an operation's misses go out as one MAP, so maps fall below
 * the pages pinned (with one page per operation they are equal), the cap
 * still holds, and an operation larger than the cap is refused.
 */
START_TEST(coiommu_batched_pins)
{
	struct devproc_opts o = defaults;
	struct run r;

	o.iterations = 5000;
	run_workload(&r, "coiommu", FAULT_NONE, &o, NULL);
	ck_assert_uint_eq(r.dp.res.errors, 0);
	ck_assert_uint_eq(r.dp.res.maps, r.dp.res.pages_mapped);

	o.dma_pages = 8;
	run_workload(&r, "coiommu", FAULT_NONE, &o, NULL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.dp.res.errors, 0);
	ck_assert_uint_eq(r.current, 0);
	ck_assert_uint_eq(r.dp.res.pages_mapped, r.dp.res.pages_unmapped);
	ck_assert_uint_lt(r.dp.res.maps, r.dp.res.pages_mapped);
	ck_assert_uint_gt(r.dp.res.maps, 64);
	ck_assert_uint_le(r.peak, 64 + 64);
	ck_assert_uint_ge(r.peak, 64);

	o.keep_mapped = true;
	run_workload(&r, "coiommu", FAULT_NONE, &o, NULL);
	ck_assert_uint_eq(r.dp.res.errors, 0);
	ck_assert_uint_gt(r.current, 0);
	ck_assert_uint_le(r.current, 64);

	o.keep_mapped = false;
	o.dma_pages = 65;	/* above the working set of 64 */
	run_workload(&r, "coiommu", FAULT_NONE, &o, NULL);
	ck_assert_int_eq(r.rc, -E2BIG);
	ck_assert_uint_eq(r.dp.res.errors, 1);
	ck_assert_uint_eq(r.dp.res.maps, 0);
}
END_TEST

/*
 * The workloads write and read back every page their device uses; with
 * --no-touch (benchmarks of the mapping path) guest RAM stays untouched
 * while the mapping work and its checks are the same.
 */
START_TEST(no_touch_leaves_ram_alone)
{
	static const char *const workloads[] = { "virtio-iommu", "coiommu" };

	for (size_t i = 0; i < 2; i++) {
		struct devproc_opts o = defaults;
		struct run r;

		o.iterations = 200;
		run_workload(&r, workloads[i], FAULT_NONE, &o, NULL);
		ck_assert_uint_eq(r.dp.res.errors, 0);
		ck_assert_msg(r.touched, "%s touched nothing", workloads[i]);

		o.no_touch = true;
		run_workload(&r, workloads[i], FAULT_NONE, &o, NULL);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_uint_eq(r.dp.res.errors, 0);
		ck_assert_uint_gt(r.dp.res.pages_mapped, 0);
		ck_assert_uint_eq(r.current, 0);
		ck_assert_msg(!r.touched, "%s --no-touch wrote guest RAM",
			      workloads[i]);
	}
}
END_TEST

START_TEST(lies_are_caught)
{
	static const struct {
		const char *workload;
		enum fault fault;
		uint64_t dma_pages;
	} cases[] = {
		{ "virtio-iommu", FAULT_DONE, 0 },
		{ "virtio-iommu", FAULT_STATS, 0 },
		{ "virtio-iommu", FAULT_EXIST, 0 },
		{ "coiommu", FAULT_DONE, 0 },
		{ "coiommu", FAULT_STATS, 0 },
		{ "coiommu", FAULT_EXIST, 0 },
		{ "coiommu", FAULT_DONE, 8 },
		{ "coiommu", FAULT_EXIST, 8 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct devproc_opts o = defaults;
		struct run r;

		o.iterations = 1000;
		o.dma_pages = cases[i].dma_pages;
		run_workload(&r, cases[i].workload, cases[i].fault, &o, NULL);
		ck_assert_msg(r.dp.res.errors > 0, "%s missed fault %d",
			      cases[i].workload, cases[i].fault);
	}
}
END_TEST

START_TEST(replay_matches_and_mismatches)
{
	static const char good[] =
		"map w+0 r+0x1000 2 rw\n"
		"map w+0x1000 r+0 1 rw expect=EEXIST done=0\n"
		"map w+0x1000000 r+0 1 rw expect=ERANGE\n"
		"expect-mapped 2\n"
		"unmap w+0 8 done=2\n"
		"sync\n"
		"expect-mapped 0\n";
	static const char bad[] =
		"map w+0 r+0 2 rw expect=EEXIST\n"	/* it succeeds */
		"unmap w+0 2 done=1\n"			/* it does 2 */
		"expect-mapped 3\n"			/* it is 0 */
		"map w3+0 r+0 1 rw\n";			/* no window 3 */
	static const char garbled[] =
		"map w+0 r+0 1 rw\n"
		"map w+0x1000 r+0 1 rw expect=71\n"	/* EPROTO */
		"map w+0x2000 r+0 1 rw expect=71\n";
	struct replay_trace t;
	char err[256];
	struct run r;

	ck_assert_int_eq(replay_trace_parse("good", good, &t, err,
					    sizeof(err)), 0);
	run_workload(&r, "replay", FAULT_NONE, &defaults, &t);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.dp.res.errors, 0);
	ck_assert_uint_eq(r.dp.res.maps, 3);
	ck_assert_uint_eq(r.dp.res.pages_mapped, 2);
	replay_trace_free(&t);

	ck_assert_int_eq(replay_trace_parse("bad", bad, &t, err,
					    sizeof(err)), 0);
	run_workload(&r, "replay", FAULT_NONE, &defaults, &t);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.dp.res.errors, 4);
	replay_trace_free(&t);

	/*
	 * A malformed answer kills the handle: the replay stops there, and a
	 * line expecting the library's own EPROTO does not pass.
	 */
	ck_assert_int_eq(replay_trace_parse("garbled", garbled, &t, err,
					    sizeof(err)), 0);
	run_workload(&r, "replay", FAULT_GARBLE, &defaults, &t);
	ck_assert_int_eq(r.rc, -EPROTO);
	ck_assert_uint_eq(r.dp.res.maps, 2);
	replay_trace_free(&t);

	/* no trace: the workload refuses */
	run_workload(&r, "replay", FAULT_NONE, &defaults, NULL);
	ck_assert_int_eq(r.rc, -EINVAL);
	ck_assert_uint_eq(r.dp.res.errors, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("workloads");
	TCase *tc = tcase_create("workloads");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, gpa_range_defaults);
	tcase_add_test(tc, virtio_iommu_ok);
	tcase_add_test(tc, coiommu_ok);
	tcase_add_test(tc, coiommu_batched_pins);
	tcase_add_test(tc, no_touch_leaves_ram_alone);
	tcase_add_test(tc, lies_are_caught);
	tcase_add_test(tc, replay_matches_and_mismatches);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
