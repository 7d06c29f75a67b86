/* SPDX-License-Identifier: BSD-3-Clause */
#include "client/transport_ring.h"

#include <errno.h>
#include <poll.h>

#include "client/transport.h"
#include "proto/codec.h"

int transport_ring_kick(int fd, struct vb_ring *r, uint16_t version,
			int timeout_ms)
{
	uint8_t buf[sizeof(struct vb_hdr)];
	ssize_t n;

	if (!vb_ring_take_peer_idle(r))
		return 0;
	n = vb_encode_simple(buf, sizeof(buf), version, VB_MSG_KICK, 0);
	if (n < 0)
		return (int)n;
	return transport_send(fd, buf, (size_t)n, timeout_ms);
}

/* Read one datagram, which must be a WAKE. */
static int transport_ring_read_wake(int fd, uint16_t version, int timeout_ms)
{
	uint8_t buf[sizeof(struct vb_hdr) + 1];
	unsigned int nfds;
	struct vb_msg m;
	ssize_t n;
	int fds[1];

	n = transport_recv(fd, buf, sizeof(buf), fds, 0, &nfds, timeout_ms, 0);
	if (n == -EMSGSIZE)
		return -EPROTO;
	if (n < 0)
		return (int)n;
	if (vb_decode(buf, (size_t)n, VB_DIR_TO_CLIENT, version, 0, &m) ||
	    m.hdr.type != VB_MSG_WAKE)
		return -EPROTO;
	return 0;
}

/* Spin for a reply; *@left: what remains of @timeout_ms afterwards. */
static bool transport_ring_spin(const struct vb_ring *r, unsigned int spin_us,
				int timeout_ms, int *left)
{
	struct transport_spin spin;

	transport_spin_start(&spin, spin_us, timeout_ms, 64);
	*left = timeout_ms;
	while (!vb_ring_readable(r)) {
		if (!transport_spin_more(&spin)) {
			*left = transport_spin_left(&spin, timeout_ms);
			return false;
		}
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return true;
}

/*
 * Take our idle word back: 0 when it was still ours. If the broker took
 * it first, its one WAKE is sent or on the way and is read now (waiting at
 * most @wake_ms, -1: forever), or the next sleep would end at once: 1
 * then, or the error reading it (a hangup only when the ring has nothing
 * either).
 */
static int transport_ring_unidle(int fd, struct vb_ring *r, uint16_t version,
				 int wake_ms)
{
	int wake;

	if (!vb_ring_clear_idle(r))
		return 0;
	wake = transport_ring_read_wake(fd, version, wake_ms);
	/* a WAKE owed and not come in time: the broker missed its limit,
	 * and one arriving later could not be told from a stray one */
	if (wake == -EAGAIN)
		return -ETIMEDOUT;
	/* replies already in the ring still come before a hangup; a
	 * malformed datagram is a violation whatever the ring holds */
	if (wake == -EPROTO || (wake && !vb_ring_readable(r)))
		return wake;
	return 1;
}

int transport_ring_disarm(int fd, struct vb_ring *r, uint16_t version,
			  bool *armed, int wake_ms)
{
	int rc;

	if (!*armed)
		return 0;
	*armed = false;
	rc = transport_ring_unidle(fd, r, version, wake_ms);
	return rc < 0 ? rc : 0;
}

int transport_ring_wait(int fd, struct vb_ring *r, uint16_t version,
			int timeout_ms, unsigned int spin_us, bool *armed,
			int wake_ms)
{
	int rc = 0, wake, left;

	if (transport_ring_spin(r, spin_us, timeout_ms, &left))
		return 0;
	if (timeout_ms == 0 && !armed)
		return -EAGAIN;
	vb_ring_set_idle(r);
	if (!vb_ring_readable(r))
		rc = transport_wait(fd, POLLIN, left);
	if (rc == -EAGAIN && timeout_ms == 0) {
		*armed = true;
		return -EAGAIN;
	}
	wake = transport_ring_unidle(fd, r, version, wake_ms);
	if (wake)
		return wake < 0 ? wake : 0;
	if (vb_ring_readable(r))
		return 0;
	if (rc)
		return rc;
	/* The socket is readable and nobody was asked to WAKE us: it is the
	 * hangup, or a datagram the broker had no reason to send. */
	wake = transport_ring_read_wake(fd, version, 0);
	return wake ? wake : -EPROTO;
}
