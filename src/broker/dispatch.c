/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The permission table (design in dispatch.h). HELLO is the only handler
 * that changes the peer's state: it binds the peer to a device and moves
 * it to READY, which is what enables the request handlers.
 */
#include "broker/dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker/batcher.h"
#include "broker/domain.h"
#include "broker/holder.h"
#include "broker/peer_ring.h"
#include "broker/policy.h"
#include "common/log.h"

#define DISPATCH_ST(s)	(1u << (s))

static int dispatch_refuse(struct peer *p, uint64_t id, int err,
			   const char *why)
{
	char reason[160];

	snprintf(reason, sizeof(reason), "HELLO: %s (%s)", why, strerror(err));
	peer_reply(p, id, err, VB_NO_INDEX, 0);
	peer_finish(p, reason);
	return 0;
}

/* May @p have @dev now? 0, or EBUSY/EPERM with the reason in @why. */
static int dispatch_claimable(struct device *dev, const struct peer *p,
			      const char **why)
{
	if (dev->owner) {
		*why = "device already claimed";
		return EBUSY;
	}
	return holder_check(dev, p, why);
}

/*
 * A device whose last client's pages could not all be unmapped when it
 * went: unmap them before a new client starts, who must not find pages
 * it did not map (outside its quota, colliding with its maps).
 */
static int dispatch_release_left(struct broker *b, struct device *dev)
{
	int64_t released;

	if (!dev->unreleased)
		return 0;
	released = domain_release_device(b, dev);
	if (released < 0)
		return (int)released;
	log_info("device %u: released %lld page(s) its last client left",
		 dev->id, (long long)released);
	dev->unreleased = false;
	return 0;
}

/* Pick the device a listening-socket peer asked for, or explain why not. */
static int dispatch_pick(struct peer *p, uint32_t want, struct device **out,
			 const char **why)
{
	struct broker *b = p->b;
	int err;

	if (want != VB_DEVICE_ANY) {
		struct device *dev = domain_find_device(b, want);

		if (!dev) {
			*why = "no such device";
			return ENODEV;
		}
		if (!config_device_allows(dev->cfg, p->uid, p->gid)) {
			*why = "uid/gid not allowed for this device";
			return EPERM;
		}
		err = dispatch_claimable(dev, p, why);
		if (!err)
			*out = dev;
		return err;
	}
	/*
	 * EBUSY says "try again later": only when some device could be had
	 * later. Refused by every one otherwise (no pidfd to follow this
	 * client's process, or a device whose last client's pages would not
	 * come off), it is the last such refusal with its reason, as for a
	 * device named. A device that cannot be released does not keep the
	 * next one from being picked.
	 */
	err = EPERM;
	*why = "uid/gid not allowed for any device";
	for (unsigned int i = 0; i < b->n_devices; i++) {
		struct device *dev = &b->devices[i];
		const char *reason;
		int e;

		if (!config_device_allows(dev->cfg, p->uid, p->gid))
			continue;
		e = dispatch_claimable(dev, p, &reason);
		if (!e && dispatch_release_left(b, dev)) {
			e = EIO;
			reason = "the last client's mappings could not be released";
		}
		if (!e) {
			*out = dev;
			return 0;
		}
		if (e == EBUSY) {
			err = EBUSY;
			*why = "every device this uid may claim is claimed or held";
		} else if (err != EBUSY) {
			err = e;
			*why = reason;
		}
	}
	return err;
}

static int dispatch_welcome(struct peer *p, uint64_t id, bool want_ring)
{
	struct broker *b = p->b;
	const struct config_device *cd = p->dev->cfg;
	struct vb_ram_region ram[VB_MAX_RAM_REGIONS];
	int fds[VB_MAX_WELCOME_FDS];
	unsigned int nfds = b->mem.n;
	struct vb_welcome w = {
		.version = p->version,
		.n_iova = (uint16_t)cd->n_iova,
		.n_ram = (uint16_t)b->mem.n,
		.device_id = p->dev->id,
		.domain_id = p->dev->domain->id,
		.page_size = VB_PAGE_SIZE,
		.max_entries = b->cfg->max_entries,
		.window = b->cfg->window,
	};
	uint8_t buf[sizeof(struct vb_hdr) + sizeof(w) +
		    VB_MAX_IOVA_RANGES * sizeof(struct vb_range) +
		    VB_MAX_RAM_REGIONS * sizeof(struct vb_ram_region)];
	ssize_t n;

	for (unsigned int i = 0; i < b->mem.n; i++) {
		ram[i] = (struct vb_ram_region){
			.gpa = b->mem.r[i].gpa,
			.size = b->mem.r[i].size,
			.offset = 0,
			.flags = VB_RAM_F_SHARED,
		};
		fds[i] = b->mem.r[i].fd;
	}
	/* The device fd goes last; lent like the memfds. */
	if (p->dev->device_fd >= 0) {
		w.flags |= VB_WELCOME_F_DEVICE_FD;
		fds[nfds++] = p->dev->device_fd;
	}
	/* The ring is an offer: without one the client uses the socket. */
	if (want_ring && b->cfg->ring) {
		int fd = peer_ring_create(p);

		if (fd >= 0) {
			w.flags |= VB_WELCOME_F_RING;
			fds[nfds++] = fd;
		} else {
			log_warn("%s: no shared ring (%s): requests go through the socket",
				 p->name, strerror(-fd));
		}
	}
	n = vb_encode_welcome(buf, sizeof(buf), id, &w, cd->iova, ram);
	if (n < 0) {
		log_err("%s: encoding WELCOME failed: %s", p->name,
			strerror((int)-n));
		return (int)n;
	}
	return peer_send(p, buf, (size_t)n, fds, nfds);
}

static int dispatch_hello(struct peer *p, const struct vb_msg *m)
{
	const char *why = NULL;
	struct device *dev = NULL;
	struct vb_hello h;
	uint16_t version;
	int err;

	if (vb_msg_hello(m, &h))
		return -EPROTO;
	version = vb_negotiate(h.min_version, h.max_version);
	if (!version)
		return dispatch_refuse(p, m->hdr.id, EPROTONOSUPPORT,
				       "no common protocol version");
	if (p->bound) {
		/* A spawned devproc is its device; it may not ask for another. */
		if (h.device_id != VB_DEVICE_ANY && h.device_id != p->bound->id)
			return dispatch_refuse(p, m->hdr.id, EPERM,
					       "spawned for another device");
		err = dispatch_claimable(p->bound, p, &why);
		if (err)
			return dispatch_refuse(p, m->hdr.id, err, why);
		dev = p->bound;
	} else {
		err = dispatch_pick(p, h.device_id, &dev, &why);
		if (err)
			return dispatch_refuse(p, m->hdr.id, err, why);
	}
	if (dispatch_release_left(p->b, dev))
		return dispatch_refuse(p, m->hdr.id, EIO,
				       "the last client's mappings could not be released");
	dev->owner = p;
	p->dev = dev;
	p->version = version;
	p->state = PEER_READY;
	peer_set_name(p);
	if (dispatch_welcome(p, m->hdr.id, h.flags & VB_HELLO_F_RING) < 0) {
		if (p->state != PEER_DEAD)
			peer_fail(p, "cannot send WELCOME");
		return 0;
	}
	/* sent or queued: only now may the client hold the device fd */
	holder_claim(dev, p);
	client_log(p->b, LOG_LVL_INFO,
		   "%s: claimed device %u (domain %u), protocol v%u, uid %u, requests through %s",
		   p->name, dev->id, dev->domain->id, version,
		   (unsigned int)p->uid,
		   p->ring.base ? "a shared ring" : "the socket");
	return 0;
}

/*
 * A KICK only wakes the loop, which drains every ring on each pass. Its
 * socket is never throttled (the ring is), so a KICK the broker did not
 * ask for is refused: a flood of them would keep the socket readable and
 * libevent busy with it ahead of everything else.
 */
static int dispatch_kick(struct peer *p, const struct vb_msg *m)
{
	(void)m;
	if (!p->ring.base)
		return -EPROTO;
	if (p->ring_kicks >= p->ring_idle_sets) {
		peer_fail(p, "KICK the broker did not ask for (%llu KICKs, %llu idle announcements)",
			  (unsigned long long)p->ring_kicks + 1,
			  (unsigned long long)p->ring_idle_sets);
		return -EPROTO;
	}
	p->ring_kicks++;
	return 0;
}

static void dispatch_submit(struct peer *p, struct request *r)
{
	peer_request_started(p);
	batcher_submit(p->b, r);
}

/*
 * A device's max_mapped bounds what its client has mapped plus what its
 * queued MAPs could add, so that clients sharing a domain cannot use up
 * each other's room in it. Refused with EDQUOT before the backend sees it.
 */
static void dispatch_quota(struct peer *p, struct request *r)
{
	uint64_t max = p->dev->cfg->max_pages;
	uint64_t held = p->pages_current + p->pages_queued;
	uint64_t left = held < max ? max - held : 0;
	int ret;

	ret = policy_check_quota(left, r->map, r->count, &r->pages_queued,
				 &r->failed_index);
	if (ret) {
		r->status = -ret;
		log_debug("%s: MAP id %llu entry %u refused: past max_mapped (%llu pages; %llu mapped, %llu queued)",
			  p->name, (unsigned long long)r->id, r->failed_index,
			  (unsigned long long)max,
			  (unsigned long long)p->pages_current,
			  (unsigned long long)p->pages_queued);
		return;
	}
	p->pages_queued += r->pages_queued;
}

static int dispatch_entries(struct peer *p, const struct vb_msg *m)
{
	const struct config_device *cd = p->dev->cfg;
	struct policy_limits l = {
		.iova = cd->iova,
		.n_iova = cd->n_iova,
		.mem = &p->b->mem,
		.max_entries = p->b->cfg->max_entries,
	};
	struct request *r;
	int ret;

	ret = policy_check_batch(&l, m->count, m->batch_flags);
	r = batcher_request_new(p, m->hdr.type, m->hdr.id,
				ret ? 0 : m->count);
	if (!r)
		return -ENOMEM;
	if (ret) {
		r->status = -ret;
		log_debug("%s: %s id %llu refused: %s", p->name,
			  vb_msg_name(m->hdr.type), (unsigned long long)m->hdr.id,
			  strerror(-ret));
		dispatch_submit(p, r);
		return 0;
	}
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->hdr.type == VB_MSG_MAP) {
			struct vb_map_entry e;

			vb_msg_map_entry(m, i, &e);
			ret = policy_check_map(&l, &e, &r->map[i]);
		} else {
			struct vb_unmap_entry e;

			vb_msg_unmap_entry(m, i, &e);
			ret = policy_check_unmap(&l, &e, &r->unmap[i]);
		}
		if (ret) {
			r->status = -ret;
			r->failed_index = i;
			log_debug("%s: %s id %llu entry %u refused: %s", p->name,
				  vb_msg_name(m->hdr.type),
				  (unsigned long long)m->hdr.id, i, strerror(-ret));
			break;
		}
	}
	if (!ret && m->hdr.type == VB_MSG_MAP && cd->max_pages)
		dispatch_quota(p, r);
	dispatch_submit(p, r);
	return 0;
}

/* SYNC and STATS take their place in the queue, so they answer in order. */
static int dispatch_barrier(struct peer *p, const struct vb_msg *m)
{
	struct request *r;

	r = batcher_request_new(p, m->hdr.type, m->hdr.id, 0);
	if (!r)
		return -ENOMEM;
	dispatch_submit(p, r);
	return 0;
}

static const struct dispatch_rule {
	uint16_t type;
	unsigned int states;
	int (*handler)(struct peer *p, const struct vb_msg *m);
} dispatch_table[] = {
	{ VB_MSG_HELLO, DISPATCH_ST(PEER_NEW), dispatch_hello },
	{ VB_MSG_MAP, DISPATCH_ST(PEER_READY), dispatch_entries },
	{ VB_MSG_UNMAP, DISPATCH_ST(PEER_READY), dispatch_entries },
	{ VB_MSG_SYNC, DISPATCH_ST(PEER_READY), dispatch_barrier },
	{ VB_MSG_STATS, DISPATCH_ST(PEER_READY), dispatch_barrier },
	{ VB_MSG_KICK, DISPATCH_ST(PEER_READY), dispatch_kick },
};

int dispatch_message(struct peer *p, const struct vb_msg *m)
{
	for (size_t i = 0; i < sizeof(dispatch_table) / sizeof(*dispatch_table); i++) {
		const struct dispatch_rule *rule = &dispatch_table[i];

		if (rule->type != m->hdr.type)
			continue;
		if (!(rule->states & DISPATCH_ST(p->state)))
			return -EPROTO;
		return rule->handler(p, m);
	}
	return -EPROTO;
}
