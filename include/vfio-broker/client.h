/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libvfiobroker: the client side of the vfio-broker protocol.
 *
 * A plain C API (no macros needed to call it, opaque handle, fixed-size
 * structs from proto.h) so C, C++ and generated bindings can use it alike.
 * Functions return 0 or a negative errno. A status the broker sends back
 * (for example -ERANGE for an IOVA outside the window) is returned the same
 * way, with the full reply in *res when res is not NULL; a call the
 * library fails itself (a dead handle, a timeout) leaves *res as it was.
 *
 * Two modes that may be mixed on one handle:
 *  - synchronous: vb_client_map() etc. send one request and wait for its
 *    reply (after delivering any earlier pipelined completions);
 *  - pipelined: vb_client_submit_*() queue a request without waiting, up to
 *    the broker's request window (-EAGAIN beyond it); vb_client_poll()
 *    reads replies and runs the completion callbacks, always in submission
 *    order.
 *
 * A handle is not thread-safe. The broker lets one handle claim a device,
 * so the threads of one device share its handle under their own lock.
 */
#ifndef VFIO_BROKER_CLIENT_H
#define VFIO_BROKER_CLIENT_H

#include <stdint.h>

#include "vfio-broker/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vb_client;

/* What the broker told the client at the handshake. */
struct vb_client_info {
	uint16_t version;
	uint32_t device_id;
	uint32_t domain_id;
	uint32_t page_size;
	uint32_t max_entries;
	uint32_t window;
	uint32_t n_iova;
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	uint32_t n_ram;
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	int ram_fd[VB_MAX_RAM_REGIONS];	/* owned by the handle */
	/*
	 * The device's VFIO device fd (BARs, config space, interrupts), or -1
	 * when the broker has none for it (sim devices). Owned by the handle:
	 * closed by vb_client_close(); dup() it to keep it longer. Appended
	 * last so the struct only grew (the library hands out a pointer).
	 */
	int device_fd;
};

/* Connect to a broker's listening socket and claim @device_id (or
 * VB_DEVICE_ANY). */
int vb_client_connect(const char *path, uint32_t device_id,
		      struct vb_client **out);
/* Handshake over an already connected SOCK_SEQPACKET socket; the handle
 * takes ownership of @fd, also on failure. */
int vb_client_open_fd(int fd, uint32_t device_id, struct vb_client **out);
/*
 * The same with VB_CLIENT_* @flags (since 1.1, VFIOBROKER_1.1); -EINVAL for
 * an unknown flag (open_fd still takes @fd). VB_CLIENT_NO_RING: do not ask
 * for a shared ring, for a broker from before it (which drops a client that
 * asks), without touching the environment (VB_CLIENT_RING=0, which still
 * turns the ring off for every handle).
 */
#define VB_CLIENT_NO_RING	(1u << 0)
int vb_client_connect_flags(const char *path, uint32_t device_id,
			    uint32_t flags, struct vb_client **out);
int vb_client_open_fd_flags(int fd, uint32_t device_id, uint32_t flags,
			    struct vb_client **out);
/* Completes what is outstanding with -ECANCELED, then frees the handle.
 * Allowed in a callback: the handle goes when the call that ran it returns. */
void vb_client_close(struct vb_client *c);

const struct vb_client_info *vb_client_get_info(const struct vb_client *c);
/* The socket, for poll()/epoll in the caller's event loop: call
 * vb_client_poll(c, 0) after submitting and before sleeping on it, which
 * (with a shared ring) asks the broker to make it readable with the next
 * reply. */
int vb_client_fd(const struct vb_client *c);

/*
 * Busy-wait for replies: a call that has to wait keeps polling the socket
 * without blocking for up to @usec microseconds before it sleeps (0, the
 * default: sleep at once). Worth it only when the broker runs on another
 * CPU and polls too (its poll_us): the reply then arrives without waking
 * anyone, saving two context switches per request, and the CPU spins
 * meanwhile. -EINVAL above VB_CLIENT_SPIN_MAX_US.
 */
#define VB_CLIENT_SPIN_MAX_US	1000000u
int vb_client_set_spin(struct vb_client *c, unsigned int usec);

/*
 * The longest the library waits for the broker (a synchronous call's
 * reply, vb_client_wait(), room to send, a WAKE it is owed), in
 * milliseconds; -1, the default, waits for ever. When it passes, the
 * handle is dead with -ETIMEDOUT and what is outstanding completes with
 * ETIMEDOUT: after a broker missed a reply, later replies could not be
 * matched safely. vb_client_poll()'s own timeout is not affected.
 * -EINVAL for 0 or below -1. Since 1.1 (VFIOBROKER_1.1).
 */
int vb_client_set_timeout(struct vb_client *c, int timeout_ms);

/* Synchronous calls. */
int vb_client_map(struct vb_client *c, const struct vb_map_entry *e,
		  uint32_t count, struct vb_reply *res);
int vb_client_unmap(struct vb_client *c, const struct vb_unmap_entry *e,
		    uint32_t count, struct vb_reply *res);
int vb_client_sync(struct vb_client *c);
int vb_client_stats(struct vb_client *c, struct vb_stats *out);

/* Pipelined calls. The callback runs from vb_client_poll(), a synchronous
 * call, or vb_client_wait(); @res->status is a positive errno or 0. */
typedef void (*vb_client_done_fn)(void *arg, uint64_t id,
				  const struct vb_reply *res);
int vb_client_submit_map(struct vb_client *c, const struct vb_map_entry *e,
			 uint32_t count, vb_client_done_fn done, void *arg,
			 uint64_t *id);
int vb_client_submit_unmap(struct vb_client *c,
			   const struct vb_unmap_entry *e, uint32_t count,
			   vb_client_done_fn done, void *arg, uint64_t *id);
int vb_client_submit_sync(struct vb_client *c, vb_client_done_fn done,
			  void *arg, uint64_t *id);
/* Deliver completions that have arrived, waiting up to @timeout_ms
 * (-1: until at least one arrives, 0: never). Returns how many were
 * delivered, or a negative errno (-EPIPE when the broker hung up, which
 * it also reports when nothing is outstanding). */
int vb_client_poll(struct vb_client *c, int timeout_ms);
/* Deliver completions until nothing is outstanding. */
int vb_client_wait(struct vb_client *c);
unsigned int vb_client_outstanding(const struct vb_client *c);

/* The library's version string, "MAJOR.MINOR.PATCH", e.g. "1.1.0". */
const char *vb_client_version(void);

#ifdef __cplusplus
}
#endif

#endif /* VFIO_BROKER_CLIENT_H */
