/* SPDX-License-Identifier: BSD-3-Clause */
/* What is kept and why: broker_sandbox.h and docs/sandbox.md. */
#include "broker/broker_sandbox.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/log.h"
#include "sandbox/sandbox.h"

#define BROKER_SANDBOX_MAX_PIDS	256
#define BROKER_SANDBOX_MAX_FDS	256

/*
 * kill() of one spawned devproc. The pid is an int to the kernel, so it is
 * compared as 32 bits like the signal; a child stays a zombie (its pid not
 * reusable) until the broker reaps it, so the rule cannot reach another
 * process while the broker still has a reason to signal that child.
 */
static int broker_sandbox_allow_kill(scmp_filter_ctx ctx, pid_t pid)
{
	static const int sigs[] = { SIGTERM, SIGKILL };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 2,
					  SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu,
						  (uint32_t)pid),
					  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
						  (uint32_t)sigs[i]));
		if (rc)
			return rc;
	}
	return 0;
}

int broker_sandbox_filter(const char *dir, const pid_t *pids,
			  unsigned int n_pids, const int *iommu_fds,
			  unsigned int n_fds, scmp_filter_ctx *out,
			  struct filter_error *err)
{
	char main_path[PATH_MAX], asan_path[PATH_MAX];
	uint64_t fds[BROKER_SANDBOX_MAX_FDS];
	struct filter_var var = { .name = "iommu_fds", .values = fds };
	const char *paths[2];
	unsigned int n = 0;
	scmp_filter_ctx ctx;
	int rc;

	*out = NULL;
	if (n_fds > BROKER_SANDBOX_MAX_FDS) {
		snprintf(err->msg, sizeof(err->msg), "more than %d IOMMU fds",
			 BROKER_SANDBOX_MAX_FDS);
		return -E2BIG;
	}
	for (unsigned int i = 0; i < n_fds; i++) {
		if (iommu_fds[i] < 0) {
			snprintf(err->msg, sizeof(err->msg), "IOMMU fd %d",
				 iommu_fds[i]);
			return -EBADF;
		}
		fds[i] = (uint64_t)iommu_fds[i];
	}
	var.n = n_fds;

	if ((size_t)snprintf(main_path, sizeof(main_path), "%s/broker.policy",
			     dir) >= sizeof(main_path) ||
	    (size_t)snprintf(asan_path, sizeof(asan_path),
			     "%s/sanitizer.policy", dir) >= sizeof(asan_path)) {
		snprintf(err->msg, sizeof(err->msg), "policy directory too long");
		return -ENAMETOOLONG;
	}
	paths[n++] = main_path;
	if (SANDBOX_ASAN)
		paths[n++] = asan_path;
	rc = filter_compile_files_vars(paths, n, &var, 1, 0, &ctx, err);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < n_pids; i++) {
		if (pids[i] <= 0) {
			rc = -EINVAL;
		} else {
			rc = broker_sandbox_allow_kill(ctx, pids[i]);
		}
		if (rc) {
			snprintf(err->msg, sizeof(err->msg),
				 "kill rule for devproc pid %d: %s",
				 (int)pids[i], strerror(-rc));
			seccomp_release(ctx);
			return rc;
		}
	}
	/* The broker has one thread; TSYNC makes sure, should a library ever
	 * start one, that it is filtered too (or the load fails). */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc) {
		snprintf(err->msg, sizeof(err->msg), "seccomp TSYNC: %s",
			 strerror(-rc));
		seccomp_release(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

/*
 * The real backends pin guest RAM. type1, iommufd and the v3 module skip
 * the locked_vm charge when the mapping process has CAP_IPC_LOCK at map
 * time, so the broker keeps it (and only it) there, if it has it at all.
 * The sim backend pins nothing and keeps nothing.
 */
static unsigned int broker_sandbox_caps(const struct broker *b,
					unsigned int *keep)
{
	if (!strcmp(b->be->ops->name, "sim"))
		return 0;
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_get_caps_process() ||
	    !capng_have_capability(CAPNG_PERMITTED, CAP_IPC_LOCK)) {
		log_warn("backend %s without CAP_IPC_LOCK: every pinned page counts against RLIMIT_MEMLOCK",
			 b->be->ops->name);
		return 0;
	}
	keep[0] = CAP_IPC_LOCK;
	return 1;
}

/*
 * The fds the backend issues its data-path ioctls on: VFIO containers and
 * iommufd files. Found by what they are (/proc/self/fd) rather than asked
 * of the backend, so the backend interface stays as it is and a backend
 * cannot forget one. Device and group fds are deliberately not in the set:
 * on a device fd, three VFIO container request numbers are device requests
 * (VFIO_DEVICE_PCI_HOT_RESET among them).
 */
static unsigned int broker_sandbox_iommu_fds(int *out, unsigned int max)
{
	char link[64], target[PATH_MAX];
	unsigned int n = 0;
	struct dirent *de;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		fatal("cannot list /proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		ssize_t len;

		if (*end || end == de->d_name || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "/dev/vfio/vfio") && strcmp(target, "/dev/iommu"))
			continue;
		if (n == max)
			fatal("more than %u VFIO container / iommufd fds", max);
		out[n++] = (int)fd;
	}
	closedir(d);
	return n;
}

void broker_sandbox_enter(struct broker *b)
{
	const char *dir = sandbox_policy_dir();
	pid_t pids[BROKER_SANDBOX_MAX_PIDS];
	struct sandbox_config cfg = {
		.keep_all_fds = true,
		/* The broker accepts connections for as long as it runs. */
		.nofile = SANDBOX_RLIM_UNCHANGED,
		/* It never forks again (and the filter has no fork). */
		.nproc = 0,
		/* stdout/stderr and --summary-json may be regular files. */
		.fsize = SANDBOX_RLIM_UNCHANGED,
	};
	int iommu_fds[BROKER_SANDBOX_MAX_FDS];
	unsigned int keep_caps[1], n_pids = 0, n_fds;
	struct filter_error err;
	int rc;

	for (unsigned int i = 0; i < b->n_devices; i++) {
		if (b->devices[i].child <= 0)
			continue;
		if (n_pids == BROKER_SANDBOX_MAX_PIDS)
			fatal("more than %d spawned devprocs", BROKER_SANDBOX_MAX_PIDS);
		pids[n_pids++] = b->devices[i].child;
	}
	n_fds = broker_sandbox_iommu_fds(iommu_fds, BROKER_SANDBOX_MAX_FDS);
	rc = broker_sandbox_filter(dir, pids, n_pids, iommu_fds, n_fds,
				   &cfg.filter, &err);
	if (rc)
		fatal("seccomp policy: %s", err.msg);
	cfg.n_keep_caps = broker_sandbox_caps(b, keep_caps);
	cfg.keep_caps = keep_caps;
	sandbox_enter(&cfg);
	log_info("sandboxed: %s, no_new_privs, seccomp %s/broker.policy%s, IOMMU ioctls on %u fd(s), kill allowed for %u devproc(s)",
		 cfg.n_keep_caps ? "kept CAP_IPC_LOCK only" : "no capabilities",
		 dir, SANDBOX_ASAN ? " + sanitizer.policy" : "", n_fds, n_pids);
}
