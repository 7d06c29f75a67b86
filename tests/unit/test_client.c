/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvfiobroker against a fake broker on the other end of a socketpair, in
 * the same process: messages the client will read are queued on the socket
 * before the (blocking) call, and what the client sent is read back and
 * decoded with the codec afterwards. Covers the handshake with fd passing
 * and its refusals, synchronous calls, the pipelined window, in-order
 * completion, broker statuses, hangup and malformed replies.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "proto/codec.h"
#include "proto/ring.h"
#include "vfio-broker/client.h"
#include "check_main.h"
#include "fd_count.h"

#define DEV	7

static uint8_t buf[VB_MSG_MAX_LEN];

static void send_with_fds(int fd, const void *msg, size_t len, const int *fds,
			  unsigned int nfds)
{
	union {
		char b[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(fd, &mh, 0), (ssize_t)len);
}

/*
 * Queue a WELCOME describing @n_ram regions with WELCOME @flags, and @nfds
 * memfds; fd i is i pages above 64 KiB long, so a test can tell which fd
 * landed where (with VB_WELCOME_F_DEVICE_FD, fd n_ram plays the device fd).
 * @ring_fd >= 0 goes last, as the shared ring.
 */
/* Region 0 of the next WELCOMEs, for tests of bad geometry. */
static struct vb_ram_region fake_ram0 = {
	.size = 0x10000, .flags = VB_RAM_F_SHARED,
};

/* Header id of the next WELCOMEs: the HELLO's 0 unless a test lies. */
static uint64_t fake_welcome_id;
/* An fd to send after all the others (the ring too), unannounced. */
static int fake_fd_last = -1;

static void fake_welcome_r(int bfd, unsigned int n_ram, unsigned int nfds,
			   uint32_t window, uint32_t max_entries,
			   uint16_t flags, int ring_fd)
{
	struct vb_welcome w = {
		.version = 1, .n_iova = 1, .n_ram = (uint16_t)n_ram,
		.flags = flags,
		.device_id = DEV, .domain_id = 3, .page_size = VB_PAGE_SIZE,
		.max_entries = max_entries, .window = window,
	};
	struct vb_range iova = { .start = 0x100000, .size = 0x1000000 };
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS] = { 0 };
	int fds[16];
	ssize_t n;

	for (unsigned int i = 0; i < VB_MAX_RAM_REGIONS; i++) {
		ram[i].gpa = (uint64_t)i << 30;
		ram[i].size = 0x10000;
		ram[i].flags = VB_RAM_F_SHARED;
	}
	/* the encoder wants the fds to match; build the body for n_ram */
	w.window = window ? window : 1;
	w.max_entries = max_entries ? max_entries : 1;
	w.flags &= VB_WELCOME_F_MASK;
	n = vb_encode_welcome(buf, sizeof(buf), 0, &w, &iova, ram);
	ck_assert_int_gt(n, 0);
	/* values the encoder refuses are patched in afterwards */
	memcpy(buf + sizeof(struct vb_hdr) + offsetof(struct vb_welcome, window),
	       &window, sizeof(window));
	memcpy(buf + sizeof(struct vb_hdr) +
	       offsetof(struct vb_welcome, max_entries),
	       &max_entries, sizeof(max_entries));
	if (n_ram)
		memcpy(buf + sizeof(struct vb_hdr) + sizeof(w) + sizeof(iova),
		       &fake_ram0, sizeof(fake_ram0));
	for (unsigned int i = 0; i < nfds; i++) {
		fds[i] = memfd_create("ram", MFD_CLOEXEC);
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(ftruncate(fds[i], 0x10000 + i * 4096), 0);
	}
	if (flags & ~VB_WELCOME_F_MASK)	/* the encoder refuses it */
		memcpy(buf + sizeof(struct vb_hdr) +
		       offsetof(struct vb_welcome, flags), &flags,
		       sizeof(flags));
	if (ring_fd >= 0)
		fds[nfds++] = dup(ring_fd);
	if (fake_fd_last >= 0)
		fds[nfds++] = dup(fake_fd_last);
	((struct vb_hdr *)buf)->id = fake_welcome_id;
	send_with_fds(bfd, buf, (size_t)n, fds, nfds);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
}

static void fake_welcome_f(int bfd, unsigned int n_ram, unsigned int nfds,
			   uint32_t window, uint32_t max_entries,
			   uint16_t flags)
{
	fake_welcome_r(bfd, n_ram, nfds, window, max_entries, flags, -1);
}

static void fake_welcome(int bfd, unsigned int n_ram, unsigned int nfds,
			 uint32_t window, uint32_t max_entries)
{
	fake_welcome_f(bfd, n_ram, nfds, window, max_entries, 0);
}

/* A memfd holding a formatted ring for @window requests of @max_entries. */
static int fake_ring_fd(uint32_t window, uint32_t max_entries,
			struct vb_ring_layout *l)
{
	void *mem;
	int fd;

	ck_assert_int_eq(vb_ring_geometry(window, max_entries, l), 0);
	fd = memfd_create("ring", MFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)l->size), 0);
	mem = mmap(NULL, l->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	vb_ring_format(mem, l);
	munmap(mem, l->size);
	return fd;
}

static void fake_reply_v(int bfd, uint16_t version, uint64_t id,
			 int32_t status, uint64_t done, uint32_t failed)
{
	struct vb_reply r = { .status = status, .failed_index = failed,
			      .pages_done = done };
	ssize_t n = vb_encode_reply(buf, sizeof(buf), version, id, &r);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(send(bfd, buf, (size_t)n, 0), n);
}

static void fake_reply(int bfd, uint64_t id, int32_t status, uint64_t done,
		       uint32_t failed)
{
	fake_reply_v(bfd, 1, id, status, done, failed);
}

static void fake_raw(int bfd, const void *msg, size_t len)
{
	ck_assert_int_eq(send(bfd, msg, len, 0), (ssize_t)len);
}

/* Read and decode what the client sent. */
static struct vb_msg fake_read(int bfd, uint16_t version)
{
	static uint8_t rx[VB_MSG_MAX_LEN];
	struct vb_msg m;
	ssize_t n = recv(bfd, rx, sizeof(rx), MSG_DONTWAIT);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(vb_decode(rx, (size_t)n, VB_DIR_TO_BROKER, version,
				   0, &m), 0);
	return m;
}

static bool fake_nothing_sent(int bfd)
{
	char b[16];

	return recv(bfd, b, sizeof(b), MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static void pair(int *cfd, int *bfd)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sv), 0);
	*cfd = sv[0];
	*bfd = sv[1];
}

/* A connected handle with window @window and 2 RAM regions. */
static struct vb_client *open_client(int *bfd, uint32_t window)
{
	struct vb_client *c = NULL;
	struct vb_hello h;
	struct vb_msg m;
	int cfd;

	pair(&cfd, bfd);
	fake_welcome(*bfd, 2, 2, window, 16);
	ck_assert_int_eq(vb_client_open_fd(cfd, DEV, &c), 0);
	ck_assert_ptr_nonnull(c);
	m = fake_read(*bfd, 0);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_HELLO);
	ck_assert_uint_eq(m.hdr.id, 0);
	ck_assert_int_eq(vb_msg_hello(&m, &h), 0);
	ck_assert_uint_eq(h.min_version, VB_PROTO_VERSION_MIN);
	ck_assert_uint_eq(h.max_version, VB_PROTO_VERSION_MAX);
	ck_assert_uint_eq(h.device_id, DEV);
	ck_assert_uint_eq(h.flags, VB_HELLO_F_RING);	/* it always asks */
	return c;
}

struct rec {
	unsigned int n;
	uint64_t id[64];
	int32_t status[64];
	uint64_t done[64];
};

static void rec_done(void *arg, uint64_t id, const struct vb_reply *r)
{
	struct rec *rc = arg;

	ck_assert_uint_lt(rc->n, 64);
	rc->id[rc->n] = id;
	rc->status[rc->n] = r->status;
	rc->done[rc->n] = r->pages_done;
	rc->n++;
}

static const struct vb_map_entry me1 = {
	.iova = 0x100000, .gpa = 0x2000, .npages = 3, .prot = VB_PROT_READ,
};
static const struct vb_unmap_entry ue1 = { .iova = 0x100000, .npages = 3 };

START_TEST(handshake)
{
	const struct vb_client_info *in;
	struct vb_client *c;
	struct stat st;
	int bfd, before = vb_count_fds();

	c = open_client(&bfd, 8);
	in = vb_client_get_info(c);
	ck_assert_uint_eq(in->version, 1);
	ck_assert_uint_eq(in->device_id, DEV);
	ck_assert_uint_eq(in->domain_id, 3);
	ck_assert_uint_eq(in->page_size, VB_PAGE_SIZE);
	ck_assert_uint_eq(in->max_entries, 16);
	ck_assert_uint_eq(in->window, 8);
	ck_assert_uint_eq(in->n_iova, 1);
	ck_assert_uint_eq(in->iova[0].start, 0x100000);
	ck_assert_uint_eq(in->n_ram, 2);
	ck_assert_uint_eq(in->ram[1].gpa, 1ull << 30);
	/* the memfds arrived, in order, and belong to the handle */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(fstat(in->ram_fd[i], &st), 0);
		ck_assert_int_eq(st.st_size, 0x10000 + i * 4096);
		ck_assert(fcntl(in->ram_fd[i], F_GETFD) & FD_CLOEXEC);
	}
	ck_assert_int_eq(in->ram_fd[2], -1);
	ck_assert_int_eq(in->device_fd, -1);	/* no flag: no device fd */
	ck_assert_int_ge(vb_client_fd(c), 0);
	ck_assert_uint_eq(vb_client_outstanding(c), 0);
	ck_assert_int_eq(vb_count_fds(), before + 4);	/* 2 socket ends, 2 memfds */
	vb_client_close(c);
	close(bfd);
	ck_assert_int_eq(vb_count_fds(), before);
	ck_assert_str_eq(vb_client_version(), "1.1.0");
}
END_TEST

/*
 * The device fd comes last, after the memfds; the handle owns it and
 * closes it exactly once. Also with the largest WELCOME (8 + 1 fds).
 */
START_TEST(handshake_device_fd)
{
	const struct vb_client_info *in;
	struct vb_client *c = NULL;
	struct stat st;
	int cfd, bfd, before = vb_count_fds();

	for (unsigned int n_ram = 0; n_ram <= VB_MAX_RAM_REGIONS;
	     n_ram += VB_MAX_RAM_REGIONS / 4) {
		pair(&cfd, &bfd);
		fake_welcome_f(bfd, n_ram, n_ram + 1, 8, 16,
			       VB_WELCOME_F_DEVICE_FD);
		ck_assert_int_eq(vb_client_open_fd(cfd, DEV, &c), 0);
		in = vb_client_get_info(c);
		ck_assert_uint_eq(in->n_ram, n_ram);
		for (unsigned int i = 0; i < n_ram; i++) {
			ck_assert_int_eq(fstat(in->ram_fd[i], &st), 0);
			ck_assert_int_eq(st.st_size, 0x10000 + i * 4096);
		}
		ck_assert_int_ge(in->device_fd, 0);
		ck_assert_int_eq(fstat(in->device_fd, &st), 0);
		ck_assert_int_eq(st.st_size, 0x10000 + n_ram * 4096);
		ck_assert(fcntl(in->device_fd, F_GETFD) & FD_CLOEXEC);
		/* 2 socket ends, n_ram memfds, the device fd */
		ck_assert_int_eq(vb_count_fds(), before + 3 + (int)n_ram);
		vb_client_close(c);
		close(bfd);
		ck_assert_int_eq(vb_count_fds(), before);
	}
}
END_TEST

/* @what names the case when a bad WELCOME is taken for a good one */
static int try_open(void (*queue)(int bfd), int *leftover_fds,
		    const char *what)
{
	struct vb_client *c = (struct vb_client *)1;
	int cfd, bfd, before = vb_count_fds(), rc;

	pair(&cfd, &bfd);
	queue(bfd);
	rc = vb_client_open_fd(cfd, DEV, &c);
	ck_assert_msg(c == NULL, "%s: opened, rc %d", what, rc);
	close(bfd);
	*leftover_fds = vb_count_fds() - before;
	return rc;
}

static void q_extra_fds(int bfd) { fake_welcome(bfd, 1, 2, 8, 16); }
static void q_missing_fds(int bfd) { fake_welcome(bfd, 2, 1, 8, 16); }
static void q_too_many_fds(int bfd) { fake_welcome(bfd, 1, 12, 8, 16); }
/* refusals carry header version 0: nothing was negotiated */
static void q_refused_eperm(int bfd) { fake_reply_v(bfd, 0, 0, EPERM, 0, VB_NO_INDEX); }
static void q_refused_ebusy(int bfd) { fake_reply_v(bfd, 0, 0, EBUSY, 0, VB_NO_INDEX); }
static void q_refused_zero(int bfd)
{
	struct vb_reply r = { .status = EPERM, .failed_index = VB_NO_INDEX };
	ssize_t n = vb_encode_reply(buf, sizeof(buf), 0, 0, &r);
	int32_t zero = 0;

	memcpy(buf + sizeof(struct vb_hdr), &zero, sizeof(zero));
	fake_raw(bfd, buf, (size_t)n);
}
static void q_refused_eprotonosupport(int bfd)
{
	fake_reply_v(bfd, 0, 0, EPROTONOSUPPORT, 0, VB_NO_INDEX);
}
static void q_ram_welcome(int bfd, uint64_t gpa, uint64_t size, uint64_t off)
{
	struct vb_ram_region good = fake_ram0;

	fake_ram0.gpa = gpa;
	fake_ram0.size = size;
	fake_ram0.offset = off;
	fake_welcome(bfd, 1, 1, 8, 16);
	fake_ram0 = good;
}
static void q_ram_unaligned(int bfd) { q_ram_welcome(bfd, 0, 0x10800, 0); }
static void q_ram_empty(int bfd) { q_ram_welcome(bfd, 0, 0, 0); }
static void q_ram_wraps(int bfd) { q_ram_welcome(bfd, -0x1000ull, 0x2000, 0); }
static void q_ram_offset(int bfd) { q_ram_welcome(bfd, 0, 0x10000, 0x200); }
static void q_ram_offset_wraps(int bfd)
{
	q_ram_welcome(bfd, 0, 0x10000, -0x1000ull);
}
static void q_refused_v1(int bfd) { fake_reply_v(bfd, 1, 0, EPERM, 0, VB_NO_INDEX); }
static void q_hangup(int bfd) { shutdown(bfd, SHUT_WR); }
/* flag set, but only the memfds came: the device fd is missing */
static void q_devfd_missing(int bfd)
{
	fake_welcome_f(bfd, 2, 2, 8, 16, VB_WELCOME_F_DEVICE_FD);
}
static void q_devfd_extra(int bfd)
{
	fake_welcome_f(bfd, 2, 4, 8, 16, VB_WELCOME_F_DEVICE_FD);
}
/* a device fd the WELCOME does not announce */
static void q_devfd_unannounced(int bfd) { fake_welcome(bfd, 2, 3, 8, 16); }
static void q_welcome_flag_unknown(int bfd)
{
	fake_welcome_f(bfd, 1, 1, 8, 16, 4);
}
static void q_window0(int bfd) { fake_welcome(bfd, 1, 1, 0, 16); }
static void q_entries0(int bfd) { fake_welcome(bfd, 1, 1, 8, 0); }
static void q_garbage(int bfd) { fake_raw(bfd, "not a message at all", 20); }
/* larger than any message: arrives truncated (MSG_TRUNC) */
static void q_oversized(int bfd)
{
	static uint8_t big[VB_MSG_MAX_LEN + 100];

	fake_raw(bfd, big, sizeof(big));
}
/* WELCOME and a refusal echo the HELLO's id, 0; the codec does not know
 * which id was asked, so only the client can catch it */
static void q_welcome_id1(int bfd)
{
	fake_welcome_id = 1;
	fake_welcome(bfd, 1, 1, 8, 16);
	fake_welcome_id = 0;
}
static void q_refused_id1(int bfd) { fake_reply_v(bfd, 0, 1, EPERM, 0, VB_NO_INDEX); }
/*
 * The largest WELCOME (every RAM region, the device fd and the ring: all
 * VB_MAX_WELCOME_FDS) and one unannounced fd after it. The client's
 * control buffer holds exactly the maximum, so the kernel hands over the
 * first VB_MAX_WELCOME_FDS, which match the WELCOME, and drops the last:
 * only MSG_CTRUNC tells. The ring is a good one, so nothing else fails.
 */
static void q_fds_truncated(int bfd)
{
	struct vb_ring_layout l;
	int rfd = fake_ring_fd(8, 16, &l);

	fake_fd_last = memfd_create("extra", MFD_CLOEXEC);
	ck_assert_int_ge(fake_fd_last, 0);
	fake_welcome_r(bfd, VB_MAX_RAM_REGIONS, VB_MAX_RAM_REGIONS + 1, 8, 16,
		       VB_WELCOME_F_DEVICE_FD | VB_WELCOME_F_RING, rfd);
	close(fake_fd_last);
	fake_fd_last = -1;
	close(rfd);
}

START_TEST(handshake_refusals)
{
	static const struct {
		void (*queue)(int bfd);
		int rc;
		const char *what;
	} cases[] = {
		{ q_extra_fds, -EPROTO, "more fds than regions" },
		{ q_missing_fds, -EPROTO, "fewer fds than regions" },
		{ q_too_many_fds, -EPROTO, "more fds than the protocol allows" },
		{ q_refused_eperm, -EPERM, "refused with EPERM" },
		{ q_refused_ebusy, -EBUSY, "refused with EBUSY" },
		{ q_refused_eprotonosupport, -EPROTONOSUPPORT,
		  "refused with EPROTONOSUPPORT (no common version)" },
		{ q_ram_unaligned, -EPROTO, "RAM region of a page and a half" },
		{ q_ram_empty, -EPROTO, "empty RAM region" },
		{ q_ram_wraps, -EPROTO, "RAM region wrapping past 2^64" },
		{ q_ram_offset, -EPROTO, "RAM region at an unaligned offset" },
		{ q_ram_offset_wraps, -EPROTO, "RAM region whose offset wraps" },
		{ q_refused_zero, -EPROTO, "REPLY with status 0" },
		{ q_refused_v1, -EPROTO, "refusal with a version before one was chosen" },
		{ q_hangup, -EPIPE, "hangup" },
		{ q_devfd_missing, -EPROTO, "device fd announced, not sent" },
		{ q_devfd_extra, -EPROTO, "one fd more than memfds + device fd" },
		{ q_devfd_unannounced, -EPROTO, "device fd without the flag" },
		{ q_welcome_flag_unknown, -EPROTO, "unknown WELCOME flag" },
		{ q_window0, -EPROTO, "window 0" },
		{ q_entries0, -EPROTO, "max_entries 0" },
		{ q_garbage, -EPROTO, "garbage" },
		{ q_oversized, -EPROTO, "a datagram larger than any message" },
		{ q_welcome_id1, -EPROTO, "WELCOME with header id 1" },
		{ q_refused_id1, -EPROTO, "refusal with header id 1" },
		{ q_fds_truncated, -EPROTO,
		  "one fd more than the protocol's maximum (MSG_CTRUNC)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int leftover, rc = try_open(cases[i].queue, &leftover,
					    cases[i].what);

		ck_assert_msg(rc == cases[i].rc, "%s: rc %d, want %d",
			      cases[i].what, rc, cases[i].rc);
		/* the socket and every received fd are closed on failure */
		ck_assert_msg(leftover == 0, "%s: %d fds leaked",
			      cases[i].what, leftover);
	}
}
END_TEST

START_TEST(sync_calls)
{
	struct vb_map_entry got_m;
	struct vb_unmap_entry got_u;
	struct vb_stats st = { 0 }, out;
	struct vb_reply r;
	struct vb_msg m;
	struct vb_client *c;
	ssize_t n;
	int bfd;

	c = open_client(&bfd, 4);

	fake_reply(bfd, 1, 0, 3, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_map(c, &me1, 1, &r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.pages_done, 3);
	m = fake_read(bfd, 1);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_MAP);
	ck_assert_uint_eq(m.hdr.id, 1);
	ck_assert_uint_eq(m.count, 1);
	vb_msg_map_entry(&m, 0, &got_m);
	ck_assert_mem_eq(&got_m, &me1, sizeof(me1));

	/* a broker status comes back as -errno with the whole reply */
	fake_reply(bfd, 2, ERANGE, 0, 0);
	ck_assert_int_eq(vb_client_unmap(c, &ue1, 1, &r), -ERANGE);
	ck_assert_int_eq(r.status, ERANGE);
	ck_assert_uint_eq(r.failed_index, 0);
	m = fake_read(bfd, 1);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_UNMAP);
	ck_assert_uint_eq(m.hdr.id, 2);
	vb_msg_unmap_entry(&m, 0, &got_u);
	ck_assert_mem_eq(&got_u, &ue1, sizeof(ue1));

	fake_reply(bfd, 3, 0, 0, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_sync(c), 0);
	m = fake_read(bfd, 1);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_SYNC);
	ck_assert_uint_eq(m.hdr.id, 3);

	st.pages_current = 42;
	st.map_requests = 1;
	st.errors = 1;
	n = vb_encode_stats(buf, sizeof(buf), 1, 4, &st);
	ck_assert_int_gt(n, 0);
	fake_raw(bfd, buf, (size_t)n);
	ck_assert_int_eq(vb_client_stats(c, &out), 0);
	ck_assert_uint_eq(out.pages_current, 42);
	ck_assert_uint_eq(out.errors, 1);
	m = fake_read(bfd, 1);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_STATS);

	/* STATS refused with a plain REPLY carrying an errno */
	fake_reply(bfd, 5, EPERM, 0, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_stats(c, &out), -EPERM);
	ck_assert_uint_eq(out.pages_current, 42);	/* untouched */

	/* arguments the broker would refuse are caught before sending */
	ck_assert_int_eq(vb_client_map(c, &me1, 0, &r), -EINVAL);
	ck_assert_int_eq(vb_client_map(c, &me1, 17, &r), -E2BIG);
	ck_assert_int_eq(vb_client_unmap(c, NULL, 1, &r), -EINVAL);
	fake_read(bfd, 1);	/* the refused STATS */
	ck_assert(fake_nothing_sent(bfd));
	vb_client_close(c);
	close(bfd);
}
END_TEST

/* A reply written @delay_us after the fork, from a child process. */
static pid_t late_reply(int bfd, uint64_t id, uint64_t done,
			unsigned int delay_us)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		usleep(delay_us);
		fake_reply(bfd, id, 0, done, VB_NO_INDEX);
		_exit(0);
	}
	return pid;
}

/*
 * vb_client_set_spin: bounded, and a waiting call gets its reply whether
 * it arrives while the call still spins or after it went to sleep.
 */
START_TEST(spin_wait)
{
	struct vb_reply r;
	struct vb_client *c;
	int bfd, st;
	pid_t pid;

	c = open_client(&bfd, 4);
	ck_assert_int_eq(vb_client_set_spin(c, VB_CLIENT_SPIN_MAX_US + 1),
			 -EINVAL);

	/* arrives within the spin: 10 ms into a 1 s budget */
	ck_assert_int_eq(vb_client_set_spin(c, VB_CLIENT_SPIN_MAX_US), 0);
	pid = late_reply(bfd, 1, 3, 10000);
	ck_assert_int_eq(vb_client_map(c, &me1, 1, &r), 0);
	ck_assert_uint_eq(r.pages_done, 3);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);

	/* arrives after the spin: 100 ms against a 1 ms budget */
	ck_assert_int_eq(vb_client_set_spin(c, 1000), 0);
	pid = late_reply(bfd, 2, 5, 100000);
	ck_assert_int_eq(vb_client_unmap(c, &ue1, 1, &r), 0);
	ck_assert_uint_eq(r.pages_done, 5);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);

	/*
	 * A poll that must not wait does not spin either: with a 1 s budget
	 * and the reply 100 ms away, spinning would catch it.
	 */
	ck_assert_int_eq(vb_client_set_spin(c, VB_CLIENT_SPIN_MAX_US), 0);
	ck_assert_int_eq(vb_client_submit_sync(c, NULL, NULL, NULL), 0);
	pid = late_reply(bfd, 3, 0, 100000);
	ck_assert_int_eq(vb_client_poll(c, 0), 0);
	ck_assert_uint_eq(vb_client_outstanding(c), 1);
	ck_assert_int_eq(vb_client_wait(c), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);

	ck_assert_uint_eq(fake_read(bfd, 1).hdr.type, VB_MSG_MAP);
	ck_assert_uint_eq(fake_read(bfd, 1).hdr.type, VB_MSG_UNMAP);
	ck_assert_uint_eq(fake_read(bfd, 1).hdr.type, VB_MSG_SYNC);
	vb_client_close(c);
	close(bfd);
}
END_TEST

START_TEST(pipelined_window_and_order)
{
	static const int32_t status[4] = { 0, EEXIST, 0, EFAULT };
	struct rec rec = { 0 };
	struct vb_client *c;
	uint64_t id;
	int bfd;

	c = open_client(&bfd, 4);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done,
						      &rec, &id), 0);
		ck_assert_uint_eq(id, (uint64_t)i + 1);
	}
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, &id), 0);
	ck_assert_uint_eq(id, 4);
	ck_assert_uint_eq(vb_client_outstanding(c), 4);
	/* the window is full */
	ck_assert_int_eq(vb_client_submit_unmap(c, &ue1, 1, rec_done, &rec,
						&id), -EAGAIN);
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, &id),
			 -EAGAIN);
	for (uint64_t i = 1; i <= 4; i++)
		ck_assert_uint_eq(fake_read(bfd, 1).hdr.id, i);
	ck_assert(fake_nothing_sent(bfd));

	/* nothing has arrived yet */
	ck_assert_int_eq(vb_client_poll(c, 0), 0);
	ck_assert_int_eq(vb_client_poll(c, 20), 0);
	ck_assert_uint_eq(rec.n, 0);

	fake_reply(bfd, 1, status[0], 3, VB_NO_INDEX);
	fake_reply(bfd, 2, status[1], 0, 0);
	ck_assert_int_eq(vb_client_poll(c, -1), 2);
	ck_assert_uint_eq(vb_client_outstanding(c), 2);
	/* a slot is free again */
	ck_assert_int_eq(vb_client_submit_unmap(c, &ue1, 1, rec_done, &rec,
						&id), 0);
	ck_assert_uint_eq(id, 5);
	fake_reply(bfd, 3, status[2], 3, VB_NO_INDEX);
	fake_reply(bfd, 4, status[3], 0, VB_NO_INDEX);
	fake_reply(bfd, 5, 0, 3, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_wait(c), 0);
	ck_assert_uint_eq(vb_client_outstanding(c), 0);
	ck_assert_uint_eq(rec.n, 5);
	for (unsigned int i = 0; i < 5; i++) {
		ck_assert_uint_eq(rec.id[i], i + 1);
		ck_assert_int_eq(rec.status[i], i < 4 ? status[i] : 0);
	}
	ck_assert_uint_eq(rec.done[0], 3);
	/* nothing outstanding: poll returns at once */
	ck_assert_int_eq(vb_client_poll(c, -1), 0);
	vb_client_close(c);
	close(bfd);
}
END_TEST

/* A synchronous call after pipelined ones delivers their completions
 * first, then returns its own result. */
START_TEST(sync_after_pipelined)
{
	struct rec rec = { 0 };
	struct vb_client *c;
	struct vb_reply r;
	int bfd;

	c = open_client(&bfd, 2);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	fake_reply(bfd, 1, 0, 3, VB_NO_INDEX);
	fake_reply(bfd, 2, EEXIST, 0, 0);
	fake_reply(bfd, 3, 0, 3, VB_NO_INDEX);
	/* the window is full: the sync call first makes room */
	ck_assert_int_eq(vb_client_unmap(c, &ue1, 1, &r), 0);
	ck_assert_uint_eq(r.pages_done, 3);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_int_eq(rec.status[1], EEXIST);
	vb_client_close(c);
	close(bfd);
}
END_TEST

/* Two MAPs outstanding, the first answered (3 pages), then the hangup. */
static struct vb_client *answered_then_hangup(struct rec *rec)
{
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, rec,
					      NULL), 0);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, rec,
					      NULL), 0);
	fake_reply(bfd, 1, 0, 3, VB_NO_INDEX);
	close(bfd);
	return c;
}

START_TEST(hangup)
{
	struct rec rec = { 0 };
	struct vb_client *c = answered_then_hangup(&rec);
	struct vb_reply r;

	/* the reply that made it is delivered, then the hangup */
	ck_assert_int_eq(vb_client_poll(c, -1), 1);
	ck_assert_int_eq(vb_client_poll(c, -1), -EPIPE);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_int_eq(rec.status[0], 0);
	ck_assert_int_eq(rec.status[1], EPIPE);
	ck_assert_uint_eq(vb_client_outstanding(c), 0);
	/* the handle stays dead */
	ck_assert_int_eq(vb_client_map(c, &me1, 1, &r), -EPIPE);
	ck_assert_int_eq(vb_client_submit_sync(c, NULL, NULL, NULL), -EPIPE);
	ck_assert_int_eq(vb_client_wait(c), -EPIPE);
	vb_client_close(c);
}
END_TEST

START_TEST(hangup_on_send)
{
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	close(bfd);
	/* no SIGPIPE (the test would die), just -EPIPE */
	ck_assert_int_eq(vb_client_sync(c), -EPIPE);
	vb_client_close(c);
}
END_TEST

/* A submit that meets the hangup still delivers the replies before it. */
START_TEST(hangup_on_send_keeps_replies)
{
	struct rec rec = { 0 };
	struct vb_client *c = answered_then_hangup(&rec);

	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, NULL),
			 -EPIPE);
	ck_assert_uint_eq(rec.n, 2);	/* the sync was never submitted */
	ck_assert_int_eq(rec.status[0], 0);
	ck_assert_uint_eq(rec.done[0], 3);
	ck_assert_int_eq(rec.status[1], EPIPE);
	ck_assert_int_eq(vb_client_poll(c, 0), -EPIPE);
	vb_client_close(c);
}
END_TEST

/* ---- the shared ring: the test plays the broker's side of it ---- */

struct fake_ring {
	int bfd;
	void *mem;
	struct vb_ring_layout l;
	struct vb_ring br;	/* the broker's view */
};

/*
 * A ring sized for @ring_window requests of @ring_entries each; WELCOME
 * says @window and 16.
 */
static int try_open_ring(struct fake_ring *fr, uint32_t window,
			 uint32_t ring_window, uint32_t ring_entries,
			 struct vb_client **c)
{
	int cfd, rfd, rc;

	rfd = fake_ring_fd(ring_window, ring_entries, &fr->l);
	fr->mem = mmap(NULL, fr->l.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       rfd, 0);
	ck_assert_ptr_ne(fr->mem, MAP_FAILED);
	vb_ring_attach(&fr->br, fr->mem, &fr->l, VB_RING_BROKER);
	pair(&cfd, &fr->bfd);
	fake_welcome_r(fr->bfd, 2, 2, window, 16, VB_WELCOME_F_RING, rfd);
	close(rfd);
	rc = vb_client_open_fd(cfd, DEV, c);
	ck_assert_uint_eq(fake_read(fr->bfd, 0).hdr.type, VB_MSG_HELLO);
	return rc;
}

static struct vb_client *open_ring_client(struct fake_ring *fr,
					  uint32_t window)
{
	struct vb_client *c = NULL;

	ck_assert_int_eq(try_open_ring(fr, window, window, 16, &c), 0);
	return c;
}

/* VB_CLIENT_RING=0 asks for no ring (a broker from before it). */
START_TEST(ring_opt_out)
{
	struct vb_client *c = NULL;
	struct vb_ring_layout l;
	struct vb_hello h;
	struct vb_msg m;
	int cfd, bfd, rfd, base;

	ck_assert_int_eq(setenv("VB_CLIENT_RING", "0", 1), 0);
	pair(&cfd, &bfd);
	fake_welcome(bfd, 1, 1, 4, 16);
	ck_assert_int_eq(vb_client_open_fd(cfd, DEV, &c), 0);
	m = fake_read(bfd, 0);
	ck_assert_int_eq(vb_msg_hello(&m, &h), 0);
	ck_assert_uint_eq(h.flags, 0);
	vb_client_close(c);
	close(bfd);
	unsetenv("VB_CLIENT_RING");

	/* the same without the environment, by flag */
	pair(&cfd, &bfd);
	fake_welcome(bfd, 1, 1, 4, 16);
	ck_assert_int_eq(vb_client_open_fd_flags(cfd, DEV, VB_CLIENT_NO_RING,
						 &c), 0);
	m = fake_read(bfd, 0);
	ck_assert_int_eq(vb_msg_hello(&m, &h), 0);
	ck_assert_uint_eq(h.flags, 0);
	vb_client_close(c);
	close(bfd);

	/* a ring the HELLO did not ask for breaks the protocol */
	base = vb_count_fds();
	rfd = fake_ring_fd(4, 16, &l);
	pair(&cfd, &bfd);
	fake_welcome_r(bfd, 1, 1, 4, 16, VB_WELCOME_F_RING, rfd);
	close(rfd);
	ck_assert_int_eq(vb_client_open_fd_flags(cfd, DEV, VB_CLIENT_NO_RING,
						 &c), -EPROTO);
	ck_assert_ptr_null(c);
	close(bfd);
	ck_assert_int_eq(vb_count_fds(), base);
}
END_TEST

/* An unknown flag is refused before anything is sent; open takes the fd. */
START_TEST(unknown_open_flag)
{
	struct vb_client *c = (struct vb_client *)1;
	int cfd, bfd, before;

	pair(&cfd, &bfd);
	before = vb_count_fds();
	ck_assert_int_eq(vb_client_open_fd_flags(cfd, DEV, 1u << 7, &c),
			 -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(vb_count_fds(), before - 1);	/* cfd closed */
	/* the peer sees the hangup and no HELLO before it */
	ck_assert_int_eq(recv(bfd, buf, sizeof(buf), MSG_DONTWAIT), 0);
	close(bfd);
	c = (struct vb_client *)1;
	ck_assert_int_eq(vb_client_connect_flags("/nonexistent/vb.sock", DEV,
						 1u << 7, &c), -EINVAL);
	ck_assert_ptr_null(c);
}
END_TEST

/*
 * A ring the client cannot use as granted is refused, and everything it
 * came with is closed:
 * - slots too small for a full request of the WELCOME's 16 entries;
 * - fewer slots than the window: the client queues up to a whole window
 *   into the ring without waiting for room, so all 8 requests must fit.
 *   Slots come in powers of two, so a ring for window 4 has 4.
 */
START_TEST(ring_unusable)
{
	static const struct {
		uint32_t window, ring_window, ring_entries, nslots;
		const char *what;
	} cases[] = {
		{ 4, 4, 15, 4, "slots for 15 entries" },
		{ 8, 4, 16, 4, "4 slots for a window of 8" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_ring fr;
		struct vb_client *c = NULL;
		int base = vb_count_fds();

		ck_assert_msg(try_open_ring(&fr, cases[i].window,
					    cases[i].ring_window,
					    cases[i].ring_entries, &c) == -EPROTO,
			      "%s: not refused", cases[i].what);
		ck_assert_ptr_null(c);
		ck_assert_uint_eq(fr.l.nslots, cases[i].nslots);
		munmap(fr.mem, fr.l.size);
		close(fr.bfd);
		ck_assert_int_eq(vb_count_fds(), base);
	}
}
END_TEST

static void close_ring_client(struct vb_client *c, struct fake_ring *fr)
{
	vb_client_close(c);
	munmap(fr->mem, fr->l.size);
	close(fr->bfd);
}

/* Take the next request from the ring (waiting up to 2 s for it). */
static struct vb_msg ring_take(struct fake_ring *fr)
{
	static uint8_t rx[VB_MSG_MAX_LEN];
	struct vb_msg m;
	ssize_t n = -EAGAIN;

	for (int i = 0; i < 2000 && n == -EAGAIN; i++) {
		n = vb_ring_recv(&fr->br, rx, sizeof(rx));
		if (n == -EAGAIN)
			usleep(1000);
	}
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(vb_decode(rx, (size_t)n, VB_DIR_TO_BROKER, 1, 0, &m),
			 0);
	return m;
}

/* Answer through the ring, and WAKE the client as the broker would;
 * returns whether a WAKE was owed. */
static bool ring_answer(struct fake_ring *fr, uint64_t id, uint64_t done)
{
	struct vb_reply r = { .status = 0, .failed_index = VB_NO_INDEX,
			      .pages_done = done };
	ssize_t n = vb_encode_reply(buf, sizeof(buf), 1, id, &r);

	ck_assert_int_eq(vb_ring_send(&fr->br, buf, (uint32_t)n), 0);
	if (!vb_ring_take_peer_idle(&fr->br))
		return false;
	n = vb_encode_simple(buf, sizeof(buf), 1, VB_MSG_WAKE, 0);
	ck_assert_int_eq(send(fr->bfd, buf, (size_t)n, 0), n);
	return true;
}

/*
 * A child plays the broker: after @delay_us it takes one request and
 * answers it; its exit status says whether the client was asleep by then
 * (1: a WAKE was owed and sent) or still spinning (0).
 */
static pid_t ring_late_answer(struct fake_ring *fr, uint64_t done,
			      unsigned int delay_us)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct vb_msg m;

		usleep(delay_us);
		m = ring_take(fr);
		_exit(ring_answer(fr, m.hdr.id, done) ? 1 : 0);
	}
	/* the child's copy of the broker's view moved on by one each way */
	fr->br.rx_pos++;
	fr->br.tx_pos++;
	return pid;
}

static int child_status(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Nothing left unread on the client's socket (no stray WAKE). */
static bool client_socket_empty(struct vb_client *c)
{
	char b[16];

	return recv(vb_client_fd(c), b, sizeof(b), MSG_DONTWAIT | MSG_PEEK) < 0 &&
	       errno == EAGAIN;
}

/* Run @check on a socket client, then on a ring client, of a fresh broker. */
static void each_transport(void (*check)(struct vb_client *c))
{
	struct fake_ring fr;
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	check(c);
	vb_client_close(c);
	close(bfd);

	c = open_ring_client(&fr, 4);
	check(c);
	close_ring_client(c, &fr);
}

/*
 * *res is the broker's reply: a synchronous call the library fails (here
 * a malformed datagram where the reply should be; then a dead handle)
 * returns the error and leaves *res as it was, so a caller can tell it
 * from a broker answering that errno.
 */
START_TEST(sync_failure_leaves_res)
{
	const struct vb_reply mark = { .status = 12345, .pages_done = 7 };
	struct vb_reply r = mark;
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	q_garbage(bfd);
	ck_assert_int_eq(vb_client_map(c, &me1, 1, &r), -EPROTO);
	ck_assert_mem_eq(&r, &mark, sizeof(r));
	ck_assert_int_eq(vb_client_unmap(c, &ue1, 1, &r), -EPROTO);
	ck_assert_mem_eq(&r, &mark, sizeof(r));
	vb_client_close(c);
	close(bfd);
}
END_TEST

/*
 * The spin is part of a wait, not added to it: with a 1 s budget and
 * nothing coming, a 10 ms poll and a call under a 50 ms timeout end long
 * before the budget is spent.
 */
static void spin_in_time(struct vb_client *c)
{
	uint64_t t0;

	ck_assert_int_eq(vb_client_set_spin(c, VB_CLIENT_SPIN_MAX_US), 0);
	ck_assert_int_eq(vb_client_submit_sync(c, NULL, NULL, NULL), 0);
	t0 = vb_now_ns();
	ck_assert_int_eq(vb_client_poll(c, 10), 0);
	ck_assert_uint_lt((vb_now_ns() - t0) / 1000000, 600);
	ck_assert_int_eq(vb_client_set_timeout(c, 50), 0);
	t0 = vb_now_ns();
	ck_assert_int_eq(vb_client_sync(c), -ETIMEDOUT);
	ck_assert_uint_lt((vb_now_ns() - t0) / 1000000, 600);
}

START_TEST(spin_within_timeout)
{
	each_transport(spin_in_time);
}
END_TEST

START_TEST(ring_calls)
{
	struct fake_ring fr;
	struct vb_map_entry e;
	struct vb_client *c;
	struct vb_reply r;
	struct vb_msg m;
	int base = vb_count_fds();
	pid_t pid;

	c = open_ring_client(&fr, 4);
	/* the socket pair and 2 memfds: the client keeps the ring only mapped */
	ck_assert_int_eq(vb_count_fds(), base + 4);

	/* a sleeping client is woken by exactly one WAKE, which it reads */
	pid = ring_late_answer(&fr, 3, 50000);
	ck_assert_int_eq(vb_client_map(c, &me1, 1, &r), 0);
	ck_assert_uint_eq(r.pages_done, 3);
	ck_assert_int_eq(child_status(pid), 1);
	ck_assert(client_socket_empty(c));

	/* a spinning client needs none */
	ck_assert_int_eq(vb_client_set_spin(c, VB_CLIENT_SPIN_MAX_US), 0);
	pid = ring_late_answer(&fr, 5, 10000);
	ck_assert_int_eq(vb_client_unmap(c, &ue1, 1, &r), 0);
	ck_assert_uint_eq(r.pages_done, 5);
	ck_assert_int_eq(child_status(pid), 0);

	/* the requests went through the ring, byte for byte, and nothing
	 * through the socket (the broker never said it sleeps) */
	ck_assert(fake_nothing_sent(fr.bfd));
	ck_assert_uint_eq(((struct vb_ring_hdr *)fr.mem)->sq_head.v, 2);
	ck_assert_uint_eq(((struct vb_ring_hdr *)fr.mem)->cq_head.v, 2);
	vb_ring_attach(&fr.br, fr.mem, &fr.l, VB_RING_BROKER);	/* re-read */
	m = ring_take(&fr);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_MAP);
	ck_assert_uint_eq(m.hdr.id, 1);
	vb_msg_map_entry(&m, 0, &e);
	ck_assert_mem_eq(&e, &me1, sizeof(e));
	m = ring_take(&fr);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_UNMAP);
	ck_assert_uint_eq(m.hdr.id, 2);
	close_ring_client(c, &fr);
}
END_TEST

/* A broker that announced it sleeps gets one KICK, and only one. */
START_TEST(ring_kick)
{
	struct fake_ring fr;
	struct vb_client *c;
	struct vb_msg m;

	c = open_ring_client(&fr, 4);
	vb_ring_set_idle(&fr.br);
	ck_assert_int_eq(vb_client_submit_sync(c, NULL, NULL, NULL), 0);
	m = fake_read(fr.bfd, 1);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_KICK);
	ck_assert_uint_eq(m.hdr.id, 0);
	ck_assert(vb_ring_clear_idle(&fr.br));	/* the client took the word */
	ck_assert_int_eq(vb_client_submit_sync(c, NULL, NULL, NULL), 0);
	ck_assert(fake_nothing_sent(fr.bfd));
	ck_assert_uint_eq(vb_ring_readable(&fr.br), 2);
	close_ring_client(c, &fr);
}
END_TEST

/*
 * A caller with its own event loop: vb_client_poll(c, 0) finding nothing
 * must leave the broker a reason to make vb_client_fd() readable (a
 * WAKE), or a poll() on it would wait forever for a reply already in the
 * ring; the next call reads that WAKE, so none is left behind.
 */
START_TEST(ring_event_loop)
{
	struct pollfd pfd = { .events = POLLIN };
	struct rec rec = { 0 };
	struct fake_ring fr;
	struct vb_client *c;
	pid_t pid;

	c = open_ring_client(&fr, 4);
	pfd.fd = vb_client_fd(c);
	/* nothing outstanding: nothing to ask for */
	ck_assert_int_eq(vb_client_poll(c, 0), 0);
	ck_assert(!vb_ring_take_peer_idle(&fr.br));

	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	ck_assert_int_eq(vb_client_poll(c, 0), 0);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_uint_eq(ring_take(&fr).hdr.id, 1);
	ck_assert(ring_answer(&fr, 1, 3));	/* a WAKE was owed */
	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	ck_assert_int_eq(vb_client_poll(c, 0), 1);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert(client_socket_empty(c));

	/* asked, then a blocking wait after all: the word is taken back
	 * first, so the reply costs no WAKE */
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	ck_assert_int_eq(vb_client_poll(c, 0), 0);
	ck_assert_int_eq(vb_client_poll(c, 0), 0);	/* asks again */
	ck_assert_int_eq(vb_client_set_spin(c, VB_CLIENT_SPIN_MAX_US), 0);
	pid = ring_late_answer(&fr, 3, 20000);
	ck_assert_int_eq(vb_client_wait(c), 0);
	ck_assert_int_eq(child_status(pid), 0);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert(client_socket_empty(c));
	ck_assert(fake_nothing_sent(fr.bfd));
	close_ring_client(c, &fr);
}
END_TEST

/*
 * The broker took the idle word a vb_client_poll(c, 0) left set, so it owes
 * a WAKE, and never sends it. With a timeout set, the next call waits that
 * long for it and then gives the handle up: a WAKE that came later could
 * not be told from a stray one. Without the limit the caller would go back
 * to sleeping on a socket that never becomes readable.
 */
START_TEST(ring_owed_wake_never_comes)
{
	struct rec rec = { 0 };
	struct fake_ring fr;
	struct vb_client *c;
	uint64_t t0;
	int rc = 0;

	c = open_ring_client(&fr, 4);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	ck_assert_int_eq(vb_client_poll(c, 0), 0);	/* asks for a WAKE */
	ck_assert(vb_ring_take_peer_idle(&fr.br));	/* and is owed one */
	ck_assert_int_eq(vb_client_set_timeout(c, 50), 0);
	/* each call that does not give up waits 100 ms at most */
	t0 = vb_now_ns();
	for (int i = 0; i < 10 && rc == 0; i++)
		rc = vb_client_poll(c, 100);
	ck_assert_int_eq(rc, -ETIMEDOUT);
	ck_assert_uint_lt((vb_now_ns() - t0) / 1000000, 2000);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_int_eq(rec.status[0], ETIMEDOUT);
	ck_assert_int_eq(vb_client_poll(c, 0), -ETIMEDOUT);	/* sticky */
	close_ring_client(c, &fr);
}
END_TEST

/*
 * The broker took the idle word and so owes a WAKE, and sends garbage in
 * its place, with the reply in the ring: the garbage is reported (-EPROTO),
 * not consumed unseen because the ring had something to read.
 */
START_TEST(ring_owed_wake_malformed)
{
	struct vb_reply r = { .failed_index = VB_NO_INDEX, .pages_done = 3 };
	uint32_t junk[4] = { 12, 0, 0xdeadbeef, 7 };
	struct rec rec = { 0 };
	struct fake_ring fr;
	struct vb_client *c;
	ssize_t n;

	c = open_ring_client(&fr, 4);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	ck_assert_int_eq(vb_client_poll(c, 0), 0);	/* asks for a WAKE */
	(void)ring_take(&fr);
	n = vb_encode_reply(buf, sizeof(buf), 1, 1, &r);
	ck_assert_int_eq(vb_ring_send(&fr.br, buf, (uint32_t)n), 0);
	ck_assert(vb_ring_take_peer_idle(&fr.br));	/* a WAKE is owed */
	fake_raw(fr.bfd, junk, sizeof(junk));
	ck_assert_int_eq(vb_client_poll(c, 1000), -EPROTO);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_int_eq(rec.status[0], EPROTO);
	close_ring_client(c, &fr);
}
END_TEST

/*
 * A WAKE the client did not ask for (its idle word was never taken) breaks
 * the protocol: the broker WAKEs only a client that said it sleeps.
 */
START_TEST(ring_unasked_wake)
{
	struct rec rec = { 0 };
	struct fake_ring fr;
	struct vb_client *c;
	ssize_t n;

	c = open_ring_client(&fr, 4);
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, NULL), 0);
	n = vb_encode_simple(buf, sizeof(buf), 1, VB_MSG_WAKE, 0);
	ck_assert_int_gt(n, 0);
	fake_raw(fr.bfd, buf, (size_t)n);
	ck_assert_int_eq(vb_client_poll(c, 1000), -EPROTO);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_int_eq(rec.status[0], EPROTO);
	close_ring_client(c, &fr);
}
END_TEST

START_TEST(ring_hangup_and_garbage)
{
	struct rec rec = { 0 };
	struct fake_ring fr;
	struct vb_client *c;
	uint32_t junk[4] = { 12, 0, 0xdeadbeef, 7 };

	/* replies already in the ring are delivered, then the hangup */
	c = open_ring_client(&fr, 4);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	ring_answer(&fr, 1, 3);
	close(fr.bfd);
	ck_assert_int_eq(vb_client_poll(c, -1), 1);
	ck_assert_int_eq(vb_client_poll(c, -1), -EPIPE);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_int_eq(rec.status[1], EPIPE);
	vb_client_close(c);
	munmap(fr.mem, fr.l.size);

	/* a reply slot that is not a reply: -EPROTO, the request completed */
	memset(&rec, 0, sizeof(rec));
	c = open_ring_client(&fr, 4);
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, NULL), 0);
	memcpy((uint8_t *)fr.mem + fr.l.cq_off, junk, sizeof(junk));
	__atomic_store_n(&((struct vb_ring_hdr *)fr.mem)->cq_tail.v, 1,
			 __ATOMIC_RELEASE);
	ck_assert_int_eq(vb_client_wait(c), -EPROTO);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_int_eq(rec.status[0], EPROTO);
	close_ring_client(c, &fr);

	/* a reply index beyond the ring: -EPROTO too */
	c = open_ring_client(&fr, 4);
	ck_assert_int_eq(vb_client_submit_sync(c, NULL, NULL, NULL), 0);
	__atomic_store_n(&((struct vb_ring_hdr *)fr.mem)->cq_tail.v, 100,
			 __ATOMIC_RELEASE);
	ck_assert_int_eq(vb_client_wait(c), -EPROTO);
	close_ring_client(c, &fr);
}
END_TEST

static void q_wrong_id(int bfd) { fake_reply(bfd, 9, 0, 0, VB_NO_INDEX); }
static void q_bad_version(int bfd)
{
	struct vb_reply r = { .failed_index = VB_NO_INDEX };
	ssize_t n = vb_encode_reply(buf, sizeof(buf), 1, 1, &r);

	((struct vb_hdr *)buf)->version = 2;
	fake_raw(bfd, buf, (size_t)n);
}
static void q_short(int bfd)
{
	struct vb_reply r = { .failed_index = VB_NO_INDEX };
	ssize_t n = vb_encode_reply(buf, sizeof(buf), 1, 1, &r);

	fake_raw(bfd, buf, (size_t)n - 1);
}
static void q_stats_for_map(int bfd)
{
	struct vb_stats st = { 0 };
	ssize_t n = vb_encode_stats(buf, sizeof(buf), 1, 1, &st);

	fake_raw(bfd, buf, (size_t)n);
}
static void q_negative_status(int bfd)
{
	struct vb_reply r = { .failed_index = VB_NO_INDEX };
	ssize_t n = vb_encode_reply(buf, sizeof(buf), 1, 1, &r);
	int32_t bad = -5;

	/* the encoder refuses to build it, so patch the body */
	memcpy(buf + sizeof(struct vb_hdr), &bad, sizeof(bad));
	fake_raw(bfd, buf, (size_t)n);
}
/* statuses are errnos, and errnos stop below 4096: the encoder and the
 * codec let it through, the client must not hand out -4096 */
static void q_status_4096(int bfd) { fake_reply(bfd, 1, 4096, 0, VB_NO_INDEX); }
static void q_with_fd(int bfd)
{
	struct vb_reply r = { .failed_index = VB_NO_INDEX };
	ssize_t n = vb_encode_reply(buf, sizeof(buf), 1, 1, &r);
	int fd = memfd_create("x", MFD_CLOEXEC);

	send_with_fds(bfd, buf, (size_t)n, &fd, 1);
	close(fd);
}
static void q_welcome_again(int bfd) { fake_welcome(bfd, 0, 0, 8, 16); }
static void q_request_type(int bfd)
{
	ssize_t n = vb_encode_simple(buf, sizeof(buf), 1, VB_MSG_SYNC, 1);

	fake_raw(bfd, buf, (size_t)n);
}
START_TEST(malformed_replies)
{
	static const struct {
		void (*queue)(int bfd);
		const char *what;
	} cases[] = {
		{ q_wrong_id, "reply for an id never sent" },
		{ q_bad_version, "wrong version" },
		{ q_short, "truncated" },
		{ q_stats_for_map, "STATS_REPLY answering a MAP" },
		{ q_negative_status, "negative status" },
		{ q_status_4096, "status 4096, not an errno" },
		{ q_with_fd, "fd attached to a reply" },
		{ q_welcome_again, "second WELCOME" },
		{ q_request_type, "request type sent to the client" },
		{ q_oversized, "larger than any message" },
		{ q_garbage, "garbage" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec rec = { 0 };
		struct vb_client *c;
		int bfd, before = vb_count_fds();

		c = open_client(&bfd, 4);
		ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done,
						      &rec, NULL), 0);
		cases[i].queue(bfd);
		ck_assert_msg(vb_client_poll(c, -1) == -EPROTO, "%s",
			      cases[i].what);
		ck_assert_msg(rec.n == 1 && rec.status[0] == EPROTO, "%s",
			      cases[i].what);
		ck_assert_int_eq(vb_client_sync(c), -EPROTO);
		vb_client_close(c);
		close(bfd);
		ck_assert_msg(vb_count_fds() == before, "%s: fd leak",
			      cases[i].what);
	}
}
END_TEST

/*
 * STATS succeeds only with a STATS_REPLY: a plain REPLY may refuse it
 * (sync_calls) but one with status 0 carries no counters, and taking it as
 * success would hand the caller a vb_stats nobody filled in.
 */
START_TEST(stats_success_without_counters)
{
	struct vb_stats out = { .pages_current = 42 };
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	fake_reply(bfd, 1, 0, 0, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_stats(c, &out), -EPROTO);
	ck_assert_uint_eq(out.pages_current, 42);	/* untouched */
	ck_assert_uint_eq(fake_read(bfd, 1).hdr.type, VB_MSG_STATS);
	ck_assert_int_eq(vb_client_sync(c), -EPROTO);	/* sticky */
	vb_client_close(c);
	close(bfd);
}
END_TEST

/* A reply when nothing is outstanding is a violation, caught when the
 * client next reads. */
START_TEST(unsolicited_reply)
{
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	fake_reply(bfd, 1, 0, 0, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_sync(c), 0);
	fake_reply(bfd, 5, 0, 0, VB_NO_INDEX);	/* answers nothing */
	ck_assert_int_eq(vb_client_poll(c, 0), -EPROTO);
	ck_assert_int_eq(vb_client_sync(c), -EPROTO);
	vb_client_close(c);
	close(bfd);
}
END_TEST

/* The same through the ring: the reply lands there, not on the socket. */
START_TEST(ring_unsolicited_reply)
{
	struct fake_ring fr;
	struct vb_client *c = open_ring_client(&fr, 4);

	ring_answer(&fr, 5, 0);		/* answers nothing */
	ck_assert_int_eq(vb_client_poll(c, 0), -EPROTO);
	ck_assert_int_eq(vb_client_sync(c), -EPROTO);
	close_ring_client(c, &fr);
}
END_TEST

static struct vb_client *resubmit_client;

static void resubmit(void *arg, uint64_t id, const struct vb_reply *r)
{
	struct rec *rc = arg;

	rec_done(arg, id, r);
	/* window 1: the slot of this completion is already free */
	if (rc->n == 1)
		ck_assert_int_eq(vb_client_submit_sync(resubmit_client,
						       rec_done, rc, NULL), 0);
}

START_TEST(callback_may_submit)
{
	struct rec rec = { 0 };
	int bfd;

	resubmit_client = open_client(&bfd, 1);
	ck_assert_int_eq(vb_client_submit_sync(resubmit_client, resubmit,
					       &rec, NULL), 0);
	fake_reply(bfd, 1, 0, 0, VB_NO_INDEX);
	fake_reply(bfd, 2, 0, 0, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_wait(resubmit_client), 0);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(rec.id[1], 2);
	vb_client_close(resubmit_client);
	close(bfd);
}
END_TEST

/*
 * The broker goes away while nothing is outstanding: an event loop that
 * polls vb_client_fd() sees it readable (the hangup) and must learn it from
 * vb_client_poll(), or it would spin on a readable fd forever.
 */
START_TEST(idle_hangup)
{
	struct pollfd p;
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	ck_assert_int_eq(vb_client_poll(c, 0), 0);	/* all quiet */
	close(bfd);
	p = (struct pollfd){ .fd = vb_client_fd(c), .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	ck_assert_int_eq(vb_client_poll(c, 0), -EPIPE);
	ck_assert_int_eq(vb_client_poll(c, 0), -EPIPE);	/* sticky */
	vb_client_close(c);
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
}

/* Signals interrupt the wait but do not restart its timeout. */
START_TEST(timeout_despite_signals)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval every_20ms = {
		.it_interval = { .tv_usec = 20000 },
		.it_value = { .tv_usec = 20000 },
	};
	struct rec rec = { 0 };
	struct vb_client *c;
	uint64_t t0, ms;
	int bfd;

	c = open_client(&bfd, 4);
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, NULL), 0);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &every_20ms, NULL), 0);
	t0 = vb_now_ns();
	/* no answer comes: 0 delivered once 100 ms are up, not never */
	ck_assert_int_eq(vb_client_poll(c, 100), 0);
	ms = (vb_now_ns() - t0) / 1000000;
	every_20ms = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &every_20ms, NULL);
	ck_assert_msg(ms >= 95 && ms < 2000, "waited %llu ms for 100",
		      (unsigned long long)ms);
	ck_assert_uint_eq(rec.n, 0);
	vb_client_close(c);
	close(bfd);
}
END_TEST

/*
 * One signal late in the wait: what is left of the timeout is waited, not
 * the whole of it again. The numbers leave room for a loaded machine: the
 * signal comes at 500 ms of 600, so the right wait ends near 600 ms and a
 * restarted one not before 1100 ms; 900 ms lies between with 300 ms of
 * slack for the scheduler, and a late signal only lengthens the wrong one.
 */
START_TEST(timeout_after_one_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval once = { .it_value = { .tv_usec = 500000 } };
	struct rec rec = { 0 };
	struct vb_client *c;
	uint64_t t0, ms;
	int bfd;

	c = open_client(&bfd, 4);
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, NULL), 0);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	t0 = vb_now_ns();	/* CLOCK_MONOTONIC */
	ck_assert_int_eq(setitimer(ITIMER_REAL, &once, NULL), 0);
	ck_assert_int_eq(vb_client_poll(c, 600), 0);
	ms = (vb_now_ns() - t0) / 1000000;
	ck_assert_int_eq(getitimer(ITIMER_REAL, &once), 0);
	ck_assert_msg(!once.it_value.tv_sec && !once.it_value.tv_usec,
		      "the signal did not come during the wait");
	ck_assert_msg(ms >= 595 && ms < 900, "waited %llu ms for 600",
		      (unsigned long long)ms);
	ck_assert_uint_eq(rec.n, 0);
	vb_client_close(c);
	close(bfd);
}
END_TEST

/* Closing completes every outstanding request, once, with -ECANCELED. */
START_TEST(close_cancels_outstanding)
{
	struct rec rec = { 0 };
	struct vb_client *c;
	int bfd;

	c = open_client(&bfd, 4);
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, NULL), 0);
	ck_assert_int_eq(vb_client_submit_map(c, &me1, 1, rec_done, &rec,
					      NULL), 0);
	vb_client_close(c);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_int_eq(rec.status[0], ECANCELED);
	ck_assert_int_eq(rec.status[1], ECANCELED);
	close(bfd);
}
END_TEST

struct closer {
	struct vb_client *c;
	struct rec rec;
};

static void close_on_first(void *arg, uint64_t id, const struct vb_reply *r)
{
	struct closer *cl = arg;

	rec_done(&cl->rec, id, r);
	if (cl->rec.n == 1) {
		vb_client_close(cl->c);
		vb_client_close(cl->c);	/* twice: still harmless */
	}
}

/*
 * A callback may close its own handle, inside vb_client_poll() or inside a
 * synchronous call that ran it: the handle is freed on the way out (ASan
 * builds catch a use after free), the other requests are cancelled.
 */
START_TEST(callback_may_close)
{
	struct closer cl = { 0 };
	int bfd, bfd2;

	cl.c = open_client(&bfd, 4);
	ck_assert_int_eq(vb_client_submit_sync(cl.c, close_on_first, &cl,
					       NULL), 0);
	ck_assert_int_eq(vb_client_submit_sync(cl.c, close_on_first, &cl,
					       NULL), 0);
	ck_assert_int_eq(vb_client_submit_sync(cl.c, close_on_first, &cl,
					       NULL), 0);
	fake_reply(bfd, 1, 0, 0, VB_NO_INDEX);
	fake_reply(bfd, 2, 0, 0, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_poll(cl.c, -1), 1);	/* then it is gone */
	ck_assert_uint_eq(cl.rec.n, 3);
	ck_assert_int_eq(cl.rec.status[0], 0);
	ck_assert_int_eq(cl.rec.status[1], ECANCELED);
	ck_assert_int_eq(cl.rec.status[2], ECANCELED);
	close(bfd);

	/* closed by an earlier request's callback while vb_client_sync waits */
	memset(&cl, 0, sizeof(cl));
	cl.c = open_client(&bfd2, 4);
	ck_assert_int_eq(vb_client_submit_sync(cl.c, close_on_first, &cl,
					       NULL), 0);
	fake_reply(bfd2, 1, 0, 0, VB_NO_INDEX);
	ck_assert_int_eq(vb_client_sync(cl.c), -ECANCELED);
	ck_assert_uint_eq(cl.rec.n, 1);
	close(bfd2);
}
END_TEST

/*
 * A broker that stops answering: with a timeout set, a synchronous call
 * gives up with -ETIMEDOUT and the handle is dead; without one it would
 * wait for ever (Check's timeout would fail the test). Socket and ring.
 */
static void expect_timeout(struct vb_client *c)
{
	struct rec rec = { 0 };
	uint64_t t0;

	ck_assert_int_eq(vb_client_set_timeout(c, 0), -EINVAL);
	ck_assert_int_eq(vb_client_set_timeout(c, -2), -EINVAL);
	ck_assert_int_eq(vb_client_set_timeout(c, 100), 0);
	ck_assert_int_eq(vb_client_submit_sync(c, rec_done, &rec, NULL), 0);
	t0 = vb_now_ns();
	ck_assert_int_eq(vb_client_sync(c), -ETIMEDOUT);
	ck_assert_uint_lt((vb_now_ns() - t0) / 1000000, 2000);
	/* the earlier request completed with the same error, once */
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_int_eq(rec.status[0], ETIMEDOUT);
	ck_assert_int_eq(vb_client_poll(c, 0), -ETIMEDOUT);
	ck_assert_int_eq(vb_client_submit_sync(c, NULL, NULL, NULL),
			 -ETIMEDOUT);
}

START_TEST(timeout_on_silent_broker)
{
	each_transport(expect_timeout);
}
END_TEST

/*
 * A listener whose backlog is full (a broker not accepting) is waited
 * for, and signals meanwhile neither end nor restart the wait: a blocking
 * connect() would return -EINTR at the first one.
 */
START_TEST(connect_waits_for_full_backlog)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval every_20ms = {
		.it_interval = { .tv_usec = 20000 },
		.it_value = { .tv_usec = 20000 },
	};
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct vb_client *c = NULL;
	int lfd, first, status;
	char dir[] = "/tmp/vb-test-client-XXXXXX";
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/b.sock", dir);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	/* backlog 0 queues one connection; the next finds it full */
	first = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(connect(first, (struct sockaddr *)&sun, sizeof(sun)), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {	/* the broker, accepting only after 300 ms */
		int afd;
		struct pollfd pf = { .fd = -1, .events = POLLIN };

		usleep(300000);
		close(accept(lfd, NULL, NULL));
		afd = accept(lfd, NULL, NULL);
		if (afd < 0)
			_exit(2);
		fake_welcome(afd, 1, 1, 4, 16);
		pf.fd = afd;	/* the client's retry may lag the accept */
		if (poll(&pf, 1, 10000) != 1)
			_exit(3);
		fake_read(afd, 0);	/* HELLO */
		_exit(0);
	}
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &every_20ms, NULL), 0);
	ck_assert_int_eq(vb_client_connect_flags(sun.sun_path, DEV,
						 VB_CLIENT_NO_RING, &c), 0);
	every_20ms = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &every_20ms, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(fcntl(vb_client_fd(c), F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	vb_client_close(c);
	close(first);
	close(lfd);
	unlink(sun.sun_path);
	rmdir(dir);
}
END_TEST

START_TEST(connect_errors)
{
	struct vb_client *c = (struct vb_client *)1;
	char longpath[200];

	ck_assert_int_eq(vb_client_connect("/nonexistent/vb.sock", DEV, &c),
			 -ENOENT);
	ck_assert_ptr_null(c);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(vb_client_connect(longpath, DEV, &c), -ENAMETOOLONG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("client");

	tcase_add_test(tc, handshake);
	tcase_add_test(tc, handshake_device_fd);
	tcase_add_test(tc, handshake_refusals);
	tcase_add_test(tc, sync_calls);
	tcase_add_test(tc, spin_wait);
	tcase_add_test(tc, sync_failure_leaves_res);
	tcase_add_test(tc, spin_within_timeout);
	tcase_add_test(tc, pipelined_window_and_order);
	tcase_add_test(tc, sync_after_pipelined);
	tcase_add_test(tc, hangup);
	tcase_add_test(tc, hangup_on_send);
	tcase_add_test(tc, hangup_on_send_keeps_replies);
	tcase_add_test(tc, malformed_replies);
	tcase_add_test(tc, stats_success_without_counters);
	tcase_add_test(tc, unsolicited_reply);
	tcase_add_test(tc, callback_may_submit);
	tcase_add_test(tc, connect_errors);
	tcase_add_test(tc, connect_waits_for_full_backlog);
	tcase_add_test(tc, ring_unsolicited_reply);
	tcase_add_test(tc, idle_hangup);
	tcase_add_test(tc, timeout_despite_signals);
	tcase_add_test(tc, timeout_after_one_signal);
	tcase_add_test(tc, close_cancels_outstanding);
	tcase_add_test(tc, callback_may_close);
	tcase_add_test(tc, timeout_on_silent_broker);
	tcase_add_test(tc, ring_calls);
	tcase_add_test(tc, ring_unusable);
	tcase_add_test(tc, ring_opt_out);
	tcase_add_test(tc, unknown_open_flag);
	tcase_add_test(tc, ring_kick);
	tcase_add_test(tc, ring_event_loop);
	tcase_add_test(tc, ring_owed_wake_never_comes);
	tcase_add_test(tc, ring_owed_wake_malformed);
	tcase_add_test(tc, ring_unasked_wake);
	tcase_add_test(tc, ring_hangup_and_garbage);
	suite_add_tcase(s, tc);
	return vb_check_run(s);
}
