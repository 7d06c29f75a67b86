/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * broker_sandbox.c: the real seccomp/broker.policy (plus sanitizer.policy in
 * ASan builds) is compiled and loaded in forked children. The data-path
 * ioctl numbers pass the filter on an fd bound as $iommu_fds and reach the
 * kernel (which answers ENOTTY on a non-VFIO fd), also with garbage in the
 * upper half of the command register; on any other fd they are SIGSYS;
 * start-up-only VFIO requests and unrelated ones are SIGSYS;
 * forbidden syscalls are SIGSYS, soft denials return their errno; kill()
 * reaches exactly the listed devproc pids with SIGTERM/SIGKILL. Finally
 * broker_sandbox_enter() itself, on a minimal broker, is inspected through
 * /proc: capabilities (none for sim, CAP_IPC_LOCK alone for a VFIO
 * backend), no_new_privs, seccomp mode, rlimits, and every fd still open.
 *
 * Children end with _exit(): LeakSanitizer's exit scan would need clone and
 * ptrace, which the filter forbids.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/broker_sandbox.h"
#include "broker/holder.h"
#include "broker/reaper.h"
#include "sandbox/sandbox.h"
#include "uapi/linux/vfio_type1v3.h"
#include "check_main.h"

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#else
#define IOMMU_IOAS_MAP		_IO(';', 0x85)
#define IOMMU_IOAS_UNMAP	_IO(';', 0x86)
#endif

#define POLICY_DIR	VB_SOURCE_DIR "/seccomp"

/* The fd a test binds as $iommu_fds (-1: none). */
static int test_iommu_fd = -1;

static scmp_filter_ctx compile(const pid_t *pids, unsigned int n)
{
	struct filter_error err;
	scmp_filter_ctx ctx = NULL;

	ck_assert_msg(broker_sandbox_filter(POLICY_DIR, pids, n, &test_iommu_fd,
					    test_iommu_fd >= 0 ? 1 : 0, &ctx,
					    &err) == 0, "%s", err.msg);
	return ctx;
}

typedef int (*child_fn)(void *arg);

/* Run @fn in a child under the broker filter; returns the wait status. */
static int run_filtered(const pid_t *pids, unsigned int n, child_fn fn,
			void *arg)
{
	scmp_filter_ctx ctx = compile(pids, n);
	int status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (seccomp_load(ctx))
			_exit(90);
		_exit(fn(arg));
	}
	seccomp_release(ctx);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_sigsys(int status, const char *what)
{
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "%s: expected SIGSYS, got %s %d", what,
		      WIFSIGNALED(status) ? "signal" : "exit",
		      WIFSIGNALED(status) ? WTERMSIG(status) :
		      WEXITSTATUS(status));
}

static void assert_exit0(int status, const char *what)
{
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: expected exit 0, got %s %d", what,
		      WIFSIGNALED(status) ? "signal" : "exit",
		      WIFSIGNALED(status) ? WTERMSIG(status) :
		      WEXITSTATUS(status));
}

START_TEST(policy_compiles)
{
	seccomp_release(compile(NULL, 0));
}
END_TEST

/* ---- ioctl ---- */

struct ioctl_case {
	const char *name;
	unsigned long cmd;
};

static const struct ioctl_case allowed_ioctls[] = {
	{ "VFIO_IOMMU_MAP_DMA", VFIO_IOMMU_MAP_DMA },
	{ "VFIO_IOMMU_UNMAP_DMA", VFIO_IOMMU_UNMAP_DMA },
	{ "VFIO_IOMMU_MAP_DMA_BATCH", VFIO_IOMMU_MAP_DMA_BATCH },
	{ "VFIO_IOMMU_UNMAP_DMA_BATCH", VFIO_IOMMU_UNMAP_DMA_BATCH },
	{ "VFIO_IOMMU_GET_INFO", VFIO_IOMMU_GET_INFO },
	{ "IOMMU_IOAS_MAP", IOMMU_IOAS_MAP },
	{ "IOMMU_IOAS_UNMAP", IOMMU_IOAS_UNMAP },
};

static const struct ioctl_case forbidden_ioctls[] = {
	{ "VFIO_SET_IOMMU", VFIO_SET_IOMMU },
	{ "VFIO_GROUP_GET_DEVICE_FD", VFIO_GROUP_GET_DEVICE_FD },
	{ "VFIO_GROUP_SET_CONTAINER", VFIO_GROUP_SET_CONTAINER },
	{ "VFIO_GROUP_UNSET_CONTAINER", VFIO_GROUP_UNSET_CONTAINER },
	{ "VFIO_CHECK_EXTENSION", VFIO_CHECK_EXTENSION },
	{ "VFIO_DEVICE_RESET", VFIO_DEVICE_RESET },
	{ "TIOCSTI", TIOCSTI },
	{ "FIONBIO", FIONBIO },
};

struct one_ioctl {
	int fd;
	unsigned long cmd;
};

static int child_one_ioctl(void *arg)
{
	struct one_ioctl *o = arg;

	syscall(SYS_ioctl, o->fd, o->cmd, 0);
	return 0;
}

/* Exit 0 when every data-path number reached the kernel: on /dev/null
 * the kernel answers ENOTTY. Exit 10+i names the first that did not. */
static int child_allowed_ioctls(void *arg)
{
	int fd = *(int *)arg;

	for (size_t i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]);
	     i++) {
		unsigned long cmd = allowed_ioctls[i].cmd;

		if (syscall(SYS_ioctl, fd, cmd, 0) != -1 || errno != ENOTTY)
			return 10 + (int)i;
		/* The kernel reads the command as 32 bits; so must the
		 * filter, or garbage above would be refused (or worse,
		 * let through). */
		if (syscall(SYS_ioctl, fd, cmd | 0xdead000000000000ul, 0) != -1 ||
		    errno != ENOTTY)
			return 40 + (int)i;
	}
	return 0;
}

START_TEST(allowed_ioctls_reach_the_kernel)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int status;

	ck_assert_int_ge(fd, 0);
	test_iommu_fd = fd;
	status = run_filtered(NULL, 0, child_allowed_ioctls, &fd);
	assert_exit0(status, "data-path ioctls (exit 10+i: the i-th failed, 40+i: with upper bits set)");
	close(fd);
}
END_TEST

static int child_fionread(void *arg)
{
	int *sv = arg, n = -1;

	if (write(sv[0], "abc", 3) != 3)
		return 1;
	if (ioctl(sv[1], FIONREAD, &n) || n != 3)
		return 2;
	return 0;
}

/* The same numbers on an fd that is not a container or iommufd (a device
 * fd, say): refused. */
START_TEST(data_path_ioctl_on_other_fd_is_sigsys)
{
	const struct ioctl_case *c = &allowed_ioctls[_i];
	struct one_ioctl o = { .cmd = c->cmd };
	char what[96];

	test_iommu_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	o.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(test_iommu_fd, 0);
	ck_assert_int_ge(o.fd, 0);
	snprintf(what, sizeof(what), "ioctl %s on an unbound fd", c->name);
	assert_sigsys(run_filtered(NULL, 0, child_one_ioctl, &o), what);
	close(o.fd);
}
END_TEST

/* No container or iommufd (the sim backend): none of them at all. */
START_TEST(data_path_ioctl_without_iommu_fds_is_sigsys)
{
	const struct ioctl_case *c = &allowed_ioctls[_i];
	struct one_ioctl o = { .cmd = c->cmd };
	char what[96];

	test_iommu_fd = -1;
	o.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(o.fd, 0);
	snprintf(what, sizeof(what), "ioctl %s with no IOMMU fd", c->name);
	assert_sigsys(run_filtered(NULL, 0, child_one_ioctl, &o), what);
	close(o.fd);
}
END_TEST

START_TEST(fionread_allowed)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_exit0(run_filtered(NULL, 0, child_fionread, sv), "FIONREAD");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* What peer_ring.c does for each client asking for a ring. */
static int child_ring_memfd(void *arg)
{
	int fd = memfd_create("ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	(void)arg;
	if (fd < 0 || ftruncate(fd, 8192) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return 1;
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? 1 : 0;
}

/* Seals other than the ring's (F_SEAL_WRITE would freeze a client's
 * ring) are not for the broker to set. */
static int child_other_seal(void *arg)
{
	int fd = memfd_create("ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	(void)arg;
	if (fd >= 0)
		fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
	return 0;
}

START_TEST(ring_memfd_allowed)
{
	assert_exit0(run_filtered(NULL, 0, child_ring_memfd, NULL),
		     "ring memfd");
	assert_sigsys(run_filtered(NULL, 0, child_other_seal, NULL),
		      "F_ADD_SEALS F_SEAL_WRITE");
}
END_TEST

/* What holder.c does: a peer's pidfd both ways, and polling it. */
static int child_holder(void *arg)
{
	struct pollfd pfd = { .events = POLLIN };
	const int *sv = arg;

	pfd.fd = holder_peer_pidfd(sv[0], getpid());	/* SO_PEERPIDFD */
	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 0)
		return 2;
	/* kernels without SO_PEERPIDFD: pidfd_open() of the peer's pid */
	pfd.fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pfd.fd < 0 || poll(&pfd, 1, 0) != 0)
		return 3;
	/* any other getsockopt() error is a peer gone, never a pid lookup */
	if (holder_peer_pidfd(-1, getpid()) != -EBADF)
		return 4;
	return 0;
}

/* A poll that could block is not for the broker. */
static int child_blocking_poll(void *arg)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };

	(void)arg;
	poll(&pfd, 1, 1);
	return 0;
}

START_TEST(holder_syscalls_allowed)
{
	int sv[2];

	/* a client's connection, made before (the broker makes none after) */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_exit0(run_filtered(NULL, 0, child_holder, sv),
		     "pidfds and a non-blocking poll");
	close(sv[0]);
	close(sv[1]);
	assert_sigsys(run_filtered(NULL, 0, child_blocking_poll, NULL),
		      "poll with a timeout");
}
END_TEST

/*
 * The reaper thread under the real policy, as the broker runs it: started
 * before the filter is loaded (TSYNC then filters it too), it shuts down
 * and closes a client's socket and closes an fd a client sent, while the
 * process lives on: the other ends see the hang-up before it exits, and
 * it exits 0, not of SIGSYS.
 */
START_TEST(reaper_under_policy)
{
	scmp_filter_ctx ctx = compile(NULL, 0);
	struct pollfd pfd[2];
	int sv[2], p[2], status;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec ts = { .tv_sec = 5 };
		struct reaper r = { 0 };

		close(sv[1]);
		close(p[1]);
		if (reaper_start(&r, 0))
			_exit(91);
		if (seccomp_load(ctx))
			_exit(90);
		reaper_close_socket(&r, sv[0]);
		reaper_close(&r, p[0]);
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		_exit(0);
	}
	seccomp_release(ctx);
	close(sv[0]);
	close(p[0]);
	/* no events asked for: poll waits for the hang-up (POLLHUP/POLLERR) */
	pfd[0] = (struct pollfd){ .fd = sv[1] };
	pfd[1] = (struct pollfd){ .fd = p[1] };
	ck_assert_int_eq(poll(&pfd[0], 1, 4000), 1);
	ck_assert_msg(pfd[0].revents & POLLHUP, "client socket: revents 0x%x",
		      pfd[0].revents);
	ck_assert_int_eq(poll(&pfd[1], 1, 4000), 1);
	ck_assert_msg(pfd[1].revents & POLLERR, "sent fd: revents 0x%x",
		      pfd[1].revents);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	assert_exit0(status, "reaper thread under the broker policy");
	close(sv[1]);
	close(p[1]);
}
END_TEST

/*
 * Every VFIO and iommufd request number (both use ioctl type ';': VFIO
 * from 100, iommufd from 0x80) on a bound IOMMU fd: exactly the data-path
 * ones reach the kernel, every other one is SIGSYS. A policy line that
 * quietly allowed one more would fail here, not only the sampled ones.
 */
START_TEST(only_data_path_iommu_ioctls)
{
	const size_t nallowed = sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]);
	unsigned int n, passed = 0;
	scmp_filter_ctx ctx;
	int fd, status;

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	test_iommu_fd = fd;
	ctx = compile(NULL, 0);
	for (n = 0; n < 256; n++) {
		unsigned long cmd = _IO(';', n);
		bool allowed = false;
		pid_t pid;

		for (size_t i = 0; i < nallowed; i++)
			allowed |= allowed_ioctls[i].cmd == cmd;
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			if (seccomp_load(ctx))
				_exit(90);
			syscall(SYS_ioctl, fd, cmd, 0);
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (allowed) {
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				      "_IO(';', %u), a data-path request, did not reach the kernel (status 0x%x)",
				      n, status);
			passed++;
		} else {
			ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
				      "_IO(';', %u) is not a data-path request, yet got through (status 0x%x)",
				      n, status);
		}
	}
	seccomp_release(ctx);
	ck_assert_uint_eq(passed, nallowed);
	close(fd);
}
END_TEST

START_TEST(forbidden_ioctl_is_sigsys)
{
	const struct ioctl_case *c = &forbidden_ioctls[_i];
	struct one_ioctl o = { .cmd = c->cmd };
	char what[96];

	o.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(o.fd, 0);
	/* bound as an IOMMU fd: only the data-path numbers pass on it */
	test_iommu_fd = o.fd;
	snprintf(what, sizeof(what), "ioctl %s", c->name);
	assert_sigsys(run_filtered(NULL, 0, child_one_ioctl, &o), what);
	close(o.fd);
}
END_TEST

/* ---- other syscalls ---- */

enum sys_case { SYS_EXECVE, SYS_PTRACE, SYS_FORK, SYS_MEMFD, SYS_MPROTECT_X,
		SYS_MMAP_X, SYS_KILL_OTHER_SIG, SYS_SOCKET, SYS_SEND_WAITING,
		N_SYS_CASES };

static int child_forbidden_syscall(void *arg)
{
	static char *const argv[] = { "/bin/true", NULL };
	enum sys_case c = *(enum sys_case *)arg;
	static char page[8192] __attribute__((aligned(4096)));

	switch (c) {
	case SYS_EXECVE:
		syscall(SYS_execve, "/bin/true", argv, argv + 1);
		break;
	case SYS_PTRACE:
		syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
		break;
	case SYS_FORK:
		syscall(SYS_fork);
		break;
	case SYS_MEMFD:
		syscall(SYS_memfd_create, "x", 0);
		break;
	case SYS_MPROTECT_X:
		syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
		break;
	case SYS_MMAP_X:
		syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case SYS_KILL_OTHER_SIG:
		/* no devproc listed: kill is not allowed at all */
		syscall(SYS_kill, getpid(), 0);
		break;
	case SYS_SOCKET:
		syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
		break;
	case SYS_SEND_WAITING:
		/* a log line may be dropped, never waited for */
		syscall(SYS_sendto, 2, "x\n", 2, MSG_NOSIGNAL, NULL, 0);
		break;
	default:
		break;
	}
	return 0;
}

START_TEST(forbidden_syscall_is_sigsys)
{
	static const char *const names[] = { "execve", "ptrace", "fork",
		"memfd_create without the ring's flags", "mprotect PROT_EXEC",
		"mmap PROT_EXEC",
		"kill without devprocs", "socket",
		"sendto without MSG_DONTWAIT" };
	enum sys_case c = (enum sys_case)_i;

	assert_sigsys(run_filtered(NULL, 0, child_forbidden_syscall, &c),
		      names[_i]);
}
END_TEST

/* Soft denials return their errno and the process carries on. */
static int child_soft(void *arg)
{
	struct stat st;

	(void)arg;
	if (syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY) != -1 ||
	    errno != EACCES)
		return 1;
	if (syscall(SYS_unlink, "/nonexistent-vb-test") != -1 || errno != EPERM)
		return 2;
	if (fstat(1, &st) != -1 || errno != EACCES)
		return 3;
	return 0;
}

START_TEST(soft_denials)
{
	assert_exit0(run_filtered(NULL, 0, child_soft, NULL), "soft denials");
}
END_TEST

/* ---- kill: only the listed devprocs, only SIGTERM/SIGKILL ---- */

static pid_t start_sleeper(void)
{
	int p[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Check's own SIGTERM handler would take the test down. */
		signal(SIGTERM, SIG_DFL);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	return pid;
}

struct kill_case {
	pid_t pid;
	int sig;
};

static int child_kill(void *arg)
{
	struct kill_case *k = arg;

	return syscall(SYS_kill, k->pid, k->sig) ? 1 : 0;
}

START_TEST(kill_only_listed_devprocs)
{
	pid_t devproc = start_sleeper(), other = start_sleeper();
	pid_t listed[1] = { devproc };
	struct kill_case k;
	int status;

	/* a different signal to the listed devproc */
	k = (struct kill_case){ devproc, SIGUSR1 };
	assert_sigsys(run_filtered(listed, 1, child_kill, &k),
		      "kill(devproc, SIGUSR1)");
	/* the right signal to a pid not listed: never delivered */
	k = (struct kill_case){ other, SIGTERM };
	assert_sigsys(run_filtered(listed, 1, child_kill, &k),
		      "kill(other, SIGTERM)");
	ck_assert_int_eq(waitpid(other, &status, WNOHANG), 0);
	/* the listed devproc with SIGTERM: allowed, and it arrives */
	k = (struct kill_case){ devproc, SIGTERM };
	assert_exit0(run_filtered(listed, 1, child_kill, &k),
		     "kill(devproc, SIGTERM)");
	ck_assert_int_eq(waitpid(devproc, &status, 0), devproc);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

	kill(other, SIGKILL);
	waitpid(other, &status, 0);
}
END_TEST

START_TEST(bad_pid_refused)
{
	struct filter_error err;
	scmp_filter_ctx ctx = NULL;
	pid_t bad[1] = { 0 };

	int bad_fd[1] = { -1 };

	ck_assert_int_eq(broker_sandbox_filter(POLICY_DIR, bad, 1, NULL, 0,
					       &ctx, &err), -EINVAL);
	ck_assert_ptr_null(ctx);
	ck_assert_ptr_nonnull(strstr(err.msg, "pid 0"));
	ck_assert_int_eq(broker_sandbox_filter(POLICY_DIR, NULL, 0, bad_fd, 1,
					       &ctx, &err), -EBADF);
	ck_assert_ptr_null(ctx);
	ck_assert_int_lt(broker_sandbox_filter("/nonexistent", NULL, 0, NULL,
					       0, &ctx, &err), 0);
	ck_assert_ptr_null(ctx);
}
END_TEST

/* The $variable syntax the broker policy relies on. */
START_TEST(policy_variables)
{
	static const uint64_t vals[] = { 7, 9 };
	const struct filter_var var = { .name = "fds", .values = vals, .n = 2 };
	struct filter_error err;
	scmp_filter_ctx ctx = NULL;

	ck_assert_int_eq(filter_compile_string_vars("t", "read: arg0 == $fds\n",
						    NULL, &var, 1, 0, &ctx,
						    &err), 0);
	seccomp_release(ctx);
	ck_assert_int_lt(filter_compile_string_vars("t", "read: arg0 == $nope\n",
						    NULL, &var, 1, 0, &ctx,
						    &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown variable '$nope'"));
	ck_assert_int_lt(filter_compile_string("t", "read: arg0 == $fds\n",
					       NULL, 0, &ctx, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "t:1:"));
	ck_assert_int_lt(filter_compile_string_vars("t", "read: arg0 != $fds\n",
						    NULL, &var, 1, 0, &ctx,
						    &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "only be compared with =="));
	ck_assert_int_lt(filter_compile_string_vars("t",
						    "read: arg0 == $fds && arg1 == $fds\n",
						    NULL, &var, 1, 0, &ctx,
						    &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "one $variable"));
}
END_TEST

static const char var_policy[] =
	"read: arg0 == $fds\n"
	"exit_group: 1\n"
#if SANDBOX_ASAN
	"@include " POLICY_DIR "/sanitizer.policy\n"
#endif
	;

/* Under var_policy with $fds bound to two pipes' read ends: read one byte
 * from @fd, then exit 0. */
static int var_child(const int *fds, unsigned int n, int fd)
{
	uint64_t vals[2] = { (uint64_t)fds[0], (uint64_t)fds[1] };
	const struct filter_var var = { .name = "fds", .values = vals, .n = n };
	struct filter_error err;
	scmp_filter_ctx ctx = NULL;
	int status;
	pid_t pid;

	ck_assert_msg(filter_compile_string_vars("t", var_policy, NULL, &var, 1,
						 0, &ctx, &err) == 0, "%s",
		      err.msg);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;

		if (seccomp_load(ctx))
			_exit(90);
		_exit(read(fd, &c, 1) == 1 ? 0 : 91);
	}
	seccomp_release(ctx);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/*
 * A $variable bound to several values allows each of them, not just the
 * first (the broker binds every IOMMU fd it holds), and nothing else.
 */
START_TEST(policy_variable_every_value)
{
	int a[2], b[2], other[2], bound[2];

	/* non-blocking, and a byte in each: an allowed read returns at
	 * once (exit 91 if the byte was already taken), never hangs */
	ck_assert_int_eq(pipe2(a, O_NONBLOCK), 0);
	ck_assert_int_eq(pipe2(b, O_NONBLOCK), 0);
	ck_assert_int_eq(pipe2(other, O_NONBLOCK), 0);
	ck_assert_int_eq(write(a[1], "a", 1), 1);
	ck_assert_int_eq(write(b[1], "b", 1), 1);
	ck_assert_int_eq(write(other[1], "o", 1), 1);
	bound[0] = a[0];
	bound[1] = b[0];
	assert_exit0(var_child(bound, 2, b[0]), "read from the second value");
	assert_exit0(var_child(bound, 2, a[0]), "read from the first value");
	assert_sigsys(var_child(bound, 2, other[0]), "read from an unbound fd");
	/* an empty set adds no rule at all */
	assert_sigsys(var_child(bound, 0, a[0]), "read with $fds empty");
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
		close(other[i]);
	}
}
END_TEST

/* ---- broker_sandbox_enter() on a minimal broker ---- */

static int proc_status(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *v = line + klen + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static void enter_and_inspect(const char *backend_name, const char *caps)
{
	struct backend_ops ops = { .name = backend_name };
	struct backend be = { .ops = &ops };
	struct broker b = { .be = &be };
	int up[2], down[2], extra, status;
	char buf[64], path[64];
	pid_t pid;

	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(extra, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		broker_sandbox_enter(&b);
		if (write(up[1], "in", 2) != 2)
			_exit(92);
		/* until the parent has looked (read is in the policy) */
		if (read(down[0], buf, 1) != 0)
			_exit(93);
		/* getppid is not: the filter is really loaded */
		syscall(SYS_getppid);
		_exit(94);
	}
	close(up[1]);
	close(down[0]);
	ck_assert_int_eq(read(up[0], buf, 2), 2);

	ck_assert_int_eq(proc_status(pid, "CapEff", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, caps);
	ck_assert_int_eq(proc_status(pid, "CapPrm", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, caps);
	ck_assert_int_eq(proc_status(pid, "CapBnd", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, caps);
	ck_assert_int_eq(proc_status(pid, "CapInh", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0000000000000000");
	ck_assert_int_eq(proc_status(pid, "CapAmb", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0000000000000000");
	ck_assert_int_eq(proc_status(pid, "NoNewPrivs", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1");
	ck_assert_int_eq(proc_status(pid, "Seccomp", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2");
	/* Limits: open files and file size untouched (the broker keeps
	 * accepting and may write regular files), no processes, no core. */
	{
		struct rlimit mine, its;

		ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &mine), 0);
		ck_assert_int_eq(prlimit(pid, RLIMIT_NOFILE, NULL, &its), 0);
		ck_assert(mine.rlim_cur == its.rlim_cur && mine.rlim_max == its.rlim_max);
		ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &mine), 0);
		ck_assert_int_eq(prlimit(pid, RLIMIT_FSIZE, NULL, &its), 0);
		ck_assert(mine.rlim_cur == its.rlim_cur && mine.rlim_max == its.rlim_max);
		ck_assert_int_eq(prlimit(pid, RLIMIT_NPROC, NULL, &its), 0);
		ck_assert(its.rlim_cur == 0 && its.rlim_max == 0);
		ck_assert_int_eq(prlimit(pid, RLIMIT_CORE, NULL, &its), 0);
		ck_assert(its.rlim_cur == 0 && its.rlim_max == 0);
	}
	/* The broker keeps its fds: the extra one is still open. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, extra);
	ck_assert_msg(access(path, F_OK) == 0, "fd %d was closed", extra);

	close(down[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	assert_sigsys(status, "getppid after broker_sandbox_enter");
	close(up[0]);
	close(extra);
}

START_TEST(enter_sim_keeps_no_capability)
{
	ck_assert_msg(geteuid() == 0, "this test needs root: it checks that capabilities are dropped");
	enter_and_inspect("sim", "0000000000000000");
}
END_TEST

START_TEST(enter_vfio_keeps_ipc_lock_only)
{
	char want[17];

	ck_assert_msg(geteuid() == 0, "this test needs root: it checks that CAP_IPC_LOCK is kept");
	snprintf(want, sizeof(want), "%016llx", 1ull << CAP_IPC_LOCK);
	enter_and_inspect("type1", want);
}
END_TEST

static Suite *broker_sandbox_suite(void)
{
	Suite *s = suite_create("broker_sandbox");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, policy_compiles);
	tcase_add_test(tc, allowed_ioctls_reach_the_kernel);
	tcase_add_loop_test(tc, data_path_ioctl_on_other_fd_is_sigsys, 0,
			    sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]));
	tcase_add_loop_test(tc, data_path_ioctl_without_iommu_fds_is_sigsys, 0,
			    sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]));
	tcase_add_test(tc, fionread_allowed);
	tcase_add_test(tc, ring_memfd_allowed);
	tcase_add_test(tc, holder_syscalls_allowed);
	tcase_add_test(tc, reaper_under_policy);
	tcase_add_test(tc, policy_variables);
	tcase_add_test(tc, policy_variable_every_value);
	tcase_add_test(tc, only_data_path_iommu_ioctls);
	tcase_add_loop_test(tc, forbidden_ioctl_is_sigsys, 0,
			    sizeof(forbidden_ioctls) / sizeof(forbidden_ioctls[0]));
	tcase_add_loop_test(tc, forbidden_syscall_is_sigsys, 0, N_SYS_CASES);
	tcase_add_test(tc, soft_denials);
	tcase_add_test(tc, kill_only_listed_devprocs);
	tcase_add_test(tc, bad_pid_refused);
	tcase_add_test(tc, enter_sim_keeps_no_capability);
	tcase_add_test(tc, enter_vfio_keeps_ipc_lock_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(broker_sandbox_suite());
}
