// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target for the wire codec. Input: one control byte, then the
 * datagram. Control bits: 0 direction (0 to broker, 1 to client), 1 state
 * (0 handshake, 1 negotiated version 1), 2..5 the number of fds that
 * "arrived" with it.
 *
 * Oracle: every accepted message must be readable through its accessors
 * without going outside the datagram (ASan watches), and re-encoding what
 * was read must give back the same bytes: decoder and encoders agree on
 * every accepted input. The only field the encoders never produce is a
 * nonzero MAP/UNMAP batch flags word, which the codec exposes rather than
 * rejects; it is compared separately.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fuzz_out[VB_MSG_MAX_LEN];

static void fuzz_same(const uint8_t *msg, size_t len, ssize_t n)
{
	if (n < 0 || (size_t)n != len || memcmp(fuzz_out, msg, len))
		__builtin_trap();
}

static void fuzz_batch(const struct vb_msg *m, const uint8_t *msg, size_t len)
{
	static struct vb_map_entry me[VB_MAX_ENTRIES_HARD];
	static struct vb_unmap_entry ue[VB_MAX_ENTRIES_HARD];
	struct vb_batch b;
	uint32_t i;
	ssize_t n;

	if (m->count < 1 || m->count > VB_MAX_ENTRIES_HARD)
		__builtin_trap();
	for (i = 0; i < m->count; i++) {
		if (m->hdr.type == VB_MSG_MAP)
			vb_msg_map_entry(m, i, &me[i]);
		else
			vb_msg_unmap_entry(m, i, &ue[i]);
	}
	if (m->hdr.type == VB_MSG_MAP)
		n = vb_encode_map(fuzz_out, sizeof(fuzz_out), m->hdr.version,
				  m->hdr.id, me, m->count);
	else
		n = vb_encode_unmap(fuzz_out, sizeof(fuzz_out),
				    m->hdr.version, m->hdr.id, ue, m->count);
	memcpy(&b, msg + sizeof(struct vb_hdr), sizeof(b));
	if (b.flags != m->batch_flags)
		__builtin_trap();
	if (n > 0)
		memcpy(fuzz_out + sizeof(struct vb_hdr) +
		       offsetof(struct vb_batch, flags), &b.flags,
		       sizeof(b.flags));
	fuzz_same(msg, len, n);
}

static void fuzz_check(const struct vb_msg *m, const uint8_t *msg, size_t len)
{
	struct vb_range iova[VB_MAX_IOVA_RANGES];
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	struct vb_welcome w;
	struct vb_hello h;
	struct vb_reply r;
	struct vb_stats s;
	size_t cap = sizeof(fuzz_out);

	switch (m->hdr.type) {
	case VB_MSG_HELLO:
		if (vb_msg_hello(m, &h))
			__builtin_trap();
		fuzz_same(msg, len, vb_encode_hello(fuzz_out, cap, m->hdr.id,
						    &h));
		break;
	case VB_MSG_WELCOME:
		if (vb_msg_welcome(m, &w, iova, ram))
			__builtin_trap();
		fuzz_same(msg, len, vb_encode_welcome(fuzz_out, cap, m->hdr.id,
						      &w, iova, ram));
		break;
	case VB_MSG_MAP:
	case VB_MSG_UNMAP:
		fuzz_batch(m, msg, len);
		break;
	case VB_MSG_SYNC:
	case VB_MSG_STATS:
	case VB_MSG_KICK:
	case VB_MSG_WAKE:
		fuzz_same(msg, len, vb_encode_simple(fuzz_out, cap,
						     m->hdr.version,
						     m->hdr.type, m->hdr.id));
		break;
	case VB_MSG_REPLY:
		if (vb_msg_reply(m, &r))
			__builtin_trap();
		fuzz_same(msg, len, vb_encode_reply(fuzz_out, cap,
						    m->hdr.version, m->hdr.id,
						    &r));
		break;
	case VB_MSG_STATS_REPLY:
		if (vb_msg_stats(m, &s))
			__builtin_trap();
		fuzz_same(msg, len, vb_encode_stats(fuzz_out, cap,
						    m->hdr.version, m->hdr.id,
						    &s));
		break;
	default:
		__builtin_trap();	/* decoded an unknown type */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum vb_dir dir;
	struct vb_msg m;
	uint8_t *msg;
	size_t len;
	uint16_t version;
	unsigned int nfds;

	if (size < 1)
		return 0;
	dir = (data[0] & 1) ? VB_DIR_TO_CLIENT : VB_DIR_TO_BROKER;
	version = (data[0] & 2) ? 1 : 0;
	nfds = (data[0] >> 2) & 15;
	len = size - 1;
	/* An exact-size heap copy, so any overread is an ASan report. */
	msg = malloc(len ? len : 1);
	if (!msg)
		return 0;
	memcpy(msg, data + 1, len);
	if (vb_decode(msg, len, dir, version, nfds, &m) == 0) {
		if (m.hdr.len != len || m.body_len + sizeof(m.hdr) != len ||
		    vb_msg_rule(m.hdr.type)->dir != dir)
			__builtin_trap();
		fuzz_check(&m, msg, len);
	}
	free(msg);
	return 0;
}
