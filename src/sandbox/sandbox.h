/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sandbox entry for processes that handle untrusted input: the devproc, and
 * the broker itself once it has opened everything it needs.
 *
 * sandbox_enter() runs the steps in an order where each one still has the
 * rights it needs and nothing it no longer needs survives:
 *   1. close every fd not in the keep list (close_range), so nothing
 *      inherited by accident can be used later (skipped with keep_all_fds:
 *      the broker's fds are its whole state);
 *   2. rlimits (RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_CORE),
 *      while CAP_SYS_RESOURCE could still be needed to lower hard limits;
 *   3. drop every capability but the keep_caps list, bounding and ambient
 *      sets included (libcap-ng), and make the process non-dumpable;
 *   4. PR_SET_NO_NEW_PRIVS, required by an unprivileged seccomp load and
 *      closing setuid-exec escapes;
 *   5. load the seccomp filter last, so steps 1-4 need no syscalls the
 *      policy would have to allow.
 * It either finishes every step or logs the failing step and _exit()s with
 * SANDBOX_EXIT_STATUS: no caller can continue half sandboxed.
 */
#ifndef VB_SANDBOX_SANDBOX_H
#define VB_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <sys/resource.h>
#include <seccomp.h>

#define SANDBOX_EXIT_STATUS	125

/* Built with AddressSanitizer? Its runtime needs extra syscalls after
 * sandbox entry (seccomp/sanitizer.policy). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif
#ifndef SANDBOX_ASAN
#define SANDBOX_ASAN 0
#endif

/* An rlimit field with this value leaves that limit as it is. */
#define SANDBOX_RLIM_UNCHANGED	((rlim_t)-2)

struct sandbox_config {
	const int *keep_fds;	/* stay open; 0, 1 and 2 are not implied */
	unsigned int n_keep;
	bool keep_all_fds;	/* close nothing (keep_fds is ignored) */
	rlim_t nofile;		/* RLIMIT_NOFILE; must exceed every kept fd */
	rlim_t nproc;		/* RLIMIT_NPROC */
	rlim_t fsize;		/* RLIMIT_FSIZE (RLIM_INFINITY if output goes
				 * to regular files) */
	/* Capabilities (CAP_*) left in the effective, permitted and
	 * bounding sets; every other one is dropped from all sets. */
	const unsigned int *keep_caps;
	unsigned int n_keep_caps;
	scmp_filter_ctx filter;	/* loaded last, then released */
};

void sandbox_enter(const struct sandbox_config *cfg);

/* True once sandbox_enter() has finished in this process. */
bool sandbox_active(void);

/* Directory of the seccomp policies: <source>/seccomp for a binary run from
 * the build tree, else the installed data directory (policy_dir.c). */
const char *sandbox_policy_dir(void);

#endif /* VB_SANDBOX_SANDBOX_H */
