/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spawn.c end to end: the broker starts this very binary as a devproc
 * (argv[1] = "--child"), which checks its arguments, says HELLO on fd 3 and
 * expects WELCOME for its own device; a child asking for another device is
 * refused with EPERM. Exit statuses are recorded and --exit-when-done fires
 * once children and connections are gone. Bare program names resolve
 * beside the broker's executable.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/batcher.h"
#include "broker/domain.h"
#include "broker/peer.h"
#include "broker/spawn.h"
#include "proto/codec.h"
#include "check_main.h"

static char self[PATH_MAX];

/* The child side. Exit codes: 0 welcome as expected, 10+ what went wrong. */
static int child_main(int argc, char **argv)
{
	uint8_t buf[1024];
	struct vb_hello h = { 1, 1, VB_DEVICE_ANY, 0, 0 };
	struct vb_welcome w;
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_reply r;
	struct vb_msg m;
	uint32_t want;
	ssize_t n;

	/* argv: self --child WANT_DEVICE(or any) --socket-fd 3 --device ID */
	if (argc != 7 || strcmp(argv[3], "--socket-fd") || strcmp(argv[4], "3") ||
	    strcmp(argv[5], "--device"))
		return 10;
	/* "ignore-term": a devproc that does not stop when told to */
	if (!strcmp(argv[2], "ignore-term"))
		signal(SIGTERM, SIG_IGN);
	/* nothing of the broker's but fd 3, stdout and stderr; stdin empty */
	for (int fd = 4; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			return 15;
	n = readlink("/proc/self/fd/0", (char *)buf, sizeof(buf) - 1);
	if (n < 0 || (buf[n] = 0, strcmp((char *)buf, "/dev/null")))
		return 16;
	if (!strcmp(argv[2], "ignore-term") || !strcmp(argv[2], "sleep"))
		for (;;)
			pause();
	want = (uint32_t)strtoul(argv[6], NULL, 10);
	if (strcmp(argv[2], "any"))
		h.device_id = (uint32_t)strtoul(argv[2], NULL, 10);
	n = vb_encode_hello(buf, sizeof(buf), 77, &h);
	if (n < 0 || send(3, buf, (size_t)n, 0) != n)
		return 11;
	union {
		char b[CMSG_SPACE(sizeof(int) * VB_MAX_RAM_REGIONS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec io = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1,
			     .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b) };
	unsigned int nfds = 0;

	n = recvmsg(3, &mh, 0);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_type == SCM_RIGHTS)
			nfds += (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	if (n <= 0 || vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, 0, nfds, &m))
		return 12;
	if (m.hdr.type == VB_MSG_REPLY && !vb_msg_reply(&m, &r))
		return r.status == EPERM ? 20 : 13;
	if (m.hdr.type != VB_MSG_WELCOME || vb_msg_welcome(&m, &w, iova, ram) ||
	    w.device_id != want || m.hdr.id != 77)
		return 14;
	return 0;
}

static struct broker br;
static int inherited = -1;

static void start(const char *spawn2)
{
	char conf[2 * PATH_MAX + 512], err[256];

	snprintf(conf, sizeof(conf),
		 "[ram r]\nsize = 1M\n"
		 "[device 5]\ngroup = sim\niova = 0x100000 1M\nspawn = %s --child any\n"
		 "[device 6]\ngroup = sim\niova = 0x100000 1M\nspawn = %s\n",
		 self, spawn2);
	memset(&br, 0, sizeof(br));
	TAILQ_INIT(&br.peers);
	ck_assert_int_eq(config_parse(conf, "t", &br.cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_sim_create(&br.be), 0);
	br.base = event_base_new();
	ck_assert_int_eq(memory_init(&br.mem, br.cfg), 0);
	ck_assert_int_eq(domain_setup(&br), 0);
	ck_assert_int_eq(batcher_init(&br), 0);
	br.rxbuf = malloc(VB_MSG_MAX_LEN);
	br.exit_when_done = true;
	/* what a broker may inherit from whoever started it */
	inherited = dup(STDERR_FILENO);
	ck_assert_int_gt(inherited, 3);
	for (unsigned int i = 0; i < br.n_devices; i++)
		ck_assert_int_eq(spawn_device(&br, &br.devices[i]), 0);
	ck_assert_uint_eq(br.n_children, 2);
}

/* start() with device 6 running this binary as "--child @mode". */
static void start_child(const char *mode)
{
	char other[PATH_MAX + 32];

	snprintf(other, sizeof(other), "%s --child %s", self, mode);
	start(other);
}

/* One pass of what the broker's loop does for its children, then 5 ms. */
static void pass(void)
{
	struct timespec ts = { .tv_nsec = 5 * 1000 * 1000 };

	event_base_loop(br.base, EVLOOP_NONBLOCK);
	spawn_reap(&br);
	nanosleep(&ts, NULL);
}

/* Run the loop and reap until device @i's child is done (10 s at most). */
static void run_until_done(unsigned int i)
{
	for (int k = 0; k < 2000 && !br.devices[i].child_done; k++)
		pass();
	ck_assert(br.devices[i].child_done);
}

/* Run the loop and reap until every child is done (10 s at most). */
static void run(void)
{
	for (int i = 0; i < 2000 && !br.stopping; i++) {
		pass();
		broker_check_done(&br);
	}
	ck_assert(br.stopping);
	ck_assert_uint_eq(br.n_children_live, 0);
	ck_assert_uint_eq(br.n_peers, 0);
}

static void stop(void)
{
	peer_close_all(&br);
	batcher_fini(&br);
	domain_teardown(&br);
	br.be->ops->destroy(br.be);
	memory_fini(&br.mem);
	event_base_free(br.base);
	free(br.rxbuf);
	config_free(br.cfg);
	close(inherited);
}

static int status_of(unsigned int i)
{
	ck_assert(br.devices[i].child_done);
	ck_assert(WIFEXITED(br.devices[i].child_status));
	return WEXITSTATUS(br.devices[i].child_status);
}

START_TEST(spawned_devices_get_welcome)
{
	start_child("6");
	run();
	ck_assert_int_eq(status_of(0), 0);
	ck_assert_int_eq(status_of(1), 0);
	ck_assert(!br.child_failed);
	stop();
}
END_TEST

START_TEST(spawned_device_may_not_claim_another)
{
	start_child("5");
	run();
	ck_assert_int_eq(status_of(0), 0);
	ck_assert_int_eq(status_of(1), 20);	/* EPERM refusal */
	ck_assert(!br.devices[0].child_failed);
	ck_assert(br.devices[1].child_failed);
	ck_assert(br.child_failed);
	stop();
}
END_TEST

/* Whether @pid ignores SIGTERM yet (its SigIgn mask in /proc). */
static bool ignores_term(pid_t pid)
{
	char path[64], line[128];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigIgn: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask & (1ULL << (SIGTERM - 1));
}

/*
 * A devproc that ignores SIGTERM is killed at shutdown, and its end is
 * recorded every time (not only when the reap after SIGKILL happened to
 * find it dead already), as a failure.
 */
START_TEST(stop_kills_and_records)
{
	pid_t pid;

	start_child("ignore-term");
	run_until_done(0);
	ck_assert_int_eq(status_of(0), 0);
	pid = br.devices[1].child;
	for (int k = 0; k < 1000 && !ignores_term(pid); k++)
		usleep(10000);
	ck_assert(ignores_term(pid));
	spawn_stop_all(&br, 100);
	ck_assert(br.devices[1].child_done);
	ck_assert(WIFSIGNALED(br.devices[1].child_status));
	ck_assert_int_eq(WTERMSIG(br.devices[1].child_status), SIGKILL);
	ck_assert(br.devices[1].child_failed);
	ck_assert(br.child_failed);
	ck_assert_uint_eq(br.n_children_live, 0);
	stop();
}
END_TEST

/*
 * A SIGTERM from elsewhere, before the broker stops, is the devproc
 * failing, and stays so once the broker is stopping (the summary is
 * written then).
 */
START_TEST(killed_before_stop_counts_as_failed)
{
	start_child("sleep");
	run_until_done(0);
	ck_assert_int_eq(kill(br.devices[1].child, SIGTERM), 0);
	run_until_done(1);
	ck_assert(!br.devices[0].child_failed);
	ck_assert(br.devices[1].child_failed);
	spawn_stop_all(&br, 100);
	ck_assert(br.devices[1].child_failed);
	ck_assert(br.child_failed);
	stop();
}
END_TEST

START_TEST(failing_program_is_recorded)
{
	start("/bin/false");
	run();
	ck_assert_int_eq(status_of(0), 0);
	ck_assert_int_ne(status_of(1), 0);
	ck_assert(br.child_failed);
	stop();
}
END_TEST

START_TEST(resolve_names)
{
	char out[PATH_MAX], *base = strrchr(self, '/');

	ck_assert_int_eq(spawn_resolve("/x/y", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/x/y");
	/* a bare name is found beside our own executable first */
	ck_assert_int_eq(spawn_resolve(base + 1, out, sizeof(out)), 0);
	ck_assert_str_eq(out, self);
	ck_assert_int_eq(spawn_resolve("sh", out, sizeof(out)), 0);
	ck_assert_int_eq(access(out, X_OK), 0);
	ck_assert_int_eq(spawn_resolve("no-such-program-here", out, sizeof(out)),
			 -ENOENT);
	ck_assert_int_eq(spawn_resolve("/x/y", out, 3), -ENAMETOOLONG);
}
END_TEST

static Suite *spawn_suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("spawn");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, spawned_devices_get_welcome);
	tcase_add_test(tc, spawned_device_may_not_claim_another);
	tcase_add_test(tc, stop_kills_and_records);
	tcase_add_test(tc, killed_before_stop_counts_as_failed);
	tcase_add_test(tc, failing_program_is_recorded);
	tcase_add_test(tc, resolve_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child_main(argc, argv);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return EXIT_FAILURE;
	self[n] = '\0';
	return vb_check_run(spawn_suite());
}
