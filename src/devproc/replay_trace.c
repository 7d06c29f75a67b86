/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay trace parser. One operation per line, fields separated by blanks,
 * `#` starts a comment:
 *   map ADDR ADDR NPAGES PROT [expect=ERR] [done=N]
 *   unmap ADDR NPAGES [expect=ERR] [done=N]
 *   sync [expect=ERR]
 *   expect-mapped N
 * ADDR is a number, or w[IDX]+OFF (IOVA window IDX) or r[IDX]+OFF (RAM
 * region IDX's GPA base). PROT is r, w, rw or a number (so a trace can
 * send an invalid value on purpose). Numbers are decimal or 0x hex.
 */
#include "devproc/replay_trace.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "vfio-broker/client.h"

#define REPLAY_MAX_FIELDS 8

static const struct {
	const char *name;
	int value;
} replay_errnos[] = {
	{ "OK", 0 }, { "EPERM", EPERM }, { "ENOENT", ENOENT },
	{ "EINVAL", EINVAL }, { "E2BIG", E2BIG }, { "ERANGE", ERANGE },
	{ "EFAULT", EFAULT }, { "EEXIST", EEXIST }, { "ENOSPC", ENOSPC },
	{ "ENOMEM", ENOMEM }, { "EBUSY", EBUSY }, { "EIO", EIO },
	{ "EPROTONOSUPPORT", EPROTONOSUPPORT }, { "EDQUOT", EDQUOT },
};

int replay_trace_errno(const char *name)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(replay_errnos) / sizeof(replay_errnos[0]);
	     i++)
		if (!strcmp(replay_errnos[i].name, name))
			return replay_errnos[i].value;
	/* strtol would take a sign or leading space too */
	if (!isdigit((unsigned char)*name))
		return -1;
	v = strtol(name, &end, 10);
	if (!*end && v >= 0 && v < 4096)
		return (int)v;
	return -1;
}

const char *replay_trace_errname(int err)
{
	for (size_t i = 0; i < sizeof(replay_errnos) / sizeof(replay_errnos[0]);
	     i++)
		if (replay_errnos[i].value == err)
			return replay_errnos[i].name;
	return "?";
}

__attribute__((format(printf, 5, 6)))
static int replay_fail(char *err, size_t errlen, const char *name,
		       unsigned int line, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%u: %s", name, line, what);
	return -EINVAL;
}

/* decimal or 0x hex, as replay-format.md says, like the command line */
static int replay_num(const char *s, uint64_t *out)
{
	char *end;

	return vb_parse_u64(s, &end, out) || *end ? -EINVAL : 0;
}

static int replay_addr(const char *s, struct replay_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (*s == 'w' || *s == 'r') {
		const char *p = s + 1;
		uint64_t idx = 0;
		char *end;

		a->base = *s;
		if (*p >= '0' && *p <= '9') {
			idx = strtoull(p, &end, 10);
			p = end;
		}
		if (idx >= VB_MAX_RAM_REGIONS || *p != '+')
			return -EINVAL;
		a->idx = (uint32_t)idx;
		return replay_num(p + 1, &a->off);
	}
	return replay_num(s, &a->off);
}

static int replay_prot(const char *s, uint32_t *prot)
{
	uint64_t v;

	if (!strcmp(s, "r"))
		*prot = VB_PROT_READ;
	else if (!strcmp(s, "w"))
		*prot = VB_PROT_WRITE;
	else if (!strcmp(s, "rw"))
		*prot = VB_PROT_READ | VB_PROT_WRITE;
	else if (replay_num(s, &v) == 0 && v <= UINT32_MAX)
		*prot = (uint32_t)v;
	else
		return -EINVAL;
	return 0;
}

/* Split @line in place into blank-separated fields, comment cut off. */
static int replay_split(char *line, char **f)
{
	char *hash = strchr(line, '#');
	char *save = NULL;
	int n = 0;

	if (hash)
		*hash = '\0';
	for (char *t = strtok_r(line, " \t\r", &save); t;
	     t = strtok_r(NULL, " \t\r", &save)) {
		if (n == REPLAY_MAX_FIELDS)
			return -1;
		f[n++] = t;
	}
	return n;
}

static int replay_parse_line(const char *name, unsigned int lineno,
			     char *line, struct replay_op *op, bool *empty,
			     char *err, size_t errlen)
{
	char *f[REPLAY_MAX_FIELDS];
	int n = replay_split(line, f), pos;

	*empty = n == 0;
	if (n <= 0)
		return n < 0 ? replay_fail(err, errlen, name, lineno,
					   "too many fields") : 0;
	memset(op, 0, sizeof(*op));
	op->line = lineno;
	op->done = REPLAY_NO_DONE;
	if (!strcmp(f[0], "map")) {
		op->kind = REPLAY_MAP;
		if (n < 5)
			return replay_fail(err, errlen, name, lineno,
					   "map needs IOVA GPA NPAGES PROT");
		if (replay_addr(f[1], &op->iova) || replay_addr(f[2], &op->gpa))
			return replay_fail(err, errlen, name, lineno,
					   "bad address");
		if (replay_num(f[3], &op->npages))
			return replay_fail(err, errlen, name, lineno,
					   "bad page count '%s'", f[3]);
		if (replay_prot(f[4], &op->prot))
			return replay_fail(err, errlen, name, lineno,
					   "bad prot '%s' (r, w, rw or a number)",
					   f[4]);
		pos = 5;
	} else if (!strcmp(f[0], "unmap")) {
		op->kind = REPLAY_UNMAP;
		if (n < 3)
			return replay_fail(err, errlen, name, lineno,
					   "unmap needs IOVA NPAGES");
		if (replay_addr(f[1], &op->iova))
			return replay_fail(err, errlen, name, lineno,
					   "bad address '%s'", f[1]);
		if (replay_num(f[2], &op->npages))
			return replay_fail(err, errlen, name, lineno,
					   "bad page count '%s'", f[2]);
		pos = 3;
	} else if (!strcmp(f[0], "sync")) {
		op->kind = REPLAY_SYNC;
		pos = 1;
	} else if (!strcmp(f[0], "expect-mapped")) {
		op->kind = REPLAY_EXPECT_MAPPED;
		if (n != 2 || replay_num(f[1], &op->npages))
			return replay_fail(err, errlen, name, lineno,
					   "expect-mapped needs one count");
		return 0;
	} else {
		return replay_fail(err, errlen, name, lineno,
				   "unknown operation '%s'", f[0]);
	}
	for (; pos < n; pos++) {
		if (!strncmp(f[pos], "expect=", 7)) {
			op->expect = replay_trace_errno(f[pos] + 7);
			if (op->expect < 0)
				return replay_fail(err, errlen, name, lineno,
						   "unknown errno '%s'",
						   f[pos] + 7);
		} else if (!strncmp(f[pos], "done=", 5) &&
			   op->kind != REPLAY_SYNC) {
			if (replay_num(f[pos] + 5, &op->done))
				return replay_fail(err, errlen, name, lineno,
						   "bad done= count");
		} else {
			return replay_fail(err, errlen, name, lineno,
					   "unexpected field '%s'", f[pos]);
		}
	}
	return 0;
}

int replay_trace_parse(const char *name, const char *text,
		       struct replay_trace *out, char *err, size_t errlen)
{
	unsigned int lineno = 0, cap = 0;
	const char *p = text;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (*p && rc == 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		struct replay_op op;
		bool empty;

		if (!line) {
			rc = -ENOMEM;
			break;
		}
		lineno++;
		rc = replay_parse_line(name, lineno, line, &op, &empty, err,
				       errlen);
		free(line);
		p = nl ? nl + 1 : p + len;
		if (rc || empty)
			continue;
		if (out->n == cap) {
			struct replay_op *grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(out->ops, cap * sizeof(*grown));
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			out->ops = grown;
		}
		out->ops[out->n++] = op;
	}
	if (rc == 0 && out->n == 0)
		rc = replay_fail(err, errlen, name, lineno,
				 "trace has no operations");
	if (rc)
		replay_trace_free(out);
	return rc;
}

int replay_trace_load(const char *path, struct replay_trace *out, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	/* getdelim with NUL as delimiter slurps the whole text file; a NUL
	 * in it would hide the rest, so it must be the end of the file. */
	n = getdelim(&text, &len, '\0', f);
	/* at EOF getdelim may leave its fresh buffer unterminated */
	if (n < 0 && text)
		text[0] = '\0';
	if ((n < 0 && !feof(f)) || (n > 0 && text[n - 1] == '\0') ||
	    (n > 0 && fgetc(f) != EOF)) {
		rc = n < 0 ? -EIO : -EINVAL;
		snprintf(err, errlen, "%s: %s", path, n < 0 ? "read error" :
			 "a NUL byte in the trace (it must be text)");
		fclose(f);
		free(text);
		return rc;
	}
	fclose(f);
	rc = replay_trace_parse(path, text ? text : "", out, err, errlen);
	free(text);
	return rc;
}

void replay_trace_free(struct replay_trace *t)
{
	free(t->ops);
	t->ops = NULL;
	t->n = 0;
}

int replay_trace_resolve(const struct replay_addr *a,
			 const struct vb_client_info *info, uint64_t *out)
{
	uint64_t base;

	switch (a->base) {
	case 0:
		base = 0;
		break;
	case 'w':
		if (a->idx >= info->n_iova)
			return -ENOENT;
		base = info->iova[a->idx].start;
		break;
	case 'r':
		if (a->idx >= info->n_ram)
			return -ENOENT;
		base = info->ram[a->idx].gpa;
		break;
	default:
		return -EINVAL;
	}
	/* Wrapping is allowed on purpose: a trace may probe the broker's
	 * overflow checks with it. */
	*out = base + a->off;
	return 0;
}
