/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seccomp policy parser and compiler (text policy -> libseccomp filter).
 * One pass per line: tokenize, parse into alternatives of AND-ed
 * comparisons, check (lint, duplicates), then hand each alternative to
 * libseccomp as one rule. libseccomp builds the BPF for
 * the architecture and the 64-bit argument splits; nothing here writes BPF.
 *
 * Arguments the kernel reads as 32-bit ints (ioctl's command, fcntl's
 * command) are compared under a 0xffffffff mask: the upper register half is
 * not defined by the ABI, so an exact 64-bit compare could be dodged or
 * could spuriously fail.
 *
 * `argN == $name` compares against a set of values the program binds at
 * compile time (struct filter_var: fds that exist only at run time). An
 * alternative holding one becomes one libseccomp rule per value, and none
 * for an empty set.
 */
#include "sandbox/filter.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_MAX_ALTS		16
#define FILTER_MAX_CMPS		6	/* one per syscall argument */
#define FILTER_TOKEN_MAX	64

struct filter_seen {
	int nr;
	char *where;		/* "file:line" of the first rule */
};

struct filter_parser {
	scmp_filter_ctx ctx;
	unsigned int flags;
	const struct filter_var *vars;
	unsigned int n_vars;
	struct filter_error *err;
	struct filter_seen *seen;
	size_t n_seen;
	int depth;
};

/* Where we are, for messages. */
struct filter_pos {
	const char *file;
	unsigned int line;
};

enum filter_tok_kind { TOK_END, TOK_IDENT, TOK_NUM, TOK_OP, TOK_VAR };

struct filter_tok {
	enum filter_tok_kind kind;
	char text[FILTER_TOKEN_MAX];
	uint64_t num;
};

struct filter_lexer {
	const char *p;
	struct filter_tok tok;	/* current token */
};

struct filter_conj {
	unsigned int n;
	struct scmp_arg_cmp cmp[FILTER_MAX_CMPS];
	const struct filter_var *var;	/* `== $name`, or NULL */
	unsigned int var_cmp;		/* which cmp[] it fills */
};

struct filter_rule {
	int nr;
	uint32_t action;
	unsigned int n_alts;	/* 0: unconditional */
	struct filter_conj alt[FILTER_MAX_ALTS];
};

__attribute__((format(printf, 3, 4)))
static int filter_fail(struct filter_parser *ps, const struct filter_pos *pos,
		       const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (pos)
		snprintf(ps->err->msg, sizeof(ps->err->msg), "%s:%u: %s",
			 pos->file, pos->line, what);
	else
		snprintf(ps->err->msg, sizeof(ps->err->msg), "%s", what);
	return -EINVAL;
}

static bool filter_is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Advance to the next token; -EINVAL (message set) on a bad character. */
static int filter_lex(struct filter_parser *ps, const struct filter_pos *pos,
		      struct filter_lexer *lx)
{
	static const char *const two[] = { "==", "!=", "<=", ">=", "&&", "||" };
	struct filter_tok *t = &lx->tok;
	const char *p = lx->p;

	while (*p == ' ' || *p == '\t')
		p++;
	memset(t, 0, sizeof(*t));
	if (*p == '\0') {
		t->kind = TOK_END;
		lx->p = p;
		return 0;
	}
	if (isalpha((unsigned char)*p) || *p == '_') {
		size_t n = 0;

		while (filter_is_ident_char(p[n]))
			n++;
		if (n >= sizeof(t->text))
			return filter_fail(ps, pos, "name too long");
		memcpy(t->text, p, n);
		t->kind = TOK_IDENT;
		lx->p = p + n;
		return 0;
	}
	if (*p == '$' && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
		size_t n = 1;

		while (filter_is_ident_char(p[n]))
			n++;
		if (n - 1 >= sizeof(t->text))
			return filter_fail(ps, pos, "name too long");
		memcpy(t->text, p + 1, n - 1);
		t->kind = TOK_VAR;
		lx->p = p + n;
		return 0;
	}
	if (isdigit((unsigned char)*p)) {
		char *end;

		errno = 0;
		t->num = strtoull(p, &end, 0);
		if (errno || filter_is_ident_char(*end))
			return filter_fail(ps, pos, "bad number near '%.16s'", p);
		snprintf(t->text, sizeof(t->text), "%.*s", (int)(end - p), p);
		t->kind = TOK_NUM;
		lx->p = end;
		return 0;
	}
	for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
		if (!strncmp(p, two[i], 2)) {
			memcpy(t->text, p, 2);
			t->kind = TOK_OP;
			lx->p = p + 2;
			return 0;
		}
	}
	if (strchr(":<>&|", *p)) {
		t->text[0] = *p;
		t->kind = TOK_OP;
		lx->p = p + 1;
		return 0;
	}
	return filter_fail(ps, pos, "unexpected character '%c'", *p);
}

static bool filter_tok_is(const struct filter_tok *t, const char *s)
{
	return t->kind != TOK_END && !strcmp(t->text, s);
}

/* VALUE := term ('|' term)*, term := number | constant name */
static int filter_parse_value(struct filter_parser *ps,
			      const struct filter_pos *pos,
			      struct filter_lexer *lx, uint64_t *out)
{
	uint64_t v = 0;
	int rc;

	for (;;) {
		struct filter_tok *t = &lx->tok;
		uint64_t term;

		if (t->kind == TOK_NUM) {
			term = t->num;
		} else if (t->kind == TOK_IDENT) {
			if (!filter_consts_lookup(t->text, &term))
				return filter_fail(ps, pos,
						   "unknown constant '%s'",
						   t->text);
		} else {
			return filter_fail(ps, pos, "expected a value, got '%s'",
					   t->kind == TOK_END ? "end of line" :
					   t->text);
		}
		v |= term;
		rc = filter_lex(ps, pos, lx);
		if (rc)
			return rc;
		if (!filter_tok_is(&lx->tok, "|"))
			break;
		rc = filter_lex(ps, pos, lx);
		if (rc)
			return rc;
	}
	*out = v;
	return 0;
}

static bool filter_arg_is_32bit(const char *syscall, unsigned int arg)
{
	if (arg == 1)
		return !strcmp(syscall, "ioctl") || !strcmp(syscall, "fcntl") ||
		       !strcmp(syscall, "pidfd_open");
	/* poll's timeout is an int */
	return arg == 2 && !strcmp(syscall, "poll");
}

/* argN OP VALUE */
static int filter_parse_cmp(struct filter_parser *ps,
			    const struct filter_pos *pos,
			    struct filter_lexer *lx, const char *syscall,
			    struct scmp_arg_cmp *cmp,
			    const struct filter_var **var)
{
	struct filter_tok *t = &lx->tok;
	char op[FILTER_TOKEN_MAX];
	unsigned int arg;
	uint64_t v;
	bool is32;
	int rc;

	if (t->kind != TOK_IDENT || strncmp(t->text, "arg", 3) ||
	    strlen(t->text) != 4 || t->text[3] < '0' || t->text[3] > '5')
		return filter_fail(ps, pos, "expected arg0..arg5, got '%s'",
				   t->kind == TOK_END ? "end of line" : t->text);
	arg = (unsigned int)(t->text[3] - '0');
	rc = filter_lex(ps, pos, lx);
	if (rc)
		return rc;
	if (t->kind != TOK_OP && !filter_tok_is(t, "in"))
		return filter_fail(ps, pos, "expected an operator after arg%u",
				   arg);
	snprintf(op, sizeof(op), "%s", t->text);
	rc = filter_lex(ps, pos, lx);
	if (rc)
		return rc;
	is32 = filter_arg_is_32bit(syscall, arg);
	*var = NULL;
	if (t->kind == TOK_VAR) {
		for (unsigned int i = 0; i < ps->n_vars; i++)
			if (!strcmp(ps->vars[i].name, t->text))
				*var = &ps->vars[i];
		if (!*var)
			return filter_fail(ps, pos,
					   "unknown variable '$%s' (not bound by this program)",
					   t->text);
		if (strcmp(op, "=="))
			return filter_fail(ps, pos,
					   "'$%s' can only be compared with ==",
					   t->text);
		rc = filter_lex(ps, pos, lx);
		if (rc)
			return rc;
		/* The value is filled in per element when rules are added. */
		memset(cmp, 0, sizeof(*cmp));
		cmp->arg = arg;
		cmp->op = is32 ? SCMP_CMP_MASKED_EQ : SCMP_CMP_EQ;
		cmp->datum_a = is32 ? UINT32_MAX : 0;
		return 0;
	}
	rc = filter_parse_value(ps, pos, lx, &v);
	if (rc)
		return rc;

	if (is32 && v > UINT32_MAX)
		return filter_fail(ps, pos,
				   "value 0x%llx does not fit 32-bit arg%u of %s",
				   (unsigned long long)v, arg, syscall);
	memset(cmp, 0, sizeof(*cmp));
	cmp->arg = arg;
	if (!strcmp(op, "==")) {
		if (is32) {
			cmp->op = SCMP_CMP_MASKED_EQ;
			cmp->datum_a = UINT32_MAX;
			cmp->datum_b = v;
		} else {
			cmp->op = SCMP_CMP_EQ;
			cmp->datum_a = v;
		}
	} else if (!strcmp(op, "&")) {
		cmp->op = SCMP_CMP_MASKED_EQ;
		cmp->datum_a = v;
		cmp->datum_b = v;
	} else if (!strcmp(op, "in")) {
		cmp->op = SCMP_CMP_MASKED_EQ;
		cmp->datum_a = is32 ? (~v & UINT32_MAX) : ~v;
		cmp->datum_b = 0;
	} else if (is32) {
		return filter_fail(ps, pos,
				   "'%s' is not supported on 32-bit arg%u of %s (use ==, & or in)",
				   op, arg, syscall);
	} else {
		static const struct {
			const char *op;
			enum scmp_compare cmp;
		} ops[] = {
			{ "!=", SCMP_CMP_NE }, { "<", SCMP_CMP_LT },
			{ "<=", SCMP_CMP_LE }, { ">", SCMP_CMP_GT },
			{ ">=", SCMP_CMP_GE },
		};
		size_t i;

		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (!strcmp(op, ops[i].op))
				break;
		if (i == sizeof(ops) / sizeof(ops[0]))
			return filter_fail(ps, pos, "unknown operator '%s'", op);
		cmp->op = ops[i].cmp;
		cmp->datum_a = v;
	}
	return 0;
}

/* cmp ('&&' cmp)* ('||' cmp ('&&' cmp)*)* */
static int filter_parse_expr(struct filter_parser *ps,
			     const struct filter_pos *pos,
			     struct filter_lexer *lx, const char *syscall,
			     struct filter_rule *r)
{
	struct filter_conj *c;
	int rc;

	r->n_alts = 1;
	c = &r->alt[0];
	c->n = 0;
	for (;;) {
		const struct filter_var *var = NULL;

		if (c->n == FILTER_MAX_CMPS)
			return filter_fail(ps, pos, "too many comparisons joined by &&");
		rc = filter_parse_cmp(ps, pos, lx, syscall, &c->cmp[c->n], &var);
		if (rc)
			return rc;
		if (var && c->var)
			return filter_fail(ps, pos,
					   "only one $variable per alternative");
		if (var) {
			c->var = var;
			c->var_cmp = c->n;
		}
		for (unsigned int i = 0; i < c->n; i++)
			if (c->cmp[i].arg == c->cmp[c->n].arg)
				return filter_fail(ps, pos,
						   "arg%u compared twice in one alternative",
						   c->cmp[i].arg);
		c->n++;
		if (lx->tok.kind == TOK_END)
			return 0;
		if (filter_tok_is(&lx->tok, "||")) {
			if (r->n_alts == FILTER_MAX_ALTS)
				return filter_fail(ps, pos, "too many || alternatives");
			c = &r->alt[r->n_alts++];
			c->n = 0;
			c->var = NULL;
		} else if (!filter_tok_is(&lx->tok, "&&")) {
			return filter_fail(ps, pos, "expected && or || or end of line, got '%s'",
					   lx->tok.text);
		}
		rc = filter_lex(ps, pos, lx);
		if (rc)
			return rc;
	}
}

static int filter_lint(struct filter_parser *ps, const struct filter_pos *pos,
		       const char *syscall, const struct filter_rule *r)
{
	int need = filter_lint_required_arg(syscall);
	const char *why;

	if (r->action != SCMP_ACT_ALLOW)
		return 0;	/* a denial is never dangerous */
	if (r->n_alts == 0) {
		why = filter_lint_unconditional(syscall);
		if (why)
			return filter_fail(ps, pos,
					   "lint: '%s' allowed unconditionally (%s); add a condition or mark the line '# lint-ok: <reason>'",
					   syscall, why);
		return 0;
	}
	if (need < 0)
		return 0;
	for (unsigned int a = 0; a < r->n_alts; a++) {
		bool found = false;

		/* and pins it to one value: `in` or `&` would let a whole
		 * set of commands through, `in 0xffffffff` all of them */
		for (unsigned int i = 0; i < r->alt[a].n; i++) {
			const struct scmp_arg_cmp *c = &r->alt[a].cmp[i];

			if (c->arg == (unsigned int)need &&
			    (c->op == SCMP_CMP_EQ ||
			     (c->op == SCMP_CMP_MASKED_EQ &&
			      c->datum_a == 0xffffffffu)))
				found = true;
		}
		if (!found)
			return filter_fail(ps, pos,
					   "lint: an alternative of '%s' does not pin arg%d with ==; mark the line '# lint-ok: <reason>' if intended",
					   syscall, need);
	}
	return 0;
}

static int filter_note_seen(struct filter_parser *ps,
			    const struct filter_pos *pos, const char *syscall,
			    int nr)
{
	struct filter_seen *grown;
	char where[300];

	for (size_t i = 0; i < ps->n_seen; i++)
		if (ps->seen[i].nr == nr)
			return filter_fail(ps, pos,
					   "duplicate rule for '%s' (first at %s)",
					   syscall, ps->seen[i].where);
	grown = realloc(ps->seen, (ps->n_seen + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ps->seen = grown;
	snprintf(where, sizeof(where), "%s:%u", pos->file, pos->line);
	ps->seen[ps->n_seen].nr = nr;
	ps->seen[ps->n_seen].where = strdup(where);
	if (!ps->seen[ps->n_seen].where)
		return -ENOMEM;
	ps->n_seen++;
	return 0;
}

/* syscall ':' ( '1' | 'return' ERRNO | expr ) */
static int filter_parse_rule(struct filter_parser *ps,
			     const struct filter_pos *pos, const char *text,
			     bool lint_ok)
{
	struct filter_lexer lx = { .p = text };
	struct filter_rule r;
	char syscall[FILTER_TOKEN_MAX];
	int rc;

	memset(&r, 0, sizeof(r));
	rc = filter_lex(ps, pos, &lx);
	if (rc)
		return rc;
	if (lx.tok.kind != TOK_IDENT)
		return filter_fail(ps, pos, "expected a syscall name");
	snprintf(syscall, sizeof(syscall), "%s", lx.tok.text);
	r.nr = seccomp_syscall_resolve_name(syscall);
	if (r.nr == __NR_SCMP_ERROR || r.nr < 0)
		return filter_fail(ps, pos, "unknown syscall '%s'", syscall);
	rc = filter_lex(ps, pos, &lx);
	if (rc)
		return rc;
	if (!filter_tok_is(&lx.tok, ":"))
		return filter_fail(ps, pos, "expected ':' after '%s'", syscall);
	rc = filter_lex(ps, pos, &lx);
	if (rc)
		return rc;

	if (lx.tok.kind == TOK_NUM && lx.tok.num == 1) {
		r.action = SCMP_ACT_ALLOW;
		rc = filter_lex(ps, pos, &lx);
	} else if (filter_tok_is(&lx.tok, "return")) {
		uint64_t e;

		rc = filter_lex(ps, pos, &lx);
		if (!rc)
			rc = filter_parse_value(ps, pos, &lx, &e);
		if (rc)
			return rc;
		if (e == 0 || e > 4095)
			return filter_fail(ps, pos, "errno %llu out of range",
					   (unsigned long long)e);
		r.action = SCMP_ACT_ERRNO((uint16_t)e);
	} else if (lx.tok.kind == TOK_END) {
		return filter_fail(ps, pos, "missing condition after ':'");
	} else {
		r.action = SCMP_ACT_ALLOW;
		rc = filter_parse_expr(ps, pos, &lx, syscall, &r);
	}
	if (rc)
		return rc;
	if (lx.tok.kind != TOK_END)
		return filter_fail(ps, pos, "trailing text '%s'", lx.tok.text);

	if (!(ps->flags & FILTER_F_NO_LINT) && !lint_ok) {
		rc = filter_lint(ps, pos, syscall, &r);
		if (rc)
			return rc;
	}
	rc = filter_note_seen(ps, pos, syscall, r.nr);
	if (rc)
		return rc;

	if (r.n_alts == 0) {
		rc = seccomp_rule_add(ps->ctx, r.action, r.nr, 0);
		if (rc)
			return filter_fail(ps, pos, "libseccomp rejected '%s': %s",
					   syscall, strerror(-rc));
	}
	for (unsigned int a = 0; a < r.n_alts; a++) {
		struct filter_conj *c = &r.alt[a];
		unsigned int n = c->var ? c->var->n : 1;

		for (unsigned int k = 0; k < n; k++) {
			if (c->var) {
				struct scmp_arg_cmp *x = &c->cmp[c->var_cmp];

				if (x->op == SCMP_CMP_MASKED_EQ)
					x->datum_b = c->var->values[k] & UINT32_MAX;
				else
					x->datum_a = c->var->values[k];
			}
			rc = seccomp_rule_add_array(ps->ctx, r.action, r.nr,
						    c->n, c->cmp);
			if (rc)
				return filter_fail(ps, pos,
						   "libseccomp rejected '%s': %s",
						   syscall, strerror(-rc));
		}
	}
	return 0;
}

static int filter_parse_file(struct filter_parser *ps, const char *path,
			     const struct filter_pos *from);

static int filter_parse_include(struct filter_parser *ps,
				const struct filter_pos *pos,
				const char *base_dir, const char *arg)
{
	char path[4096];
	size_t n;

	while (*arg == ' ' || *arg == '\t')
		arg++;
	n = strlen(arg);
	while (n && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
		n--;
	if (n == 0)
		return filter_fail(ps, pos, "@include needs a file name");
	if (memchr(arg, ' ', n) || memchr(arg, '\t', n))
		return filter_fail(ps, pos, "@include takes one file name");
	if (ps->depth >= FILTER_MAX_INCLUDE_DEPTH)
		return filter_fail(ps, pos, "@include nested deeper than %d",
				   FILTER_MAX_INCLUDE_DEPTH);
	if (arg[0] == '/')
		snprintf(path, sizeof(path), "%.*s", (int)n, arg);
	else
		snprintf(path, sizeof(path), "%s/%.*s",
			 base_dir ? base_dir : ".", (int)n, arg);
	return filter_parse_file(ps, path, pos);
}

/* Parse one line; @line is modified (comment cut off). */
static int filter_parse_line(struct filter_parser *ps,
			     const struct filter_pos *pos,
			     const char *base_dir, char *line)
{
	char *hash = strchr(line, '#');
	bool lint_ok = false;
	char *s;

	if (hash) {
		/* "# lint-ok: <reason>": the reason is required, so the
		 * exception always explains itself. */
		const char *ok = strstr(hash, "lint-ok:");

		if (ok) {
			ok += strlen("lint-ok:");
			ok += strspn(ok, " \t");
			lint_ok = *ok != '\0' && *ok != '\r' && *ok != '\n';
		}
		*hash = '\0';
	}
	s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return 0;
	if (*s == '@') {
		if (!strncmp(s, "@include", 8) && (s[8] == ' ' || s[8] == '\t'))
			return filter_parse_include(ps, pos, base_dir, s + 8);
		return filter_fail(ps, pos, "unknown directive '%s'", s);
	}
	return filter_parse_rule(ps, pos, s, lint_ok);
}

static int filter_parse_text(struct filter_parser *ps, const char *name,
			     const char *base_dir, const char *text)
{
	struct filter_pos pos = { .file = name, .line = 0 };
	const char *p = text;
	int rc = 0;

	while (*p && !rc) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, n);

		if (!line)
			return -ENOMEM;
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		pos.line++;
		rc = filter_parse_line(ps, &pos, base_dir, line);
		free(line);
		p = nl ? nl + 1 : p + n;
	}
	return rc;
}

static int filter_parse_file(struct filter_parser *ps, const char *path,
			     const struct filter_pos *from)
{
	char *text = NULL, *dir, *slash;
	size_t cap = 0, len = 0;
	FILE *f;
	int rc;

	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		filter_fail(ps, from, "cannot open '%s': %s", path,
			    strerror(-rc));
		return rc;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *grown;

			cap = cap ? cap * 2 : 8192;
			grown = realloc(text, cap);
			if (!grown) {
				free(text);
				fclose(f);
				return -ENOMEM;
			}
			text = grown;
		}
		size_t got = fread(text + len, 1, 4096, f);

		len += got;
		if (got < 4096)
			break;
	}
	rc = ferror(f) ? -EIO : 0;
	fclose(f);
	if (rc) {
		free(text);
		filter_fail(ps, from, "cannot read '%s'", path);
		return rc;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		free(text);
		return filter_fail(ps, NULL, "%s: contains a NUL byte", path);
	}

	dir = strdup(path);
	if (!dir) {
		free(text);
		return -ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	ps->depth++;
	rc = filter_parse_text(ps, path, slash ? dir : ".", text);
	ps->depth--;
	free(dir);
	free(text);
	return rc;
}

static int filter_begin(struct filter_parser *ps, unsigned int flags,
			struct filter_error *err)
{
	memset(ps, 0, sizeof(*ps));
	ps->flags = flags;
	ps->err = err;
	err->msg[0] = '\0';
	ps->ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ps->ctx) {
		filter_fail(ps, NULL, "seccomp_init failed");
		return -ENOMEM;
	}
	/*
	 * A system call of another architecture (int 0x80 on x86_64) ends
	 * the process too, not only its thread (libseccomp's default), which
	 * would leave a broker holding its containers and serving nothing.
	 */
	if (seccomp_attr_set(ps->ctx, SCMP_FLTATR_ACT_BADARCH,
			     SCMP_ACT_KILL_PROCESS)) {
		filter_fail(ps, NULL, "cannot set the action for other architectures");
		seccomp_release(ps->ctx);
		ps->ctx = NULL;
		return -EINVAL;
	}
	return 0;
}

static int filter_end(struct filter_parser *ps, int rc, scmp_filter_ctx *out)
{
	for (size_t i = 0; i < ps->n_seen; i++)
		free(ps->seen[i].where);
	free(ps->seen);
	if (rc == 0 && ps->n_seen == 0) {
		filter_fail(ps, NULL, "policy allows nothing (no rules)");
		rc = -EINVAL;
	}
	if (rc) {
		if (rc == -ENOMEM && !ps->err->msg[0])
			filter_fail(ps, NULL, "out of memory");
		seccomp_release(ps->ctx);
		*out = NULL;
		return rc;
	}
	*out = ps->ctx;
	return 0;
}

int filter_compile_files(const char *const *paths, unsigned int n,
			 unsigned int flags, scmp_filter_ctx *out,
			 struct filter_error *err)
{
	return filter_compile_files_vars(paths, n, NULL, 0, flags, out, err);
}

int filter_compile_files_vars(const char *const *paths, unsigned int n,
			      const struct filter_var *vars,
			      unsigned int n_vars, unsigned int flags,
			      scmp_filter_ctx *out, struct filter_error *err)
{
	struct filter_parser ps;
	int rc;

	rc = filter_begin(&ps, flags, err);
	if (rc)
		return rc;
	ps.vars = vars;
	ps.n_vars = n_vars;
	for (unsigned int i = 0; i < n && !rc; i++)
		rc = filter_parse_file(&ps, paths[i], NULL);
	return filter_end(&ps, rc, out);
}

int filter_compile_string(const char *name, const char *text,
			  const char *base_dir, unsigned int flags,
			  scmp_filter_ctx *out, struct filter_error *err)
{
	return filter_compile_string_vars(name, text, base_dir, NULL, 0, flags,
					  out, err);
}

int filter_compile_string_vars(const char *name, const char *text,
			       const char *base_dir,
			       const struct filter_var *vars,
			       unsigned int n_vars, unsigned int flags,
			       scmp_filter_ctx *out, struct filter_error *err)
{
	struct filter_parser ps;
	int rc;

	rc = filter_begin(&ps, flags, err);
	if (rc)
		return rc;
	ps.vars = vars;
	ps.n_vars = n_vars;
	ps.depth = 1;
	rc = filter_parse_text(&ps, name, base_dir ? base_dir : ".", text);
	return filter_end(&ps, rc, out);
}
