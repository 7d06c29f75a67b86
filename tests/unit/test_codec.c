// SPDX-License-Identifier: BSD-3-Clause
/*
 * Codec tests: every message round-trips; every length boundary, count cap,
 * version/state rule, direction, fd rule and reserved field is rejected with
 * the documented errno. Expected sizes are written out by hand from the
 * layouts in docs/protocol.md, not taken from the codec's own table.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "proto/codec.h"

#define V1	1
#define BIG	(VB_MSG_MAX_LEN + 64)

static uint8_t *buf;

static void setup(void)
{
	/* +1 so tests can place a message at an odd address. */
	buf = calloc(1, BIG + 1);
	ck_assert_ptr_nonnull(buf);
}

static void teardown(void)
{
	free(buf);
}

static void put_hdr(uint8_t *p, uint16_t version, uint16_t type, uint32_t len,
		    uint64_t id)
{
	struct vb_hdr h = { version, type, len, id };

	memcpy(p, &h, sizeof(h));
}

static void put_batch(uint8_t *p, uint32_t count, uint32_t flags)
{
	struct vb_batch b = { count, flags };

	memcpy(p + 16, &b, sizeof(b));
}

static struct vb_welcome good_welcome(uint16_t n_iova, uint16_t n_ram)
{
	struct vb_welcome w = {
		.version = V1, .n_iova = n_iova, .n_ram = n_ram,
		.device_id = 7, .domain_id = 3, .page_size = 4096,
		.max_entries = 256, .window = 32,
	};
	return w;
}

static struct vb_range iovas[8];
static struct vb_ram_region rams[8];

static void fill_ranges(void)
{
	unsigned int i;

	for (i = 0; i < 8; i++) {
		iovas[i].start = (uint64_t)(i + 1) << 32;
		iovas[i].size = 1ull << 30;
		rams[i].gpa = (uint64_t)i << 33;
		rams[i].size = 1ull << 28;
		rams[i].offset = i * 4096;
		rams[i].flags = VB_RAM_F_SHARED;
		rams[i].reserved = 0;
	}
}

/* ---- table ---- */

START_TEST(test_rules_sizes)
{
	static const struct {
		uint16_t type;
		uint32_t min, max, esz;
		bool fds;
		enum vb_dir dir;
		const char *name;
	} want[] = {
		{ VB_MSG_HELLO, 32, 32, 0, false, VB_DIR_TO_BROKER, "HELLO" },
		{ VB_MSG_MAP, 56, 32792, 32, false, VB_DIR_TO_BROKER, "MAP" },
		{ VB_MSG_UNMAP, 40, 16408, 16, false, VB_DIR_TO_BROKER,
		  "UNMAP" },
		{ VB_MSG_SYNC, 16, 16, 0, false, VB_DIR_TO_BROKER, "SYNC" },
		{ VB_MSG_STATS, 16, 16, 0, false, VB_DIR_TO_BROKER, "STATS" },
		{ VB_MSG_KICK, 16, 16, 0, false, VB_DIR_TO_BROKER, "KICK" },
		{ VB_MSG_WAKE, 16, 16, 0, false, VB_DIR_TO_CLIENT, "WAKE" },
		{ VB_MSG_WELCOME, 64, 432, 0, true, VB_DIR_TO_CLIENT,
		  "WELCOME" },
		{ VB_MSG_REPLY, 32, 32, 0, false, VB_DIR_TO_CLIENT, "REPLY" },
		{ VB_MSG_STATS_REPLY, 96, 96, 0, false, VB_DIR_TO_CLIENT,
		  "STATS_REPLY" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct vb_msg_rule *r = vb_msg_rule(want[i].type);

		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(r->type, want[i].type);
		ck_assert_uint_eq(r->min_len, want[i].min);
		ck_assert_uint_eq(r->max_len, want[i].max);
		ck_assert_uint_eq(r->entry_size, want[i].esz);
		ck_assert_int_eq(r->fds_allowed, want[i].fds);
		ck_assert_int_eq(r->dir, want[i].dir);
		ck_assert_str_eq(r->name, want[i].name);
		ck_assert_str_eq(vb_msg_name(want[i].type), want[i].name);
	}
	ck_assert_uint_eq(VB_MSG_MAX_LEN, 32792);
	ck_assert_ptr_null(vb_msg_rule(0));
	ck_assert_str_eq(vb_msg_name(0), "?");
	ck_assert_str_eq(vb_msg_name(7), "?");
	ck_assert_str_eq(vb_msg_name(132), "?");
}
END_TEST

/* ---- round trips ---- */

START_TEST(test_roundtrip_hello)
{
	struct vb_hello h = { 1, 3, 42, 0, 0 }, got;
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_hello(buf, BIG, 99, &h);
	ck_assert_int_eq(n, 32);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m), 0);
	ck_assert_uint_eq(m.hdr.version, 0);
	ck_assert_uint_eq(m.hdr.type, VB_MSG_HELLO);
	ck_assert_uint_eq(m.hdr.len, 32);
	ck_assert_uint_eq(m.hdr.id, 99);
	ck_assert_uint_eq(m.body_len, 16);
	ck_assert_int_eq(vb_msg_hello(&m, &got), 0);
	ck_assert_mem_eq(&got, &h, sizeof(h));
}
END_TEST

START_TEST(test_roundtrip_welcome)
{
	struct vb_range giova[8];
	struct vb_ram_region gram[8];
	struct vb_welcome w, got;
	struct vb_msg m;
	uint16_t ni, nr;
	ssize_t n;

	fill_ranges();
	for (ni = 1; ni <= 8; ni++) {
		for (nr = 0; nr <= 8; nr++) {
			w = good_welcome(ni, nr);
			n = vb_encode_welcome(buf, BIG, 5, &w, iovas, rams);
			ck_assert_int_eq(n, 48 + 16 * ni + 32 * nr);
			ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0,
						   nr, &m), 0);
			memset(giova, 0xee, sizeof(giova));
			memset(gram, 0xee, sizeof(gram));
			ck_assert_int_eq(vb_msg_welcome(&m, &got, giova, gram),
					 0);
			ck_assert_mem_eq(&got, &w, sizeof(w));
			ck_assert_mem_eq(giova, iovas, ni * sizeof(giova[0]));
			if (nr)
				ck_assert_mem_eq(gram, rams,
						 nr * sizeof(gram[0]));
			/* Nothing written past the counts. */
			if (ni < 8)
				ck_assert_uint_eq(((uint8_t *)&giova[ni])[0],
						  0xee);
			if (nr < 8)
				ck_assert_uint_eq(((uint8_t *)&gram[nr])[0],
						  0xee);
		}
	}
}
END_TEST

START_TEST(test_roundtrip_map)
{
	static struct vb_map_entry e[1024];
	static const uint32_t counts[] = { 1, 2, 3, 511, 1023, 1024 };
	struct vb_map_entry got;
	struct vb_msg m;
	unsigned int c, i;
	ssize_t n;

	for (i = 0; i < 1024; i++) {
		e[i].iova = (uint64_t)i << 12;
		e[i].gpa = ((uint64_t)i << 12) + (1ull << 40);
		e[i].npages = i + 1;
		e[i].prot = (i % 3) + 1;
		e[i].reserved = 0;
	}
	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		n = vb_encode_map(buf, BIG, V1, 1000 + c, e, counts[c]);
		ck_assert_int_eq(n, 24 + 32 * counts[c]);
		ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0,
					   &m), 0);
		ck_assert_uint_eq(m.count, counts[c]);
		ck_assert_uint_eq(m.batch_flags, 0);
		ck_assert_uint_eq(m.hdr.id, 1000 + c);
		for (i = 0; i < counts[c]; i++) {
			vb_msg_map_entry(&m, i, &got);
			ck_assert_mem_eq(&got, &e[i], sizeof(got));
		}
	}
}
END_TEST

START_TEST(test_roundtrip_unmap)
{
	static struct vb_unmap_entry e[1024];
	static const uint32_t counts[] = { 1, 2, 1023, 1024 };
	struct vb_unmap_entry got;
	struct vb_msg m;
	unsigned int c, i;
	ssize_t n;

	for (i = 0; i < 1024; i++) {
		e[i].iova = UINT64_MAX - 4095 - ((uint64_t)i << 12);
		e[i].npages = 1;
	}
	for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		n = vb_encode_unmap(buf, BIG, V1, c, e, counts[c]);
		ck_assert_int_eq(n, 24 + 16 * counts[c]);
		ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0,
					   &m), 0);
		ck_assert_uint_eq(m.count, counts[c]);
		for (i = 0; i < counts[c]; i++) {
			vb_msg_unmap_entry(&m, i, &got);
			ck_assert_mem_eq(&got, &e[i], sizeof(got));
		}
	}
}
END_TEST

START_TEST(test_roundtrip_simple)
{
	static const uint16_t types[] = { VB_MSG_SYNC, VB_MSG_STATS,
					  VB_MSG_KICK, VB_MSG_WAKE };
	struct vb_msg m;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < 4; i++) {
		enum vb_dir dir = types[i] == VB_MSG_WAKE ? VB_DIR_TO_CLIENT :
							    VB_DIR_TO_BROKER;

		n = vb_encode_simple(buf, BIG, V1, types[i], UINT64_MAX);
		ck_assert_int_eq(n, 16);
		ck_assert_int_eq(vb_decode(buf, n, dir, V1, 0, &m), 0);
		/* the other direction, and before the handshake, refuse it */
		ck_assert_int_eq(vb_decode(buf, n, dir == VB_DIR_TO_CLIENT ?
					   VB_DIR_TO_BROKER : VB_DIR_TO_CLIENT,
					   V1, 0, &m), -EPROTO);
		put_hdr(buf, 0, types[i], 16, 1);
		ck_assert_int_eq(vb_decode(buf, n, dir, 0, 0, &m), -EPROTO);
		n = vb_encode_simple(buf, BIG, V1, types[i], UINT64_MAX);
		ck_assert_int_eq(vb_decode(buf, n, dir, V1, 0, &m), 0);
		ck_assert_uint_eq(m.hdr.type, types[i]);
		ck_assert_uint_eq(m.hdr.id, UINT64_MAX);
		ck_assert_uint_eq(m.body_len, 0);
		ck_assert_uint_eq(m.count, 0);
	}
}
END_TEST

START_TEST(test_roundtrip_reply)
{
	struct vb_reply r = { EEXIST, 17, 123456789ull }, got;
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_reply(buf, BIG, V1, 8, &r);
	ck_assert_int_eq(n, 32);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m), 0);
	ck_assert_int_eq(vb_msg_reply(&m, &got), 0);
	ck_assert_mem_eq(&got, &r, sizeof(r));

	r.status = 0;
	r.failed_index = VB_NO_INDEX;
	n = vb_encode_reply(buf, BIG, V1, 9, &r);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m), 0);
	ck_assert_int_eq(vb_msg_reply(&m, &got), 0);
	ck_assert_mem_eq(&got, &r, sizeof(r));

	/* Handshake refusal: version 0, nonzero status. */
	r.status = EPROTONOSUPPORT;
	n = vb_encode_reply(buf, BIG, 0, 1, &r);
	ck_assert_int_eq(n, 32);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 0, &m), 0);
	ck_assert_uint_eq(m.hdr.version, 0);
	ck_assert_int_eq(vb_msg_reply(&m, &got), 0);
	ck_assert_int_eq(got.status, EPROTONOSUPPORT);
}
END_TEST

START_TEST(test_roundtrip_stats)
{
	struct vb_stats s = {
		.reply = { 0, VB_NO_INDEX, 0 },
		.requests = 1, .map_requests = 2, .unmap_requests = 3,
		.pages_mapped = 4, .pages_unmapped = 5, .pages_current = 6,
		.errors = 7, .batches = 8,
	}, got;
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_stats(buf, BIG, V1, 77, &s);
	ck_assert_int_eq(n, 96);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m), 0);
	ck_assert_int_eq(vb_msg_stats(&m, &got), 0);
	ck_assert_mem_eq(&got, &s, sizeof(s));
}
END_TEST

START_TEST(test_unaligned_buffer)
{
	struct vb_map_entry e = { 1ull << 12, 2ull << 12, 3, VB_PROT_READ, 0 };
	struct vb_map_entry got;
	uint8_t *odd = buf + 1;
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_map(odd, BIG, V1, 1, &e, 1);
	ck_assert_int_eq(n, 56);
	ck_assert_int_eq(vb_decode(odd, n, VB_DIR_TO_BROKER, V1, 0, &m), 0);
	vb_msg_map_entry(&m, 0, &got);
	ck_assert_mem_eq(&got, &e, sizeof(e));
}
END_TEST

/* ---- lengths ---- */

/* Fixed-length types: a sweep of every length 0..max+40. */
START_TEST(test_len_fixed_sweep)
{
	static const struct {
		uint16_t type, version;
		enum vb_dir dir;
		uint32_t len;
	} t[] = {
		{ VB_MSG_HELLO, 0, VB_DIR_TO_BROKER, 32 },
		{ VB_MSG_SYNC, V1, VB_DIR_TO_BROKER, 16 },
		{ VB_MSG_STATS, V1, VB_DIR_TO_BROKER, 16 },
		{ VB_MSG_REPLY, V1, VB_DIR_TO_CLIENT, 32 },
		{ VB_MSG_STATS_REPLY, V1, VB_DIR_TO_CLIENT, 96 },
	};
	struct vb_msg m;
	unsigned int i;
	uint32_t len;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (len = 0; len <= t[i].len + 40; len++) {
			int want = len == t[i].len ? 0 : -EMSGSIZE;

			memset(buf, 0, BIG);
			if (len >= 16)
				put_hdr(buf, t[i].version, t[i].type, len, 1);
			ck_assert_msg(vb_decode(buf, len, t[i].dir,
						t[i].version, 0, &m) == want,
				      "type %u len %u", t[i].type, len);
		}
	}
}
END_TEST

/* MAP/UNMAP: every length 0..max+64 with a count consistent with it. */
START_TEST(test_len_batch_sweep)
{
	static const uint16_t types[] = { VB_MSG_MAP, VB_MSG_UNMAP };
	static const uint32_t esz[] = { 32, 16 };
	struct vb_msg m;
	unsigned int i;
	uint32_t len, max;

	for (i = 0; i < 2; i++) {
		max = 24 + 1024 * esz[i];
		for (len = 0; len <= max + 64; len++) {
			uint32_t count = len >= 24 ? (len - 24) / esz[i] : 0;
			int want;

			if (len < 24 + esz[i] || len > max)
				want = -EMSGSIZE;
			else if ((len - 24) % esz[i])
				want = -EMSGSIZE;
			else
				want = 0;
			memset(buf, 0, 64);
			if (len >= 16)
				put_hdr(buf, V1, types[i], len, 1);
			if (len >= 24)
				put_batch(buf, count, 0);
			ck_assert_msg(vb_decode(buf, len, VB_DIR_TO_BROKER, V1,
						0, &m) == want,
				      "type %u len %u", types[i], len);
			if (!want)
				ck_assert_uint_eq(m.count, count);
		}
	}
}
END_TEST

/* Counts around the caps, each with the length that count implies. */
START_TEST(test_batch_counts_at_caps)
{
	static const uint32_t counts[] = { 0, 1, 2, 1023, 1024, 1025, 2048 };
	struct vb_msg m;
	unsigned int i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		uint32_t c = counts[i];
		uint64_t len = 24 + (uint64_t)c * 16;
		int want = (c >= 1 && c <= 1024) ? 0 : -EMSGSIZE;

		if (len > BIG)
			continue;
		memset(buf, 0, len);
		put_hdr(buf, V1, VB_MSG_UNMAP, len, 1);
		put_batch(buf, c, 0);
		ck_assert_msg(vb_decode(buf, len, VB_DIR_TO_BROKER, V1, 0,
					&m) == want, "count %u", c);
	}
}
END_TEST

/* Count field disagreeing with the length, including wrapping values. */
START_TEST(test_batch_count_mismatch)
{
	static const uint32_t bad[] = {
		0, 1, 3, 1024, 1025, 0x08000001u, 0x80000001u, UINT32_MAX,
	};
	struct vb_msg m;
	unsigned int i;
	uint32_t len = 24 + 2 * 32;	/* two MAP entries */

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0, len);
		put_hdr(buf, V1, VB_MSG_MAP, len, 1);
		put_batch(buf, bad[i], 0);
		ck_assert_msg(vb_decode(buf, len, VB_DIR_TO_BROKER, V1, 0,
					&m) == -EPROTO, "count %u", bad[i]);
	}
	/* 0x08000001 * 32 wraps to 32 in 32 bits: must not pass as one. */
	len = 24 + 32;
	put_hdr(buf, V1, VB_MSG_MAP, len, 1);
	put_batch(buf, 0x08000001u, 0);
	ck_assert_int_eq(vb_decode(buf, len, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EPROTO);
}
END_TEST

START_TEST(test_batch_flags_exposed)
{
	struct vb_unmap_entry e = { 0, 1 };
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_unmap(buf, BIG, V1, 1, &e, 1);
	put_batch(buf, 1, 0x80000000u);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0, &m), 0);
	ck_assert_uint_eq(m.batch_flags, 0x80000000u);
}
END_TEST

START_TEST(test_truncated_and_oversized)
{
	struct vb_map_entry e[3] = { { 0, 0, 1, 1, 0 } };
	struct vb_msg m;
	ssize_t n, len;

	n = vb_encode_map(buf, BIG, V1, 1, e, 3);
	ck_assert_int_eq(n, 120);
	/* Truncated: the datagram is shorter than hdr.len says. */
	for (len = 0; len < n; len++)
		ck_assert_int_eq(vb_decode(buf, len, VB_DIR_TO_BROKER, V1, 0,
					   &m), -EMSGSIZE);
	/* Oversized: trailing bytes beyond hdr.len. */
	for (len = n + 1; len < n + 64; len++)
		ck_assert_int_eq(vb_decode(buf, len, VB_DIR_TO_BROKER, V1, 0,
					   &m), -EMSGSIZE);
	/* Larger than any message at all. */
	put_hdr(buf, V1, VB_MSG_MAP, BIG, 1);
	ck_assert_int_eq(vb_decode(buf, BIG, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EMSGSIZE);
	put_hdr(buf, V1, VB_MSG_MAP, UINT32_MAX, 1);
	ck_assert_int_eq(vb_decode(buf, BIG, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EMSGSIZE);
}
END_TEST

START_TEST(test_hdr_len_mismatch)
{
	struct vb_msg m;
	uint32_t l;

	for (l = 0; l < 64; l++) {
		if (l == 16)
			continue;
		put_hdr(buf, V1, VB_MSG_SYNC, l, 1);
		ck_assert_int_eq(vb_decode(buf, 16, VB_DIR_TO_BROKER, V1, 0,
					   &m), -EMSGSIZE);
	}
}
END_TEST

/* ---- version and state ---- */

START_TEST(test_version_handshake_state)
{
	struct vb_hello h = { 1, 1, VB_DEVICE_ANY, 0, 0 };
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_hello(buf, BIG, 1, &h);
	/* HELLO must carry version 0. */
	put_hdr(buf, 1, VB_MSG_HELLO, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTONOSUPPORT);
	put_hdr(buf, 0xffff, VB_MSG_HELLO, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTONOSUPPORT);
	/* A second HELLO after negotiation is out of state. */
	put_hdr(buf, 0, VB_MSG_HELLO, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EPROTO);
	put_hdr(buf, V1, VB_MSG_HELLO, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EPROTO);

	/* Requests before the handshake are out of state. */
	n = vb_encode_simple(buf, BIG, V1, VB_MSG_SYNC, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTO);
	put_hdr(buf, 0, VB_MSG_SYNC, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTO);
}
END_TEST

START_TEST(test_version_negotiated_state)
{
	static const uint16_t bad[] = { 0, 2, 0x100, 0xffff };
	struct vb_reply r = { 0, VB_NO_INDEX, 0 };
	struct vb_msg m;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = vb_encode_simple(buf, BIG, V1, VB_MSG_STATS, 1);
		put_hdr(buf, bad[i], VB_MSG_STATS, n, 1);
		ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0,
					   &m), -EPROTONOSUPPORT);
		n = vb_encode_reply(buf, BIG, V1, 1, &r);
		put_hdr(buf, bad[i], VB_MSG_REPLY, n, 1);
		ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0,
					   &m), -EPROTONOSUPPORT);
	}
	/* The caller's negotiated version must itself be a real one. */
	n = vb_encode_simple(buf, BIG, V1, VB_MSG_STATS, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 2, 0, &m),
			 -EINVAL);
}
END_TEST

START_TEST(test_version_client_side)
{
	struct vb_welcome w = good_welcome(1, 0);
	struct vb_reply r = { EPERM, VB_NO_INDEX, 0 };
	struct vb_stats s = { .reply = { 0, VB_NO_INDEX, 0 } };
	struct vb_msg m;
	ssize_t n;

	fill_ranges();
	n = vb_encode_welcome(buf, BIG, 1, &w, iovas, rams);
	/* WELCOME after negotiation is out of state. */
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m),
			 -EPROTO);
	put_hdr(buf, V1, VB_MSG_WELCOME, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 0, &m),
			 -EPROTONOSUPPORT);

	/* A refusal before negotiation must carry an error. */
	n = vb_encode_reply(buf, BIG, 0, 1, &r);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 0, &m), 0);
	r.status = 0;
	memcpy(buf + 16, &r, sizeof(r));
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 0, &m),
			 -EPROTO);
	/* A negotiated-state REPLY may carry status 0. */
	put_hdr(buf, V1, VB_MSG_REPLY, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m), 0);

	/* STATS_REPLY only after negotiation. */
	n = vb_encode_stats(buf, BIG, V1, 1, &s);
	put_hdr(buf, 0, VB_MSG_STATS_REPLY, n, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 0, &m),
			 -EPROTO);
}
END_TEST

START_TEST(test_negative_status)
{
	struct vb_reply r = { 0, VB_NO_INDEX, 0 };
	struct vb_stats s = { .reply = { 0, VB_NO_INDEX, 0 } };
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_reply(buf, BIG, V1, 1, &r);
	r.status = -EPERM;
	memcpy(buf + 16, &r, sizeof(r));
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m),
			 -EPROTO);
	n = vb_encode_stats(buf, BIG, V1, 1, &s);
	memcpy(buf + 16, &r, sizeof(r));
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m),
			 -EPROTO);
	ck_assert_int_eq(vb_encode_reply(buf, BIG, V1, 1, &r), -EINVAL);
	s.reply.status = -1;
	ck_assert_int_eq(vb_encode_stats(buf, BIG, V1, 1, &s), -EINVAL);
}
END_TEST

START_TEST(test_negotiate)
{
	ck_assert_uint_eq(vb_negotiate(1, 1), 1);
	ck_assert_uint_eq(vb_negotiate(0, 1), 1);
	ck_assert_uint_eq(vb_negotiate(1, 0xffff), 1);
	ck_assert_uint_eq(vb_negotiate(0, 0xffff), 1);
	ck_assert_uint_eq(vb_negotiate(0, 0), 0);
	ck_assert_uint_eq(vb_negotiate(2, 5), 0);
	ck_assert_uint_eq(vb_negotiate(1, 0), 0);	/* min > max */
	ck_assert_uint_eq(vb_negotiate(0xffff, 0xffff), 0);
}
END_TEST

/* ---- type, direction, fds ---- */

START_TEST(test_unknown_type)
{
	static const uint16_t bad[] = {
		0, 7, 63, 64, 127, 132, 191, 192, 255, 256, 0x8001, 0xffff,
	};
	struct vb_msg m;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_hdr(buf, V1, bad[i], 16, 1);
		ck_assert_int_eq(vb_decode(buf, 16, VB_DIR_TO_BROKER, V1, 0,
					   &m), -EPROTO);
		ck_assert_int_eq(vb_decode(buf, 16, VB_DIR_TO_CLIENT, V1, 0,
					   &m), -EPROTO);
		put_hdr(buf, 0, bad[i], 16, 1);
		ck_assert_int_eq(vb_decode(buf, 16, VB_DIR_TO_BROKER, 0, 0,
					   &m), -EPROTO);
	}
}
END_TEST

START_TEST(test_wrong_direction)
{
	struct vb_map_entry e = { 0, 0, 1, 1, 0 };
	struct vb_reply r = { 0, VB_NO_INDEX, 0 };
	struct vb_hello h = { 1, 1, 0, 0, 0 };
	struct vb_welcome w = good_welcome(1, 0);
	struct vb_msg m;
	ssize_t n;

	fill_ranges();
	n = vb_encode_map(buf, BIG, V1, 1, &e, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m),
			 -EPROTO);
	n = vb_encode_simple(buf, BIG, V1, VB_MSG_SYNC, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, V1, 0, &m),
			 -EPROTO);
	n = vb_encode_reply(buf, BIG, V1, 1, &r);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EPROTO);
	n = vb_encode_hello(buf, BIG, 1, &h);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 0, &m),
			 -EPROTO);
	n = vb_encode_welcome(buf, BIG, 1, &w, iovas, rams);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTO);
	ck_assert_int_eq(vb_decode(buf, n, 0, 0, 0, &m), -EINVAL);
}
END_TEST

START_TEST(test_fds_rules)
{
	struct vb_map_entry e = { 0, 0, 1, 1, 0 };
	struct vb_hello h = { 1, 1, 0, 0, 0 };
	struct vb_welcome w = good_welcome(2, 3);
	struct vb_msg m;
	ssize_t n;

	fill_ranges();
	n = vb_encode_map(buf, BIG, V1, 1, &e, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 1, &m),
			 -EPROTO);
	n = vb_encode_hello(buf, BIG, 1, &h);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 1, &m),
			 -EPROTO);
	n = vb_encode_welcome(buf, BIG, 1, &w, iovas, rams);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 3, &m), 0);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 2, &m),
			 -EPROTO);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 4, &m),
			 -EPROTO);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_CLIENT, 0, 0, &m),
			 -EPROTO);
}
END_TEST

/* ---- handshake bodies ---- */

START_TEST(test_hello_reserved)
{
	struct vb_hello h = { 1, 1, 0, 0, 0 };
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_hello(buf, BIG, 1, &h);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m), 0);
	/* VB_HELLO_F_RING is the one assigned flag */
	h.flags = VB_HELLO_F_RING;
	ck_assert_int_eq(vb_encode_hello(buf, BIG, 1, &h), n);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m), 0);
	h.flags = 2;
	memcpy(buf + 16, &h, sizeof(h));
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTO);
	ck_assert_int_eq(vb_encode_hello(buf, BIG, 1, &h), -EINVAL);
	h.flags = 0x80000000u | VB_HELLO_F_RING;
	memcpy(buf + 16, &h, sizeof(h));
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTO);
	h.flags = 0;
	h.reserved = 0x80000000u;
	memcpy(buf + 16, &h, sizeof(h));
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m),
			 -EPROTO);
	ck_assert_int_eq(vb_encode_hello(buf, BIG, 1, &h), -EINVAL);
	/* An impossible version range is the broker's call, not ours. */
	h.reserved = 0;
	h.min_version = 9;
	h.max_version = 2;
	n = vb_encode_hello(buf, BIG, 1, &h);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, 0, 0, &m), 0);
}
END_TEST

/* Re-encode a WELCOME with one field patched and decode it. */
static int welcome_patched(struct vb_welcome w, uint32_t len_delta,
			   unsigned int nfds)
{
	struct vb_msg m;
	uint32_t len = 48 + 16 * (uint32_t)w.n_iova +
		       32 * (uint32_t)w.n_ram + len_delta;
	unsigned int ni = w.n_iova < 8 ? w.n_iova : 8;

	memset(buf, 0, 512);
	put_hdr(buf, 0, VB_MSG_WELCOME, len, 1);
	memcpy(buf + 16, &w, sizeof(w));
	memcpy(buf + 48, iovas, sizeof(iovas));
	memcpy(buf + 48 + 16 * ni, rams, sizeof(rams));
	return vb_decode(buf, len, VB_DIR_TO_CLIENT, 0, nfds, &m);
}

START_TEST(test_welcome_counts)
{
	struct vb_welcome w;

	fill_ranges();
	w = good_welcome(1, 0);
	ck_assert_int_eq(welcome_patched(w, 0, 0), 0);
	w = good_welcome(8, 8);
	ck_assert_int_eq(welcome_patched(w, 0, 8), 0);	/* 432 bytes */
	w = good_welcome(0, 1);
	ck_assert_int_eq(welcome_patched(w, 16, 1), -EPROTO);
	/* no IOVA window at all, with a length that fits that count */
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);
	ck_assert_int_eq(vb_encode_welcome(buf, BIG, 1, &w, iovas, rams),
			 -EINVAL);
	w = good_welcome(9, 0);
	ck_assert_int_eq(welcome_patched(w, 0, 0), -EPROTO);
	w = good_welcome(1, 9);
	ck_assert_int_eq(welcome_patched(w, 0, 9), -EPROTO);
	w = good_welcome(8, 9);		/* 464 bytes: above max */
	ck_assert_int_eq(welcome_patched(w, 0, 9), -EMSGSIZE);
	/* Huge counts in a minimum-length message: counts, not length. */
	w = good_welcome(0xffff, 0xffff);
	ck_assert_int_eq(welcome_patched(w, 64 - (48 + 48 * 0xffffu), 0),
			 -EPROTO);
	/* Counts that disagree with an in-bounds length. */
	w = good_welcome(2, 1);
	ck_assert_int_eq(welcome_patched(w, 16, 1), -EPROTO);
	ck_assert_int_eq(welcome_patched(w, -16, 1), -EPROTO);
	ck_assert_int_eq(welcome_patched(w, 1, 1), -EPROTO);
	/* Below the minimum (no IOVA range at all). */
	w = good_welcome(1, 0);
	ck_assert_int_eq(welcome_patched(w, -1, 0), -EMSGSIZE);
	ck_assert_int_eq(welcome_patched(w, -16, 0), -EMSGSIZE);
}
END_TEST

/*
 * A client mmap()s the RAM regions and sizes requests by the IOVA windows:
 * every range must be page-aligned, non-empty and must not wrap, and a
 * region's memfd offset page-aligned and not wrapping. Decode refuses a
 * WELCOME that breaks this (-EPROTO), encode will not write one (-EINVAL).
 */
START_TEST(test_welcome_geometry)
{
	static const struct {
		bool ram;	/* else IOVA window */
		uint64_t start, size, offset;
		const char *what;
	} bad[] = {
		{ false, 0x1000, 0, 0, "empty window" },
		{ false, 0x1800, 0x1000, 0, "unaligned window start" },
		{ false, 0x1000, 0x1800, 0, "unaligned window size" },
		{ false, -0x1000ull, 0x2000, 0, "window wrapping past 2^64" },
		{ true, 0, 0, 0, "empty region" },
		{ true, 0x800, 0x1000, 0, "unaligned region GPA" },
		{ true, 0, 0x10800, 0, "region of a page and a half" },
		{ true, -0x1000ull, 0x2000, 0, "region wrapping past 2^64" },
		{ true, 0, 0x1000, 0x200, "unaligned memfd offset" },
		{ true, 0, 0x2000, -0x1000ull, "memfd offset wrapping" },
	};
	struct vb_welcome w = good_welcome(2, 2);
	struct vb_range good_iova;
	struct vb_ram_region good_ram;

	fill_ranges();
	ck_assert_int_eq(welcome_patched(w, 0, 2), 0);
	good_iova = iovas[1];
	good_ram = rams[1];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i].ram) {
			rams[1].gpa = bad[i].start;
			rams[1].size = bad[i].size;
			rams[1].offset = bad[i].offset;
		} else {
			iovas[1].start = bad[i].start;
			iovas[1].size = bad[i].size;
		}
		ck_assert_msg(welcome_patched(w, 0, 2) == -EPROTO,
			      "decode accepted: %s", bad[i].what);
		ck_assert_msg(vb_encode_welcome(buf, BIG, 1, &w, iovas,
						rams) == -EINVAL,
			      "encode accepted: %s", bad[i].what);
		iovas[1] = good_iova;
		rams[1] = good_ram;
	}
	/* the last page of the address space is a range like any other */
	iovas[1].start = -0x1000ull;
	iovas[1].size = 0x1000;
	ck_assert_int_eq(welcome_patched(w, 0, 2), 0);
	iovas[1] = good_iova;
}
END_TEST

/*
 * The fd rule: nfds == n_ram, + 1 with DEVICE_FD, + 1 with RING, for every
 * combination of the two flags, at every boundary of n_ram, including the
 * largest WELCOME (8 + 2 fds).
 */
START_TEST(test_welcome_device_fd)
{
	static const struct { uint16_t flags; unsigned int extra; } rule[] = {
		{ 0, 0 },
		{ VB_WELCOME_F_DEVICE_FD, 1 },
		{ VB_WELCOME_F_RING, 1 },
		{ VB_WELCOME_F_DEVICE_FD | VB_WELCOME_F_RING, 2 },
	};
	struct vb_welcome w, got;
	struct vb_msg m;
	ssize_t n;

	fill_ranges();
	for (uint16_t nr = 0; nr <= VB_MAX_RAM_REGIONS; nr++) {
		for (unsigned int i = 0; i < sizeof(rule) / sizeof(rule[0]); i++) {
			unsigned int want = nr + rule[i].extra;

			w = good_welcome(1, nr);
			w.flags = rule[i].flags;
			ck_assert_uint_eq(vb_welcome_nfds(&w), want);
			ck_assert_int_eq(welcome_patched(w, 0, want), 0);
			ck_assert_int_eq(welcome_patched(w, 0, want + 1), -EPROTO);
			if (want)
				ck_assert_int_eq(welcome_patched(w, 0, want - 1),
						 -EPROTO);
		}
	}
	/* The flags round-trip through encoder, decoder and accessor. */
	w = good_welcome(8, 8);
	w.flags = VB_WELCOME_F_DEVICE_FD | VB_WELCOME_F_RING;
	n = vb_encode_welcome(buf, BIG, 9, &w, iovas, rams);
	ck_assert_int_eq(n, 432);
	ck_assert_int_eq(buf[22], 3);	/* flags at offset 22, LE */
	ck_assert_int_eq(buf[23], 0);
	ck_assert_int_eq(vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, 0,
				   VB_MAX_WELCOME_FDS, &m), 0);
	ck_assert_int_eq(vb_msg_welcome(&m, &got, NULL, NULL), 0);
	ck_assert_uint_eq(got.flags,
			  VB_WELCOME_F_DEVICE_FD | VB_WELCOME_F_RING);
	ck_assert_uint_eq(vb_welcome_nfds(&got), VB_MAX_WELCOME_FDS);
}
END_TEST

START_TEST(test_welcome_fields)
{
	struct vb_welcome w;

	fill_ranges();
	w = good_welcome(1, 1);
	w.version = 0;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTONOSUPPORT);
	ck_assert_int_eq(vb_encode_welcome(buf, BIG, 1, &w, iovas, rams),
			 -EINVAL);
	w.version = 2;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTONOSUPPORT);
	w = good_welcome(1, 1);
	w.flags = 4;			/* the first unassigned flag bit */
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);
	ck_assert_int_eq(welcome_patched(w, 0, 2), -EPROTO);
	w.flags = 0x8000;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);
	ck_assert_int_eq(vb_encode_welcome(buf, BIG, 1, &w, iovas, rams),
			 -EINVAL);
	w = good_welcome(1, 1);
	w.reserved2 = 1;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);
	w = good_welcome(1, 1);
	w.page_size = 65536;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);
	w = good_welcome(1, 1);
	w.max_entries = 0;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);
	w.max_entries = 1025;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);
	ck_assert_int_eq(vb_encode_welcome(buf, BIG, 1, &w, iovas, rams),
			 -EINVAL);
	w.max_entries = 1024;
	ck_assert_int_eq(welcome_patched(w, 0, 1), 0);
	w.max_entries = 1;
	ck_assert_int_eq(welcome_patched(w, 0, 1), 0);
	w.window = 0;
	ck_assert_int_eq(welcome_patched(w, 0, 1), -EPROTO);

	w = good_welcome(1, 2);
	rams[1].reserved = 1;
	ck_assert_int_eq(welcome_patched(w, 0, 2), -EPROTO);
	ck_assert_int_eq(vb_encode_welcome(buf, BIG, 1, &w, iovas, rams),
			 -EINVAL);
	rams[1].reserved = 0;
	rams[1].flags = 2;
	ck_assert_int_eq(welcome_patched(w, 0, 2), -EPROTO);
	rams[1].flags = 0;
	ck_assert_int_eq(welcome_patched(w, 0, 2), 0);
}
END_TEST

/* ---- encoder argument errors and accessors ---- */

START_TEST(test_encode_errors)
{
	static struct vb_map_entry me[1025];
	static struct vb_unmap_entry ue[1025];
	struct vb_reply r = { 0, VB_NO_INDEX, 0 };
	struct vb_welcome w = good_welcome(1, 0);
	struct vb_hello h = { 1, 1, 0, 0, 0 };
	struct vb_stats s = { .reply = { 0, 0, 0 } };

	fill_ranges();
	ck_assert_int_eq(vb_encode_map(buf, BIG, V1, 1, me, 0), -EINVAL);
	ck_assert_int_eq(vb_encode_map(buf, BIG, V1, 1, me, 1025), -EINVAL);
	ck_assert_int_eq(vb_encode_map(buf, BIG, V1, 1, NULL, 1), -EINVAL);
	ck_assert_int_eq(vb_encode_map(buf, BIG, 0, 1, me, 1), -EINVAL);
	ck_assert_int_eq(vb_encode_map(buf, BIG, 2, 1, me, 1), -EINVAL);
	ck_assert_int_eq(vb_encode_unmap(buf, BIG, V1, 1, ue, 0), -EINVAL);
	ck_assert_int_eq(vb_encode_unmap(buf, BIG, V1, 1, ue, UINT32_MAX),
			 -EINVAL);
	ck_assert_int_eq(vb_encode_simple(buf, BIG, V1, VB_MSG_MAP, 1),
			 -EINVAL);
	ck_assert_int_eq(vb_encode_simple(buf, BIG, 0, VB_MSG_SYNC, 1),
			 -EINVAL);
	ck_assert_int_eq(vb_encode_reply(buf, BIG, 0, 1, &r), -EINVAL);
	ck_assert_int_eq(vb_encode_stats(buf, BIG, 0, 1, &s), -EINVAL);
	ck_assert_int_eq(vb_encode_welcome(buf, BIG, 1, &w, NULL, rams),
			 -EINVAL);
	w.n_ram = 1;
	ck_assert_int_eq(vb_encode_welcome(buf, BIG, 1, &w, iovas, NULL),
			 -EINVAL);

	/* Capacity: exactly enough works, one byte less does not. */
	ck_assert_int_eq(vb_encode_map(buf, 56, V1, 1, me, 1), 56);
	ck_assert_int_eq(vb_encode_map(buf, 55, V1, 1, me, 1), -ENOBUFS);
	ck_assert_int_eq(vb_encode_map(buf, VB_MSG_MAX_LEN, V1, 1, me, 1024),
			 (ssize_t)VB_MSG_MAX_LEN);
	ck_assert_int_eq(vb_encode_map(buf, VB_MSG_MAX_LEN - 1, V1, 1, me,
				       1024), -ENOBUFS);
	ck_assert_int_eq(vb_encode_unmap(buf, 39, V1, 1, ue, 1), -ENOBUFS);
	ck_assert_int_eq(vb_encode_simple(buf, 15, V1, VB_MSG_SYNC, 1),
			 -ENOBUFS);
	ck_assert_int_eq(vb_encode_hello(buf, 31, 1, &h), -ENOBUFS);
	ck_assert_int_eq(vb_encode_reply(buf, 31, V1, 1, &r), -ENOBUFS);
	ck_assert_int_eq(vb_encode_stats(buf, 95, V1, 1, &s), -ENOBUFS);
	ck_assert_int_eq(vb_encode_welcome(buf, 95, 1, &w, iovas, rams),
			 -ENOBUFS);
	ck_assert_int_eq(vb_encode_welcome(buf, 96, 1, &w, iovas, rams), 96);
	ck_assert_int_eq(vb_encode_simple(NULL, 0, V1, VB_MSG_SYNC, 1),
			 -ENOBUFS);
}
END_TEST

START_TEST(test_accessors_wrong_type)
{
	struct vb_map_entry me = { 1, 2, 3, 1, 0 }, gme;
	struct vb_unmap_entry gue;
	struct vb_welcome w;
	struct vb_hello h;
	struct vb_reply r;
	struct vb_stats s;
	struct vb_msg m;
	ssize_t n;

	n = vb_encode_map(buf, BIG, V1, 1, &me, 1);
	ck_assert_int_eq(vb_decode(buf, n, VB_DIR_TO_BROKER, V1, 0, &m), 0);
	ck_assert_int_eq(vb_msg_hello(&m, &h), -EPROTO);
	ck_assert_int_eq(vb_msg_welcome(&m, &w, NULL, NULL), -EPROTO);
	ck_assert_int_eq(vb_msg_reply(&m, &r), -EPROTO);
	ck_assert_int_eq(vb_msg_stats(&m, &s), -EPROTO);
	/* Out-of-range index and wrong type yield zeroes, never a read. */
	memset(&gme, 0xff, sizeof(gme));
	vb_msg_map_entry(&m, 1, &gme);
	ck_assert_uint_eq(gme.npages, 0);
	ck_assert_uint_eq(gme.iova, 0);
	memset(&gme, 0xff, sizeof(gme));
	vb_msg_map_entry(&m, UINT32_MAX, &gme);
	ck_assert_uint_eq(gme.npages, 0);
	memset(&gue, 0xff, sizeof(gue));
	vb_msg_unmap_entry(&m, 0, &gue);
	ck_assert_uint_eq(gue.npages, 0);
	ck_assert_uint_eq(gue.iova, 0);
}
END_TEST

START_TEST(test_decode_bad_args)
{
	struct vb_msg m;

	ck_assert_int_eq(vb_decode(NULL, 16, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EINVAL);
	ck_assert_int_eq(vb_decode(buf, 16, VB_DIR_TO_BROKER, V1, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(vb_decode(NULL, 0, VB_DIR_TO_BROKER, V1, 0, &m),
			 -EMSGSIZE);
}
END_TEST

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;	/* each gets 60 s: Check's 4 s default flakes under load */

	tc = tcase_create("table");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rules_sizes);
	tcase_add_test(tc, test_negotiate);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip_hello);
	tcase_add_test(tc, test_roundtrip_welcome);
	tcase_add_test(tc, test_roundtrip_map);
	tcase_add_test(tc, test_roundtrip_unmap);
	tcase_add_test(tc, test_roundtrip_simple);
	tcase_add_test(tc, test_roundtrip_reply);
	tcase_add_test(tc, test_roundtrip_stats);
	tcase_add_test(tc, test_unaligned_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("length");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_len_fixed_sweep);
	tcase_add_test(tc, test_len_batch_sweep);
	tcase_add_test(tc, test_batch_counts_at_caps);
	tcase_add_test(tc, test_batch_count_mismatch);
	tcase_add_test(tc, test_batch_flags_exposed);
	tcase_add_test(tc, test_truncated_and_oversized);
	tcase_add_test(tc, test_hdr_len_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("version");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_version_handshake_state);
	tcase_add_test(tc, test_version_negotiated_state);
	tcase_add_test(tc, test_version_client_side);
	tcase_add_test(tc, test_negative_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_wrong_direction);
	tcase_add_test(tc, test_fds_rules);
	tcase_add_test(tc, test_hello_reserved);
	tcase_add_test(tc, test_welcome_counts);
	tcase_add_test(tc, test_welcome_geometry);
	tcase_add_test(tc, test_welcome_fields);
	tcase_add_test(tc, test_welcome_device_fd);
	tcase_add_test(tc, test_encode_errors);
	tcase_add_test(tc, test_accessors_wrong_type);
	tcase_add_test(tc, test_decode_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(codec_suite());
}
