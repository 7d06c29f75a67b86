/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pure codec for the vfio-broker wire protocol: bytes <-> structs. No I/O,
 * no fds, no allocation. Decoding is driven by one table per message type
 * (min/max length, entry size, whether fds may accompany it, direction).
 *
 * Decoders never trust the buffer's alignment: entries are copied out with
 * the typed accessors below. Every decoder returns 0 or a negative errno:
 *   -EMSGSIZE  length below the type's minimum or above its maximum, or the
 *              datagram length differs from hdr.len
 *   -EPROTO    unknown type, wrong direction, count inconsistent with length,
 *              nonzero reserved or flag fields in a header or handshake body
 *   -EPROTONOSUPPORT  version field not the expected one
 * A decode failure is a protocol violation: the peer is dropped.
 * Problems with entry *contents* (alignment, prot, ranges) are not the
 * codec's business; src/broker/policy.c checks those and replies with an
 * errno.
 */
#ifndef VB_PROTO_CODEC_H
#define VB_PROTO_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "vfio-broker/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vb_dir {
	VB_DIR_TO_BROKER = 1,
	VB_DIR_TO_CLIENT = 2,
};

/* A decoded message: a view into the caller's buffer. */
struct vb_msg {
	struct vb_hdr hdr;
	const uint8_t *body;	/* hdr.len - sizeof(hdr) bytes */
	uint32_t body_len;
	uint32_t count;		/* entries for MAP/UNMAP, 0 otherwise */
	uint32_t batch_flags;	/* vb_batch.flags for MAP/UNMAP */
};

/* Per-type rules, exposed so tests can sweep every boundary. */
struct vb_msg_rule {
	uint16_t type;
	enum vb_dir dir;
	uint32_t min_len;	/* whole message */
	uint32_t max_len;	/* whole message */
	uint32_t entry_size;	/* 0 for messages without entries */
	bool fds_allowed;
	const char *name;
};

const struct vb_msg_rule *vb_msg_rule(uint16_t type);
const char *vb_msg_name(uint16_t type);	/* "MAP", ..., "?" if unknown */

/*
 * Decode one received datagram of @len bytes travelling in @dir.
 * @version: the negotiated version, or 0 before the handshake (then only
 * HELLO, or WELCOME/REPLY towards the client, is accepted).
 * @nfds: number of fds that came with it (checked against the rule).
 */
int vb_decode(const void *buf, size_t len, enum vb_dir dir, uint16_t version,
	      unsigned int nfds, struct vb_msg *out);

/* Typed body accessors; return -EPROTO if the message is not of that type. */
int vb_msg_hello(const struct vb_msg *m, struct vb_hello *out);
int vb_msg_welcome(const struct vb_msg *m, struct vb_welcome *out,
		   struct vb_range *iova, struct vb_ram_region *ram);
/*
 * fds that must accompany a WELCOME: n_ram memfds, then the device fd when
 * VB_WELCOME_F_DEVICE_FD is set, then the ring when VB_WELCOME_F_RING is.
 */
unsigned int vb_welcome_nfds(const struct vb_welcome *w);
int vb_msg_reply(const struct vb_msg *m, struct vb_reply *out);
int vb_msg_stats(const struct vb_msg *m, struct vb_stats *out);
/* Entry @i of a MAP / UNMAP (i < m->count). */
void vb_msg_map_entry(const struct vb_msg *m, uint32_t i,
		      struct vb_map_entry *out);
void vb_msg_unmap_entry(const struct vb_msg *m, uint32_t i,
			struct vb_unmap_entry *out);

/*
 * Encoders write one whole datagram into @buf (capacity @cap) and return its
 * length, or a negative errno (-ENOBUFS if it does not fit, -EINVAL for an
 * argument the decoder would reject, e.g. count 0 or above the hard cap).
 */
ssize_t vb_encode_hello(void *buf, size_t cap, uint64_t id,
			const struct vb_hello *h);
ssize_t vb_encode_welcome(void *buf, size_t cap, uint64_t id,
			  const struct vb_welcome *w,
			  const struct vb_range *iova,
			  const struct vb_ram_region *ram);
ssize_t vb_encode_map(void *buf, size_t cap, uint16_t version, uint64_t id,
		      const struct vb_map_entry *e, uint32_t count);
ssize_t vb_encode_unmap(void *buf, size_t cap, uint16_t version, uint64_t id,
			const struct vb_unmap_entry *e, uint32_t count);
ssize_t vb_encode_simple(void *buf, size_t cap, uint16_t version,
			 uint16_t type, uint64_t id); /* SYNC, STATS, KICK, WAKE */
ssize_t vb_encode_reply(void *buf, size_t cap, uint16_t version, uint64_t id,
			const struct vb_reply *r);
ssize_t vb_encode_stats(void *buf, size_t cap, uint16_t version, uint64_t id,
			const struct vb_stats *s);

/* Version negotiation: highest common version, or 0 if none. */
uint16_t vb_negotiate(uint16_t cmin, uint16_t cmax);

#ifdef __cplusplus
}
#endif

#endif /* VB_PROTO_CODEC_H */
