// SPDX-License-Identifier: BSD-3-Clause
/*
 * Writes the fuzz_decode seed corpus: one valid message of every type in
 * the state and direction where it is legal (control byte first, see
 * fuzz_decode.c), so the fuzzer starts past the header checks.
 * Usage: fuzz_seeds DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/codec.h"

#define CTL(dir, negotiated, nfds) \
	((uint8_t)(((dir) == VB_DIR_TO_CLIENT) | ((negotiated) << 1) | \
		   ((nfds) << 2)))

static uint8_t seed_buf[1 + VB_MSG_MAX_LEN];

static int seed_write(const char *dir, const char *name, uint8_t ctl,
		      ssize_t len)
{
	char path[4096];
	FILE *f;

	if (len < 0) {
		fprintf(stderr, "fuzz_seeds: encoding %s failed: %s\n", name,
			strerror((int)-len));
		return 1;
	}
	seed_buf[0] = ctl;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(seed_buf, 1, (size_t)len + 1, f) != (size_t)len + 1) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct vb_map_entry me[3] = {
		{ 0x10000, 0x200000, 4, VB_PROT_READ, 0 },
		{ 0x20000, 0x300000, 1, VB_PROT_WRITE, 0 },
		{ 0xfffffffffffff000ull, 0, 1, 3, 0 },
	};
	struct vb_unmap_entry ue[2] = { { 0x10000, 4 }, { 0x20000, 1 } };
	struct vb_hello h = { 1, 1, VB_DEVICE_ANY, 0, 0 };
	struct vb_welcome w = {
		.version = 1, .n_iova = 2, .n_ram = 2, .device_id = 1,
		.domain_id = 1, .page_size = VB_PAGE_SIZE, .max_entries = 256,
		.window = 32,
	};
	struct vb_range iova[2] = { { 0, 1ull << 32 }, { 1ull << 40, 1 << 30 } };
	struct vb_ram_region ram[2] = {
		{ 0, 1 << 30, 0, VB_RAM_F_SHARED, 0 },
		{ 1ull << 32, 1 << 30, 0, 0, 0 },
	};
	struct vb_reply ok = { 0, VB_NO_INDEX, 5 }, no = { 1, VB_NO_INDEX, 0 };
	struct vb_stats st = { .reply = { 0, VB_NO_INDEX, 0 }, .requests = 9 };
	uint8_t *b = seed_buf + 1;
	size_t cap = sizeof(seed_buf) - 1;
	const char *d;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	d = argv[1];
	if (mkdir(d, 0755) && errno != EEXIST) {
		perror(d);
		return 1;
	}
	err |= seed_write(d, "hello", CTL(VB_DIR_TO_BROKER, 0, 0),
			  vb_encode_hello(b, cap, 1, &h));
	h.flags = VB_HELLO_F_RING;
	err |= seed_write(d, "hello_ring", CTL(VB_DIR_TO_BROKER, 0, 0),
			  vb_encode_hello(b, cap, 1, &h));
	h.flags = 0;
	err |= seed_write(d, "welcome", CTL(VB_DIR_TO_CLIENT, 0, 2),
			  vb_encode_welcome(b, cap, 1, &w, iova, ram));
	w.flags = VB_WELCOME_F_DEVICE_FD;	/* the device fd comes last */
	err |= seed_write(d, "welcome_devfd", CTL(VB_DIR_TO_CLIENT, 0, 3),
			  vb_encode_welcome(b, cap, 1, &w, iova, ram));
	w.flags = VB_WELCOME_F_DEVICE_FD | VB_WELCOME_F_RING;
	err |= seed_write(d, "welcome_ring", CTL(VB_DIR_TO_CLIENT, 0, 4),
			  vb_encode_welcome(b, cap, 1, &w, iova, ram));
	w.flags = 0;
	err |= seed_write(d, "refusal", CTL(VB_DIR_TO_CLIENT, 0, 0),
			  vb_encode_reply(b, cap, 0, 1, &no));
	err |= seed_write(d, "map", CTL(VB_DIR_TO_BROKER, 1, 0),
			  vb_encode_map(b, cap, 1, 2, me, 3));
	err |= seed_write(d, "unmap", CTL(VB_DIR_TO_BROKER, 1, 0),
			  vb_encode_unmap(b, cap, 1, 3, ue, 2));
	err |= seed_write(d, "sync", CTL(VB_DIR_TO_BROKER, 1, 0),
			  vb_encode_simple(b, cap, 1, VB_MSG_SYNC, 4));
	err |= seed_write(d, "stats", CTL(VB_DIR_TO_BROKER, 1, 0),
			  vb_encode_simple(b, cap, 1, VB_MSG_STATS, 5));
	err |= seed_write(d, "kick", CTL(VB_DIR_TO_BROKER, 1, 0),
			  vb_encode_simple(b, cap, 1, VB_MSG_KICK, 0));
	err |= seed_write(d, "wake", CTL(VB_DIR_TO_CLIENT, 1, 0),
			  vb_encode_simple(b, cap, 1, VB_MSG_WAKE, 0));
	err |= seed_write(d, "reply", CTL(VB_DIR_TO_CLIENT, 1, 0),
			  vb_encode_reply(b, cap, 1, 2, &ok));
	err |= seed_write(d, "stats_reply", CTL(VB_DIR_TO_CLIENT, 1, 0),
			  vb_encode_stats(b, cap, 1, 5, &st));
	return err;
}
