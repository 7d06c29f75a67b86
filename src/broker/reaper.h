/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VB_BROKER_REAPER_H
#define VB_BROKER_REAPER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Closing a file can block the closing thread: the last close of a TCP
 * socket with SO_LINGER waits for its unsent data, a FUSE file waits for
 * its server's answer. A client can hand the broker such a file over
 * SCM_RIGHTS, alone or still queued in its socket when the broker drops
 * it, and the kernel then finishes that file in whichever broker thread
 * lets go of it last. So the event loop never closes a client's socket
 * or an fd a client sent: reaper_close() hands it to a thread that does
 * nothing but close. A close that never returns (a FUSE server that does
 * not answer) holds that thread and the fds queued behind it, never the
 * clients being served. The fds queued behind it stay open in the broker,
 * though, so once they reach reaper_busy() the broker takes no more from
 * clients (broker_fds_gated()): new connections wait until the thread
 * catches up. (Linux 6.16's SO_PASSRIGHTS refuses such fds at the source;
 * Debian's 6.12 has no such option.)
 */
struct reaper {
	bool running;
	int wfd;		/* write end of the pipe the thread reads */
	/*
	 * fds handed over and not closed yet, counted up here and down by
	 * the thread: each is still open in the broker, so they count
	 * against its fd limit. On the heap, never freed: the thread may
	 * count while the process exits.
	 */
	atomic_uint *open;
	unsigned int limit;	/* see reaper_busy() */
	/* the pipe was full: kept open here until it has room */
	int *held;
	size_t n_held, cap_held;
};

/*
 * Start the thread; before the sandbox, which then covers it (TSYNC). It
 * lives as long as the process: a thread's exit in glibc makes a system
 * call (blocking its signals) the broker's policy has no other use for.
 * @reserve: fds that must stay free beyond reaper_busy()'s threshold,
 * for what clients that are never held back can still hand over, and
 * for the broker's own.
 */
int reaper_start(struct reaper *r, unsigned int reserve);
/* Close @fd on the reaper thread; at once when none is running. */
void reaper_close(struct reaper *r, int fd);
/*
 * The same for a client's socket, shut down first: the client sees the
 * hang-up at once, whatever the reaper is still waiting for.
 */
void reaper_close_socket(struct reaper *r, int fd);
/*
 * Is the thread so far behind that the broker must stop taking fds from
 * clients? So many are open, waiting for it, that the rest of the fd
 * limit or of the pipe would soon be gone: then the kernel would drop
 * the fds of a datagram the broker receives itself, and run their last
 * close in the event loop's thread, or a close would find the pipe full.
 * A quarter of the fd limit, at most half the pipe, and low enough to
 * leave reaper_start()'s reserve free.
 */
bool reaper_busy(struct reaper *r);
/* Below half of that again: fds may be taken once more. */
bool reaper_caught_up(struct reaper *r);
/* fds handed over and not closed yet. */
unsigned int reaper_open(struct reaper *r);
/* Queue the fds held while the pipe was full, as far as it has room. */
void reaper_flush(struct reaper *r);

#endif
