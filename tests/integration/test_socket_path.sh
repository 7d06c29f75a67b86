#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# The broker binds its sockets only where nothing else is: a file that is
# not a socket is never removed, a socket another broker listens on is not
# taken over (the first keeps serving), and only a stale socket, left by a
# broker that is gone, is replaced. Between its check and its listen a
# broker holds PATH.lock, so two starting at once cannot both replace.
. "$(dirname "$0")/lib.sh"

conf() { # SOCKET CONTROL
	one_device_conf "socket = $1
control = $2" "uid = 0"
}

# 1: a regular file where the socket should go
echo "precious" >"$T/victim.txt"
conf "$T/victim.txt" "$T/c1.sock" >"$T/c1.conf"
timeout 20 "$VB_BROKER" -c "$T/c1.conf" >/dev/null 2>"$T/b1.log"
rc=$?
check "a regular file at the socket path: start-up fails (status $rc)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
check "... saying why" grep -q 'exists and is not a socket' "$T/b1.log"
check "... and the file is untouched" \
	test "$(cat "$T/victim.txt" 2>/dev/null)" = precious
# the same for the control socket
conf "$T/s2.sock" "$T/victim.txt" >"$T/c2.conf"
timeout 20 "$VB_BROKER" -c "$T/c2.conf" >/dev/null 2>"$T/b2.log"
rc=$?
check "a regular file at the control path: refused (status $rc), file untouched" \
	bash -c "[ $rc -ne 0 -a $rc -ne 124 ] && grep -q 'exists and is not a socket' '$T/b2.log' &&
		[ \"\$(cat '$T/victim.txt')\" = precious ]"

# 2: a broker already listens there
conf "$T/broker.sock" "$T/control.sock" >"$T/a.conf"
start_broker "$T/a.conf"
conf "$T/broker.sock" "$T/other.sock" >"$T/b.conf"
timeout 20 "$VB_BROKER" -c "$T/b.conf" >/dev/null 2>"$T/b3.log"
rc=$?
check "a second broker on a live socket: start-up fails (status $rc)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
check "... saying another process listens there" \
	grep -q 'another process listens there' "$T/b3.log"
conf "$T/third.sock" "$T/control.sock" >"$T/c.conf"
timeout 20 "$VB_BROKER" -c "$T/c.conf" >/dev/null 2>"$T/b4.log"
rc=$?
check "a second broker on a live control socket: refused (status $rc)" \
	bash -c "[ $rc -ne 0 -a $rc -ne 124 ] &&
		grep -q 'another process listens there' '$T/b4.log'"
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 20 >"$T/d1.out" 2>&1
check "the first broker still serves its socket" grep -q 'result OK' "$T/d1.out"
check "... and its control socket" "$VB_BROKERCTL" -s "$T/control.sock" stats

# 3: the first broker is gone, its sockets stay behind: replaced
kill -9 "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
check "a killed broker leaves its socket file" test -S "$T/broker.sock"
start_broker "$T/a.conf"
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 20 >"$T/d2.out" 2>&1
check "a new broker replaces the stale sockets and serves" \
	grep -q 'result OK' "$T/d2.out"

# 4: another broker is between its check and its listen (it holds the
# path's lock): this one must not check and replace meanwhile
conf "$T/race.sock" "$T/race.ctl" >"$T/r.conf"
# (its output elsewhere: the sleep outlives the kill of flock below, and
# ctest would wait for it to close our stdout)
flock -n "$T/race.sock.lock" sleep 30 >/dev/null 2>&1 &
holder=$!
BG_PIDS+=("$holder")
for _ in $(seq 100); do	# until the holder has the lock
	flock -n "$T/race.sock.lock" true || break
	sleep 0.05
done
timeout 20 "$VB_BROKER" -c "$T/r.conf" >/dev/null 2>"$T/b5.log"
rc=$?
check "a path locked by another broker's bind: start-up fails (status $rc)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
check "... saying so" grep -q 'another process is binding a socket there now' \
	"$T/b5.log"
kill "$holder"

# 5: in a world-writable directory another user got there first and
# made the path's lock file: refused at once, naming the reason (not
# reported as a broker binding there). With fs.protected_regular the
# kernel already refuses root's open of it (EACCES); without, the broker
# sees the owner.
mkdir -m 1777 "$T/shared"
conf "$T/shared/s.sock" "$T/shared/s.ctl" >"$T/s.conf"
setpriv --reuid=4321 --regid=4321 --clear-groups \
	sh -c ': >"$1"' sh "$T/shared/s.sock.lock"
check "another user's lock file is there" \
	test "$(stat -c %u "$T/shared/s.sock.lock" 2>/dev/null)" = 4321
timeout 20 "$VB_BROKER" -c "$T/s.conf" >/dev/null 2>"$T/b6.log"
rc=$?
check "a lock file of another user: start-up fails (status $rc)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
check "... saying whose it is and what to do" \
	grep -qE 'belongs to uid 4321, not to this broker|Permission denied: keep the broker' \
	"$T/b6.log"
finish
