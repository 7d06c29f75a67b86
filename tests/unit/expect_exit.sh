#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# expect_exit.sh STATUS PATTERN COMMAND...: COMMAND must exit with STATUS
# and print a line matching the extended regex PATTERN (stdout or stderr).
# ctest's PASS_REGULAR_EXPRESSION alone ignores the exit status.
want=$1 pattern=$2
shift 2
out=$("$@" 2>&1)
got=$?
printf '%s\n' "$out"
if [ "$got" -ne "$want" ]; then
	echo "expect_exit: exit status $got, want $want"
	exit 1
fi
if ! printf '%s\n' "$out" | grep -qE -- "$pattern"; then
	echo "expect_exit: no line matches '$pattern'"
	exit 1
fi
