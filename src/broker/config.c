/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config file parser. Two passes: the first reads sections and keys line by
 * line (syntax, numbers, per-key limits), the second checks the rules that
 * span entries (overlaps, domains, required keys). Every message names
 * file:line so the operator can fix the file without reading code.
 */
#include "broker/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/parse.h"

enum config_section { SEC_NONE, SEC_BROKER, SEC_RAM, SEC_DEVICE };

struct config_parser {
	struct config *cfg;
	const char *fname;
	int line;
	enum config_section sec;
	struct config_ram *ram;
	struct config_device *dev;
	char *err;
	size_t errlen;
};

static const char *const config_backends[] = {
	"auto", "sim", "v3", "v3-direct", "type1", "iommufd",
};

__attribute__((format(printf, 3, 4)))
static int config_error(struct config_parser *p, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->fname, line, msg);
	return -EINVAL;
}

static char *config_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int config_parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 0;
	uint64_t v;
	char *end;

	if (vb_parse_u64(s, &end, &v))
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* Names appear in logs and JSON: keep them to a safe alphabet. */
static bool config_name_ok(const char *s)
{
	if (!*s || strlen(s) >= CONFIG_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static int config_u32(struct config_parser *p, const char *v, uint32_t *out)
{
	uint64_t x;

	if (config_parse_size(v, &x) || x > UINT32_MAX)
		return config_error(p, p->line, "'%s' is not a 32-bit number", v);
	*out = (uint32_t)x;
	return 0;
}

static int config_u64(struct config_parser *p, const char *v, uint64_t *out)
{
	if (config_parse_size(v, out))
		return config_error(p, p->line, "'%s' is not a number or size", v);
	return 0;
}

static int config_strdup(struct config_parser *p, const char *v, char **dst)
{
	if (!*v)
		return config_error(p, p->line, "empty path");
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int config_yes_no(struct config_parser *p, const char *k,
			 const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return config_error(p, p->line, "%s must be yes or no", k);
	return 0;
}

static int config_broker_key(struct config_parser *p, const char *k,
			     const char *v)
{
	struct config *c = p->cfg;
	size_t i;

	if (!strcmp(k, "backend")) {
		for (i = 0; i < sizeof(config_backends) / sizeof(*config_backends); i++)
			if (!strcmp(v, config_backends[i]))
				break;
		if (i == sizeof(config_backends) / sizeof(*config_backends))
			return config_error(p, p->line,
				"unknown backend '%s' (auto, sim, v3, v3-direct, type1, iommufd)", v);
		snprintf(c->backend, sizeof(c->backend), "%s", v);
		return 0;
	}
	if (!strcmp(k, "socket"))
		return config_strdup(p, v, &c->socket_path);
	if (!strcmp(k, "control"))
		return config_strdup(p, v, &c->control_path);
	if (!strcmp(k, "max_entries")) {
		if (config_u32(p, v, &c->max_entries))
			return -EINVAL;
		if (c->max_entries < 1 || c->max_entries > VB_MAX_ENTRIES_HARD)
			return config_error(p, p->line,
				"max_entries must be 1..%u", VB_MAX_ENTRIES_HARD);
		return 0;
	}
	if (!strcmp(k, "window")) {
		if (config_u32(p, v, &c->window))
			return -EINVAL;
		if (c->window < 1 || c->window > CONFIG_WINDOW_MAX)
			return config_error(p, p->line, "window must be 1..%d",
					    CONFIG_WINDOW_MAX);
		return 0;
	}
	if (!strcmp(k, "poll_us")) {
		if (config_u32(p, v, &c->poll_us))
			return -EINVAL;
		if (c->poll_us > CONFIG_POLL_US_MAX)
			return config_error(p, p->line, "poll_us must be 0..%d",
					    CONFIG_POLL_US_MAX);
		return 0;
	}
	if (!strcmp(k, "ring"))
		return config_yes_no(p, k, v, &c->ring);
	return config_error(p, p->line, "unknown key '%s' in [broker]", k);
}

static int config_ram_key(struct config_parser *p, const char *k, const char *v)
{
	if (!strcmp(k, "gpa"))
		return config_u64(p, v, &p->ram->gpa);
	if (!strcmp(k, "size"))
		return config_u64(p, v, &p->ram->size);
	if (!strcmp(k, "populate"))
		return config_yes_no(p, k, v, &p->ram->populate);
	return config_error(p, p->line, "unknown key '%s' in [ram %s]", k,
			    p->ram->name);
}

static int config_ids(struct config_parser *p, char *v, bool is_uid)
{
	struct config_device *d = p->dev;
	char *save = NULL, *tok;
	uint32_t x = 0;

	if (!v[strspn(v, " \t,")])
		return config_error(p, p->line, "%s needs at least one id",
				    is_uid ? "uid" : "gid");
	for (tok = strtok_r(v, " \t,", &save); tok;
	     tok = strtok_r(NULL, " \t,", &save)) {
		if (config_u32(p, tok, &x))
			return -EINVAL;
		if (is_uid) {
			if (d->n_uid == CONFIG_MAX_IDS)
				return config_error(p, p->line, "more than %d uids",
						    CONFIG_MAX_IDS);
			d->uid[d->n_uid++] = (uid_t)x;
		} else {
			if (d->n_gid == CONFIG_MAX_IDS)
				return config_error(p, p->line, "more than %d gids",
						    CONFIG_MAX_IDS);
			d->gid[d->n_gid++] = (gid_t)x;
		}
	}
	return 0;
}

static void config_free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* Whitespace-separated words; no quoting (documented). */
static int config_spawn(struct config_parser *p, char *v)
{
	char *save = NULL, *tok, **argv;
	size_t n = 0, cap = 8;

	if (p->dev->spawn)
		return config_error(p, p->line, "spawn given twice");
	argv = calloc(cap, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	for (tok = strtok_r(v, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (n + 1 == cap) {
			char **nv = realloc(argv, 2 * cap * sizeof(*argv));

			if (!nv)
				goto nomem;
			argv = nv;
			cap *= 2;
		}
		argv[n] = strdup(tok);
		if (!argv[n])
			goto nomem;
		argv[++n] = NULL;
	}
	if (!n) {
		free(argv);
		return config_error(p, p->line, "spawn needs a command");
	}
	p->dev->spawn = argv;
	return 0;
nomem:
	config_free_argv(argv);
	return -ENOMEM;
}

/*
 * A PCI address in the canonical sysfs form DDDD:BB:DD.F (lower-case hex,
 * function 0-7), exactly as VFIO_GROUP_GET_DEVICE_FD wants it: the kernel
 * compares the name literally, so "0:3.0" would not match.
 */
static bool config_pci_ok(const char *v)
{
	static const char pat[] = "hhhh:hh:hh.f";

	if (strlen(v) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++) {
		char c = v[i];

		if (pat[i] == 'h' && !isdigit((unsigned char)c) &&
		    !(c >= 'a' && c <= 'f'))
			return false;
		if (pat[i] == 'f' && !(c >= '0' && c <= '7'))
			return false;
		if ((pat[i] == ':' || pat[i] == '.') && c != pat[i])
			return false;
	}
	/* device numbers stop at 0x1f */
	return (v[8] >= '0' && v[8] <= '1');
}

static int config_device_key(struct config_parser *p, const char *k, char *v)
{
	struct config_device *d = p->dev;

	if (!strcmp(k, "group")) {
		uint32_t g = 0;

		d->has_group = true;
		if (!strcmp(v, "sim")) {
			d->group = CONFIG_GROUP_SIM;
			return 0;
		}
		if (config_u32(p, v, &g) || g > INT32_MAX)
			return config_error(p, p->line,
					    "group must be 'sim' or an IOMMU group number");
		d->group = (int)g;
		return 0;
	}
	if (!strcmp(k, "pci")) {
		if (d->pci[0])
			return config_error(p, p->line, "pci given twice");
		if (!config_pci_ok(v))
			return config_error(p, p->line,
					    "pci must be a PCI address DDDD:BB:DD.F in lower-case hex, e.g. 0000:00:03.0");
		snprintf(d->pci, sizeof(d->pci), "%s", v);
		return 0;
	}
	if (!strcmp(k, "domain")) {
		if (!config_name_ok(v))
			return config_error(p, p->line,
					    "domain must be one word of letters, digits, '_', '.', '-' below %d characters",
					    CONFIG_NAME_MAX);
		snprintf(d->domain, sizeof(d->domain), "%s", v);
		return 0;
	}
	if (!strcmp(k, "fenced"))
		return config_yes_no(p, k, v, &d->fenced);
	if (!strcmp(k, "iova")) {
		char *save = NULL, *a = strtok_r(v, " \t", &save);
		char *b = strtok_r(NULL, " \t", &save);
		struct vb_range r;

		if (!a || !b || strtok_r(NULL, " \t", &save))
			return config_error(p, p->line, "iova needs START SIZE");
		if (config_u64(p, a, &r.start) || config_u64(p, b, &r.size))
			return -EINVAL;
		if (d->n_iova == VB_MAX_IOVA_RANGES)
			return config_error(p, p->line, "more than %u iova windows",
					    VB_MAX_IOVA_RANGES);
		if (r.size == 0 || (r.start | r.size) & (VB_PAGE_SIZE - 1))
			return config_error(p, p->line,
				"iova window 0x%llx+0x%llx must be page-aligned and non-empty",
				(unsigned long long)r.start, (unsigned long long)r.size);
		if (r.start + r.size < r.start || r.start + r.size == 0)
			return config_error(p, p->line,
				"iova window 0x%llx+0x%llx overflows 64 bits",
				(unsigned long long)r.start, (unsigned long long)r.size);
		d->iova[d->n_iova++] = r;
		return 0;
	}
	if (!strcmp(k, "max_mapped")) {
		uint64_t bytes;

		if (config_u64(p, v, &bytes))
			return -EINVAL;
		if (!bytes || bytes & (VB_PAGE_SIZE - 1))
			return config_error(p, p->line,
					    "max_mapped must be a non-zero multiple of the page size");
		d->max_pages = bytes >> VB_PAGE_SHIFT;
		return 0;
	}
	if (!strcmp(k, "uid"))
		return config_ids(p, v, true);
	if (!strcmp(k, "gid"))
		return config_ids(p, v, false);
	if (!strcmp(k, "spawn"))
		return config_spawn(p, v);
	return config_error(p, p->line, "unknown key '%s' in [device %u]", k,
			    d->id);
}

static int config_section(struct config_parser *p, char *s)
{
	struct config *c = p->cfg;
	char *end = strchr(s, ']'), *name, *arg;

	if (!end || config_trim(end + 1)[0])
		return config_error(p, p->line, "malformed section header");
	*end = '\0';
	name = config_trim(s + 1);
	arg = name + strcspn(name, " \t");
	if (*arg)
		*arg++ = '\0';
	arg = config_trim(arg);

	if (!strcmp(name, "broker")) {
		if (*arg)
			return config_error(p, p->line, "[broker] takes no name");
		p->sec = SEC_BROKER;
		return 0;
	}
	if (!strcmp(name, "ram")) {
		if (!config_name_ok(arg))
			return config_error(p, p->line,
					    "[ram NAME] needs a short name of letters, digits, '_', '.', '-'");
		for (unsigned int i = 0; i < c->n_ram; i++)
			if (!strcmp(c->ram[i].name, arg))
				return config_error(p, p->line,
					"ram region '%s' already defined at line %d",
					arg, c->ram[i].line);
		if (c->n_ram == VB_MAX_RAM_REGIONS)
			return config_error(p, p->line, "more than %u ram regions",
					    VB_MAX_RAM_REGIONS);
		p->ram = &c->ram[c->n_ram++];
		snprintf(p->ram->name, sizeof(p->ram->name), "%s", arg);
		p->ram->line = p->line;
		p->sec = SEC_RAM;
		return 0;
	}
	if (!strcmp(name, "device")) {
		uint64_t id;

		if (config_parse_size(arg, &id) || id >= VB_DEVICE_ANY)
			return config_error(p, p->line,
					    "[device ID] needs a numeric id below 0x%x",
					    VB_DEVICE_ANY);
		for (unsigned int i = 0; i < c->n_dev; i++)
			if (c->dev[i].id == id)
				return config_error(p, p->line,
					"device %llu already defined at line %d",
					(unsigned long long)id, c->dev[i].line);
		if (c->n_dev == CONFIG_MAX_DEVICES)
			return config_error(p, p->line, "more than %d devices",
					    CONFIG_MAX_DEVICES);
		p->dev = &c->dev[c->n_dev++];
		p->dev->id = (uint32_t)id;
		p->dev->line = p->line;
		p->sec = SEC_DEVICE;
		return 0;
	}
	return config_error(p, p->line, "unknown section [%s]", name);
}

static int config_line(struct config_parser *p, char *line)
{
	char *s = config_trim(line), *eq, *k, *v;

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return config_section(p, s);
	eq = strchr(s, '=');
	if (!eq)
		return config_error(p, p->line, "expected 'key = value'");
	*eq = '\0';
	k = config_trim(s);
	v = config_trim(eq + 1);
	/*
	 * A comment may follow a value after whitespace; "key = # comment"
	 * is a key without a value (whose handler says so), not the value
	 * "# comment".
	 */
	for (char *h = v; *h; h++) {
		if (*h == '#' && (h == v || isspace((unsigned char)h[-1]))) {
			*h = '\0';
			v = config_trim(v);
			break;
		}
	}
	if (!*k)
		return config_error(p, p->line, "missing key before '='");
	switch (p->sec) {
	case SEC_BROKER:
		return config_broker_key(p, k, v);
	case SEC_RAM:
		return config_ram_key(p, k, v);
	case SEC_DEVICE:
		return config_device_key(p, k, v);
	case SEC_NONE:
	default:
		return config_error(p, p->line, "key '%s' outside any section", k);
	}
}

static bool config_overlap(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz)
{
	return a < b + bsz && b < a + asz;
}

static int config_check_ram(struct config_parser *p)
{
	struct config *c = p->cfg;

	if (!c->n_ram)
		return config_error(p, 0, "no [ram NAME] section: the guest needs RAM");
	for (unsigned int i = 0; i < c->n_ram; i++) {
		struct config_ram *r = &c->ram[i];

		if (!r->size || (r->gpa | r->size) & (VB_PAGE_SIZE - 1))
			return config_error(p, r->line,
				"ram '%s': gpa and size must be page-aligned, size non-zero",
				r->name);
		if (r->gpa + r->size < r->gpa || r->gpa + r->size == 0)
			return config_error(p, r->line,
				"ram '%s': gpa + size overflows 64 bits", r->name);
		for (unsigned int j = 0; j < i; j++)
			if (config_overlap(r->gpa, r->size, c->ram[j].gpa,
					   c->ram[j].size))
				return config_error(p, r->line,
					"ram '%s' overlaps ram '%s' (line %d)",
					r->name, c->ram[j].name, c->ram[j].line);
	}
	return 0;
}

static int config_check_devices(struct config_parser *p)
{
	struct config *c = p->cfg;

	if (!c->n_dev)
		return config_error(p, 0, "no [device ID] section");
	for (unsigned int i = 0; i < c->n_dev; i++) {
		struct config_device *d = &c->dev[i];

		if (!d->has_group)
			return config_error(p, d->line,
					    "device %u: missing 'group ='", d->id);
		if (!d->n_iova)
			return config_error(p, d->line,
					    "device %u: missing 'iova = START SIZE'", d->id);
		/* The device fd is opened through its group. */
		if (d->pci[0] && d->group == CONFIG_GROUP_SIM)
			return config_error(p, d->line,
					    "device %u: 'pci =' needs 'group =' an IOMMU group number, not sim",
					    d->id);
		/*
		 * One function, one device: VFIO would open it for each, and
		 * two clients (with other uids) would drive it at once, past
		 * the holder check, which is per device.
		 */
		for (unsigned int j = 0; d->pci[0] && j < i; j++)
			if (!strcmp(d->pci, c->dev[j].pci))
				return config_error(p, d->line,
						    "device %u: pci %s is device %u's already",
						    d->id, d->pci, c->dev[j].id);
		if (d->fenced && d->domain[0])
			return config_error(p, d->line,
				"device %u: 'fenced' and 'domain' exclude each other",
				d->id);
		/* No domain given means a domain of its own. */
		if (!d->domain[0]) {
			d->fenced = true;
			snprintf(d->domain, sizeof(d->domain), "dev%u", d->id);
		}
	}
	/*
	 * Windows are compared across every device sharing a domain (and
	 * within one device) so that an IOVA names exactly one owner; that is
	 * what lets the broker clean up a dead client by unmapping its windows.
	 */
	for (unsigned int i = 0; i < c->n_dev; i++) {
		struct config_device *d = &c->dev[i];

		for (unsigned int j = 0; j <= i; j++) {
			struct config_device *e = &c->dev[j];

			if (strcmp(d->domain, e->domain))
				continue;
			if (i != j && (d->fenced || e->fenced))
				return config_error(p, d->line,
					"device %u: domain name '%s' is taken by fenced device %u",
					d->id, d->domain, e->id);
			for (unsigned int a = 0; a < d->n_iova; a++)
				for (unsigned int b = 0; b < e->n_iova; b++) {
					if (i == j && b >= a)
						break;
					if (config_overlap(d->iova[a].start, d->iova[a].size,
							   e->iova[b].start, e->iova[b].size))
						return config_error(p, d->line,
							"device %u: iova window 0x%llx+0x%llx overlaps device %u's window 0x%llx+0x%llx in domain '%s'",
							d->id,
							(unsigned long long)d->iova[a].start,
							(unsigned long long)d->iova[a].size,
							e->id,
							(unsigned long long)e->iova[b].start,
							(unsigned long long)e->iova[b].size,
							d->domain);
				}
		}
	}
	return 0;
}

int config_parse(const char *text, const char *fname, struct config **out,
		 char *err, size_t errlen)
{
	struct config_parser p = { .fname = fname, .err = err, .errlen = errlen };
	char *buf, *line, *next;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	p.cfg = calloc(1, sizeof(*p.cfg));
	buf = strdup(text);
	if (!p.cfg || !buf) {
		free(p.cfg);
		free(buf);
		return -ENOMEM;
	}
	snprintf(p.cfg->backend, sizeof(p.cfg->backend), "auto");
	p.cfg->max_entries = 256;
	p.cfg->window = 32;
	p.cfg->ring = true;

	for (line = buf; line && !ret; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		ret = config_line(&p, line);
	}
	free(buf);
	if (!ret)
		ret = config_check_ram(&p);
	if (!ret)
		ret = config_check_devices(&p);
	if (ret) {
		config_free(p.cfg);
		return ret;
	}
	*out = p.cfg;
	return 0;
}

int config_load(const char *path, struct config **out)
{
	char err[320], *text = NULL;
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "re");
	int ret;

	if (!f) {
		ret = -errno;
		log_err("cannot open config %s: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nt;

			cap = cap ? 2 * cap : 8192;
			nt = realloc(text, cap);
			if (!nt) {
				ret = -ENOMEM;
				goto out;
			}
			text = nt;
		}
		size_t n = fread(text + len, 1, 4096, f);

		len += n;
		if (len > CONFIG_FILE_MAX) {
			log_err("%s: config larger than 1 MiB", path);
			ret = -EFBIG;
			goto out;
		}
		if (n < 4096)
			break;
	}
	if (ferror(f)) {
		log_err("%s: read error", path);
		ret = -EIO;
		goto out;
	}
	/* the parser would stop at one, taking what follows for nothing */
	if (memchr(text, '\0', len)) {
		log_err("%s: config holds a NUL byte", path);
		ret = -EINVAL;
		goto out;
	}
	text[len] = '\0';
	ret = config_parse(text, path, out, err, sizeof(err));
	if (ret == -EINVAL)
		log_err("%s", err);
	else if (ret)
		log_err("%s: %s", path, strerror(-ret));
out:
	free(text);
	fclose(f);
	return ret;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (unsigned int i = 0; i < cfg->n_dev; i++)
		config_free_argv(cfg->dev[i].spawn);
	free(cfg->socket_path);
	free(cfg->control_path);
	free(cfg);
}

bool config_device_allows(const struct config_device *d, uid_t uid, gid_t gid)
{
	for (unsigned int i = 0; i < d->n_uid; i++)
		if (d->uid[i] == uid)
			return true;
	for (unsigned int i = 0; i < d->n_gid; i++)
		if (d->gid[i] == gid)
			return true;
	return false;
}
