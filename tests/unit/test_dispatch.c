/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dispatch.c's HELLO: who may claim which device over the listening socket
 * (uid and gid lists, VB_DEVICE_ANY, EBUSY, EPERM, ENODEV, no common
 * version), what WELCOME carries, and that a refused peer is closed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create */
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "broker/batcher.h"
#include "broker/dispatch.h"
#include "broker/domain.h"
#include "broker/holder.h"
#include "broker/peer.h"
#include "proto/codec.h"
#include "check_main.h"

static const char conf[] =
	"[broker]\nmax_entries = 100\nwindow = 9\n"
	"[ram lo]\nsize = 1M\n[ram hi]\ngpa = 4G\nsize = 2M\n"
	"[device 1]\ngroup = sim\ndomain = s\niova = 0x100000 1M\niova = 0x400000 1M\nuid = 1000\n"
	"[device 2]\ngroup = sim\ndomain = s\niova = 0x200000 1M\ngid = 100\n"
	"[device 3]\ngroup = sim\niova = 0x100000 1M\nuid = 2000\n";

static struct broker br;

static void setup(void)
{
	char err[256];

	memset(&br, 0, sizeof(br));
	TAILQ_INIT(&br.peers);
	ck_assert_int_eq(config_parse(conf, "t", &br.cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_sim_create(&br.be), 0);
	br.base = event_base_new();
	ck_assert_int_eq(memory_init(&br.mem, br.cfg), 0);
	ck_assert_int_eq(domain_setup(&br), 0);
	ck_assert_int_eq(batcher_init(&br), 0);
	br.rxbuf = malloc(VB_MSG_MAX_LEN);
}

static void teardown(void)
{
	peer_close_all(&br);
	batcher_fini(&br);
	domain_teardown(&br);
	br.be->ops->destroy(br.be);
	memory_fini(&br.mem);
	event_base_free(br.base);
	free(br.rxbuf);
	config_free(br.cfg);
}

/*
 * A listening-socket peer of process @pid as uid/gid, with a pidfd for it
 * as listener.c takes one (@pid 0: none); returns the client end.
 */
static int connect_pid(pid_t pid, uid_t uid, gid_t gid, struct peer **out)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	*out = peer_new(&br, sv[0], NULL, pid ? pid : 4242, uid, gid);
	ck_assert_ptr_nonnull(*out);
	if (pid) {
		(*out)->pidfd = pidfd_open(pid, 0);
		ck_assert_int_ge((*out)->pidfd, 0);
	}
	return sv[1];
}

/* The same from a process the broker cannot follow (no pidfd). */
static int connect_as(uid_t uid, gid_t gid, struct peer **out)
{
	return connect_pid(0, uid, gid, out);
}

static void hello(struct peer *p, uint16_t min, uint16_t max, uint32_t dev)
{
	struct vb_hello h = { min, max, dev, 0, 0 };
	uint8_t buf[64];
	struct vb_msg m;
	ssize_t n = vb_encode_hello(buf, sizeof(buf), 5, &h);

	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_BROKER, 0, 0, &m), 0);
	ck_assert_int_eq(dispatch_message(p, &m), 0);
}

/* Read WELCOME (returning its body) or a refusal (returning -status). */
static int answer(int fd, struct vb_welcome *w, struct vb_range *iova,
		  struct vb_ram_region *ram, int *fds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VB_MAX_WELCOME_FDS)];
		struct cmsghdr align;
	} cbuf;
	uint8_t buf[1024];
	struct iovec io = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	unsigned int nfds = 0;
	struct vb_reply r;
	struct vb_msg m;
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

	ck_assert_int_gt(n, 0);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		memcpy(fds + nfds, CMSG_DATA(c), k * sizeof(int));
		nfds += (unsigned int)k;
	}
	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, 0, nfds, &m), 0);
	ck_assert_uint_eq(m.hdr.id, 5);
	if (m.hdr.type == VB_MSG_REPLY) {
		ck_assert_int_eq(vb_msg_reply(&m, &r), 0);
		ck_assert_uint_eq(r.failed_index, VB_NO_INDEX);
		ck_assert_uint_eq(nfds, 0);
		return -r.status;
	}
	ck_assert_uint_eq(m.hdr.type, VB_MSG_WELCOME);
	ck_assert_int_eq(vb_msg_welcome(&m, w, iova, ram), 0);
	ck_assert_uint_eq(nfds, vb_welcome_nfds(w));
	return 0;
}

static int claim_pid(pid_t pid, uid_t uid, gid_t gid, uint32_t dev,
		     struct peer **pp, uint32_t *got)
{
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	int fds[VB_MAX_WELCOME_FDS];
	struct vb_welcome w;
	int fd = connect_pid(pid, uid, gid, pp), ret;

	hello(*pp, 1, 1, dev);
	ret = answer(fd, &w, iova, ram, fds);
	if (!ret) {
		*got = w.device_id;
		for (unsigned int i = 0; i < vb_welcome_nfds(&w); i++)
			close(fds[i]);
	}
	close(fd);
	return ret;
}

static int claim(uid_t uid, gid_t gid, uint32_t dev, struct peer **pp,
		 uint32_t *got)
{
	return claim_pid(0, uid, gid, dev, pp, got);
}

/*
 * A device with a device fd (a memfd stands in for the VFIO fd, which
 * domain_setup() would have opened through the backend) sends it last in
 * WELCOME, flagged, and only lends it: the broker keeps its own copy for
 * the next claim.
 */
START_TEST(welcome_device_fd)
{
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	int fds[VB_MAX_WELCOME_FDS];
	struct stat mine, got;
	struct vb_welcome w;
	struct peer *p;
	int fd, devfd = memfd_create("vfio-device", MFD_CLOEXEC);

	ck_assert_int_ge(devfd, 0);
	ck_assert_int_eq(fstat(devfd, &mine), 0);
	br.devices[0].device_fd = devfd;
	for (int round = 0; round < 2; round++) {
		fd = connect_pid(getpid(), 1000, 1000, &p);
		hello(p, 1, 1, 1);
		ck_assert_int_eq(answer(fd, &w, iova, ram, fds), 0);
		ck_assert_uint_eq(w.flags, VB_WELCOME_F_DEVICE_FD);
		ck_assert_uint_eq(w.n_ram, 2);
		ck_assert_int_eq(fstat(fds[2], &got), 0);
		ck_assert_uint_eq(got.st_ino, mine.st_ino);
		ck_assert_uint_eq(got.st_dev, mine.st_dev);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		close(fd);
		ck_assert_int_eq(fcntl(devfd, F_GETFD) >= 0, 1);
		peer_close_all(&br);
		ck_assert_ptr_null(br.devices[0].owner);
	}
	/* the other devices have none */
	fd = connect_as(2000, 2000, &p);
	hello(p, 1, 1, 3);
	ck_assert_int_eq(answer(fd, &w, iova, ram, fds), 0);
	ck_assert_uint_eq(w.flags, 0);
	close(fds[0]);
	close(fds[1]);
	close(fd);
	/* teardown's domain_teardown() closes it */
}
END_TEST

/* A child that waits to be killed. */
static pid_t idle_child(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (!pid) {
		pause();
		_exit(0);
	}
	return pid;
}

static void end_child(pid_t pid)
{
	int status;

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

static void drop(struct peer *p)
{
	peer_fail(p, "test");
	event_base_loop(br.base, EVLOOP_NONBLOCK);
}

/*
 * A device fd cannot be taken back: while the process it was lent to
 * runs, only that process may claim the device again; once it has
 * exited, anyone allowed may. A process the broker cannot follow is
 * never lent one.
 */
START_TEST(device_fd_holder)
{
	pid_t holder = idle_child(), other = idle_child(), dead;
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	int fds[VB_MAX_WELCOME_FDS];
	struct vb_welcome w;
	struct peer *p;
	uint32_t got = 0;
	int fd;

	br.devices[0].device_fd = memfd_create("vfio-device", MFD_CLOEXEC);
	ck_assert_int_ge(br.devices[0].device_fd, 0);
	/*
	 * no pidfd: refused by name, and by ANY with the same EPERM (no
	 * retry can help, EBUSY would say one might); sim devices unaffected
	 */
	ck_assert_int_eq(claim(1000, 1, 1, &p, &got), -EPERM);
	ck_assert_int_eq(claim(1000, 1, VB_DEVICE_ANY, &p, &got), -EPERM);
	ck_assert_int_eq(claim(2000, 1, 3, &p, &got), 0);
	drop(p);
	/* the process that connected has exited: its socket may live on in a
	 * child the broker cannot follow */
	dead = idle_child();
	fd = connect_pid(dead, 1000, 1, &p);
	end_child(dead);
	hello(p, 1, 1, 1);
	ck_assert_int_eq(answer(fd, &w, iova, ram, fds), -EPERM);
	ck_assert_int_lt(br.devices[0].holder_pidfd, 0);
	close(fd);

	ck_assert_int_eq(claim_pid(holder, 1000, 1, 1, &p, &got), 0);
	drop(p);
	ck_assert_ptr_null(br.devices[0].owner);
	ck_assert_int_eq(br.devices[0].holder_pid, holder);
	/* the holder lives on: refused by name, skipped by ANY */
	ck_assert_int_eq(claim_pid(other, 1000, 1, 1, &p, &got), -EBUSY);
	ck_assert_int_eq(claim_pid(other, 1000, 1, VB_DEVICE_ANY, &p, &got), -EBUSY);
	ck_assert_ptr_null(br.devices[0].owner);
	/* the holder itself may come back, and keeps its one pidfd */
	ck_assert_int_eq(claim_pid(holder, 1000, 1, 1, &p, &got), 0);
	ck_assert_int_ge(p->pidfd, 0);
	drop(p);
	/* once it has exited, the device is free */
	end_child(holder);
	ck_assert_int_eq(claim_pid(other, 1000, 1, VB_DEVICE_ANY, &p, &got), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert_int_eq(br.devices[0].holder_pid, other);
	drop(p);
	end_child(other);
	/* a dead holder does not keep anyone out */
	ck_assert_int_eq(claim_pid(getpid(), 1000, 1, 1, &p, &got), 0);
}
END_TEST

/*
 * A client whose WELCOME could not be sent (its socket stopped reading
 * right after HELLO) never got the device fd, so while its process lives
 * it must not keep the device from the next client.
 */
START_TEST(device_fd_not_sent_not_held)
{
	pid_t quitter = idle_child(), other = idle_child();
	struct peer *p;
	uint32_t got = 0;
	int fd;

	br.devices[0].device_fd = memfd_create("vfio-device", MFD_CLOEXEC);
	ck_assert_int_ge(br.devices[0].device_fd, 0);
	fd = connect_pid(quitter, 1000, 1, &p);
	ck_assert_int_eq(shutdown(fd, SHUT_RD), 0);	/* sendmsg: EPIPE */
	hello(p, 1, 1, 1);
	ck_assert_int_eq(p->state, PEER_DEAD);
	ck_assert_int_lt(br.devices[0].holder_pidfd, 0);
	event_base_loop(br.base, EVLOOP_NONBLOCK);
	close(fd);
	ck_assert_int_eq(claim_pid(other, 1000, 1, 1, &p, &got), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert_int_eq(br.devices[0].holder_pid, other);
	drop(p);
	end_child(other);
	end_child(quitter);
}
END_TEST

/* listener.c's pidfd names the connecting process (SO_PEERPIDFD or pid). */
START_TEST(peer_pidfd)
{
	char path[64], line[128];
	int sv[2], pidfd, pid = -1;
	FILE *f;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pidfd = holder_peer_pidfd(sv[0], getpid());
	ck_assert_int_ge(pidfd, 0);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	ck_assert_int_eq(pid, getpid());
	close(pidfd);
	/* a pid of 0 (a peer outside our pid namespace) gets none, though
	 * SO_PEERPIDFD would give one: such peers cannot be told apart */
	ck_assert_int_lt(holder_peer_pidfd(sv[0], 0), 0);
	close(sv[0]);
	close(sv[1]);
	/* not a socket, and no pid to fall back on */
	ck_assert_int_lt(holder_peer_pidfd(-1, 0), 0);
}
END_TEST

START_TEST(welcome_contents)
{
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	int fds[VB_MAX_RAM_REGIONS];
	struct vb_welcome w;
	struct peer *p;
	int fd = connect_as(1000, 1000, &p);

	hello(p, 1, 7, 1);
	ck_assert_int_eq(answer(fd, &w, iova, ram, fds), 0);
	ck_assert_uint_eq(w.version, 1);
	ck_assert_uint_eq(w.device_id, 1);
	ck_assert_uint_eq(w.domain_id, 1);
	ck_assert_uint_eq(w.page_size, VB_PAGE_SIZE);
	ck_assert_uint_eq(w.max_entries, 100);
	ck_assert_uint_eq(w.window, 9);
	ck_assert_uint_eq(w.n_iova, 2);
	ck_assert_uint_eq(iova[1].start, 0x400000);
	ck_assert_uint_eq(w.n_ram, 2);
	ck_assert_uint_eq(ram[1].gpa, 4ull << 30);
	ck_assert_uint_eq(ram[1].size, 2 << 20);
	ck_assert_uint_eq(ram[1].flags, VB_RAM_F_SHARED);
	ck_assert_uint_eq(w.flags, 0);	/* a sim device has no device fd */
	/* the fd really is region 1's memory: write here, read in the broker */
	ck_assert_int_eq(pwrite(fds[1], "dma!", 4, 4096), 4);
	ck_assert_int_eq(memcmp(br.mem.r[1].va + 4096, "dma!", 4), 0);
	ck_assert_ptr_eq(br.devices[0].owner, p);
	ck_assert_int_eq(p->state, PEER_READY);
	ck_assert_uint_eq(p->version, 1);
	close(fds[0]);
	close(fds[1]);
	close(fd);
}
END_TEST

START_TEST(claims)
{
	struct peer *p1, *p2, *p;
	uint32_t got = 0;

	/* uid list */
	ck_assert_int_eq(claim(1000, 1, 1, &p1, &got), 0);
	ck_assert_uint_eq(got, 1);
	/* second claim of the same device */
	ck_assert_int_eq(claim(1000, 1, 1, &p, &got), -EBUSY);
	/* gid list, and ANY skipping the claimed device */
	ck_assert_int_eq(claim(1000, 100, VB_DEVICE_ANY, &p2, &got), 0);
	ck_assert_uint_eq(got, 2);
	/* everything this identity may claim is taken */
	ck_assert_int_eq(claim(1000, 100, VB_DEVICE_ANY, &p, &got), -EBUSY);
	/* not listed anywhere, root included */
	ck_assert_int_eq(claim(0, 0, VB_DEVICE_ANY, &p, &got), -EPERM);
	ck_assert_int_eq(claim(0, 0, 3, &p, &got), -EPERM);
	ck_assert_int_eq(claim(1000, 1, 3, &p, &got), -EPERM);
	ck_assert_int_eq(claim(1000, 1, 99, &p, &got), -ENODEV);
	/* another uid's device */
	ck_assert_int_eq(claim(2000, 1, VB_DEVICE_ANY, &p, &got), 0);
	ck_assert_uint_eq(got, 3);
	/* a released device can be claimed again */
	peer_fail(p1, "test");
	event_base_loop(br.base, EVLOOP_NONBLOCK);
	ck_assert_ptr_null(br.devices[0].owner);
	ck_assert_int_eq(claim(1000, 1, VB_DEVICE_ANY, &p, &got), 0);
	ck_assert_uint_eq(got, 1);
	(void)p2;
}
END_TEST

/* The sim's ops, but the next unmap_failures unmaps fail, unmapping nothing. */
static struct backend_ops failing_ops;
static int (*sim_unmap)(struct backend_domain *, const struct backend_unmap_entry *,
			size_t, struct backend_result *);
static int unmap_failures;

static int unmap_maybe_failing(struct backend_domain *d,
			       const struct backend_unmap_entry *e, size_t n,
			       struct backend_result *res)
{
	if (unmap_failures > 0) {
		unmap_failures--;
		res->pages_done = 0;
		return -EIO;
	}
	return sim_unmap(d, e, n, res);
}

static uint64_t mapped_in_s(void)
{
	struct backend_usage u = { 0 };

	br.be->ops->usage(br.domains[0].bd, &u);
	return u.mapped_pages;
}

/*
 * When a client's pages cannot be released as it goes, its device is not
 * handed to the next client with them: the claim releases them first, and
 * is refused (EIO) while that still fails; a claim of any device takes
 * the next one instead.
 */
START_TEST(unreleased_device)
{
	struct vb_map_entry e = { 0x100000, 0, 3, VB_PROT_READ | VB_PROT_WRITE, 0 };
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	int fds[VB_MAX_WELCOME_FDS];
	struct vb_welcome w;
	struct vb_reply r;
	uint8_t buf[256];
	struct peer *p;
	struct vb_msg m;
	uint32_t got = 0;
	int fd = connect_as(1000, 1000, &p);
	ssize_t n;

	hello(p, 1, 1, 1);
	ck_assert_int_eq(answer(fd, &w, iova, ram, fds), 0);
	for (unsigned int i = 0; i < vb_welcome_nfds(&w); i++)
		close(fds[i]);
	ck_assert_int_eq(vb_decode(buf, (size_t)vb_encode_map(buf, sizeof(buf), 1, 5, &e, 1),
				   VB_DIR_TO_BROKER, 1, 0, &m), 0);
	ck_assert_int_eq(dispatch_message(p, &m), 0);
	batcher_flush(&br);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, 1, 0, &m), 0);
	ck_assert_int_eq(vb_msg_reply(&m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(mapped_in_s(), 3);

	failing_ops = *br.be->ops;
	sim_unmap = failing_ops.unmap;
	failing_ops.unmap = unmap_maybe_failing;
	br.be->ops = &failing_ops;
	/* device 1's release as its client goes, at the ANY claim, and at
	 * the named one; device 2's as the ANY client is dropped */
	unmap_failures = 4;
	peer_fail(p, "test");
	event_base_loop(br.base, EVLOOP_NONBLOCK);
	close(fd);
	ck_assert_ptr_null(br.devices[0].owner);
	ck_assert(br.devices[0].unreleased);
	ck_assert_uint_eq(mapped_in_s(), 3);
	/* the second failure: ANY passes it over for the next device */
	ck_assert_int_eq(claim(1000, 100, VB_DEVICE_ANY, &p, &got), 0);
	ck_assert_uint_eq(got, 2);
	ck_assert(br.devices[0].unreleased);
	drop(p);
	/* the third failure: named, refused, the pages still there */
	ck_assert_int_eq(claim(1000, 1000, 1, &p, &got), -EIO);
	ck_assert_ptr_null(br.devices[0].owner);
	ck_assert_uint_eq(mapped_in_s(), 3);
	/* then the release works, and the client starts with nothing */
	ck_assert_int_eq(claim(1000, 1000, 1, &p, &got), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert(!br.devices[0].unreleased);
	ck_assert_uint_eq(mapped_in_s(), 0);
	ck_assert_uint_eq(br.domains[0].stats.pages_released, 3);
}
END_TEST

START_TEST(refused_peer_is_closed)
{
	struct peer *p;
	uint32_t got;
	char c;
	int fd = connect_as(0, 0, &p);

	hello(p, 1, 1, 1);
	ck_assert_int_lt(answer(fd, NULL, NULL, NULL, NULL), 0);
	ck_assert_int_ne(p->state, PEER_READY);
	event_base_loop(br.base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(br.n_peers, 0);
	/* EOF on the client side */
	ck_assert_int_eq(recv(fd, &c, 1, 0), 0);
	close(fd);
	ck_assert_ptr_null(br.devices[0].owner);
	(void)got;
}
END_TEST

static void close_fds(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

static void send_simple(struct peer *p, uint16_t type)
{
	uint8_t buf[64];
	struct vb_msg m;
	ssize_t n = vb_encode_simple(buf, sizeof(buf), 1, type, 77);

	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_BROKER, 1, 0, &m), 0);
	dispatch_message(p, &m);
}

/* A client of device 1 whose HELLO asked for, and got, a shared ring. */
static int ring_client(struct peer **p)
{
	struct vb_hello h = { 1, 1, 1, VB_HELLO_F_RING, 0 };
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	int fds[VB_MAX_WELCOME_FDS];
	struct vb_welcome w;
	uint8_t buf[64];
	struct vb_msg m;
	int fd = connect_as(1000, 1, p);
	ssize_t n = vb_encode_hello(buf, sizeof(buf), 5, &h);

	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_BROKER, 0, 0, &m), 0);
	ck_assert_int_eq(dispatch_message(*p, &m), 0);
	ck_assert_int_eq(answer(fd, &w, iova, ram, fds), 0);
	close_fds(fds, vb_welcome_nfds(&w));
	ck_assert(w.flags & VB_WELCOME_F_RING);
	ck_assert_ptr_nonnull((*p)->ring.base);
	return fd;
}

/*
 * A ring client may KICK once per time the broker asked for one (its idle
 * announcements); the first KICK beyond that drops it, even the very
 * first one when nothing was asked.
 */
START_TEST(kick_allowance)
{
	struct peer *p;
	int fd = ring_client(&p);

	p->ring_idle_sets = 2;
	send_simple(p, VB_MSG_KICK);
	send_simple(p, VB_MSG_KICK);
	ck_assert_int_eq(p->state, PEER_READY);
	send_simple(p, VB_MSG_KICK);
	ck_assert_int_ne(p->state, PEER_READY);
	close(fd);

	/* nothing asked for: the first KICK is one too many */
	event_base_loop(br.base, EVLOOP_NONBLOCK);
	fd = ring_client(&p);
	ck_assert_uint_eq(p->ring_idle_sets, 0);
	send_simple(p, VB_MSG_KICK);
	ck_assert_int_ne(p->state, PEER_READY);
	close(fd);
}
END_TEST

START_TEST(no_common_version)
{
	struct peer *p;
	int fd = connect_as(1000, 1, &p);

	hello(p, 2, 9, 1);
	ck_assert_int_eq(answer(fd, NULL, NULL, NULL, NULL), -EPROTONOSUPPORT);
	ck_assert_ptr_null(br.devices[0].owner);
	close(fd);
}
END_TEST

/* A connection that never says HELLO is dropped at its deadline; one that
 * did is left alone when the timer fires. */
START_TEST(hello_deadline)
{
	struct timeval tv = { .tv_sec = 2 };
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	int fds[VB_MAX_WELCOME_FDS];
	struct peer *silent, *talker;
	int fs = connect_as(1000, 1, &silent);
	int ft = connect_as(1000, 1, &talker);
	struct vb_welcome w;
	char c;

	struct peer *spawned;
	int sv[2];

	ck_assert_int_eq(peer_count_new(&br, 1000), 2);
	ck_assert_int_eq(peer_count_new(&br, 2000), 0);
	/* a devproc the broker spawned (bound to its device) is not a caller
	 * of the listening socket, whatever its uid */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	spawned = peer_new(&br, sv[0], &br.devices[0], 4343, 1000, 1);
	ck_assert_ptr_nonnull(spawned);
	ck_assert_int_eq(peer_count_new(&br, 1000), 2);
	drop(spawned);
	close(sv[1]);
	ck_assert_int_eq(peer_set_deadline(silent, 1), 0);
	ck_assert_int_eq(peer_set_deadline(talker, 1), 0);
	hello(talker, 1, 1, 1);
	ck_assert_int_eq(answer(ft, &w, iova, ram, fds), 0);
	for (unsigned int i = 0; i < vb_welcome_nfds(&w); i++)
		close(fds[i]);
	ck_assert_int_eq(peer_count_new(&br, 1000), 1);
	event_base_loopexit(br.base, &tv);
	event_base_dispatch(br.base);
	ck_assert_uint_eq(br.n_peers, 1);
	ck_assert_ptr_eq(TAILQ_FIRST(&br.peers), talker);
	ck_assert_int_eq(talker->state, PEER_READY);
	ck_assert_int_eq(recv(fs, &c, 1, 0), 0);	/* EOF */
	close(fs);
	close(ft);
}
END_TEST

/* A backend that attaches groups: the sim's ops plus a counting attach. */
static struct backend_ops group_ops;
static int group_attaches;

static int count_attach(struct backend_domain *d, int group_nr)
{
	(void)d;
	(void)group_nr;
	group_attaches++;
	return 0;
}

static int setup_groups(const char *text)
{
	struct broker b;
	char err[256];
	int ret;

	memset(&b, 0, sizeof(b));
	TAILQ_INIT(&b.peers);
	ck_assert_int_eq(config_parse(text, "g", &b.cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_sim_create(&b.be), 0);
	group_ops = *b.be->ops;
	group_ops.domain_attach_group = count_attach;
	b.be->ops = &group_ops;
	group_attaches = 0;
	ret = domain_setup(&b);
	domain_teardown(&b);
	b.be->ops->destroy(b.be);
	config_free(b.cfg);
	return ret;
}

/*
 * While the fd gate is up the broker reads no connection without HELLO,
 * so the HELLO deadline must not drop one then (its HELLO may be queued);
 * it counts again once the gate is down.
 */
START_TEST(hello_deadline_waits_out_gate)
{
	struct timeval tv = { .tv_sec = 1, .tv_usec = 500000 };
	struct peer *waiting;
	int fd = connect_as(1000, 1, &waiting);

	br.fds_gated = true;
	ck_assert_int_eq(peer_set_deadline(waiting, 1), 0);
	event_base_loopexit(br.base, &tv);
	event_base_dispatch(br.base);
	ck_assert_uint_eq(br.n_peers, 1);
	ck_assert_int_eq(waiting->state, PEER_NEW);
	br.fds_gated = false;
	event_base_loopexit(br.base, &tv);
	event_base_dispatch(br.base);
	ck_assert_uint_eq(br.n_peers, 0);
	close(fd);
}
END_TEST

/* Functions of one card share an IOMMU group: in one domain the group is
 * attached once; in two IOVA spaces it cannot be, and start-up says so. */
START_TEST(shared_group)
{
	ck_assert_int_eq(setup_groups("[ram r]\nsize = 1M\n"
		"[device 1]\ngroup = 7\ndomain = s\niova = 0x100000 1M\n"
		"[device 2]\ngroup = 7\ndomain = s\niova = 0x200000 1M\n"
		"[device 3]\ngroup = 8\niova = 0x100000 1M\n"), 0);
	ck_assert_int_eq(group_attaches, 2);
	ck_assert_int_eq(setup_groups("[ram r]\nsize = 1M\n"
		"[device 1]\ngroup = 7\ndomain = s\niova = 0x100000 1M\n"
		"[device 2]\ngroup = 7\nfenced = yes\niova = 0x100000 1M\n"),
		-EINVAL);
	ck_assert_int_eq(group_attaches, 1);
}
END_TEST

static Suite *dispatch_suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("hello");

	tcase_add_checked_fixture(tc, setup, teardown);
	/* hello_deadline waits 2 s; Check's 4 s default flakes under load */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, welcome_device_fd);
	tcase_add_test(tc, kick_allowance);
	tcase_add_test(tc, device_fd_holder);
	tcase_add_test(tc, device_fd_not_sent_not_held);
	tcase_add_test(tc, peer_pidfd);
	tcase_add_test(tc, welcome_contents);
	tcase_add_test(tc, claims);
	tcase_add_test(tc, unreleased_device);
	tcase_add_test(tc, refused_peer_is_closed);
	tcase_add_test(tc, no_common_version);
	tcase_add_test(tc, hello_deadline);
	tcase_add_test(tc, hello_deadline_waits_out_gate);
	suite_add_tcase(s, tc);
	tc = tcase_create("groups");
	tcase_add_test(tc, shared_group);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(dispatch_suite());
}
