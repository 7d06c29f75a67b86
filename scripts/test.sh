#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The project's test command (README, .ci/run). As root on Debian 12 it
# installs what it needs, then runs every tier:
#   unit + integration                 in a normal build (gcc) and in an
#                                      ASan+UBSan build (clang)
#   fuzz                               a libFuzzer smoke run (clang build)
#   vm                                 the kernel module and real VFIO in a
#                                      Debian 6.12 guest under QEMU, and the
#                                      suite and the end-to-end scenario
#                                      again on a debug build of that
#                                      kernel (KASAN, lockdep, kmemleak)
# It prints one summary line and exits non-zero if anything failed.
#
#   VB_TIERS="unit integration"  run only these tiers (default: all)
#   VB_JOBS=N                    build parallelism (default: nproc)
#   VB_DEADLINE_MIN=M            stop every test M minutes after the start
#                                (default 85: CI allows 90), so a test that
#                                hangs fails and the summary still prints
set -u
deadline=$(($(date +%s) + ${VB_DEADLINE_MIN:-85} * 60))
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# set but empty is a mistake, not "all"
tiers=${VB_TIERS-"unit integration fuzz vm"}
jobs=${VB_JOBS:-$(nproc)}
failed=()
passed=()

want() { case " $tiers " in *" $1 "*) return 0 ;; esac; return 1; }
for t in $tiers; do
	case $t in
	unit | integration | fuzz | vm) ;;
	*) echo "test.sh: unknown tier '$t' in VB_TIERS (unit integration fuzz vm)" >&2
	   echo "TEST SUMMARY: FAILED (VB_TIERS)"
	   exit 2 ;;
	esac
done
if [ -z "${tiers//[[:space:]]/}" ]; then
	echo "test.sh: VB_TIERS names no tier (unit integration fuzz vm)" >&2
	echo "TEST SUMMARY: FAILED (VB_TIERS)"
	exit 2
fi
step() { echo; echo "==== $* ===="; }

run_ctest() { # build-dir label
	local dir=$1 label=$2
	step "ctest -L $label in $dir"
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "test.sh: past the deadline (VB_DEADLINE_MIN), $label not run"
		failed+=("$label@$(basename "$dir"):deadline")
		return
	fi
	# a time of day; ctest takes one already past as tomorrow's
	if (cd "$dir" && ctest -L "^$label\$" --output-on-failure --no-tests=error \
		--stop-time "$(date -d "@$deadline" +%H:%M:%S)"); then
		passed+=("$label@$(basename "$dir")")
	else
		failed+=("$label@$(basename "$dir")")
	fi
}

build() { # dir cmake-args...
	local dir=$1
	shift
	step "build $dir"
	cmake -S "$top" -B "$top/$dir" "$@" >/dev/null &&
		cmake --build "$top/$dir" -j "$jobs"
}

./scripts/deps.sh || { echo "TEST SUMMARY: FAILED (dependencies)"; exit 1; }
if want vm; then
	tests/vm/setup.sh || { echo "TEST SUMMARY: FAILED (vm setup)"; exit 1; }
fi

if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
	for t in unit integration vm; do
		want "$t" && run_ctest build "$t"
	done
else
	failed+=("build")
fi

# clang, because libFuzzer comes with it: the fuzz targets live in this build.
if want unit || want integration || want fuzz; then
	if build build-asan -DCMAKE_BUILD_TYPE=Debug -DVB_SANITIZE=ON \
		-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++; then
		for t in unit integration fuzz; do
			want "$t" && run_ctest build-asan "$t"
		done
	else
		failed+=("build-asan")
	fi
fi

# A PASSED summary needs a result from every tier asked for; a tier that
# ran in no build is a failure, not a pass (a build that failed is one
# already).
for t in $tiers; do
	case " ${passed[*]} ${failed[*]} " in
	*" $t@"*) ;;
	*) failed+=("$t:did-not-run") ;;
	esac
done
echo
if [ ${#failed[@]} -eq 0 ]; then
	echo "TEST SUMMARY: PASSED (${passed[*]})"
	exit 0
fi
echo "TEST SUMMARY: FAILED (${failed[*]}; passed: ${passed[*]:-none})"
exit 1
