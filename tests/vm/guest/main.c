// SPDX-License-Identifier: BSD-3-Clause
/*
 * vmtest NAME... runs guest tests; vmtest --list prints the default suite.
 * Output per test: "VMTEST SUB name/mode PASS|FAIL" per mode, then one
 * "VMTEST RESULT name PASS|FAIL". The exit status is 0 only if all passed.
 */
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "tests.h"

static const struct vt_test tests[] = {
	{ "type1_dma", t_dma, M_T1, 1,
	  "infrastructure: type1 map reaches edu DMA both ways; unmapped IOVA faults" },
	{ "type1_pins", t_pins, M_T1, 1,
	  "infrastructure: pin counters return to start with the stock backend" },
	{ "v3_extension", t_conf_extension, M_V3, 1,
	  "CHECK_EXTENSION and SET_IOMMU for both v3 types" },
	{ "v3_info", t_conf_info, M_V3, 1,
	  "GET_INFO: argsz rules, IOVA ranges, v3 capability (mode, mapped_pages)" },
	{ "v3_map_basic", t_conf_map_basic, M_V3, 1,
	  "batched map/unmap of single and multi-page entries, pages_done, failed_index" },
	{ "v3_map_invalid", t_conf_map_invalid, M_V3, 1,
	  "every invalid map argument is refused with nothing mapped or pinned" },
	{ "v3_eexist", t_conf_eexist, M_V3, 1,
	  "EEXIST on mapped pages (also within one batch), whole batch rolled back" },
	{ "v3_rollback", t_conf_rollback, M_V3, 1,
	  "a failure at every entry position rolls back the whole batch" },
	{ "v3_unmap", t_conf_unmap, M_V3, 1,
	  "unmap of holes and sub-ranges, validation before unmapping" },
	{ "v3_type1_compat", t_conf_type1_compat, M_V3, 1,
	  "type1 MAP_DMA/UNMAP_DMA incl. sub-ranges and FLAG_ALL on a v3 container" },
	{ "v3_mm", t_conf_mm, M_V3, 1,
	  "one mm per container: another process may not map into it" },
	{ "v3_memlock", t_conf_memlock, M_V3, 1,
	  "RLIMIT_MEMLOCK enforced without CAP_IPC_LOCK, failure leaves nothing pinned" },
	{ "v3_many", t_conf_many, M_V3, 1,
	  "70,000 separate mappings (type1 stops at 65,535): mapped, pinned and charged, and all unmapped" },
	{ "v3_dma", t_dma, M_V3, 1,
	  "v3 batch map reaches edu DMA both ways; after unmap the IOVA faults" },
	{ "v3_dma_cut", t_dma_cut, M_V3, 1,
	  "DMA after cuts: a mapping's middle unmapped faults, its ends still reach; a page between two unmapped ones still reaches" },
	{ "longterm_pin", t_longterm, M_T1 | M_V3, 1,
	  "pins are FOLL_LONGTERM: mapped pages of ZONE_MOVABLE move out first, keep their bytes, and DMA reaches the moved page" },
	{ "v3_dma_replay", t_dma_replay, M_V3, 1,
	  "a second group attached late gets the existing mappings (and their unmaps)" },
	{ "v3_detach", t_dma_detach, M_V3, 1,
	  "a group leaving takes no pins, re-joining replays, last group out releases all" },
	{ "v3_vaddr", t_conf_vaddr, M_V3, 1,
	  "vaddr invalidate/update (tracked) keeps pins; direct refuses it" },
	{ "v3_pins", t_pins, M_V3, 1,
	  "pins and locked_vm return to start after unmap, rollback and close" },
	{ "pins_kill", t_pins_kill, M_T1 | M_V3, 1,
	  "pins return to start after the mapping process is SIGKILLed mid-batch" },
	{ "v3_emulated", t_emu, M_V3, 1,
	  "an emulated device's pin_pages/dma_rw reach the mapped pages; unmap calls it back; no reference leaks" },
	{ "iotlb_sync", t_flush, M_T1 | M_V3, 1,
	  "VT-d syncs counted by kprobes: one per v3 batch map and per batch unmap, one per type1 call" },
	{ "v3_stress", t_stress, M_V3, 1,
	  "4 threads map/unmap on one container; result matches a model" },
	{ "v3_probe_virtio", t_probe, M_T1 | M_V3, 0,
	  "on virtio-iommu (VB_VM_IOMMU=virtio): v3 refuses an IOMMU that cannot unmap one page of a larger mapping, type1 works on the same group" },
	{ "bench", t_bench, 0, 0,
	  "benchmark (see tests/vm/bench.sh); not a pass/fail test" },
	{ "profile", t_profile, 0, 0,
	  "kernel profile of the benchmark (see tests/vm/profile.sh); not a pass/fail test" },
};

#define NTESTS (sizeof(tests) / sizeof(tests[0]))

/*
 * Each mode runs in its own process: a failing check returns early and may
 * leave a container or group open, which must not leak into the next mode
 * (a VFIO group can be opened only once), and a crash fails one mode.
 */
static int run_mode(const struct vt_test *t, enum vt_mode mode)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("VMTEST FAIL %s fork: %s\n", vt_test_name, strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(t->fn(mode) ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		printf("VMTEST FAIL %s killed by signal %d\n", vt_test_name, WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int run_test(const struct vt_test *t)
{
	int mode, failed = 0;

	if (!t->modes) {
		vt_test_name = t->name;
		failed = t->fn(VT_TYPE1) != 0;
	}
	for (mode = VT_TYPE1; mode <= VT_DIRECT; mode++) {
		char name[128];
		int rc;

		if (!(t->modes & (1u << mode)))
			continue;
		snprintf(name, sizeof(name), "%s/%s", t->name, harness_mode_name(mode));
		vt_test_name = name;
		printf("VMTEST SUBSTART %s\n", name);
		rc = run_mode(t, mode);
		printf("VMTEST SUB %s %s\n", name, rc ? "FAIL" : "PASS");
		failed |= rc != 0;
	}
	printf("VMTEST RESULT %s %s\n", t->name, failed ? "FAIL" : "PASS");
	return failed;
}

int main(int argc, char **argv)
{
	int i, failed = 0;
	size_t j;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 2 && (!strcmp(argv[1], "--list") || !strcmp(argv[1], "--describe"))) {
		for (j = 0; j < NTESTS; j++)
			if (tests[j].in_suite)
				printf(argv[1][2] == 'l' ? "%s\n" : "%-18s %s\n",
				       tests[j].name, tests[j].what);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: vmtest --list | --describe | NAME...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		for (j = 0; j < NTESTS; j++)
			if (!strcmp(argv[i], tests[j].name))
				break;
		if (j == NTESTS) {
			printf("VMTEST RESULT %s FAIL unknown test\n", argv[i]);
			failed = 1;
			continue;
		}
		failed |= run_test(&tests[j]);
	}
	return failed;
}
