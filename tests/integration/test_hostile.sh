#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Hostile clients are refused or cut off, one at a time, while a
# well-behaved devproc beside them runs its whole workload without a single
# error and the broker keeps serving.
. "$(dirname "$0")/lib.sh"

cat >"$T/broker.conf" <<CONF
[broker]
backend = sim
socket = $T/broker.sock
control = $T/control.sock
max_entries = 64
window = 8
[ram main]
gpa = 0x0
size = 64M
[device 1]
group = sim
domain = shared
iova = 0x100000 64M
uid = 0
[device 2]
group = sim
domain = shared
iova = 0x10000000 64M
uid = 0
[device 3]
group = sim
fenced = yes
iova = 0x100000 64M
uid = 4321
[device 4]
group = sim
domain = shared
iova = 0x20000000 64M
uid = 0
CONF
start_broker "$T/broker.conf"

# The well-behaved neighbour shares device 2's domain. It holds its
# connection (and its claim on device 1) after its workload until killed.
"$VB_DEVPROC" --connect "$T/broker.sock" --device 1 --workload virtio-iommu \
	--iterations 3000 --pipeline 4 --hold >"$T/good.out" 2>&1 &
good=$!
BG_PIDS+=("$good")

attack() { # expected attack
	if "$VB_HOSTILE" --connect "$T/broker.sock" --device 2 --expect "$1" "$2" \
		>>"$T/hostile.out" 2>&1; then
		pass "$2 -> $1"
	else
		fail "$2 -> expected $1: $(tail -n1 "$T/hostile.out")"
	fi
}

# attack_cut ATTACK REASON: ATTACK is cut off, and the broker's log says
# why in a line of its own, written after the attack began.
attack_cut() {
	local n0 i
	n0=$(wc -l <"$T/broker.log")
	attack disconnect "$1"
	for i in $(seq 50); do
		if tail -n +"$((n0 + 1))" "$T/broker.log" |
			grep -qE "dropping client: $2"; then
			pass "$1: the broker logged why it cut the client off"
			return
		fi
		sleep 0.1
	done
	fail "$1: no 'dropping client: $2' line in the broker's log"
}

# Entry contents: an error reply, the connection stays usable.
attack ERANGE out-of-window
attack ERANGE straddle-window
attack EFAULT gpa-outside
attack EINVAL unaligned
attack EINVAL overflow
attack EINVAL bad-prot
attack E2BIG too-many
# Malformed messages: the client is cut off.
attack_cut short 'malformed message \(3 bytes, type 0,'
attack_cut bad-len 'malformed message \(16 bytes, type 4,'
attack_cut bad-version 'malformed message \(16 bytes, type 4,'
attack_cut unknown-type 'malformed message \(16 bytes, type 99,'
attack_cut reply-type 'malformed message \(32 bytes, type 129,'
attack_cut bad-count 'malformed message \([0-9]+ bytes, type 2,'
attack_cut second-hello 'malformed message \([0-9]+ bytes, type 1,'
attack_cut oversize 'datagram larger than'
attack_cut empty 'empty datagram$'
attack_cut empty-fds 'empty datagram carrying 1 fd'

# A flood is throttled (the socket stops taking requests), then answered.
attack ok flood
# Connections that never say HELLO: a user gets a few, the next is closed.
attack disconnect silent-connections
# Control clients that hang up before their answer leave no fd behind.
# The baseline is taken once the broker has closed what the attack before
# left (it does on EOF, asynchronously): two equal readings 0.2 s apart.
nfds() { ls "/proc/$BROKER_PID/fd" | wc -l; }
fds_before=$(nfds)
for _ in $(seq 50); do
	sleep 0.2
	n=$(nfds)
	[ "$n" = "$fds_before" ] && break
	fds_before=$n
done
check "control clients hang up before their answers" \
	"$VB_HOSTILE" --connect "$T/control.sock" --expect ok control-hangups
for _ in $(seq 50); do
	[ "$(nfds)" -le "$fds_before" ] && break
	sleep 0.1
done
fds_after=$(nfds)
check "control clients that hung up left no fd open ($fds_after <= $fds_before)" \
	test "$fds_after" -le "$fds_before"
# Guest RAM's memfd is sealed against resizing, which would fault every
# other client that maps it.
attack EPERM ram-resize
# The shared ring: used right it works; indices, lengths or bytes out of
# order in it, or a request on the socket beside it, cut the client off
# (the bad-head client first maps a page, which must be released); and its
# memfd's seals refuse resizing, which would fault the broker.
# A client without a ring, connected before the ring clients below, must
# not keep the broker from serving their rings. It leaves guest RAM alone
# (--no-touch): the well-behaved devproc writes and checks the same pages.
VB_CLIENT_RING=0 "$VB_DEVPROC" --connect "$T/broker.sock" --device 4 \
	--workload virtio-iommu --iterations 20 --no-touch --hold \
	>"$T/socket-only.out" 2>&1 &
BG_PIDS+=("$!")
wait_grep 30 'result' "$T/socket-only.out"
check "a client without a ring holds device 4 ($(tail -n1 "$T/socket-only.out"))" \
	grep -q 'errors 0 result OK' "$T/socket-only.out"
check "device 4's client sends through the socket" \
	grep -q 'claimed device 4 .*requests through the socket' "$T/broker.log"
attack ok ring-valid
# A second window queued while the first one's replies lie unread is left
# in the ring until they are read, and the client is kept.
attack ok ring-overfill
attack disconnect ring-bad-tail
attack disconnect ring-bad-len
attack disconnect ring-malformed
attack disconnect ring-bad-head
attack disconnect ring-socket-request
attack disconnect ring-kick-flood
attack disconnect ring-kick-in-ring
attack disconnect ring-kick-banked
attack disconnect ring-kick-taken
attack EPERM ring-resize

# A file whose last close blocks (a TCP socket lingering on data that
# cannot drain), passed with a datagram the broker reads or queued behind
# one it refuses: the client is cut off, and while that close waits (30 s)
# the broker goes on serving: a neighbour's claim and map are answered
# within 10 s.
for a in linger-fd linger-fd-queued; do
	"$VB_HOSTILE" --connect "$T/broker.sock" --expect disconnect "$a" \
		>"$T/$a.out" 2>&1 &
	lpid=$!
	BG_PIDS+=("$lpid")
	wait_grep 15 "vb-hostile: $a:" "$T/$a.out"
	check "$a -> disconnect ($(tr "\n" " " <"$T/$a.out"))" \
		grep -q "$a: disconnect (expected disconnect;" "$T/$a.out"
	check "a neighbour is served while the close of $a's fd waits" \
		timeout 10 "$VB_HOSTILE" --connect "$T/broker.sock" --device 2 \
		--expect ok valid
	kill "$lpid"
done

# Two thousand connections cut off in a row: each one is, and the broker
# logs at most its budget of lines about clients (1000 at once, then 100 a
# second), then says how many it left out; the claims below log the count.
# Each connection costs two lines ("dropping", "closed"): without the
# budget there are 2000+ "closed" lines, with it fewer than 1500 unless
# the whole run took over 20 s.
attack disconnect log-flood
n_closed=$(grep -c 'closed: 0 request' "$T/broker.log")
check "log-flood: the budget held back lines about clients ($n_closed of 2000+ closed lines logged)" \
	test "$n_closed" -lt 1500
# ... and still logged its burst (1000 lines, two per connection)
check "log-flood: the burst was logged ($n_closed closed lines, want >= 300)" \
	test "$n_closed" -ge 300

# Claims: a device in use, a device this uid may not have, and an unknown one.
"$VB_HOSTILE" --connect "$T/broker.sock" --device 1 --expect EBUSY hello \
	>>"$T/hostile.out" 2>&1 && pass "claim of a busy device -> EBUSY" ||
	fail "claim of a busy device: $(tail -n1 "$T/hostile.out")"
"$VB_HOSTILE" --connect "$T/broker.sock" --device 3 --expect EPERM hello \
	>>"$T/hostile.out" 2>&1 && pass "claim of another uid's device -> EPERM" ||
	fail "claim of another uid's device: $(tail -n1 "$T/hostile.out")"
"$VB_HOSTILE" --connect "$T/broker.sock" --device 99 --expect ENODEV hello \
	>>"$T/hostile.out" 2>&1 && pass "claim of an unknown device -> ENODEV" ||
	fail "claim of an unknown device: $(tail -n1 "$T/hostile.out")"

check "broker logged the ring's bad tail or length" \
	grep -q 'shared ring: request queue tail or message length out of range' "$T/broker.log"
check "broker logged the ring's bad reply head" \
	grep -q 'shared ring: reply queue head out of range' "$T/broker.log"
check "broker logged a malformed message from the ring" \
	grep -q 'from the ring' "$T/broker.log"
check "broker logged a request on the socket beside the ring" \
	grep -q 'requests go through its shared ring' "$T/broker.log"
check "broker logged a KICK it did not ask for" \
	grep -q 'KICK the broker did not ask for' "$T/broker.log"
check "broker logged a KICK in the ring" \
	grep -q 'KICK in the shared ring' "$T/broker.log"
check "broker logged refusing a silent connection" \
	grep -q 'connections without HELLO; refusing' "$T/broker.log"
check "broker said how many lines about clients it did not log" \
	grep -qE '[0-9]+ line\(s\) about clients not logged' "$T/broker.log"

wait_grep 60 'result' "$T/good.out"
check "well-behaved devproc saw no error" grep -q 'errors 0 result OK' "$T/good.out"
kill "$good"
check "broker survived every attack" kill -0 "$BROKER_PID"
mapped=$(wait_mapped 0)
check "nothing left mapped after all clients left (pages_current=$mapped)" \
	test "${mapped:-x}" = 0
finish
