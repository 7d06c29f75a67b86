/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The names a policy may use for argument values and errnos, resolved by
 * the C compiler from the system headers at build time. A policy therefore
 * never carries a hex ioctl number, and a header change is picked up by a
 * rebuild. Add a name here when a policy needs it.
 */
#include "sandbox/filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/vfio.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "common/uapi_compat.h"
#include "uapi/linux/vfio_type1v3.h"

/*
 * iommufd's request numbers. Debian 12's uAPI headers (6.1) have no
 * <linux/iommufd.h>; the build adds a newer kernel's uAPI directory after
 * the system one when it finds one (as for backend_iommufd.c). Without it
 * the two data-path requests are spelled from their fixed ABI, so the
 * broker policy compiles the same everywhere.
 */
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#else
#define IOMMU_IOAS_MAP		_IO(';', 0x85)
#define IOMMU_IOAS_UNMAP	_IO(';', 0x86)
#endif

#define C(name) { #name, (uint64_t)(name) }

static const struct {
	const char *name;
	uint64_t value;
} filter_consts[] = {
	/* errno values for `return ERRNO` */
	C(EPERM), C(ENOENT), C(EINTR), C(EIO), C(EBADF), C(EAGAIN),
	C(ENOMEM), C(EACCES), C(EFAULT), C(EBUSY), C(EEXIST), C(EINVAL),
	C(ENOSPC), C(ERANGE), C(ENOSYS), C(ENOTSUP), C(EOPNOTSUPP),
	C(ENOTTY), C(EAFNOSUPPORT), C(EPROTONOSUPPORT),
	/* ioctl commands */
	C(FIONREAD), C(FIONBIO), C(FIOCLEX), C(FIONCLEX), C(TCGETS),
	C(TIOCGWINSZ), C(TIOCSTI),
	C(VFIO_GET_API_VERSION), C(VFIO_CHECK_EXTENSION), C(VFIO_SET_IOMMU),
	C(VFIO_GROUP_GET_STATUS), C(VFIO_GROUP_SET_CONTAINER),
	C(VFIO_GROUP_UNSET_CONTAINER), C(VFIO_GROUP_GET_DEVICE_FD),
	C(VFIO_IOMMU_GET_INFO), C(VFIO_IOMMU_MAP_DMA),
	C(VFIO_IOMMU_UNMAP_DMA), C(VFIO_IOMMU_MAP_DMA_BATCH),
	C(VFIO_IOMMU_UNMAP_DMA_BATCH), C(VFIO_DEVICE_GET_INFO),
	C(VFIO_DEVICE_GET_REGION_INFO), C(VFIO_DEVICE_RESET),
	C(IOMMU_IOAS_MAP), C(IOMMU_IOAS_UNMAP),
	/* mmap / mprotect / madvise */
	C(PROT_NONE), C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC),
	C(MAP_SHARED), C(MAP_PRIVATE), C(MAP_FIXED), C(MAP_ANONYMOUS),
	C(MAP_NORESERVE), C(MAP_POPULATE), C(MAP_STACK),
	C(MAP_FIXED_NOREPLACE), C(MAP_GROWSDOWN),
	C(MADV_DONTNEED), C(MADV_FREE), C(MADV_DONTDUMP), C(MADV_NOHUGEPAGE),
	C(MADV_HUGEPAGE), C(MADV_WILLNEED),
	/* open / fcntl */
	C(O_RDONLY), C(O_WRONLY), C(O_RDWR), C(O_CLOEXEC), C(O_NONBLOCK),
	C(O_CREAT), C(O_TRUNC), C(O_APPEND), C(O_DIRECTORY), C(O_NOFOLLOW),
	C(F_GETFD), C(F_SETFD), C(F_GETFL), C(F_SETFL), C(F_DUPFD_CLOEXEC),
	C(FD_CLOEXEC), C(F_ADD_SEALS), C(F_SEAL_SEAL), C(F_SEAL_SHRINK),
	C(F_SEAL_GROW), C(F_SEAL_WRITE),
	/* memfd_create */
	C(MFD_CLOEXEC), C(MFD_ALLOW_SEALING),
	/* sockets */
	C(AF_UNIX), C(AF_INET), C(AF_INET6), C(AF_NETLINK),
	C(SOCK_STREAM), C(SOCK_DGRAM), C(SOCK_SEQPACKET), C(SOCK_CLOEXEC),
	C(SOCK_NONBLOCK), C(SOL_SOCKET), C(SO_PEERCRED), C(SO_PEERPIDFD),
	C(SHUT_RDWR),
	C(MSG_DONTWAIT), C(MSG_NOSIGNAL), C(MSG_CMSG_CLOEXEC), C(MSG_PEEK),
	C(MSG_TRUNC), C(MSG_WAITALL),
	/* clocks */
	C(CLOCK_REALTIME), C(CLOCK_MONOTONIC), C(CLOCK_MONOTONIC_RAW),
	C(CLOCK_BOOTTIME), C(CLOCK_PROCESS_CPUTIME_ID),
	C(CLOCK_THREAD_CPUTIME_ID), C(CLOCK_REALTIME_COARSE),
	C(CLOCK_MONOTONIC_COARSE),
	/* wait */
	C(WNOHANG), C(WUNTRACED), C(WEXITED), C(WNOWAIT), C(P_PID), C(P_ALL),
	/* futex */
	C(FUTEX_WAIT), C(FUTEX_WAKE), C(FUTEX_PRIVATE_FLAG),
	C(FUTEX_WAIT_PRIVATE), C(FUTEX_WAKE_PRIVATE),
	C(FUTEX_WAIT_BITSET_PRIVATE), C(FUTEX_CLOCK_REALTIME),
	/* prctl */
	C(PR_GET_DUMPABLE), C(PR_SET_DUMPABLE), C(PR_SET_NAME), C(PR_GET_NAME),
	C(PR_SET_NO_NEW_PRIVS), C(PR_GET_NO_NEW_PRIVS), C(PR_SET_PDEATHSIG),
	C(PR_CAPBSET_READ),
	/* rlimits */
	C(RLIMIT_NOFILE), C(RLIMIT_NPROC), C(RLIMIT_FSIZE), C(RLIMIT_CORE),
	C(RLIMIT_AS), C(RLIMIT_STACK), C(RLIMIT_DATA),
	/* signals */
	C(SIGABRT), C(SIGSEGV), C(SIGBUS), C(SIGTERM), C(SIGKILL), C(SIGSYS),
	C(SIGPIPE), C(SIGCHLD), C(SIGINT), C(SIGUSR1), C(SIGUSR2),
	C(SIG_BLOCK), C(SIG_UNBLOCK), C(SIG_SETMASK),
};

bool filter_consts_lookup(const char *name, uint64_t *value)
{
	for (size_t i = 0; i < sizeof(filter_consts) / sizeof(filter_consts[0]);
	     i++) {
		if (!strcmp(filter_consts[i].name, name)) {
			*value = filter_consts[i].value;
			return true;
		}
	}
	return false;
}
