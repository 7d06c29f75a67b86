/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seccomp policy lint: syscalls that undo the sandbox (or reach far into the
 * kernel) must not be allowed without a condition. A line may still do so
 * when it carries a `# lint-ok: <reason>` comment, which keeps the decision
 * visible to a reviewer instead of silent.
 */
#include "sandbox/filter.h"

#include <stddef.h>
#include <string.h>

static const struct {
	const char *syscall;
	const char *why;
} filter_lint_dangerous[] = {
	{ "ptrace", "inspects and controls other processes" },
	{ "process_vm_readv", "reads another process's memory" },
	{ "process_vm_writev", "writes another process's memory" },
	{ "execve", "runs a new program after the sandbox was set up" },
	{ "execveat", "runs a new program after the sandbox was set up" },
	{ "mount", "changes the mount table" },
	{ "umount2", "changes the mount table" },
	{ "pivot_root", "changes the root" },
	{ "chroot", "changes the root" },
	{ "unshare", "creates namespaces" },
	{ "setns", "enters namespaces" },
	{ "clone", "flags can create namespaces or share state" },
	{ "clone3", "flags can create namespaces or share state" },
	{ "bpf", "loads programs into the kernel" },
	{ "perf_event_open", "large kernel attack surface" },
	{ "userfaultfd", "stalls the kernel on page faults" },
	{ "kexec_load", "replaces the kernel" },
	{ "kexec_file_load", "replaces the kernel" },
	{ "init_module", "loads kernel code" },
	{ "finit_module", "loads kernel code" },
	{ "delete_module", "unloads kernel code" },
	{ "keyctl", "reaches the kernel keyring" },
	{ "add_key", "reaches the kernel keyring" },
	{ "request_key", "reaches the kernel keyring" },
	{ "open_by_handle_at", "opens files outside the visible tree" },
	{ "personality", "changes the execution domain" },
	{ "iopl", "grants port I/O" },
	{ "ioperm", "grants port I/O" },
	{ "reboot", "reboots the machine" },
	{ "io_uring_setup", "io_uring's operations bypass seccomp" },
	{ "io_uring_enter", "io_uring's operations bypass seccomp" },
	{ "io_uring_register", "io_uring's operations bypass seccomp" },
	{ "pkey_mprotect", "PROT_EXEC makes data executable" },
	{ "fsopen", "changes the mount table" },
	{ "fsmount", "changes the mount table" },
	{ "move_mount", "changes the mount table" },
	{ "open_tree", "changes the mount table" },
	{ "mount_setattr", "changes the mount table" },
	{ "pidfd_getfd", "takes another process's fds" },
	{ "swapon", "changes swap" },
	{ "swapoff", "changes swap" },
	{ "ioctl", "every driver's command set; filter arg1 by name" },
	{ "mprotect", "PROT_EXEC makes data executable; restrict arg2" },
	{ "mmap", "PROT_EXEC makes data executable; restrict arg2" },
	{ "prctl", "can change sandbox-relevant process state; restrict arg0" },
	{ "socket", "opens new network endpoints; restrict arg0" },
};

const char *filter_lint_unconditional(const char *syscall)
{
	for (size_t i = 0; i < sizeof(filter_lint_dangerous) /
				sizeof(filter_lint_dangerous[0]); i++)
		if (!strcmp(filter_lint_dangerous[i].syscall, syscall))
			return filter_lint_dangerous[i].why;
	return NULL;
}

int filter_lint_required_arg(const char *syscall)
{
	/* A condition on some other argument would leave every ioctl command
	 * of that fd reachable. */
	if (!strcmp(syscall, "ioctl"))
		return 1;
	return -1;
}
