// SPDX-License-Identifier: BSD-3-Clause
/*
 * Shared ring queues: the geometry written out by hand from the layout in
 * docs/protocol.md, messages in order across many wraps in both
 * directions, back-pressure, and everything a hostile peer can write into
 * the shared header or a slot answered with an error instead of a read
 * out of bounds. Both sides attach to one heap buffer, as the two
 * processes map one memfd.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "proto/ring.h"

static struct vb_ring_layout lay;
static uint8_t *mem;
static struct vb_ring cli, brk;

static void setup(void)
{
	ck_assert_int_eq(vb_ring_geometry(4, 2, &lay), 0);
	mem = aligned_alloc(4096, lay.size);
	ck_assert_ptr_nonnull(mem);
	memset(mem, 0xa5, lay.size);	/* format must not rely on zeroes */
	vb_ring_format(mem, &lay);
	ck_assert_int_eq(vb_ring_check(&((struct vb_ring_hdr *)mem)->layout,
				       lay.size), 0);
	vb_ring_attach(&cli, mem, &lay, VB_RING_CLIENT);
	vb_ring_attach(&brk, mem, &lay, VB_RING_BROKER);
}

static void teardown(void)
{
	free(mem);
}

static struct vb_ring_hdr *hdr(void)
{
	return (struct vb_ring_hdr *)mem;
}

START_TEST(test_geometry)
{
	struct vb_ring_layout l;

	ck_assert_int_eq(vb_ring_geometry(32, 256, &l), 0);
	ck_assert_uint_eq(l.magic, VB_RING_MAGIC);
	ck_assert_uint_eq(l.nslots, 32);
	/* 8 slot header + 16 vb_hdr + 8 vb_batch + 256 * 32, to 64 */
	ck_assert_uint_eq(l.sq_slot, 8256);
	/* 8 + 16 + 80 (vb_stats), to 64 */
	ck_assert_uint_eq(l.cq_slot, 128);
	ck_assert_uint_eq(l.sq_off, 4096);
	ck_assert_uint_eq(l.cq_off, 4096 + 32 * 8256);
	/* 4096 + 32 * 8256 + 32 * 128 = 272384, rounded up to a page */
	ck_assert_uint_eq(l.size, 274432);
	ck_assert_int_eq(vb_ring_check(&l, l.size), 0);

	ck_assert_int_eq(vb_ring_geometry(33, 1, &l), 0);
	ck_assert_uint_eq(l.nslots, 64);
	ck_assert_uint_eq(l.sq_slot, 64);
	ck_assert_int_eq(vb_ring_geometry(1, 1024, &l), 0);
	ck_assert_uint_eq(l.nslots, 1);
	ck_assert_uint_eq(l.sq_slot, 8 + 16 + 8 + 1024 * 32 + 32);

	ck_assert_int_eq(vb_ring_geometry(0, 1, &l), -EINVAL);
	ck_assert_int_eq(vb_ring_geometry(1, 0, &l), -EINVAL);
	ck_assert_int_eq(vb_ring_geometry(1, 1025, &l), -EINVAL);
	ck_assert_int_eq(vb_ring_geometry(65537, 1, &l), -EINVAL);
}
END_TEST

/* Each field a broker could get wrong makes the layout unusable. */
START_TEST(test_check_refuses)
{
	struct vb_ring_layout good, l;

	ck_assert_int_eq(vb_ring_geometry(8, 16, &good), 0);
	ck_assert_int_eq(vb_ring_check(&good, good.size), 0);
	ck_assert_int_eq(vb_ring_check(&good, good.size + 4096), -EPROTO);
	ck_assert_int_eq(vb_ring_check(&good, good.size - 4096), -EPROTO);
#define BAD(field, value)                                              \
	do {                                                           \
		l = good;                                              \
		l.field = value;                                       \
		ck_assert_int_eq(vb_ring_check(&l, l.size), -EPROTO); \
	} while (0)
	BAD(magic, VB_RING_MAGIC + 1);
	BAD(nslots, 0);
	BAD(nslots, 6);
	BAD(nslots, 16);		/* slots no longer fit before cq_off */
	BAD(nslots, 1u << 17);
	BAD(sq_slot, good.sq_slot + 1);
	BAD(sq_slot, 0);
	BAD(sq_slot, 1u << 20);
	BAD(cq_slot, 64);		/* a STATS_REPLY would not fit */
	BAD(cq_slot, good.cq_slot + 8);
	BAD(sq_off, 0);			/* over the header */
	BAD(sq_off, good.sq_off + 8);
	BAD(cq_off, good.cq_off - 64);	/* overlaps the request slots */
	BAD(cq_off, good.size);		/* reply slots past the end */
	BAD(cq_off, UINT64_MAX - 63);
	BAD(sq_off, UINT64_MAX - 63);
	/* a huge size of its own, which a client checks against */
	l = good;
	l.size = l.sq_off = UINT64_MAX - 63;	/* + the slots wrap to 4544 */
	l.cq_off = 8192;
	ck_assert_int_eq(vb_ring_check(&l, l.size), -EPROTO);
	ck_assert_int_eq(vb_ring_geometry(65536, 1024, &l), 0);
	ck_assert_int_eq(vb_ring_check(&l, l.size), 0);	/* the largest */
#undef BAD
}
END_TEST

/* Many wraps in both directions, contents and order intact. */
START_TEST(test_roundtrip_wraps)
{
	uint8_t in[64], out[64];

	for (uint32_t i = 0; i < 3 * lay.nslots + 1; i++) {
		memset(in, (int)i, sizeof(in));
		ck_assert_int_eq(vb_ring_readable(&brk), 0);
		ck_assert_int_eq(vb_ring_send(&cli, in, 17 + i), 0);
		ck_assert_uint_eq(vb_ring_readable(&brk), 1);
		ck_assert_int_eq(vb_ring_unread(&cli), 1);
		memset(out, 0, sizeof(out));
		ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), 17 + i);
		ck_assert_mem_eq(out, in, 17 + i);
		ck_assert_int_eq(vb_ring_unread(&cli), 0);
		ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), -EAGAIN);

		ck_assert_int_eq(vb_ring_send(&brk, in, 32), 0);
		ck_assert_int_eq(vb_ring_recv(&cli, out, sizeof(out)), 32);
		ck_assert_mem_eq(out, in, 32);
	}
	/* the counters are free-running, not slot numbers */
	ck_assert_uint_eq(hdr()->sq_tail.v, 3 * lay.nslots + 1);
	ck_assert_uint_eq(hdr()->cq_head.v, 3 * lay.nslots + 1);
}
END_TEST

START_TEST(test_full_and_sizes)
{
	uint8_t msg[8300] = { 0 }, out[8300];
	uint32_t max = lay.sq_slot - 8;

	for (uint32_t i = 0; i < lay.nslots; i++) {
		msg[0] = (uint8_t)i;
		ck_assert_int_eq(vb_ring_send(&cli, msg, max), 0);
	}
	ck_assert_int_eq(vb_ring_send(&cli, msg, 16), -EAGAIN);
	ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), max);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_int_eq(vb_ring_send(&cli, msg, 16), 0);
	ck_assert_int_eq(vb_ring_send(&cli, msg, max + 1), -EAGAIN);
	ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), max);
	ck_assert_int_eq(vb_ring_send(&cli, msg, max + 1), -EMSGSIZE);
	ck_assert_int_eq(vb_ring_send(&brk, msg, lay.cq_slot - 7), -EMSGSIZE);
	ck_assert_int_eq(vb_ring_send(&brk, msg, lay.cq_slot - 8), 0);
	/* a message longer than the reader's buffer is refused, not cut */
	ck_assert_int_eq(vb_ring_recv(&cli, out, lay.cq_slot - 9), -EPROTO);
}
END_TEST

/* What a hostile client can write: indices and lengths out of range. */
START_TEST(test_hostile_client)
{
	uint8_t msg[32] = { 1 }, out[64];
	uint8_t *slot0 = mem + lay.sq_off;
	uint32_t len;

	/* a tail that claims more messages than slots, even with a slot
	 * that holds a well-formed length */
	len = sizeof(msg);
	memcpy(slot0, &len, sizeof(len));
	hdr()->sq_tail.v = lay.nslots + 1;
	ck_assert_uint_ne(vb_ring_readable(&brk), 0);
	ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), -EPROTO);
	hdr()->sq_tail.v = UINT32_MAX;	/* "behind" the head: just as bad */
	ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), -EPROTO);
	ck_assert_uint_eq(brk.rx_pos, 0);

	/* a slot length beyond the slot, or beyond the reader's buffer */
	hdr()->sq_tail.v = 1;
	len = lay.sq_slot - 7;
	memcpy(slot0, &len, sizeof(len));
	ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), -EPROTO);
	len = 0xffffffffu;
	memcpy(slot0, &len, sizeof(len));
	ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), -EPROTO);
	len = sizeof(out) + 1;
	memcpy(slot0, &len, sizeof(len));
	ck_assert_int_eq(vb_ring_recv(&brk, out, sizeof(out)), -EPROTO);
	ck_assert_uint_eq(hdr()->sq_head.v, 0);

	/* a reply head ahead of what was sent, or far behind it */
	ck_assert_int_eq(vb_ring_send(&brk, msg, sizeof(msg)), 0);
	hdr()->cq_head.v = 2;
	ck_assert_int_eq(vb_ring_unread(&brk), -EPROTO);
	ck_assert_int_eq(vb_ring_send(&brk, msg, sizeof(msg)), -EPROTO);
	hdr()->cq_head.v = 1 - lay.nslots - 1;
	ck_assert_int_eq(vb_ring_send(&brk, msg, sizeof(msg)), -EPROTO);
	/* moving it back to the truth makes the queue usable again */
	hdr()->cq_head.v = 1;
	ck_assert_int_eq(vb_ring_unread(&brk), 0);
	ck_assert_int_eq(vb_ring_send(&brk, msg, sizeof(msg)), 0);
	/* the broker never reads the shared layout after attaching */
	hdr()->layout.nslots = 1u << 30;
	hdr()->layout.cq_off = UINT64_MAX;
	ck_assert_int_eq(vb_ring_send(&brk, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(test_idle_words)
{
	/* nobody asleep: nothing to announce, nothing taken */
	ck_assert(!vb_ring_take_peer_idle(&brk));
	ck_assert(!vb_ring_take_peer_idle(&cli));
	vb_ring_set_idle(&cli);
	ck_assert(!vb_ring_clear_idle(&cli));	/* woke by itself */

	vb_ring_set_idle(&cli);
	ck_assert_uint_eq(hdr()->client_idle.v, 1);
	ck_assert(vb_ring_take_peer_idle(&brk));	/* one WAKE */
	ck_assert(!vb_ring_take_peer_idle(&brk));	/* and only one */
	ck_assert(vb_ring_clear_idle(&cli));	/* so it reads it */

	vb_ring_set_idle(&brk);
	ck_assert_uint_eq(hdr()->broker_idle.v, 1);
	ck_assert_uint_eq(hdr()->client_idle.v, 0);
	ck_assert(vb_ring_take_peer_idle(&cli));	/* one KICK */
	ck_assert(!vb_ring_take_peer_idle(&cli));
	ck_assert(vb_ring_clear_idle(&brk));
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("ring");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_geometry);
	tcase_add_test(tc, test_check_refuses);
	tcase_add_test(tc, test_roundtrip_wraps);
	tcase_add_test(tc, test_full_and_sizes);
	tcase_add_test(tc, test_hostile_client);
	tcase_add_test(tc, test_idle_words);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(ring_suite());
}
