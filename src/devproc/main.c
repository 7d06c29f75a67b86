/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-devproc entry. The order is the security argument:
 *   1. parse arguments, read the trace file and compile the seccomp policy
 *      (the only steps that need the file system);
 *   2. with --connect, connect the socket (needs the file system too);
 *   3. sandbox_enter(): only stdin/out/err and the socket stay open;
 *   4. handshake, map the guest RAM memfds, run the workload, print one
 *      result line. Everything the broker sends is handled inside the
 *      sandbox, including the VFIO device fd that comes with WELCOME: the
 *      devproc never holds it outside the sandbox, and never a container
 *      or group fd at all.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/parse.h"
#include "devproc/devproc.h"
#include "devproc/replay_trace.h"
#include "sandbox/filter.h"
#include "sandbox/sandbox.h"

struct devproc_args {
	struct devproc_opts opts;
	int socket_fd;
	const char *connect_path;
	const char *policy;
	bool selftest_forbidden;
	bool hold;
	bool foreign_iova_set;
	bool foreign_gpa_set;
	bool dma_pages_set;
	unsigned int spin_us;
};

static void devproc_usage(FILE *f)
{
	fprintf(f,
"usage: vfio-devproc (--socket-fd N | --connect PATH) [--device ID]\n"
"                    --workload virtio-iommu|coiommu|replay|edu [options]\n"
"\n"
"A sandboxed device process: connects to the vfio-broker (or takes the\n"
"socket it was given), enters its seccomp sandbox, drives one DMA mapping\n"
"workload and checks its results.\n"
"\n"
"  --socket-fd N        use the already connected SOCK_SEQPACKET socket N\n"
"  --connect PATH       connect to the broker's listening socket PATH\n"
"  --device ID          device to claim (default: any the broker grants)\n"
"  --workload W         virtio-iommu, coiommu, replay or edu (QEMU's edu\n"
"                       device through the VFIO device fd from WELCOME)\n"
"  --trace FILE         replay: the trace (docs/replay-format.md)\n"
"  --iterations N       virtio-iommu, edu: rounds; coiommu: page accesses\n"
"                       (100)\n"
"  --buffer-pages N     virtio-iommu: max pages per buffer (4)\n"
"  --buffers N          virtio-iommu: buffers per round (16)\n"
"  --working-set N      coiommu: resident page cap (256)\n"
"  --pages N            coiommu: pages accessed (4096)\n"
"  --dma-pages N        coiommu: pages per DMA operation, 1..N at random;\n"
"                       the misses among them are pinned by one request,\n"
"                       as coIOMMU's batched pin notification (1)\n"
"  --seed N             random seed (1)\n"
"  --gpa-base ADDR      guest memory the buffers live in: start (default:\n"
"                       the first RAM region); concurrent devices need\n"
"                       disjoint ranges\n"
"  --gpa-size BYTES     ... and its size (default: to the region's end)\n"
"  --pipeline DEPTH     outstanding requests, 0 = synchronous (8)\n"
"  --coalesce           virtio-iommu: send a round's buffers as one request\n"
"                       (max_entries at a time), as a device draining its\n"
"                       request queue would\n"
"  --populate           fault all of guest RAM into this process before the\n"
"                       workload, as a long-running device's mapping is\n"
"  --no-touch           virtio-iommu, coiommu: do not write and read back the\n"
"                       pages the device uses (the workload's self-check);\n"
"                       for benchmarks of the mapping path, as a passthrough\n"
"                       device's DMA costs its device process nothing\n"
"  --spin-us N          busy-wait up to N us for each reply before sleeping\n"
"                       (0); pairs with the broker's poll_us\n"
"  --keep-mapped        coiommu: leave the working set mapped at the end;\n"
"                       virtio-iommu: leave the last round's buffers mapped;\n"
"                       edu: leave the window's first IOVA mapped to the\n"
"                       GPA range's last page\n"
"  --foreign-iova IOVA  edu: then DMA to and from IOVA, which another\n"
"  --foreign-gpa GPA    device's domain maps to GPA: GPA must stay\n"
"                       untouched and unread (give both)\n"
"  --policy FILE        seccomp policy (default: devproc.policy, for\n"
"                       --workload edu devproc-edu.policy, in %s)\n"
"  --quiet              only the result line, warnings and errors\n"
"  --hold               after the workload, wait until killed or until\n"
"                       the broker closes the connection\n"
"  --selftest-forbidden-syscall\n"
"                       test hook: make a forbidden syscall after the\n"
"                       handshake (the process must die of SIGSYS)\n"
"  --help               this text\n"
"\n"
"Prints one line 'vfio-devproc: device D workload W: requests R maps M\n"
"unmaps U pages_mapped P pages_unmapped Q seconds S pages_per_s V\n"
"errors E result X' where X is OK or FAIL, and exits 0 or 1 accordingly.\n",
		sandbox_policy_dir());
}

static uint64_t devproc_num(const char *opt, const char *s, uint64_t max)
{
	uint64_t v;
	char *end;

	if (vb_parse_u64(s, &end, &v) || *end || v > max)
		fatal("%s: bad number '%s'", opt, s);
	return v;
}

static void devproc_parse(int argc, char **argv, struct devproc_args *a)
{
	enum { O_SOCKET_FD = 256, O_CONNECT, O_DEVICE, O_WORKLOAD, O_TRACE,
	       O_ITER, O_BUFPAGES, O_BUFFERS, O_WSET, O_PAGES, O_SEED, O_GPA_BASE, O_GPA_SIZE,
	       O_PIPELINE, O_POLICY, O_QUIET, O_HOLD, O_SELFTEST, O_HELP,
	       O_KEEP, O_FOREIGN_IOVA, O_FOREIGN_GPA, O_COALESCE, O_POPULATE,
	       O_SPIN, O_DMA_PAGES, O_NO_TOUCH };
	static const struct option opts[] = {
		{ "socket-fd", required_argument, NULL, O_SOCKET_FD },
		{ "connect", required_argument, NULL, O_CONNECT },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "workload", required_argument, NULL, O_WORKLOAD },
		{ "trace", required_argument, NULL, O_TRACE },
		{ "iterations", required_argument, NULL, O_ITER },
		{ "buffer-pages", required_argument, NULL, O_BUFPAGES },
		{ "buffers", required_argument, NULL, O_BUFFERS },
		{ "working-set", required_argument, NULL, O_WSET },
		{ "pages", required_argument, NULL, O_PAGES },
		{ "dma-pages", required_argument, NULL, O_DMA_PAGES },
		{ "seed", required_argument, NULL, O_SEED },
		{ "gpa-base", required_argument, NULL, O_GPA_BASE },
		{ "gpa-size", required_argument, NULL, O_GPA_SIZE },
		{ "pipeline", required_argument, NULL, O_PIPELINE },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "hold", no_argument, NULL, O_HOLD },
		{ "keep-mapped", no_argument, NULL, O_KEEP },
		{ "coalesce", no_argument, NULL, O_COALESCE },
		{ "populate", no_argument, NULL, O_POPULATE },
		{ "spin-us", required_argument, NULL, O_SPIN },
		{ "no-touch", no_argument, NULL, O_NO_TOUCH },
		{ "foreign-iova", required_argument, NULL, O_FOREIGN_IOVA },
		{ "foreign-gpa", required_argument, NULL, O_FOREIGN_GPA },
		{ "selftest-forbidden-syscall", no_argument, NULL, O_SELFTEST },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct devproc_opts *o = &a->opts;
	int c;

	memset(a, 0, sizeof(*a));
	a->socket_fd = -1;
	o->device_id = VB_DEVICE_ANY;
	o->iterations = 100;
	o->buffer_pages = 4;
	o->buffers = 16;
	o->working_set = 256;
	o->pages = 4096;
	o->dma_pages = 1;
	o->seed = 1;
	o->pipeline = 8;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET_FD:
			a->socket_fd = (int)devproc_num("--socket-fd", optarg,
							INT_MAX);
			break;
		case O_CONNECT: a->connect_path = optarg; break;
		case O_DEVICE:
			o->device_id = (uint32_t)devproc_num("--device", optarg,
							     UINT32_MAX);
			break;
		case O_WORKLOAD: o->workload = optarg; break;
		case O_TRACE: o->trace_path = optarg; break;
		case O_ITER:
			o->iterations = devproc_num("--iterations", optarg,
						    UINT64_MAX);
			break;
		case O_BUFPAGES:
			o->buffer_pages = devproc_num("--buffer-pages", optarg,
						      1u << 20);
			break;
		case O_BUFFERS:
			o->buffers = devproc_num("--buffers", optarg, 1u << 20);
			break;
		case O_WSET:
			o->working_set = devproc_num("--working-set", optarg,
						     UINT32_MAX);
			break;
		case O_PAGES:
			o->pages = devproc_num("--pages", optarg, UINT32_MAX);
			break;
		case O_DMA_PAGES:
			o->dma_pages = devproc_num("--dma-pages", optarg,
						   VB_MAX_ENTRIES_HARD);
			if (!o->dma_pages)
				fatal("--dma-pages: at least 1");
			a->dma_pages_set = true;
			break;
		case O_SEED:
			o->seed = devproc_num("--seed", optarg, UINT64_MAX);
			break;
		case O_GPA_BASE:
			o->gpa_base = devproc_num("--gpa-base", optarg,
						  UINT64_MAX);
			o->has_gpa_base = true;
			break;
		case O_GPA_SIZE:
			o->gpa_size = devproc_num("--gpa-size", optarg,
						  UINT64_MAX);
			break;
		case O_PIPELINE:
			o->pipeline = (unsigned int)devproc_num("--pipeline",
								optarg, 65536);
			break;
		case O_POLICY: a->policy = optarg; break;
		case O_QUIET: o->quiet = true; break;
		case O_HOLD: a->hold = true; break;
		case O_KEEP: o->keep_mapped = true; break;
		case O_COALESCE: o->coalesce = true; break;
		case O_POPULATE: o->populate = true; break;
		case O_NO_TOUCH: o->no_touch = true; break;
		case O_SPIN:
			a->spin_us = (unsigned int)devproc_num("--spin-us", optarg,
							       VB_CLIENT_SPIN_MAX_US);
			break;
		case O_FOREIGN_IOVA:
			o->foreign_iova = devproc_num("--foreign-iova", optarg,
						      UINT64_MAX);
			a->foreign_iova_set = true;
			break;
		case O_FOREIGN_GPA:
			o->foreign_gpa = devproc_num("--foreign-gpa", optarg,
						     UINT64_MAX);
			a->foreign_gpa_set = true;
			break;
		case O_SELFTEST: a->selftest_forbidden = true; break;
		case O_HELP:
			devproc_usage(stdout);
			exit(0);
		default:
			devproc_usage(stderr);
			exit(2);
		}
	}
	if (optind != argc)
		fatal("unexpected argument '%s' (see --help)", argv[optind]);
	if ((a->socket_fd >= 0) == (a->connect_path != NULL))
		fatal("give exactly one of --socket-fd and --connect");
	if (!o->workload)
		fatal("--workload is required");
	if (strcmp(o->workload, "virtio-iommu") &&
	    strcmp(o->workload, "coiommu") && strcmp(o->workload, "replay") &&
	    strcmp(o->workload, "edu"))
		fatal("unknown workload '%s'", o->workload);
	if (!strcmp(o->workload, "replay") != (o->trace_path != NULL))
		fatal("--trace goes with --workload replay, and only there");
	if (o->keep_mapped && strcmp(o->workload, "coiommu") &&
	    strcmp(o->workload, "edu") && strcmp(o->workload, "virtio-iommu"))
		fatal("--keep-mapped goes with --workload virtio-iommu, coiommu or edu");
	if (o->coalesce && strcmp(o->workload, "virtio-iommu"))
		fatal("--coalesce goes with --workload virtio-iommu");
	if (o->no_touch && strcmp(o->workload, "virtio-iommu") &&
	    strcmp(o->workload, "coiommu"))
		fatal("--no-touch goes with --workload virtio-iommu or coiommu");
	if (a->dma_pages_set && strcmp(o->workload, "coiommu"))
		fatal("--dma-pages goes with --workload coiommu");
	if (a->foreign_iova_set != a->foreign_gpa_set)
		fatal("--foreign-iova and --foreign-gpa go together");
	o->has_foreign = a->foreign_iova_set;
	if (o->has_foreign && strcmp(o->workload, "edu"))
		fatal("--foreign-iova goes with --workload edu");
	if (a->socket_fd >= 0 && a->socket_fd <= 2)
		fatal("--socket-fd %d would be stdin/out/err", a->socket_fd);
}

/*
 * The edu workload drives a real device through its VFIO device fd and so
 * needs a few more syscalls (devproc-edu.policy); the other workloads keep
 * the smaller devproc.policy.
 */
static scmp_filter_ctx devproc_policy(const char *explicit_path,
				      const char *workload)
{
	char main_path[PATH_MAX], asan_path[PATH_MAX];
	const char *paths[2];
	const char *dir = sandbox_policy_dir();
	struct filter_error err;
	scmp_filter_ctx ctx;
	unsigned int n = 0;
	int rc;

	snprintf(main_path, sizeof(main_path), "%s/%s", dir,
		 strcmp(workload, "edu") ? "devproc.policy" :
					   "devproc-edu.policy");
	paths[n++] = explicit_path ? explicit_path : main_path;
	if (SANDBOX_ASAN) {
		snprintf(asan_path, sizeof(asan_path), "%s/sanitizer.policy",
			 dir);
		paths[n++] = asan_path;
	}
	rc = filter_compile_files(paths, n, 0, &ctx, &err);
	if (rc)
		fatal("seccomp policy: %s", err.msg);
	return ctx;
}

static int devproc_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		fatal("--connect: path too long");
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fatal("connect %s: %s", path, strerror(errno));
	if (fd <= 2)
		fatal("socket got fd %d: stdin/out/err must be open", fd);
	return fd;
}

/*
 * stdin, stdout and stderr must be open before anything else is: the
 * WELCOME fds (guest RAM, the device) would otherwise take the lowest free
 * numbers, and every log line, which the policy lets go to fds 1 and 2,
 * would be written into guest memory or the device's BAR.
 */
static void devproc_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		n = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (n != fd)
			_exit(1);	/* nowhere to say so */
		/* inherited stdio is not close-on-exec; keep it alike */
		fcntl(fd, F_SETFD, 0);
	}
}

static bool devproc_output_is_file(void)
{
	struct stat st;

	return (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode)) ||
	       (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode));
}

static void devproc_enter_sandbox(int sock, scmp_filter_ctx filter)
{
	struct sandbox_config cfg = { .filter = filter };
	int keep[4];
	unsigned int n = 0;

	for (int fd = 0; fd <= 2; fd++)	/* open: devproc_std_fds() */
		keep[n++] = fd;
	keep[n++] = sock;
	cfg.keep_fds = keep;
	cfg.n_keep = n;
	/* Room for the socket plus the WELCOME fds (memfds, device fd). */
	cfg.nofile = (rlim_t)sock + 1 + VB_MAX_WELCOME_FDS + 4;
	cfg.nproc = 0;
	/* RLIMIT_FSIZE 0 would kill the first write to a redirected log. */
	cfg.fsize = devproc_output_is_file() ? RLIM_INFINITY : 0;
	sandbox_enter(&cfg);
}

static void devproc_print_result(const struct devproc *dp, bool ok)
{
	char line[512];
	int n;

	/* write(2), not stdio: stdio's first use would fstat() stdout,
	 * which the policy does not need to allow. */
	n = snprintf(line, sizeof(line),
		     "vfio-devproc: device %u workload %s: requests %llu maps %llu unmaps %llu pages_mapped %llu pages_unmapped %llu seconds %.3f pages_per_s %.0f errors %llu result %s\n",
		     dp->info ? dp->info->device_id : dp->opts.device_id,
		     dp->opts.workload, (unsigned long long)dp->res.requests,
		     (unsigned long long)dp->res.maps,
		     (unsigned long long)dp->res.unmaps,
		     (unsigned long long)dp->res.pages_mapped,
		     (unsigned long long)dp->res.pages_unmapped,
		     dp->res.seconds, workload_pages_per_s(&dp->res),
		     (unsigned long long)dp->res.errors, ok ? "OK" : "FAIL");
	if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0)
		return;
}

/*
 * --hold: wait until killed, or until the broker goes away. A devproc that
 * outlived its broker would keep the VFIO device fd open, and an open
 * device fd keeps its group, and so the broker's container with every
 * mapping and pin, alive in the kernel after the broker died.
 */
static void devproc_hold(int sock)
{
	struct pollfd pfd = { .fd = sock, .events = 0 };

	for (;;) {
		if (poll(&pfd, 1, -1) < 0)
			continue;	/* EINTR */
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			log_warn("the broker closed the connection: leaving --hold");
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct replay_trace trace = { 0 };
	struct devproc_args a;
	struct devproc dp;
	scmp_filter_ctx filter;
	int sock, rc;
	uint64_t t0;
	bool ok;

	devproc_std_fds();
	log_init("vfio-devproc", LOG_LVL_INFO);
	devproc_parse(argc, argv, &a);
	if (a.opts.quiet)
		log_set_level(LOG_LVL_WARN);
	memset(&dp, 0, sizeof(dp));
	dp.opts = a.opts;
	if (a.opts.trace_path) {
		char err[512];

		if (replay_trace_load(a.opts.trace_path, &trace, err,
				      sizeof(err)))
			fatal("trace: %s", err);
		dp.trace = &trace;
	}
	filter = devproc_policy(a.policy, a.opts.workload);
	sock = a.connect_path ? devproc_connect(a.connect_path) : a.socket_fd;

	devproc_enter_sandbox(sock, filter);

	rc = vb_client_open_fd(sock, a.opts.device_id, &dp.client);
	if (rc) {
		log_err("handshake with the broker failed: %s", strerror(-rc));
		devproc_print_result(&dp, false);
		return 1;
	}
	dp.info = vb_client_get_info(dp.client);
	vb_client_set_spin(dp.client, a.spin_us);	/* range-checked above */
	rc = guest_mem_map(&dp.gm, dp.info, a.opts.populate);
	if (rc) {
		devproc_print_result(&dp, false);
		return 1;
	}
	if (!a.opts.quiet)
		log_info("dev %u domain %u: window 0x%llx+0x%llx, %u RAM regions, max_entries %u, request window %u",
			 dp.info->device_id, dp.info->domain_id,
			 (unsigned long long)dp.info->iova[0].start,
			 (unsigned long long)dp.info->iova[0].size,
			 dp.info->n_ram, dp.info->max_entries, dp.info->window);
	if (a.selftest_forbidden) {
		/* ptrace is on the lint's never-unconditional list, so no
		 * policy can allow it by accident. */
		syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
		log_err("forbidden syscall returned: the seccomp filter is not working");
		return 3;
	}

	t0 = vb_now_ns();
	if (!strcmp(a.opts.workload, "virtio-iommu"))
		rc = workload_virtio_iommu_run(&dp);
	else if (!strcmp(a.opts.workload, "coiommu"))
		rc = workload_coiommu_run(&dp);
	else if (!strcmp(a.opts.workload, "edu"))
		rc = workload_edu_run(&dp);
	else
		rc = workload_replay_run(&dp);
	dp.res.seconds = (double)(vb_now_ns() - t0) / 1e9;
	if (rc)
		workload_fail(&dp, "stopped: %s", strerror(-rc));
	ok = dp.res.errors == 0;
	devproc_print_result(&dp, ok);

	if (a.hold)
		devproc_hold(vb_client_fd(dp.client));
	guest_mem_unmap(&dp.gm);
	vb_client_close(dp.client);
	replay_trace_free(&trace);
	return ok ? 0 : 1;
}
