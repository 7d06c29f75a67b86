/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c and control.c's answers: histogram buckets and quantiles at
 * their power-of-two edges, merging, the control commands' output and the
 * exit summary.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "broker/control.h"
#include "broker/domain.h"
#include "broker/peer.h"
#include "broker/stats.h"
#include "check_main.h"

START_TEST(hist_buckets)
{
	struct stats_hist h = { 0 };

	stats_hist_add(&h, 0);
	stats_hist_add(&h, 1);
	stats_hist_add(&h, 2);
	stats_hist_add(&h, 3);
	stats_hist_add(&h, 4);
	stats_hist_add(&h, 1023);
	stats_hist_add(&h, 1024);
	stats_hist_add(&h, UINT64_MAX);
	ck_assert_uint_eq(h.bucket[0], 1);
	ck_assert_uint_eq(h.bucket[1], 1);	/* [1,2) */
	ck_assert_uint_eq(h.bucket[2], 2);	/* [2,4) */
	ck_assert_uint_eq(h.bucket[3], 1);	/* [4,8) */
	ck_assert_uint_eq(h.bucket[10], 1);	/* [512,1024) */
	ck_assert_uint_eq(h.bucket[11], 1);	/* [1024,2048) */
	ck_assert_uint_eq(h.bucket[STATS_HIST_BUCKETS - 1], 1); /* clamped */
	ck_assert_uint_eq(h.count, 8);
	ck_assert_uint_eq(h.max, UINT64_MAX);
}
END_TEST

START_TEST(hist_quantiles)
{
	struct stats_hist h = { 0 };

	ck_assert_uint_eq(stats_hist_quantile(&h, 500), 0);
	/* 98 samples of 10, one of 100, one of 5000 */
	for (int i = 0; i < 98; i++)
		stats_hist_add(&h, 10);
	stats_hist_add(&h, 100);
	stats_hist_add(&h, 5000);
	ck_assert_uint_eq(stats_hist_quantile(&h, 500), 15);	/* bucket [8,16) */
	ck_assert_uint_eq(stats_hist_quantile(&h, 980), 15);
	ck_assert_uint_eq(stats_hist_quantile(&h, 990), 127);
	ck_assert_uint_eq(stats_hist_quantile(&h, 1000), 5000); /* capped at max */
	/* a single sample: every quantile is that sample's bucket (or max) */
	memset(&h, 0, sizeof(h));
	stats_hist_add(&h, 3);
	ck_assert_uint_eq(stats_hist_quantile(&h, 10), 3);
	ck_assert_uint_eq(stats_hist_quantile(&h, 990), 3);
}
END_TEST

START_TEST(counters_add)
{
	struct stats_counters a = { 0 }, b = { 0 };

	a.requests = 3;
	a.pages_mapped = 10;
	stats_hist_add(&a.latency_us, 7);
	b.requests = 4;
	b.errors = 1;
	stats_hist_add(&b.latency_us, 70);
	stats_add(&a, &b);
	ck_assert_uint_eq(a.requests, 7);
	ck_assert_uint_eq(a.errors, 1);
	ck_assert_uint_eq(a.pages_mapped, 10);
	ck_assert_uint_eq(a.latency_us.count, 2);
	ck_assert_uint_eq(a.latency_us.max, 70);
	ck_assert_uint_eq(a.latency_us.bucket[3] + a.latency_us.bucket[7], 2);
}
END_TEST

START_TEST(control_commands)
{
	static const char conf[] =
		"[ram r]\nsize = 1M\n"
		"[device 1]\ngroup = sim\ndomain = net\niova = 0x100000 1M\n"
		"[device 2]\ngroup = sim\niova = 0x100000 1M\n";
	struct broker b = { 0 };
	char err[256], *out;

	TAILQ_INIT(&b.peers);
	ck_assert_int_eq(config_parse(conf, "t", &b.cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_sim_create(&b.be), 0);
	ck_assert_int_eq(domain_setup(&b), 0);
	b.domains[1].stats.pages_mapped = 42;
	b.mapped_now = 42;

	out = control_answer(&b, "stats json");
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(out[0] == '{' && !strcmp(out + strlen(out) - 2, "}\n"), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\"backend\":\"sim\""));
	ck_assert_ptr_nonnull(strstr(out, "\"name\":\"net\""));
	ck_assert_ptr_nonnull(strstr(out, "\"name\":\"dev2\""));
	ck_assert_ptr_nonnull(strstr(out, "\"total\":{\"requests\":0"));
	ck_assert_ptr_nonnull(strstr(out, "\"pages_mapped\":42"));
	free(out);

	out = control_answer(&b, "stats");
	ck_assert_ptr_nonnull(strstr(out, "domain 2 (dev2)"));
	ck_assert_ptr_nonnull(strstr(out, "42 page(s) mapped now"));
	free(out);

	out = control_answer(&b, "clients");
	ck_assert_str_eq(out, "no clients\n");
	free(out);
	out = control_answer(&b, "clients json");
	ck_assert_str_eq(out, "{\"clients\":[]}\n");
	free(out);
	out = control_answer(&b, "rm -rf /");
	ck_assert_int_eq(strncmp(out, "error: unknown command", 22), 0);
	free(out);

	domain_teardown(&b);
	b.be->ops->destroy(b.be);
	config_free(b.cfg);
}
END_TEST

/*
 * The exit summary gives the backend's own bytes, and says an estimate
 * the backend does not make is not one, rather than printing its 0.
 * "client(s)" counts connections holding a device.
 */
START_TEST(summary_and_clients)
{
	static const char conf[] =
		"[ram r]\nsize = 1M\n"
		"[device 1]\ngroup = sim\niova = 0x100000 1M\n";
	struct peer ready = { .state = PEER_READY }, fresh = { .state = PEER_NEW };
	struct broker b = { 0 };
	char err[256], *out;
	size_t len;
	FILE *f;

	TAILQ_INIT(&b.peers);
	ck_assert_int_eq(config_parse(conf, "t", &b.cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(backend_sim_create(&b.be), 0);
	ck_assert_int_eq(domain_setup(&b), 0);
	TAILQ_INSERT_TAIL(&b.peers, &ready, link);
	TAILQ_INSERT_TAIL(&b.peers, &fresh, link);
	b.n_peers = 2;
	out = control_answer(&b, "stats");
	ck_assert_msg(strstr(out, ", 1 client(s), "), "%s", out);
	free(out);
	out = control_answer(&b, "stats json");
	ck_assert_msg(strstr(out, "\"clients\":1,"), "%s", out);
	free(out);
	TAILQ_INIT(&b.peers);

	/* as v3 direct reports: its own metadata, which is the v3 figure */
	b.peak_pages = 1000;
	b.peak_usage.mapped_pages = 1000;
	b.peak_usage.bytes_self = 256;
	b.peak_usage.bytes_v3 = 256;
	f = open_memstream(&out, &len);
	ck_assert_ptr_nonnull(f);
	stats_summary(&b, f);
	fclose(f);
	ck_assert_msg(strstr(out, "  own               256 bytes (0.2 KiB, 0.3 bytes per page)\n"), "%s", out);
	ck_assert_msg(strstr(out, "  type1    not estimated by this backend\n"), "%s", out);
	ck_assert_msg(strstr(out, "  iommufd  not estimated by this backend\n"), "%s", out);
	ck_assert_msg(strstr(out, "  v3                256 bytes"), "%s", out);
	free(out);

	domain_teardown(&b);
	b.be->ops->destroy(b.be);
	config_free(b.cfg);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_add_test(tc, hist_buckets);
	tcase_add_test(tc, hist_quantiles);
	tcase_add_test(tc, counters_add);
	tcase_add_test(tc, control_commands);
	tcase_add_test(tc, summary_and_clients);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return vb_check_run(stats_suite());
}
