/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VB_BROKER_REAPER_H
#define VB_BROKER_REAPER_H

#include <stdbool.h>

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
 * clients being served; only new connections fail once those fds reach
 * the broker's limit. (Linux 6.16's SO_PASSRIGHTS refuses such fds at the
 * source; Debian's 6.12 has no such option.)
 */
struct reaper {
	bool running;
	int wfd;		/* write end of the pipe the thread reads */
};

/*
 * Start the thread; before the sandbox, which then covers it (TSYNC). It
 * lives as long as the process: a thread's exit in glibc makes a system
 * call (blocking its signals) the broker's policy has no other use for.
 */
int reaper_start(struct reaper *r);
/* Close @fd on the reaper thread; at once when none is running. */
void reaper_close(struct reaper *r, int fd);
/*
 * The same for a client's socket, shut down first: the client sees the
 * hang-up at once, whatever the reaper is still waiting for.
 */
void reaper_close_socket(struct reaper *r, int fd);

#endif
