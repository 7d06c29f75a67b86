// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target for the shared ring's reader and writer, as the broker
 * and the client library use them on memory the other side can rewrite at
 * any time. Input: one control byte (bits 0..4: window - 1; bit 5: play
 * the client instead of the broker; bits 6..7: max_entries selector), then
 * bytes that overwrite the ring from offset 0, header and slots alike,
 * before the reader's first call; between its calls, as a hostile peer
 * would, each rewrite is 3 bytes of offset (modulo the ring's size) and a
 * length byte (1..64) followed by that many bytes: indices, idle words,
 * slot lengths and slot contents alike.
 *
 * Oracle: ASan watches every access (the ring is a heap block of exactly
 * its size); a read may return only a message that fits its slot, -EAGAIN
 * or -EPROTO; a message taken is decoded as the receiving side would (what
 * the codec then says is the codec fuzzer's business) and sent back into
 * the other queue, whose head the peer also controls.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"
#include "proto/ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t fuzz_entries[4] = { 1, 4, 64, 1024 };

static void fuzz_overwrite(uint8_t *mem, size_t len, const uint8_t **data,
			   size_t *size)
{
	size_t n = *size < len ? *size : len;

	memcpy(mem, *data, n);
	*data += n;
	*size -= n;
}

/* One rewrite between reads: where, how long, then the bytes. */
static void fuzz_rewrite(uint8_t *mem, size_t ring_size,
			 const uint8_t **data, size_t *size)
{
	const uint8_t *d = *data;
	size_t off, len;

	if (*size < 4) {
		*size = 0;
		return;
	}
	off = ((size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16) %
	      ring_size;
	len = d[3] % 64 + 1;
	*data += 4;
	*size -= 4;
	fuzz_overwrite(mem + off, len < ring_size - off ? len : ring_size - off,
		       data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[VB_MSG_MAX_LEN];
	struct vb_ring_layout l;
	enum vb_ring_side side;
	struct vb_ring r;
	uint8_t *mem;

	if (size < 1)
		return 0;
	side = data[0] & 0x20 ? VB_RING_CLIENT : VB_RING_BROKER;
	if (vb_ring_geometry((data[0] & 0x1f) + 1, fuzz_entries[data[0] >> 6],
			     &l))
		__builtin_trap();
	data++;
	size--;
	mem = calloc(1, l.size);
	if (!mem)
		return 0;
	vb_ring_format(mem, &l);
	vb_ring_attach(&r, mem, &l, side);

	/* the peer writes the whole ring, then again after every read */
	fuzz_overwrite(mem, l.size, &data, &size);
	for (;;) {
		ssize_t n = vb_ring_recv(&r, msg, sizeof(msg));
		uint32_t slot = side == VB_RING_BROKER ? l.sq_slot : l.cq_slot;
		struct vb_msg m;

		if (n == -EAGAIN || n == -EPROTO)
			break;
		if (n < 0 || (size_t)n > slot - 8)
			__builtin_trap();
		(void)vb_decode(msg, (size_t)n,
				side == VB_RING_BROKER ? VB_DIR_TO_BROKER :
							 VB_DIR_TO_CLIENT,
				1, 0, &m);
		/* an answer into the other queue, whose head the peer owns */
		if (vb_ring_send(&r, msg, (uint32_t)n) == 0 &&
		    vb_ring_unread(&r) == -EPROTO)
			break;
		if (!size)
			break;
		fuzz_rewrite(mem, l.size, &data, &size);
	}
	(void)vb_ring_take_peer_idle(&r);
	free(mem);
	return 0;
}
