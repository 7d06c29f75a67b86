/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's own sandbox, entered once start-up has opened everything
 * the broker will ever use (configuration, guest RAM memfds, backend
 * domains, groups and device fds, listening and control sockets, spawned
 * devprocs, the --summary-json file). From then on the broker keeps:
 *   - no capability on the sim backend; CAP_IPC_LOCK only on the real VFIO
 *     backends, so the pages it pins are not charged against
 *     RLIMIT_MEMLOCK (docs/sandbox.md says why this and not a raised limit);
 *   - no_new_privs;
 *   - the seccomp filter of seccomp/broker.policy (plus sanitizer.policy in
 *     ASan builds), its data-path VFIO/iommufd ioctls bound to the
 *     container and iommufd fds open at entry ($iommu_fds), plus
 *     kill(pid, SIGTERM|SIGKILL) for exactly the pids of the devprocs it
 *     spawned.
 * Every fd stays open: they are the broker's state. Devprocs are spawned
 * before entry, so they never inherit this filter, and the broker never
 * forks afterwards (fork/clone are not in the policy).
 */
#ifndef VB_BROKER_BROKER_SANDBOX_H
#define VB_BROKER_BROKER_SANDBOX_H

#include <seccomp.h>
#include <sys/types.h>

#include "sandbox/filter.h"

struct broker;

/*
 * Compile @dir/broker.policy (and @dir/sanitizer.policy in ASan builds)
 * with $iommu_fds bound to @iommu_fds, and allow kill() of each of @pids
 * with SIGTERM or SIGKILL. Returns 0 with the filter in *@out, or -errno
 * with @err->msg set; nothing is loaded.
 */
int broker_sandbox_filter(const char *dir, const pid_t *pids,
			  unsigned int n_pids, const int *iommu_fds,
			  unsigned int n_fds, scmp_filter_ctx *out,
			  struct filter_error *err);

/*
 * Enter the sandbox. A policy that does not compile is fatal() before any
 * step is taken; a failing step ends the process (sandbox_enter()). Either
 * way the broker never runs half sandboxed.
 */
void broker_sandbox_enter(struct broker *b);

#endif /* VB_BROKER_BROKER_SANDBOX_H */
