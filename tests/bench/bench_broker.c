/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vb-bench-broker: what the broker costs a client, measured in one run.
 *
 * 1. Round trip of one small message over a bare SOCK_SEQPACKET socketpair
 *    (an echo child) against one request through a real broker on the same
 *    machine: SYNC (transport + dispatch only), MAP of one page and UNMAP of
 *    one page (plus validation, batching, the backend).
 * 2. Pipelined single-page MAP+UNMAP throughput through the broker, with the
 *    request window full, against synchronous calls.
 * 3. The broker's resident memory as the mapping set grows on sim, whose
 *    page store lives in the broker and is reported apart (bytes_self), so
 *    RSS minus the store is what the broker itself costs. (On v3 the broker
 *    keeps nothing per page; type1 and iommufd keep 32 bytes per run.)
 *
 * It prints a table; it asserts nothing (numbers are not tests).
 *
 *   vb-bench-broker --broker PATH [--iterations N] [--backend NAME]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "vfio-broker/client.h"

#define WINDOW_BYTES	(1ull << 32)	/* IOVA window: 1M pages */
#define RAM_BYTES	(1ull << 30)

struct lat {
	uint64_t *ns;
	size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void lat_print(const char *what, struct lat *l)
{
	qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
	printf("| %-34s | %9.2f | %9.2f | %9.2f |\n", what,
	       l->ns[l->n / 2] / 1000.0, l->ns[l->n * 99 / 100] / 1000.0,
	       l->ns[l->n - 1] / 1000.0);
}

/* Bare socketpair: a child echoes a reply-sized answer to every message. */
static void bench_socketpair(struct lat *l)
{
	uint8_t req[sizeof(struct vb_hdr)], rep[sizeof(struct vb_hdr) +
					       sizeof(struct vb_reply)];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		memset(rep, 0, sizeof(rep));
		while (recv(sv[1], req, sizeof(req), 0) > 0)
			if (send(sv[1], rep, sizeof(rep), 0) < 0)
				break;
		_exit(0);
	}
	close(sv[1]);
	memset(req, 0, sizeof(req));
	for (size_t i = 0; i < l->n; i++) {
		uint64_t t = vb_now_ns();

		if (send(sv[0], req, sizeof(req), 0) < 0 ||
		    recv(sv[0], rep, sizeof(rep), 0) <= 0) {
			perror("socketpair echo");
			exit(1);
		}
		l->ns[i] = vb_now_ns() - t;
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
}

static void must(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "vb-bench-broker: %s: %s\n", what, strerror(-rc));
		exit(1);
	}
}

static void bench_sync(struct vb_client *c, struct lat *l)
{
	for (size_t i = 0; i < l->n; i++) {
		uint64_t t = vb_now_ns();

		must(vb_client_sync(c), "sync");
		l->ns[i] = vb_now_ns() - t;
	}
}

static void bench_map_unmap(struct vb_client *c, struct lat *lm,
			    struct lat *lu)
{
	const struct vb_client_info *in = vb_client_get_info(c);

	for (size_t i = 0; i < lm->n; i++) {
		struct vb_map_entry m = {
			.iova = in->iova[0].start + (i % 4096) * VB_PAGE_SIZE,
			.gpa = in->ram[0].gpa + (i % 4096) * VB_PAGE_SIZE,
			.npages = 1, .prot = VB_PROT_READ | VB_PROT_WRITE,
		};
		struct vb_unmap_entry u = { m.iova, 1 };
		uint64_t t = vb_now_ns();

		must(vb_client_map(c, &m, 1, NULL), "map");
		lm->ns[i] = vb_now_ns() - t;
		t = vb_now_ns();
		must(vb_client_unmap(c, &u, 1, NULL), "unmap");
		lu->ns[i] = vb_now_ns() - t;
	}
}

static void count_done(void *arg, uint64_t id, const struct vb_reply *r)
{
	(void)id;
	if (r->status) {
		fprintf(stderr, "vb-bench-broker: pipelined request failed: %s\n",
			strerror(r->status));
		exit(1);
	}
	++*(uint64_t *)arg;
}

/* Pages per second of single-page map then unmap, window-deep pipelined. */
static double bench_pipelined(struct vb_client *c, size_t n)
{
	const struct vb_client_info *in = vb_client_get_info(c);
	uint64_t done = 0, t = vb_now_ns();

	for (size_t i = 0; i < n; i++) {
		struct vb_map_entry m = {
			.iova = in->iova[0].start + (i % 65536) * VB_PAGE_SIZE,
			.gpa = in->ram[0].gpa + (i % 65536) * VB_PAGE_SIZE,
			.npages = 1, .prot = VB_PROT_READ | VB_PROT_WRITE,
		};
		struct vb_unmap_entry u = { m.iova, 1 };
		int rc;

		while ((rc = vb_client_submit_map(c, &m, 1, count_done, &done,
						  NULL)) == -EAGAIN)
			must(vb_client_poll(c, -1), "poll");
		must(rc, "submit map");
		while ((rc = vb_client_submit_unmap(c, &u, 1, count_done,
						    &done, NULL)) == -EAGAIN)
			must(vb_client_poll(c, -1), "poll");
		must(rc, "submit unmap");
	}
	must(vb_client_wait(c), "wait");
	return 2.0 * (double)n / ((double)(vb_now_ns() - t) / 1e9);
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Maps @pages more pages at the next free IOVAs, max_entries at a time,
 * one page per entry at scattered GPAs (the worst case for a store). */
static void map_more(struct vb_client *c, uint64_t *next, uint64_t pages)
{
	const struct vb_client_info *in = vb_client_get_info(c);
	struct vb_map_entry *e = calloc(in->max_entries, sizeof(*e));
	uint64_t ram_pages = in->ram[0].size / VB_PAGE_SIZE;

	while (pages) {
		uint32_t n = pages < in->max_entries ? (uint32_t)pages :
						       in->max_entries;

		for (uint32_t i = 0; i < n; i++, (*next)++) {
			e[i].iova = in->iova[0].start + *next * 2 * VB_PAGE_SIZE;
			e[i].gpa = in->ram[0].gpa +
				   (*next * 7919 % ram_pages) * VB_PAGE_SIZE;
			e[i].npages = 1;
			e[i].prot = VB_PROT_READ;
		}
		must(vb_client_map(c, e, n, NULL), "map batch");
		pages -= n;
	}
	free(e);
}

static pid_t start_broker(const char *broker, const char *dir,
			  const char *backend)
{
	char conf[256], sock[256];
	FILE *f;
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/bench.conf", dir);
	snprintf(sock, sizeof(sock), "%s/broker.sock", dir);
	f = fopen(conf, "w");
	if (!f) {
		perror(conf);
		exit(1);
	}
	fprintf(f, "[broker]\nbackend = %s\nsocket = %s\nmax_entries = 256\n"
		   "window = 32\n[ram main]\ngpa = 0x0\nsize = %llu\n"
		   "[device 1]\ngroup = sim\nfenced = yes\n"
		   "iova = 0x100000000 %llu\nuid = %u\n",
		backend, sock, RAM_BYTES, WINDOW_BYTES, (unsigned)getuid());
	fclose(f);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(broker, broker, "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct stat st;

		if (stat(sock, &st) == 0)
			return pid;
		usleep(50000);
	}
	fprintf(stderr, "vb-bench-broker: broker did not start\n");
	exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "backend", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *broker = NULL, *backend = "sim";
	size_t n = 20000;
	char dir[] = "/tmp/vb-bench.XXXXXX", sock[64];
	struct lat bare, sync_l, map_l, unmap_l;
	struct vb_client *c;
	uint64_t next = 0, total = 0, sync_ns = 0;
	pid_t pid;
	int opt;

	while ((opt = getopt_long(argc, argv, "b:n:B:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'b': broker = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 'B': backend = optarg; break;
		default:
			printf("usage: vb-bench-broker --broker PATH [--iterations N] [--backend NAME]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!broker || n < 100 || !mkdtemp(dir)) {
		fprintf(stderr, "vb-bench-broker: need --broker PATH and --iterations >= 100\n");
		return 2;
	}
	bare.n = sync_l.n = map_l.n = unmap_l.n = n;
	bare.ns = calloc(n, 8);
	sync_l.ns = calloc(n, 8);
	map_l.ns = calloc(n, 8);
	unmap_l.ns = calloc(n, 8);

	pid = start_broker(broker, dir, backend);
	snprintf(sock, sizeof(sock), "%s/broker.sock", dir);
	must(vb_client_connect(sock, 1, &c), "connect");

	bench_socketpair(&bare);
	bench_sync(c, &sync_l);
	bench_map_unmap(c, &map_l, &unmap_l);
	for (size_t i = 0; i < n; i++)
		sync_ns += map_l.ns[i] + unmap_l.ns[i];
	printf("Round trip of one request, %zu each, backend %s (microseconds)\n\n",
	       n, backend);
	printf("| %-34s | %9s | %9s | %9s |\n", "path", "p50", "p99", "max");
	printf("|%s|%s|%s|%s|\n", "------------------------------------",
	       "-----------", "-----------", "-----------");
	lat_print("bare socketpair echo", &bare);
	lat_print("broker SYNC", &sync_l);
	lat_print("broker MAP 1 page", &map_l);
	lat_print("broker UNMAP 1 page", &unmap_l);

	printf("\nSingle-page MAP+UNMAP throughput, %zu pairs\n\n", n);
	printf("| %-34s | %12s |\n", "mode", "pages/s");
	printf("|------------------------------------|--------------|\n");
	printf("| %-34s | %12.0f |\n", "synchronous",
	       2.0 * (double)n * 1e9 / (double)sync_ns);
	printf("| %-34s | %12.0f |\n", "pipelined (window full)",
	       bench_pipelined(c, n));

	printf("\nBroker resident memory as the mapping set grows (backend %s)\n\n",
	       backend);
	printf("| %14s | %12s |\n", "pages mapped", "VmRSS KiB");
	printf("|----------------|--------------|\n");
	printf("| %14llu | %12ld |\n", 0ull, rss_kib(pid));
	for (uint64_t step = 16384; total < 262144; step *= 2) {
		map_more(c, &next, step);
		total += step;
		printf("| %14llu | %12ld |\n", (unsigned long long)total,
		       rss_kib(pid));
	}
	vb_client_close(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(sock);
	snprintf(sock, sizeof(sock), "%s/bench.conf", dir);
	unlink(sock);
	rmdir(dir);
	return 0;
}
