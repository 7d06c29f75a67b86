#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# expect_exit.sh STATUS PATTERN... -- COMMAND...: COMMAND must exit with
# STATUS and print, on stdout or stderr, a line matching each extended regex
# PATTERN. (ctest's PASS_REGULAR_EXPRESSION would ignore the exit status.)
want=$1
shift
n=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	n=$((n + 1))
	eval "pat_$n=\$1"
	shift
done
if [ $# -lt 2 ] || [ "$n" -eq 0 ]; then
	echo "usage: expect_exit.sh STATUS PATTERN... -- COMMAND..." >&2
	exit 2
fi
shift
out=$("$@" 2>&1)
got=$?
printf '%s\n' "$out"
fail=0
if [ "$got" -ne "$want" ]; then
	echo "expect_exit: exit status $got, want $want"
	fail=1
fi
i=1
while [ "$i" -le "$n" ]; do
	eval "pat=\$pat_$i"
	if ! printf '%s\n' "$out" | grep -qE -- "$pat"; then
		echo "expect_exit: pattern $i of $n matches no line"
		fail=1
	fi
	i=$((i + 1))
done
exit $fail
