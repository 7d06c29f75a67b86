/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.c: a file using every key parses to the expected structs; every
 * error is reported with its file:line and a message naming the problem.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/config.h"
#include "check_main.h"

static const char good[] =
	"# comment\n"
	"; also a comment\n"
	"[broker]\n"
	"backend = sim\n"
	"socket = /tmp/x.sock   # trailing comment\n"
	"control = /tmp/x.ctl\n"
	"max_entries = 1024\n"
	"window = 7\n"
	"poll_us = 250\n"
	"ring = no\n"
	"\n"
	"[ram low]\n"
	"gpa = 0x0\n"
	"size = 256M\n"
	"[ram high]\n"
	"gpa = 4G\n"
	"size = 0x1000\n"
	"populate = yes\n"
	"[device 1]\n"
	"group = sim\n"
	"domain = shared\n"
	"iova = 0x100000000 1G\n"
	"iova = 0x10000 64K\n"
	"uid = 1000 1001\n"
	"uid = 7\n"
	"gid = 100\n"
	"[ device 2 ]\n"
	"  group = 12\n"
	"domain = shared\n"
	"iova = 0x140000000 1G\n"
	"spawn = vfio-devproc --workload coiommu  --seed 3\n"
	"[device 3]\n"
	"group = sim\n"
	"fenced = yes\n"
	"iova = 0x100000000 1G\n"
	"[device 4]\n"
	"group = sim\n"
	"iova = 0x100000000 1G\n"
	"max_mapped = 64M\n";

START_TEST(good_file)
{
	char err[256];
	struct config *c = NULL;

	ck_assert_int_eq(config_parse(good, "good.conf", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c->backend, "sim");
	ck_assert_str_eq(c->socket_path, "/tmp/x.sock");
	ck_assert_str_eq(c->control_path, "/tmp/x.ctl");
	ck_assert_uint_eq(c->max_entries, 1024);
	ck_assert_uint_eq(c->window, 7);
	ck_assert_uint_eq(c->poll_us, 250);
	ck_assert(!c->ring);
	ck_assert_uint_eq(c->n_ram, 2);
	ck_assert_str_eq(c->ram[0].name, "low");
	ck_assert_uint_eq(c->ram[0].size, 256ull << 20);
	ck_assert_uint_eq(c->ram[1].gpa, 4ull << 30);
	ck_assert(!c->ram[0].populate);
	ck_assert(c->ram[1].populate);
	ck_assert_uint_eq(c->n_dev, 4);

	const struct config_device *d = &c->dev[0];

	ck_assert_uint_eq(d->id, 1);
	ck_assert_int_eq(d->group, CONFIG_GROUP_SIM);
	ck_assert_str_eq(d->domain, "shared");
	ck_assert(!d->fenced);
	ck_assert_uint_eq(d->n_iova, 2);
	ck_assert_uint_eq(d->iova[0].start, 0x100000000ull);
	ck_assert_uint_eq(d->iova[0].size, 1ull << 30);
	ck_assert_uint_eq(d->iova[1].size, 64 << 10);
	ck_assert_uint_eq(d->n_uid, 3);
	ck_assert_uint_eq(d->uid[2], 7);
	ck_assert_uint_eq(d->n_gid, 1);
	ck_assert(config_device_allows(d, 1001, 5));
	ck_assert(config_device_allows(d, 5, 100));
	ck_assert(!config_device_allows(d, 0, 0));
	ck_assert_ptr_null(d->spawn);

	d = &c->dev[1];
	ck_assert_int_eq(d->group, 12);
	ck_assert_ptr_nonnull(d->spawn);
	ck_assert_str_eq(d->spawn[0], "vfio-devproc");
	ck_assert_str_eq(d->spawn[2], "coiommu");
	ck_assert_str_eq(d->spawn[4], "3");
	ck_assert_ptr_null(d->spawn[5]);
	/* nobody is allowed by default, not even root */
	ck_assert(!config_device_allows(d, 0, 0));

	ck_assert(c->dev[2].fenced);
	ck_assert_str_eq(c->dev[2].domain, "dev3");
	/* no domain given: a domain of its own */
	ck_assert(c->dev[3].fenced);
	ck_assert_str_eq(c->dev[3].domain, "dev4");
	/* max_mapped is kept in pages; no quota unless given */
	ck_assert_uint_eq(c->dev[3].max_pages, 16384);
	ck_assert_uint_eq(c->dev[0].max_pages, 0);
	config_free(c);
}
END_TEST

START_TEST(defaults)
{
	struct config *c = NULL;

	ck_assert_int_eq(config_parse("[ram r]\nsize=4K\n[device 0]\ngroup=sim\niova=0 4K\n",
				      "d", &c, NULL, 0), 0);
	ck_assert_str_eq(c->backend, "auto");
	ck_assert_ptr_null(c->socket_path);
	ck_assert_ptr_null(c->control_path);
	ck_assert_uint_eq(c->max_entries, 256);
	ck_assert_uint_eq(c->window, 32);
	ck_assert_uint_eq(c->poll_us, 0);
	ck_assert(c->ring);
	ck_assert(!c->ram[0].populate);
	ck_assert_uint_eq(c->ram[0].gpa, 0);
	config_free(c);
}
END_TEST

START_TEST(pci_key)
{
	struct config *c = NULL;

	ck_assert_int_eq(config_parse("[ram r]\nsize=4K\n"
				      "[device 1]\ngroup=3\npci = 0000:00:03.0\niova=0 4K\n"
				      "[device 2]\ngroup=4\npci=ffff:1f:1f.7\niova=0 4K\n"
				      "[device 3]\ngroup=sim\niova=0 4K\n",
				      "p", &c, NULL, 0), 0);
	ck_assert_str_eq(c->dev[0].pci, "0000:00:03.0");
	ck_assert_int_eq(c->dev[0].group, 3);
	ck_assert_str_eq(c->dev[1].pci, "ffff:1f:1f.7");
	ck_assert_str_eq(c->dev[2].pci, "");	/* none: no device fd */
	config_free(c);
}
END_TEST

START_TEST(sizes)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t v;
	} cases[] = {
		{ "4096", 0, 4096 },
		{ "0x1000", 0, 4096 },
		{ "4k", 0, 4096 },
		{ "2G", 0, 2ull << 30 },
		{ "1T", 0, 1ull << 40 },
		{ "0xffffffffffffffff", 0, UINT64_MAX },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "12Q", -EINVAL, 0 },
		{ "4KB", -EINVAL, 0 },
		{ "0x", -EINVAL, 0 },
		{ "16777215T", 0, 16777215ull << 40 },	/* the largest that fits */
		{ "16777216T", -ERANGE, 0 },
		{ "18446744073709551616", -EINVAL, 0 },
		/* a leading 0 is decimal, not octal; only 0x changes the base */
		{ "010", 0, 10 },
		{ "08", 0, 8 },
		{ "0X10", 0, 16 },
		/* no sign or space, also not behind the 0x, and one 0x only */
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "0x-1", -EINVAL, 0 },
		{ "0x+1", -EINVAL, 0 },
		{ "0x 1", -EINVAL, 0 },
		{ "0x0x10", -EINVAL, 0 },
		{ "0X0x1", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int rc = config_parse_size(cases[i].in, &v);

		ck_assert_msg(rc == cases[i].rc, "'%s': rc %d, want %d",
			      cases[i].in, rc, cases[i].rc);
		if (!rc)
			ck_assert_msg(v == cases[i].v, "'%s': %llu, want %llu",
				      cases[i].in, (unsigned long long)v,
				      (unsigned long long)cases[i].v);
	}
}
END_TEST

#define BASE_RAM	"[ram r]\ngpa = 0\nsize = 1M\n"
#define DEV1		"[device 1]\ngroup = sim\niova = 0x100000 1M\n"

static const struct bad_case {
	const char *text;
	const char *where;	/* "file:line:" expected at the start */
	const char *what;	/* substring of the message */
} bad[] = {
	{ "backend = sim\n", "t:1:", "outside any section" },
	{ "[broker\n", "t:1:", "malformed section" },
	{ "[broker] x\n", "t:1:", "malformed section" },
	{ "[brokers]\n", "t:1:", "unknown section" },
	{ "[broker name]\n", "t:1:", "takes no name" },
	{ "[broker]\nbackend\n", "t:2:", "key = value" },
	{ "[broker]\n= sim\n", "t:2:", "missing key" },
	{ "[broker]\nbackend = kvm\n", "t:2:", "unknown backend" },
	{ "[broker]\nspeed = 3\n", "t:2:", "unknown key 'speed'" },
	{ "[broker]\nsocket =\n", "t:2:", "empty path" },
	{ "[broker]\nmax_entries = 0\n", "t:2:", "max_entries must be" },
	{ "[broker]\nmax_entries = 1025\n", "t:2:", "max_entries must be" },
	{ "[broker]\nmax_entries = lots\n", "t:2:", "not a 32-bit number" },
	{ "[broker]\nwindow = 0\n", "t:2:", "window must be" },
	{ "[broker]\nwindow = 5000\n", "t:2:", "window must be" },
	{ "[broker]\nwindow = 0x100000000\n", "t:2:", "not a 32-bit number" },
	{ "[ram]\n", "t:1:", "needs a short name" },
	{ "[ram r]\nsize = 1M\n[ram r]\n", "t:3:", "already defined at line 1" },
	{ "[ram r]\nsize = big\n", "t:2:", "not a number" },
	{ DEV1 "max_mapped = 0\n", "t:4:", "max_mapped must be a non-zero multiple" },
	{ DEV1 "max_mapped = 6000\n", "t:4:", "max_mapped must be a non-zero multiple" },
	{ DEV1 "max_mapped = many\n", "t:4:", "not a number" },
	{ "[ram r]\nspeed = 1\n", "t:2:", "unknown key 'speed' in [ram r]" },
	{ "[ram r]\ngpa = 0x800\nsize = 4K\n" DEV1, "t:1:", "page-aligned" },
	{ "[ram r]\nsize = 0\n" DEV1, "t:1:", "page-aligned" },
	{ "[ram r]\nsize = 6000\n" DEV1, "t:1:", "page-aligned" },
	{ "[ram r]\ngpa = 0xfffffffffffff000\nsize = 8K\n" DEV1, "t:1:", "overflows" },
	{ "[ram r]\ngpa = 0xfffffffffffff000\nsize = 4K\n" DEV1, "t:1:", "overflows" },
	{ "[ram a]\nsize = 1M\n[ram b]\ngpa = 512K\nsize = 1M\n" DEV1, "t:3:",
	  "ram 'b' overlaps ram 'a' (line 1)" },
	{ "[ram r0]\nsize=4K\n[ram r1]\ngpa=1M\nsize=4K\n[ram r2]\ngpa=2M\nsize=4K\n"
	  "[ram r3]\ngpa=3M\nsize=4K\n[ram r4]\ngpa=4M\nsize=4K\n[ram r5]\ngpa=5M\nsize=4K\n"
	  "[ram r6]\ngpa=6M\nsize=4K\n[ram r7]\ngpa=7M\nsize=4K\n[ram r8]\n",
	  "t:24:", "more than 8 ram regions" },
	{ DEV1, "t:0:", "no [ram NAME] section" },
	{ BASE_RAM, "t:0:", "no [device ID] section" },
	{ BASE_RAM "[device]\n", "t:4:", "numeric id" },
	{ BASE_RAM "[device x]\n", "t:4:", "numeric id" },
	{ BASE_RAM "[device 0xffffffff]\n", "t:4:", "numeric id" },
	{ BASE_RAM DEV1 "[device 1]\n", "t:7:", "device 1 already defined at line 4" },
	{ BASE_RAM DEV1 "color = red\n", "t:7:", "unknown key 'color' in [device 1]" },
	{ BASE_RAM "[device 1]\ngroup = pci\n", "t:5:", "group must be" },
	{ BASE_RAM "[device 1]\ngroup = -3\n", "t:5:", "group must be" },
	{ BASE_RAM DEV1 "pci = 0:3.0\n", "t:7:", "pci must be a PCI address" },
	{ BASE_RAM DEV1 "pci = 0000:00:0A.0\n", "t:7:", "pci must be a PCI address" },
	{ BASE_RAM DEV1 "pci = 0000:00:20.0\n", "t:7:", "pci must be a PCI address" },
	{ BASE_RAM DEV1 "pci = 0000:00:03.8\n", "t:7:", "pci must be a PCI address" },
	{ BASE_RAM DEV1 "pci = 0000:00:03.0 \n" "pci = 0000:00:03.0x\n", "t:8:", "pci given twice" },
	{ BASE_RAM DEV1 "pci = 0000:00:03.00\n", "t:7:", "pci must be a PCI address" },
	{ BASE_RAM DEV1 "pci = 0000:00:03.0\n", "t:4:", "'pci =' needs 'group =' an IOMMU group number" },
	{ BASE_RAM "[device 1]\niova = 0 4K\n", "t:4:", "missing 'group ='" },
	{ BASE_RAM "[device 1]\ngroup = sim\n", "t:4:", "missing 'iova = START SIZE'" },
	{ BASE_RAM DEV1 "iova = 0x0\n", "t:7:", "iova needs START SIZE" },
	{ BASE_RAM DEV1 "iova = 0 4K 8K\n", "t:7:", "iova needs START SIZE" },
	{ BASE_RAM DEV1 "iova = 0x800 4K\n", "t:7:", "page-aligned" },
	{ BASE_RAM DEV1 "iova = 0 100\n", "t:7:", "page-aligned" },
	{ BASE_RAM DEV1 "iova = 0 0\n", "t:7:", "page-aligned" },
	{ BASE_RAM DEV1 "iova = 0xfffffffffffff000 8K\n", "t:7:", "overflows" },
	{ BASE_RAM DEV1 "iova = 0xfffffffffffff000 4K\n", "t:7:", "overflows" },
	{ BASE_RAM DEV1 "iova=1M 4K\niova=2M 4K\niova=3M 4K\niova=4M 4K\niova=5M 4K\n"
	  "iova=6M 4K\niova=7M 4K\niova=8M 4K\n", "t:14:", "more than 8 iova windows" },
	{ BASE_RAM DEV1 "iova = 0x180000 1M\n", "t:4:",
	  "device 1: iova window 0x180000+0x100000 overlaps device 1's window 0x100000+0x100000" },
	{ BASE_RAM DEV1 "domain = d\n[device 2]\ngroup = sim\ndomain = d\niova = 0x1ff000 4K\n",
	  "t:8:", "overlaps device 1's window" },
	{ BASE_RAM DEV1 "fenced = yes\ndomain = d\n", "t:4:", "exclude each other" },
	{ BASE_RAM DEV1 "fenced = maybe\n", "t:7:", "fenced must be yes or no" },
	{ "[ram r]\nsize = 1M\npopulate = 2\n", "t:3:", "populate must be yes or no" },
	{ "[broker]\npoll_us = 1000001\n", "t:2:", "poll_us must be 0..1000000" },
	{ BASE_RAM DEV1 "domain = \n", "t:7:", "domain must be one word" },
	{ BASE_RAM DEV1 "domain = a b\n", "t:7:", "domain must be one word" },
	{ BASE_RAM DEV1 "domain = a\"b\n", "t:7:", "domain must be one word" },
	{ BASE_RAM DEV1 "[device 2]\ngroup = sim\ndomain = dev1\niova = 0 4K\n",
	  "t:7:", "taken by fenced device 1" },
	{ BASE_RAM DEV1 "uid = 1 x\n", "t:7:", "not a 32-bit number" },
	{ BASE_RAM DEV1 "gid = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", "t:7:",
	  "more than 16 gids" },
	{ BASE_RAM DEV1 "uid = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", "t:7:",
	  "more than 16 uids" },
	/* group numbers above INT32_MAX would read as negative (-1 is sim) */
	{ BASE_RAM "[device 1]\ngroup = 4294967295\n", "t:5:", "group must be" },
	{ BASE_RAM "[device 1]\ngroup = 0x80000000\n", "t:5:", "group must be" },
	{ BASE_RAM DEV1 "spawn =\n", "t:7:", "spawn needs a command" },
	{ BASE_RAM DEV1 "spawn = a\nspawn = b\n", "t:8:", "spawn given twice" },
	{ "[broker]\ncontrol = # none yet\n", "t:2:", "empty path" },
	{ BASE_RAM DEV1 "uid =\n", "t:7:", "uid needs at least one id" },
	{ BASE_RAM DEV1 "gid = , \n", "t:7:", "gid needs at least one id" },
	{ BASE_RAM "[device 1]\ngroup = 3\npci = 0000:00:03.0\niova = 0 4K\n"
	  "[device 2]\ngroup = 3\npci = 0000:00:03.0\niova = 1M 4K\n", "t:8:",
	  "device 2: pci 0000:00:03.0 is device 1's already" },
};

START_TEST(bad_files)
{
	const struct bad_case *bc = &bad[_i];
	struct config *c = NULL;
	char err[320];
	int ret = config_parse(bc->text, "t", &c, err, sizeof(err));

	ck_assert_msg(ret == -EINVAL, "case %d: ret %d", _i, ret);
	ck_assert_ptr_null(c);
	ck_assert_msg(!strncmp(err, bc->where, strlen(bc->where)),
		      "case %d: '%s' does not start with '%s'", _i, err, bc->where);
	ck_assert_msg(strstr(err, bc->what), "case %d: '%s' lacks '%s'", _i,
		      err, bc->what);
}
END_TEST

START_TEST(load_missing_file)
{
	struct config *c = NULL;

	ck_assert_int_eq(config_load("/nonexistent/vfio-broker.conf", &c), -ENOENT);
	ck_assert_ptr_null(c);
}
END_TEST

/* A config file over 1 MiB is refused, not read into memory whole. */
START_TEST(load_too_large)
{
	char path[] = "/tmp/vb-config-XXXXXX";
	struct config *c = NULL;
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < (2 << 20) / 64; i++)
		fprintf(f, "# %061d\n", i);
	fprintf(f, BASE_RAM DEV1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(config_load(path, &c), -EFBIG);
	ck_assert_ptr_null(c);
	unlink(path);
}
END_TEST

/* Write @len bytes: a valid config padded with a comment, @nul at @len / 2. */
static void write_sized(const char *path, size_t len, bool nul)
{
	static const char body[] = BASE_RAM DEV1;
	char *text = malloc(len);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(f);
	memset(text, 'x', len);
	text[0] = '#';
	text[len - sizeof(body)] = '\n';
	memcpy(text + len - sizeof(body) + 1, body, sizeof(body) - 1);
	if (nul)
		text[len / 2] = '\0';
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(text);
}

/* Exactly 1 MiB is read; one byte more is not; a NUL byte is refused. */
START_TEST(load_limits)
{
	char path[] = "/tmp/vb-config-XXXXXX";
	struct config *c = NULL;

	ck_assert_int_ge(mkstemp(path), 0);
	write_sized(path, 1u << 20, false);
	ck_assert_int_eq(config_load(path, &c), 0);
	ck_assert_uint_eq(c->n_dev, 1);
	config_free(c);
	c = NULL;
	write_sized(path, (1u << 20) + 1, false);
	ck_assert_int_eq(config_load(path, &c), -EFBIG);
	write_sized(path, 8192, true);
	ck_assert_int_eq(config_load(path, &c), -EINVAL);
	ck_assert_ptr_null(c);
	unlink(path);
}
END_TEST

/* The shipped examples and the file in docs/config.md must parse as written. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f, "%s: cannot open", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void parse_ok(const char *text, const char *name, unsigned int n_dev)
{
	struct config *c = NULL;
	char err[256] = "";

	ck_assert_msg(config_parse(text, name, &c, err, sizeof(err)) == 0,
		      "%s: %s", name, err);
	ck_assert_uint_eq(c->n_dev, n_dev);
	config_free(c);
}

START_TEST(examples_parse)
{
	char *text = read_text(VB_SOURCE_DIR "/examples/broker.conf");
	char *doc, *start, *end;

	parse_ok(text, "examples/broker.conf", 3);
	free(text);
	text = read_text(VB_SOURCE_DIR "/examples/demo.conf");
	parse_ok(text, "examples/demo.conf", 4);
	free(text);

	doc = read_text(VB_SOURCE_DIR "/docs/config.md");
	start = strstr(doc, "```ini\n");
	ck_assert_ptr_nonnull(start);
	start += strlen("```ini\n");
	end = strstr(start, "\n```");
	ck_assert_ptr_nonnull(end);
	end[1] = '\0';
	parse_ok(start, "docs/config.md", 3);
	free(doc);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, good_file);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, pci_key);
	tcase_add_loop_test(tc, bad_files, 0, (int)(sizeof(bad) / sizeof(*bad)));
	tcase_add_test(tc, load_missing_file);
	tcase_add_test(tc, load_too_large);
	tcase_add_test(tc, load_limits);
	tcase_add_test(tc, examples_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(config_suite());
}
