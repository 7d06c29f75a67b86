/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio-broker wire protocol, version 1.
 *
 * Transport: AF_UNIX, SOCK_SEQPACKET. One datagram is one message. File
 * descriptors travel only with VB_MSG_WELCOME, as SCM_RIGHTS, one per guest
 * RAM region and in region order, then the device's VFIO device fd when
 * VB_WELCOME_F_DEVICE_FD is set, then the shared ring's memfd when
 * VB_WELCOME_F_RING is set. With a ring, requests and replies travel
 * through it instead of the socket (struct vb_ring_hdr below), in the same
 * encoding. All integers are in the host's native byte
 * order (the peers always share a host) and every structure is naturally
 * aligned with explicit padding, so its size is the same for every compiler.
 *
 * Every message starts with struct vb_hdr. hdr.len is the length of the whole
 * datagram including the header; a datagram whose length differs from
 * hdr.len is malformed. After the handshake every message must carry the
 * negotiated version in hdr.version.
 *
 * Ranges are [start, start + size): size in bytes for IOVA windows and RAM
 * regions, npages pages of VB_PAGE_SIZE for map and unmap entries.
 *
 * docs/protocol.md is the normative description; keep the two in step.
 */
#ifndef VFIO_BROKER_PROTO_H
#define VFIO_BROKER_PROTO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VB_PROTO_VERSION_MIN	1
#define VB_PROTO_VERSION_MAX	1

#define VB_PAGE_SIZE		4096u
#define VB_PAGE_SHIFT		12

/* Hard caps, independent of what the broker negotiates. */
#define VB_MAX_ENTRIES_HARD	1024u	/* entries in one MAP or UNMAP */
#define VB_MAX_IOVA_RANGES	8u	/* IOVA windows per device */
#define VB_MAX_RAM_REGIONS	8u	/* guest RAM regions (and memfds) */
/* fds one WELCOME can carry: the memfds, the device fd, the ring */
#define VB_MAX_WELCOME_FDS	(VB_MAX_RAM_REGIONS + 2u)

/* Message types. Requests 1..63, replies 128..191. */
enum vb_msg_type {
	VB_MSG_HELLO = 1,	/* client -> broker, first message */
	VB_MSG_MAP = 2,		/* client -> broker */
	VB_MSG_UNMAP = 3,	/* client -> broker */
	VB_MSG_SYNC = 4,	/* client -> broker, barrier */
	VB_MSG_STATS = 5,	/* client -> broker */
	VB_MSG_KICK = 6,	/* client -> broker: the ring holds requests */

	VB_MSG_WELCOME = 128,	/* broker -> client, answers HELLO */
	VB_MSG_REPLY = 129,	/* broker -> client, answers any request */
	VB_MSG_STATS_REPLY = 130, /* broker -> client, answers STATS */
	VB_MSG_WAKE = 131	/* broker -> client: the ring holds replies */
};

struct vb_hdr {
	uint16_t version;	/* 0 on HELLO, WELCOME and a refusal REPLY;
				 * the negotiated version on all others */
	uint16_t type;		/* enum vb_msg_type */
	uint32_t len;		/* whole datagram, header included */
	uint64_t id;		/* request id, echoed in the reply */
};

/* VB_MSG_HELLO body. */
#define VB_DEVICE_ANY		0xffffffffu	/* "the device my identity grants" */
#define VB_HELLO_F_RING		(1u << 0)	/* asks for a shared ring */
#define VB_HELLO_F_MASK		VB_HELLO_F_RING
struct vb_hello {
	uint16_t min_version;
	uint16_t max_version;
	uint32_t device_id;	/* device the client claims, or VB_DEVICE_ANY */
	uint32_t flags;		/* VB_HELLO_F_* */
	uint32_t reserved;	/* must be 0 */
};

struct vb_range {
	uint64_t start;
	uint64_t size;
};

#define VB_RAM_F_SHARED		(1u << 0)	/* memfd may be mmapped MAP_SHARED */
struct vb_ram_region {
	uint64_t gpa;		/* guest-physical base */
	uint64_t size;		/* bytes, multiple of VB_PAGE_SIZE */
	uint64_t offset;	/* offset of gpa within the region's memfd */
	uint32_t flags;		/* VB_RAM_F_* */
	uint32_t reserved;
};

/*
 * VB_MSG_WELCOME body, followed by n_iova struct vb_range, then n_ram
 * struct vb_ram_region. n_ram memfds arrive with it, and after them one
 * VFIO device fd when flags has VB_WELCOME_F_DEVICE_FD.
 *
 * flags was a must-be-zero reserved field before the device fd existed,
 * so a WELCOME without a device fd is byte for byte what it always was and
 * the version stays 1.
 */
#define VB_WELCOME_F_DEVICE_FD	(1u << 0)	/* an fd after the memfds is the VFIO device fd */
#define VB_WELCOME_F_RING	(1u << 1)	/* the last fd is the ring's memfd */
#define VB_WELCOME_F_MASK	(VB_WELCOME_F_DEVICE_FD | VB_WELCOME_F_RING)
struct vb_welcome {
	uint16_t version;	/* chosen version */
	uint16_t n_iova;	/* 1..VB_MAX_IOVA_RANGES */
	uint16_t n_ram;		/* 0..VB_MAX_RAM_REGIONS */
	uint16_t flags;		/* VB_WELCOME_F_* */
	uint32_t device_id;
	uint32_t domain_id;
	uint32_t page_size;	/* VB_PAGE_SIZE */
	uint32_t max_entries;	/* per MAP/UNMAP, <= VB_MAX_ENTRIES_HARD */
	uint32_t window;	/* requests the client may have outstanding */
	uint32_t reserved2;
};

/* prot bits of a map entry */
#define VB_PROT_READ		(1u << 0)	/* device may read */
#define VB_PROT_WRITE		(1u << 1)	/* device may write */
#define VB_PROT_MASK		(VB_PROT_READ | VB_PROT_WRITE)

/* MAP and UNMAP bodies: this, then count entries. */
struct vb_batch {
	uint32_t count;		/* 1..max_entries */
	uint32_t flags;		/* must be 0 */
};

struct vb_map_entry {
	uint64_t iova;
	uint64_t gpa;
	uint64_t npages;
	uint32_t prot;		/* VB_PROT_*, at least one bit */
	uint32_t reserved;	/* must be 0 */
};

struct vb_unmap_entry {
	uint64_t iova;
	uint64_t npages;
};

/*
 * VB_MSG_REPLY body. status is 0 or a positive errno value. On failure of a
 * MAP nothing of the request is mapped (all-or-nothing) and failed_index
 * names the entry; VB_NO_INDEX when no single entry is to blame.
 */
#define VB_NO_INDEX		0xffffffffu
struct vb_reply {
	int32_t status;
	uint32_t failed_index;
	uint64_t pages_done;
};

/* VB_MSG_STATS_REPLY body: the client's own counters. */
struct vb_stats {
	struct vb_reply reply;
	uint64_t requests;	/* MAP + UNMAP + SYNC + STATS received */
	uint64_t map_requests;
	uint64_t unmap_requests;
	uint64_t pages_mapped;	/* total, since connect */
	uint64_t pages_unmapped;
	uint64_t pages_current;	/* mapped now */
	uint64_t errors;	/* replies with status != 0 */
	uint64_t batches;	/* backend calls that carried this client's entries */
};

/*
 * The shared ring (VB_WELCOME_F_RING). A sealed memfd the broker creates
 * for one client, mapped MAP_SHARED by both: struct vb_ring_hdr at offset
 * 0, then nslots request slots of sq_slot bytes at sq_off (client to
 * broker), then nslots reply slots of cq_slot bytes at cq_off. A slot is a
 * uint32_t length, 4 bytes of padding and one message exactly as it would
 * be sent on the socket. Indices are free-running uint32_t counters
 * (slot = index % nslots), each written by one side only, with release
 * stores and read with acquire loads:
 *   sq_tail by the client, sq_head by the broker,
 *   cq_tail by the broker, cq_head by the client.
 * The idle words replace wakeups: a side about to sleep sets its own to 1
 * and checks its queue once more; a side that has just published work
 * atomically exchanges the other's word with 0 and, if it was 1, sends
 * one header-only datagram on the socket (KICK to the broker, WAKE to the
 * client). While both poll, nothing crosses the socket at all.
 * Whatever a client writes into the ring is untrusted: the broker copies a
 * slot out before decoding it, and an index or length out of bounds is a
 * protocol violation like a malformed datagram.
 */
#define VB_RING_MAGIC		0x31524256u	/* "VBR1" */
struct vb_ring_layout {
	uint32_t magic;
	uint32_t nslots;	/* power of two, >= the window */
	uint32_t sq_slot;	/* bytes per request slot, multiple of 64 */
	uint32_t cq_slot;	/* bytes per reply slot, multiple of 64 */
	uint64_t sq_off;
	uint64_t cq_off;
	uint64_t size;		/* of the whole memfd */
	uint8_t reserved[24];
};

struct vb_ring_word {
	uint32_t v;
	uint32_t pad[15];	/* one 64-byte cache line per word */
};

struct vb_ring_hdr {
	struct vb_ring_layout layout;	/* written once by the broker */
	struct vb_ring_word sq_tail;
	struct vb_ring_word sq_head;
	struct vb_ring_word cq_tail;
	struct vb_ring_word cq_head;
	struct vb_ring_word broker_idle;
	struct vb_ring_word client_idle;
};

/* Size caps derived from the above. */
#define VB_MSG_MIN_LEN		((uint32_t)sizeof(struct vb_hdr))
#define VB_MSG_MAX_LEN \
	((uint32_t)(sizeof(struct vb_hdr) + sizeof(struct vb_batch) + \
		    VB_MAX_ENTRIES_HARD * sizeof(struct vb_map_entry)))

#ifdef __cplusplus
}
#endif

#endif /* VFIO_BROKER_PROTO_H */
