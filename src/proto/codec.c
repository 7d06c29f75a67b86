// SPDX-License-Identifier: BSD-3-Clause
/*
 * Wire codec: validates the *structure* of one datagram and gives typed,
 * alignment-safe access to its body. It never looks at what an entry means
 * (alignment, prot, windows): that is policy's job, answered with an errno
 * reply, whereas anything this file rejects is a protocol violation.
 *
 * One rule per message type drives decoding. A rule states the direction,
 * the whole-message length bounds, the entry size (MAP/UNMAP), whether fds
 * may accompany the message and in which connection state it is legal:
 *
 *   handshake state (negotiated version 0):
 *     to broker: HELLO only;
 *     to client: WELCOME, or a REPLY with a nonzero status (refusal);
 *     all with hdr.version == 0.
 *   negotiated state (version v >= 1):
 *     every type except HELLO and WELCOME, with hdr.version == v.
 *
 * Checks run in a fixed order so a given malformed datagram always yields
 * the same errno: size of header, hdr.len vs datagram, type, direction,
 * state, version, length bounds, fds, then body structure.
 *
 * Lengths are uint32_t on the wire and size_t here; every sum is done in
 * uint64_t from values already bounded by the rule's max_len (< 64 KiB), and
 * entry counts are derived by division, never multiplied out, so nothing
 * can wrap.
 */
#include <errno.h>
#include <string.h>

#include "proto/codec.h"

#define HDR_SIZE	((uint32_t)sizeof(struct vb_hdr))
#define BATCH_SIZE	((uint32_t)sizeof(struct vb_batch))
#define MAP_SIZE	((uint32_t)sizeof(struct vb_map_entry))
#define UNMAP_SIZE	((uint32_t)sizeof(struct vb_unmap_entry))
#define WELCOME_MIN	(HDR_SIZE + (uint32_t)sizeof(struct vb_welcome) + \
			 (uint32_t)sizeof(struct vb_range))
#define WELCOME_MAX	(HDR_SIZE + (uint32_t)sizeof(struct vb_welcome) + \
			 VB_MAX_IOVA_RANGES * (uint32_t)sizeof(struct vb_range) + \
			 VB_MAX_RAM_REGIONS * \
			 (uint32_t)sizeof(struct vb_ram_region))

/* Connection states in which a type is legal (bit mask). */
#define ST_HANDSHAKE	(1u << 0)
#define ST_NEGOTIATED	(1u << 1)

struct codec_rule {
	struct vb_msg_rule pub;
	unsigned int states;
};

static const struct codec_rule codec_rules[] = {
	{ { VB_MSG_HELLO, VB_DIR_TO_BROKER,
	    HDR_SIZE + sizeof(struct vb_hello),
	    HDR_SIZE + sizeof(struct vb_hello), 0, false, "HELLO" },
	  ST_HANDSHAKE },
	{ { VB_MSG_MAP, VB_DIR_TO_BROKER,
	    HDR_SIZE + BATCH_SIZE + MAP_SIZE,
	    HDR_SIZE + BATCH_SIZE + VB_MAX_ENTRIES_HARD * MAP_SIZE,
	    MAP_SIZE, false, "MAP" },
	  ST_NEGOTIATED },
	{ { VB_MSG_UNMAP, VB_DIR_TO_BROKER,
	    HDR_SIZE + BATCH_SIZE + UNMAP_SIZE,
	    HDR_SIZE + BATCH_SIZE + VB_MAX_ENTRIES_HARD * UNMAP_SIZE,
	    UNMAP_SIZE, false, "UNMAP" },
	  ST_NEGOTIATED },
	{ { VB_MSG_SYNC, VB_DIR_TO_BROKER, HDR_SIZE, HDR_SIZE, 0, false,
	    "SYNC" },
	  ST_NEGOTIATED },
	{ { VB_MSG_STATS, VB_DIR_TO_BROKER, HDR_SIZE, HDR_SIZE, 0, false,
	    "STATS" },
	  ST_NEGOTIATED },
	{ { VB_MSG_KICK, VB_DIR_TO_BROKER, HDR_SIZE, HDR_SIZE, 0, false,
	    "KICK" },
	  ST_NEGOTIATED },
	{ { VB_MSG_WAKE, VB_DIR_TO_CLIENT, HDR_SIZE, HDR_SIZE, 0, false,
	    "WAKE" },
	  ST_NEGOTIATED },
	{ { VB_MSG_WELCOME, VB_DIR_TO_CLIENT, WELCOME_MIN, WELCOME_MAX, 0, true,
	    "WELCOME" },
	  ST_HANDSHAKE },
	{ { VB_MSG_REPLY, VB_DIR_TO_CLIENT,
	    HDR_SIZE + sizeof(struct vb_reply),
	    HDR_SIZE + sizeof(struct vb_reply), 0, false, "REPLY" },
	  ST_HANDSHAKE | ST_NEGOTIATED },
	{ { VB_MSG_STATS_REPLY, VB_DIR_TO_CLIENT,
	    HDR_SIZE + sizeof(struct vb_stats),
	    HDR_SIZE + sizeof(struct vb_stats), 0, false, "STATS_REPLY" },
	  ST_NEGOTIATED },
};

_Static_assert(sizeof(struct vb_hdr) == 16, "vb_hdr layout");
_Static_assert(sizeof(struct vb_hello) == 16, "vb_hello layout");
_Static_assert(sizeof(struct vb_welcome) == 32, "vb_welcome layout");
_Static_assert(sizeof(struct vb_range) == 16, "vb_range layout");
_Static_assert(sizeof(struct vb_ram_region) == 32, "vb_ram_region layout");
_Static_assert(sizeof(struct vb_batch) == 8, "vb_batch layout");
_Static_assert(sizeof(struct vb_map_entry) == 32, "vb_map_entry layout");
_Static_assert(sizeof(struct vb_unmap_entry) == 16, "vb_unmap_entry layout");
_Static_assert(sizeof(struct vb_reply) == 16, "vb_reply layout");
_Static_assert(sizeof(struct vb_stats) == 80, "vb_stats layout");
_Static_assert(VB_MSG_MAX_LEN == HDR_SIZE + BATCH_SIZE +
	       VB_MAX_ENTRIES_HARD * MAP_SIZE, "largest message is a full MAP");

static const struct codec_rule *codec_find(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(codec_rules) / sizeof(codec_rules[0]); i++)
		if (codec_rules[i].pub.type == type)
			return &codec_rules[i];
	return NULL;
}

const struct vb_msg_rule *vb_msg_rule(uint16_t type)
{
	const struct codec_rule *r = codec_find(type);

	return r ? &r->pub : NULL;
}

const char *vb_msg_name(uint16_t type)
{
	const struct codec_rule *r = codec_find(type);

	return r ? r->pub.name : "?";
}

uint16_t vb_negotiate(uint16_t cmin, uint16_t cmax)
{
	uint16_t lo = cmin > VB_PROTO_VERSION_MIN ? cmin : VB_PROTO_VERSION_MIN;
	uint16_t hi = cmax < VB_PROTO_VERSION_MAX ? cmax : VB_PROTO_VERSION_MAX;

	return lo <= hi ? hi : 0;
}

static bool codec_version_supported(uint16_t v)
{
	return v >= VB_PROTO_VERSION_MIN && v <= VB_PROTO_VERSION_MAX;
}

/* Structural checks of a WELCOME body; shared by decoder and encoder. */
static int codec_check_welcome(const struct vb_welcome *w)
{
	if (!codec_version_supported(w->version))
		return -EPROTONOSUPPORT;
	if (w->n_iova < 1 || w->n_iova > VB_MAX_IOVA_RANGES ||
	    w->n_ram > VB_MAX_RAM_REGIONS)
		return -EPROTO;
	if ((w->flags & ~VB_WELCOME_F_MASK) || w->reserved2)
		return -EPROTO;
	if (w->page_size != VB_PAGE_SIZE)
		return -EPROTO;
	if (w->max_entries < 1 || w->max_entries > VB_MAX_ENTRIES_HARD)
		return -EPROTO;
	if (w->window < 1)
		return -EPROTO;
	return 0;
}

/* A page-aligned, non-empty range that does not wrap. */
static bool codec_range_ok(uint64_t start, uint64_t size)
{
	return size && !((start | size) % VB_PAGE_SIZE) &&
	       start + size - 1 >= start;
}

/*
 * A client mmap()s RAM regions and sizes its requests by the IOVA
 * windows, so their geometry is part of a WELCOME's validity.
 */
static int codec_check_iova(const struct vb_range *r)
{
	return codec_range_ok(r->start, r->size) ? 0 : -EPROTO;
}

static int codec_check_ram(const struct vb_ram_region *r)
{
	if (r->reserved || (r->flags & ~VB_RAM_F_SHARED))
		return -EPROTO;
	if (!codec_range_ok(r->gpa, r->size) || r->offset % VB_PAGE_SIZE ||
	    r->offset + r->size < r->offset)
		return -EPROTO;
	return 0;
}

static uint32_t codec_welcome_len(const struct vb_welcome *w)
{
	return HDR_SIZE + (uint32_t)sizeof(*w) +
	       w->n_iova * (uint32_t)sizeof(struct vb_range) +
	       w->n_ram * (uint32_t)sizeof(struct vb_ram_region);
}

unsigned int vb_welcome_nfds(const struct vb_welcome *w)
{
	return w->n_ram + (w->flags & VB_WELCOME_F_DEVICE_FD ? 1u : 0u) +
	       (w->flags & VB_WELCOME_F_RING ? 1u : 0u);
}

static int codec_decode_welcome(struct vb_msg *m, unsigned int nfds)
{
	const uint8_t *iova, *ram;
	struct vb_welcome w;
	struct vb_range range;
	struct vb_ram_region r;
	uint16_t i;
	int ret;

	memcpy(&w, m->body, sizeof(w));
	ret = codec_check_welcome(&w);
	if (ret)
		return ret;
	if (codec_welcome_len(&w) != m->hdr.len)
		return -EPROTO;
	if (nfds != vb_welcome_nfds(&w))
		return -EPROTO;
	iova = m->body + sizeof(w);
	for (i = 0; i < w.n_iova; i++) {
		memcpy(&range, iova + i * sizeof(range), sizeof(range));
		ret = codec_check_iova(&range);
		if (ret)
			return ret;
	}
	ram = iova + w.n_iova * sizeof(struct vb_range);
	for (i = 0; i < w.n_ram; i++) {
		memcpy(&r, ram + i * sizeof(r), sizeof(r));
		ret = codec_check_ram(&r);
		if (ret)
			return ret;
	}
	return 0;
}

/* Body structure, after the generic checks; @m->body_len is in bounds. */
static int codec_decode_body(const struct codec_rule *rule, struct vb_msg *m,
			     uint16_t version, unsigned int nfds)
{
	struct vb_batch batch;
	struct vb_hello hello;
	struct vb_reply reply;
	uint32_t entries_len;

	switch (m->hdr.type) {
	case VB_MSG_HELLO:
		memcpy(&hello, m->body, sizeof(hello));
		if ((hello.flags & ~VB_HELLO_F_MASK) || hello.reserved)
			return -EPROTO;
		return 0;
	case VB_MSG_MAP:
	case VB_MSG_UNMAP:
		memcpy(&batch, m->body, sizeof(batch));
		entries_len = m->body_len - BATCH_SIZE;
		if (entries_len % rule->pub.entry_size)
			return -EMSGSIZE;
		if (batch.count != entries_len / rule->pub.entry_size)
			return -EPROTO;
		m->count = batch.count;
		m->batch_flags = batch.flags;
		return 0;
	case VB_MSG_WELCOME:
		return codec_decode_welcome(m, nfds);
	case VB_MSG_REPLY:
	case VB_MSG_STATS_REPLY:
		/* vb_stats starts with a vb_reply. */
		memcpy(&reply, m->body, sizeof(reply));
		if (reply.status < 0)
			return -EPROTO;
		/* Before negotiation a REPLY can only be a refusal. */
		if (version == 0 && reply.status == 0)
			return -EPROTO;
		return 0;
	default:
		return 0;
	}
}

int vb_decode(const void *buf, size_t len, enum vb_dir dir, uint16_t version,
	      unsigned int nfds, struct vb_msg *out)
{
	const struct codec_rule *rule;
	unsigned int state;
	struct vb_hdr hdr;

	if (!out || (!buf && len) ||
	    (dir != VB_DIR_TO_BROKER && dir != VB_DIR_TO_CLIENT) ||
	    (version != 0 && !codec_version_supported(version)))
		return -EINVAL;
	memset(out, 0, sizeof(*out));

	if (len < HDR_SIZE)
		return -EMSGSIZE;
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.len != len)
		return -EMSGSIZE;

	rule = codec_find(hdr.type);
	if (!rule)
		return -EPROTO;
	if (rule->pub.dir != dir)
		return -EPROTO;
	state = version ? ST_NEGOTIATED : ST_HANDSHAKE;
	if (!(rule->states & state))
		return -EPROTO;
	if (hdr.version != version)
		return -EPROTONOSUPPORT;
	if (hdr.len < rule->pub.min_len || hdr.len > rule->pub.max_len)
		return -EMSGSIZE;
	if (nfds && !rule->pub.fds_allowed)
		return -EPROTO;

	out->hdr = hdr;
	out->body = (const uint8_t *)buf + HDR_SIZE;
	out->body_len = hdr.len - HDR_SIZE;
	return codec_decode_body(rule, out, version, nfds);
}

/* The accessors trust a message vb_decode() accepted, checking its type. */

int vb_msg_hello(const struct vb_msg *m, struct vb_hello *out)
{
	if (m->hdr.type != VB_MSG_HELLO || m->body_len != sizeof(*out))
		return -EPROTO;
	memcpy(out, m->body, sizeof(*out));
	return 0;
}

int vb_msg_welcome(const struct vb_msg *m, struct vb_welcome *out,
		   struct vb_range *iova, struct vb_ram_region *ram)
{
	const uint8_t *p;
	struct vb_welcome w;

	if (m->hdr.type != VB_MSG_WELCOME || m->body_len < sizeof(w))
		return -EPROTO;
	memcpy(&w, m->body, sizeof(w));
	if (w.n_iova > VB_MAX_IOVA_RANGES || w.n_ram > VB_MAX_RAM_REGIONS ||
	    codec_welcome_len(&w) != m->body_len + HDR_SIZE)
		return -EPROTO;
	p = m->body + sizeof(w);
	if (iova)
		memcpy(iova, p, w.n_iova * sizeof(*iova));
	p += w.n_iova * sizeof(*iova);
	if (ram)
		memcpy(ram, p, w.n_ram * sizeof(*ram));
	*out = w;
	return 0;
}

int vb_msg_reply(const struct vb_msg *m, struct vb_reply *out)
{
	if (m->hdr.type != VB_MSG_REPLY || m->body_len != sizeof(*out))
		return -EPROTO;
	memcpy(out, m->body, sizeof(*out));
	return 0;
}

int vb_msg_stats(const struct vb_msg *m, struct vb_stats *out)
{
	if (m->hdr.type != VB_MSG_STATS_REPLY || m->body_len != sizeof(*out))
		return -EPROTO;
	memcpy(out, m->body, sizeof(*out));
	return 0;
}

/* Entry @i of a MAP/UNMAP, or all zeroes if @m has no such entry. */
static void codec_entry(const struct vb_msg *m, uint16_t type, uint32_t i,
			void *out, uint32_t size)
{
	uint64_t off = (uint64_t)BATCH_SIZE + (uint64_t)i * size;

	if (m->hdr.type != type || i >= m->count ||
	    off + size > m->body_len) {
		memset(out, 0, size);
		return;
	}
	memcpy(out, m->body + off, size);
}

void vb_msg_map_entry(const struct vb_msg *m, uint32_t i,
		      struct vb_map_entry *out)
{
	codec_entry(m, VB_MSG_MAP, i, out, sizeof(*out));
}

void vb_msg_unmap_entry(const struct vb_msg *m, uint32_t i,
			struct vb_unmap_entry *out)
{
	codec_entry(m, VB_MSG_UNMAP, i, out, sizeof(*out));
}

/* Encoders: the header first, then the body pieces in order. */

static ssize_t codec_put_hdr(void *buf, size_t cap, uint16_t version,
			     uint16_t type, uint64_t id, uint32_t len)
{
	struct vb_hdr hdr = {
		.version = version, .type = type, .len = len, .id = id,
	};

	if (!buf || cap < len)
		return -ENOBUFS;
	memcpy(buf, &hdr, sizeof(hdr));
	return len;
}

ssize_t vb_encode_hello(void *buf, size_t cap, uint64_t id,
			const struct vb_hello *h)
{
	uint32_t len = HDR_SIZE + sizeof(*h);
	ssize_t ret;

	if (!h || (h->flags & ~VB_HELLO_F_MASK) || h->reserved)
		return -EINVAL;
	ret = codec_put_hdr(buf, cap, 0, VB_MSG_HELLO, id, len);
	if (ret < 0)
		return ret;
	memcpy((uint8_t *)buf + HDR_SIZE, h, sizeof(*h));
	return ret;
}

ssize_t vb_encode_welcome(void *buf, size_t cap, uint64_t id,
			  const struct vb_welcome *w,
			  const struct vb_range *iova,
			  const struct vb_ram_region *ram)
{
	uint8_t *p;
	ssize_t ret;
	uint16_t i;

	if (!w || codec_check_welcome(w) || !iova || (w->n_ram && !ram))
		return -EINVAL;
	for (i = 0; i < w->n_iova; i++)
		if (codec_check_iova(&iova[i]))
			return -EINVAL;
	for (i = 0; i < w->n_ram; i++)
		if (codec_check_ram(&ram[i]))
			return -EINVAL;
	ret = codec_put_hdr(buf, cap, 0, VB_MSG_WELCOME, id,
			    codec_welcome_len(w));
	if (ret < 0)
		return ret;
	p = (uint8_t *)buf + HDR_SIZE;
	memcpy(p, w, sizeof(*w));
	p += sizeof(*w);
	memcpy(p, iova, w->n_iova * sizeof(*iova));
	p += w->n_iova * sizeof(*iova);
	if (w->n_ram)
		memcpy(p, ram, w->n_ram * sizeof(*ram));
	return ret;
}

static ssize_t codec_encode_batch(void *buf, size_t cap, uint16_t version,
				  uint16_t type, uint64_t id, const void *e,
				  uint32_t count, uint32_t entry_size)
{
	struct vb_batch batch = { .count = count, .flags = 0 };
	uint8_t *p;
	ssize_t ret;

	if (!codec_version_supported(version) || !e || count < 1 ||
	    count > VB_MAX_ENTRIES_HARD)
		return -EINVAL;
	ret = codec_put_hdr(buf, cap, version, type, id,
			    HDR_SIZE + BATCH_SIZE + count * entry_size);
	if (ret < 0)
		return ret;
	p = (uint8_t *)buf + HDR_SIZE;
	memcpy(p, &batch, sizeof(batch));
	memcpy(p + sizeof(batch), e, (size_t)count * entry_size);
	return ret;
}

ssize_t vb_encode_map(void *buf, size_t cap, uint16_t version, uint64_t id,
		      const struct vb_map_entry *e, uint32_t count)
{
	return codec_encode_batch(buf, cap, version, VB_MSG_MAP, id, e, count,
				  MAP_SIZE);
}

ssize_t vb_encode_unmap(void *buf, size_t cap, uint16_t version, uint64_t id,
			const struct vb_unmap_entry *e, uint32_t count)
{
	return codec_encode_batch(buf, cap, version, VB_MSG_UNMAP, id, e,
				  count, UNMAP_SIZE);
}

ssize_t vb_encode_simple(void *buf, size_t cap, uint16_t version,
			 uint16_t type, uint64_t id)
{
	if (!codec_version_supported(version) ||
	    (type != VB_MSG_SYNC && type != VB_MSG_STATS &&
	     type != VB_MSG_KICK && type != VB_MSG_WAKE))
		return -EINVAL;
	return codec_put_hdr(buf, cap, version, type, id, HDR_SIZE);
}

/* version 0 encodes a handshake refusal, which must carry an error. */
ssize_t vb_encode_reply(void *buf, size_t cap, uint16_t version, uint64_t id,
			const struct vb_reply *r)
{
	ssize_t ret;

	if (!r || r->status < 0 ||
	    (version == 0 && r->status == 0) ||
	    (version != 0 && !codec_version_supported(version)))
		return -EINVAL;
	ret = codec_put_hdr(buf, cap, version, VB_MSG_REPLY, id,
			    HDR_SIZE + sizeof(*r));
	if (ret < 0)
		return ret;
	memcpy((uint8_t *)buf + HDR_SIZE, r, sizeof(*r));
	return ret;
}

ssize_t vb_encode_stats(void *buf, size_t cap, uint16_t version, uint64_t id,
			const struct vb_stats *s)
{
	ssize_t ret;

	if (!s || s->reply.status < 0 || !codec_version_supported(version))
		return -EINVAL;
	ret = codec_put_hdr(buf, cap, version, VB_MSG_STATS_REPLY, id,
			    HDR_SIZE + sizeof(*s));
	if (ret < 0)
		return ret;
	memcpy((uint8_t *)buf + HDR_SIZE, s, sizeof(*s));
	return ret;
}
