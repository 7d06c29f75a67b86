/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay traces: a text file of map/unmap/sync/check operations with the
 * status each one must get (docs/replay-format.md). Parsed completely
 * before the sandbox is entered; addresses relative to the IOVA window or
 * a RAM region are resolved after the handshake, when those are known.
 */
#ifndef VB_DEVPROC_REPLAY_TRACE_H
#define VB_DEVPROC_REPLAY_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "vfio-broker/proto.h"

struct vb_client_info;

enum replay_kind {
	REPLAY_MAP,
	REPLAY_UNMAP,
	REPLAY_SYNC,
	REPLAY_EXPECT_MAPPED,
};

/* An address: absolute (base 0), or window/RAM region @idx + @off. */
struct replay_addr {
	char base;		/* 0, 'w' or 'r' */
	uint32_t idx;
	uint64_t off;
};

#define REPLAY_NO_DONE	UINT64_MAX

struct replay_op {
	enum replay_kind kind;
	unsigned int line;
	struct replay_addr iova;
	struct replay_addr gpa;
	uint64_t npages;	/* MAP/UNMAP; the count for EXPECT_MAPPED */
	uint32_t prot;
	int expect;		/* positive errno, 0 for success */
	uint64_t done;		/* expected pages_done or REPLAY_NO_DONE */
};

struct replay_trace {
	struct replay_op *ops;
	unsigned int n;
};

/* Parse @text (named @name in messages). -EINVAL with "name:line: why" in
 * @err on the first bad line. */
int replay_trace_parse(const char *name, const char *text,
		       struct replay_trace *out, char *err, size_t errlen);
int replay_trace_load(const char *path, struct replay_trace *out, char *err,
		      size_t errlen);
void replay_trace_free(struct replay_trace *t);

/* Resolve @a against the handshake's window / RAM layout. */
int replay_trace_resolve(const struct replay_addr *a,
			 const struct vb_client_info *info, uint64_t *out);

/* "EEXIST" -> EEXIST, "0"/"OK" -> 0; -1 if unknown. */
int replay_trace_errno(const char *name);
const char *replay_trace_errname(int err);

#endif /* VB_DEVPROC_REPLAY_TRACE_H */
