/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Text seccomp policies (minijail-like) compiled into a libseccomp filter.
 *
 * One rule per line, `syscall: condition`, where condition is
 *   1                      allow
 *   return ERRNO           fail the call with ERRNO instead of killing
 *   argN OP VALUE [&& ...] [|| ...]   allow when the comparison holds
 * with OP one of == != < <= > >= & (all bits of VALUE set) and `in` (no bit
 * outside VALUE set). VALUE is a number or C constant names joined by `|`.
 * `@include FILE` pulls in another policy relative to the including file.
 * `argN == $name` compares with every value of a set the program binds
 * (struct filter_var), for values that exist only at run time (fds).
 * Unlisted syscalls kill the process (SCMP_ACT_KILL_PROCESS). docs/sandbox.md
 * is the full description.
 *
 * Every error (unknown syscall or constant, syntax, duplicate rule, lint
 * finding) fails the whole compile with "file:line: reason" so a broken
 * policy is never half loaded.
 */
#ifndef VB_SANDBOX_FILTER_H
#define VB_SANDBOX_FILTER_H

#include <stdbool.h>
#include <stdint.h>
#include <seccomp.h>

#define FILTER_MAX_INCLUDE_DEPTH 8

/* Compile flags. */
#define FILTER_F_NO_LINT	(1u << 0)	/* skip the dangerous-rule lint */

struct filter_error {
	char msg[512];
};

/*
 * Compile the policy files @paths[0..n) (later files add rules; a syscall
 * may appear only once across all of them) into a new filter in *@out.
 * Returns 0 or a negative errno with @err->msg set.
 */
int filter_compile_files(const char *const *paths, unsigned int n,
			 unsigned int flags, scmp_filter_ctx *out,
			 struct filter_error *err);

/* Same for policy text held in memory; @name is used in messages and
 * @base_dir resolves @include (NULL: the current directory). */
int filter_compile_string(const char *name, const char *text,
			  const char *base_dir, unsigned int flags,
			  scmp_filter_ctx *out, struct filter_error *err);

/*
 * A named set of values, bound by the program, that a policy compares an
 * argument with as `argN == $name` (only ==, one per alternative). The
 * alternative is added once per value; with no values it allows nothing.
 * A policy naming a variable the program did not bind does not compile.
 */
struct filter_var {
	const char *name;		/* without the '$' */
	const uint64_t *values;
	unsigned int n;
};

/* filter_compile_files() / filter_compile_string() with variables. */
int filter_compile_files_vars(const char *const *paths, unsigned int n,
			      const struct filter_var *vars,
			      unsigned int n_vars, unsigned int flags,
			      scmp_filter_ctx *out, struct filter_error *err);
int filter_compile_string_vars(const char *name, const char *text,
			       const char *base_dir,
			       const struct filter_var *vars,
			       unsigned int n_vars, unsigned int flags,
			       scmp_filter_ctx *out, struct filter_error *err);

/* Build-time constant table (filter_consts.c). */
bool filter_consts_lookup(const char *name, uint64_t *value);

/* Lint (filter_lint.c): is an unconditional allow of @syscall dangerous?
 * Returns the reason or NULL. */
const char *filter_lint_unconditional(const char *syscall);
/* Syscalls whose rules must compare a given argument (e.g. ioctl's
 * command); returns the argument index or -1. */
int filter_lint_required_arg(const char *syscall);

#endif /* VB_SANDBOX_FILTER_H */
