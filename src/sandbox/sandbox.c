/* SPDX-License-Identifier: BSD-3-Clause */
/* The order of the steps and why: see sandbox.h and docs/sandbox.md. */
#include "sandbox/sandbox.h"

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"

static bool sandbox_entered;

__attribute__((noreturn))
static void sandbox_die(const char *step, int err)
{
	log_err("sandbox entry failed at %s: %s", step, strerror(err));
	_exit(SANDBOX_EXIT_STATUS);
}

static int sandbox_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static void sandbox_close_fds(const int *keep, unsigned int n)
{
	int sorted[64];
	unsigned int lo = 0;

	if (n > sizeof(sorted) / sizeof(sorted[0]))
		sandbox_die("close fds (keep list too long)", EINVAL);
	for (unsigned int i = 0; i < n; i++) {
		if (keep[i] < 0 || fcntl(keep[i], F_GETFD) < 0)
			sandbox_die("close fds (kept fd not open)", EBADF);
		sorted[i] = keep[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), sandbox_cmp_int);
	for (unsigned int i = 0; i < n; i++) {
		if ((unsigned int)sorted[i] > lo &&
		    close_range(lo, (unsigned int)sorted[i] - 1, 0))
			sandbox_die("close_range", errno);
		lo = (unsigned int)sorted[i] + 1;
	}
	if (close_range(lo, ~0u, 0))
		sandbox_die("close_range", errno);
}

_Static_assert(RLIM_INFINITY == (rlim_t)-1,
	       "sandbox_rlimit() takes minima: RLIM_INFINITY must be the largest rlim_t");

static void sandbox_rlimit(int resource, rlim_t value, const char *name)
{
	struct rlimit rl = { .rlim_cur = value, .rlim_max = value };
	struct rlimit old;

	if (value == SANDBOX_RLIM_UNCHANGED)
		return;
	if (getrlimit(resource, &old))
		sandbox_die(name, errno);
	/* Never raise either limit: without the capability the hard one
	 * would fail anyway, and a stricter limit set by the caller's parent
	 * (soft or hard) stays. RLIM_INFINITY is the largest rlim_t, so
	 * plain minima do it. */
	if (old.rlim_max < rl.rlim_max)
		rl.rlim_max = old.rlim_max;
	if (old.rlim_cur < rl.rlim_cur)
		rl.rlim_cur = old.rlim_cur;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(resource, &rl))
		sandbox_die(name, errno);
}

static bool sandbox_cap_kept(const struct sandbox_config *cfg,
			     unsigned int cap)
{
	for (unsigned int i = 0; i < cfg->n_keep_caps; i++)
		if (cfg->keep_caps[i] == cap)
			return true;
	return false;
}

static void sandbox_drop_caps(const struct sandbox_config *cfg)
{
	bool setpcap;

	/* Only with CAP_SETPCAP can the bounding set shrink (libcap-ng then
	 * applies it too); without it, no_new_privs keeps the process from
	 * ever regaining what the bounding set still lists. */
	if (capng_get_caps_process())
		sandbox_die("reading capabilities", EPERM);
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_ALL);
	/* A kept capability stays usable (effective) and can never come back
	 * once dropped, so it also stays in the bounding set; it is never
	 * inheritable or ambient, so nothing the process could exec gets it. */
	for (unsigned int i = 0; i < cfg->n_keep_caps; i++)
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
				 CAPNG_BOUNDING_SET, cfg->keep_caps[i]))
			sandbox_die("capng_update (capability to keep)", EINVAL);
	/* the bounding set only where it can change: newer libcap-ng fails
	 * the whole apply when asked to without CAP_SETPCAP */
	if (capng_apply(setpcap ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS))
		sandbox_die("capng_apply", EPERM);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL)
		sandbox_die("clear ambient capabilities", errno);
	/* Read back from the kernel rather than trusting the library state:
	 * exactly the kept capabilities, effective and permitted, and not
	 * one inheritable. */
	if (capng_get_caps_process())
		sandbox_die("reading capabilities back", EPERM);
	if (!cfg->n_keep_caps &&
	    capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		sandbox_die("capabilities still present", EPERM);
	for (unsigned int cap = 0; cap <= CAP_LAST_CAP; cap++) {
		int keep = sandbox_cap_kept(cfg, cap);

		if (capng_have_capability(CAPNG_EFFECTIVE, cap) != keep ||
		    capng_have_capability(CAPNG_PERMITTED, cap) != keep ||
		    capng_have_capability(CAPNG_INHERITABLE, cap))
			sandbox_die(keep ? "a kept capability is missing" :
				    "capabilities still present", EPERM);
		if (setpcap &&
		    prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != keep)
			sandbox_die("bounding set not reduced to the kept capabilities",
				    EPERM);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			sandbox_die("ambient capability still set", EPERM);
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		sandbox_die("PR_SET_DUMPABLE", errno);
}

void sandbox_enter(const struct sandbox_config *cfg)
{
	int rc;

	if (!cfg->filter)
		sandbox_die("configuration (no filter)", EINVAL);
	if (!cfg->keep_all_fds) {
		sandbox_close_fds(cfg->keep_fds, cfg->n_keep);
		for (unsigned int i = 0; i < cfg->n_keep; i++)
			if (cfg->nofile != SANDBOX_RLIM_UNCHANGED &&
			    (rlim_t)cfg->keep_fds[i] >= cfg->nofile)
				sandbox_die("RLIMIT_NOFILE below a kept fd",
					    EINVAL);
	}
	sandbox_rlimit(RLIMIT_NOFILE, cfg->nofile, "RLIMIT_NOFILE");
	sandbox_rlimit(RLIMIT_NPROC, cfg->nproc, "RLIMIT_NPROC");
	sandbox_rlimit(RLIMIT_FSIZE, cfg->fsize, "RLIMIT_FSIZE");
	sandbox_rlimit(RLIMIT_CORE, 0, "RLIMIT_CORE");
	sandbox_drop_caps(cfg);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		sandbox_die("PR_SET_NO_NEW_PRIVS", errno);
	rc = seccomp_load(cfg->filter);
	if (rc)
		sandbox_die("seccomp_load", -rc);
	/* The filter lives in the kernel now. Releasing the library copy
	 * frees heap memory, which the policy allows. */
	seccomp_release(cfg->filter);
	sandbox_entered = true;
}

bool sandbox_active(void)
{
	return sandbox_entered;
}

#if SANDBOX_ASAN
/*
 * LeakSanitizer's exit-time scan stops the world with clone() and ptrace(),
 * which the filter kills. Leak checking stays on for code that never
 * enters the sandbox (unit tests of everything else).
 */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return sandbox_entered;
}
#endif
