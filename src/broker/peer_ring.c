// SPDX-License-Identifier: BSD-3-Clause
/*
 * Shared rings on the broker side (design in peer_ring.h). The memfd is
 * sealed against resizing before the client sees it: a client that could
 * shrink it would turn the broker's next access into SIGBUS.
 */
#define _GNU_SOURCE
#include "broker/peer_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/codec.h"

/* Requests taken from one ring per pass, so one client cannot hog it. */
#define PEER_RING_BURST		64

int peer_ring_create(struct peer *p)
{
	struct vb_ring_layout l;
	void *mem;
	int fd, rc;

	rc = vb_ring_geometry(p->window, p->b->cfg->max_entries, &l);
	if (rc)
		return rc;
	fd = memfd_create("vfio-broker-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)l.size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	mem = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	vb_ring_format(mem, &l);
	vb_ring_attach(&p->ring, mem, &l, VB_RING_BROKER);
	p->ring_fd = fd;
	return fd;
}

void peer_ring_destroy(struct peer *p)
{
	if (p->ring.base)
		munmap(p->ring.base, p->ring.layout.size);
	if (p->ring_fd >= 0)
		close(p->ring_fd);
	p->ring.base = NULL;
	p->ring_fd = -1;
}

void peer_ring_reply(struct peer *p, const void *buf, size_t len)
{
	uint8_t wake[sizeof(struct vb_hdr)];
	ssize_t n;
	int rc;

	rc = vb_ring_send(&p->ring, buf, (uint32_t)len);
	if (rc) {
		peer_fail(p, "shared ring: %s",
			  rc == -EAGAIN ? "no free reply slot: the client moved its reply head back" :
			  rc == -EMSGSIZE ? "reply larger than a reply slot" :
					    "reply queue head out of range");
		return;
	}
	if (!vb_ring_take_peer_idle(&p->ring))
		return;
	n = vb_encode_simple(wake, sizeof(wake), p->version, VB_MSG_WAKE, 0);
	if (n < 0) {
		peer_fail(p, "internal error encoding WAKE");
		return;
	}
	peer_send(p, wake, (size_t)n, NULL, 0);
}

/*
 * Replies are only ever owed for requests taken, so taking one only while
 * pending + unread replies < window leaves a reply slot for every request
 * (nslots >= window): a full reply queue means the client broke the rules.
 */
static bool peer_ring_has_room(struct peer *p)
{
	int unread = vb_ring_unread(&p->ring);

	if (unread < 0) {
		peer_fail(p, "shared ring: reply queue head out of range");
		return false;
	}
	return p->pending + (uint32_t)unread < p->window;
}

static void peer_ring_drain(struct peer *p)
{
	struct broker *b = p->b;

	for (int i = 0; i < PEER_RING_BURST && p->state == PEER_READY; i++) {
		ssize_t n;

		if (!peer_ring_has_room(p))
			return;
		n = vb_ring_recv(&p->ring, b->rxbuf, VB_MSG_MAX_LEN);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			peer_fail(p, "shared ring: request queue tail or message length out of range");
			return;
		}
		b->messages_in++;
		if (!peer_handle(p, b->rxbuf, (size_t)n, 0, true))
			return;
	}
}

static bool peer_ring_live(const struct peer *p)
{
	return p->ring.base && p->state == PEER_READY;
}

unsigned int peer_ring_poll(struct broker *b, bool *live)
{
	uint64_t before = b->messages_in;
	struct peer *p;

	*live = false;
	TAILQ_FOREACH(p, &b->peers, link) {
		if (!peer_ring_live(p))
			continue;
		*live = true;
		if (vb_ring_readable(&p->ring))
			peer_ring_drain(p);
	}
	return (unsigned int)(b->messages_in - before);
}

/*
 * A client that took this many of our idle words without its KICKs having
 * arrived is not told of another sleep until they do. An honest client
 * sends its KICK right after taking a word, so it only owes the ones in
 * flight; one that takes words and keeps the KICKs back would otherwise
 * bank one per sleep (hours of them) and flood them at once.
 */
#define PEER_RING_KICKS_OWED_MAX	4

bool peer_ring_sleep(struct broker *b)
{
	struct peer *p;

	TAILQ_FOREACH(p, &b->peers, link) {
		if (!peer_ring_live(p) ||
		    p->ring_idle_sets - p->ring_kicks >= PEER_RING_KICKS_OWED_MAX)
			continue;
		vb_ring_set_idle(&p->ring);
		p->ring_idle_sets++;
		p->ring_announced = true;
	}
	TAILQ_FOREACH(p, &b->peers, link) {
		if (!peer_ring_live(p) || !vb_ring_readable(&p->ring))
			continue;
		if (peer_ring_has_room(p)) {
			peer_ring_awake(b);
			return false;
		}
	}
	return true;
}

void peer_ring_awake(struct broker *b)
{
	struct peer *p;

	/*
	 * A KICK the client sent meanwhile arrives on the socket by itself
	 * (it may have been read already); a word it did not take asked for
	 * no KICK.
	 */
	TAILQ_FOREACH(p, &b->peers, link) {
		bool taken;

		if (!peer_ring_live(p))
			continue;
		taken = vb_ring_clear_idle(&p->ring);
		if (p->ring_announced && !taken)
			p->ring_idle_sets--;
		p->ring_announced = false;
	}
}
