#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/concurrent.sh KVMEM FS_WRITE - 8 shell writers doing 1,000
# alloc/free pairs each through allocations/ctl (mixed sizes, both nodes,
# buddy and cma) while readers cat the pool files; then the invariants:
# every write succeeded, nothing is left allocated, and every pool file
# reads exactly as before.
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

WRITERS=8 PAIRS=${KVMEM_FS_PAIRS:-1000}
serve --numa 0:512M,1:512M --cma 0:32M,1:32M
A=$M/allocations
before=$(snapshot)

writer() {
	local i=$1 j fails=0 from node size
	for ((j = 1; j <= PAIRS; j++)); do
		node=$(((i + j) % 2))
		size=$(((j % 7 + 1) * 4))K
		from=buddy
		((j % 5 == 0)) && from=cma
		echo "alloc name=w${i}_$j node=$node size=$size from=$from" > "$A/ctl" ||
			fails=$((fails + 1))
		echo "free w${i}_$j" > "$A/ctl" || fails=$((fails + 1))
	done
	echo "$fails" > "$TMP/fails.$i"
}

reader() {
	local bad=0 reads=0
	while [ ! -e "$TMP/stop-readers" ]; do
		grep -Eq '^Node [01], zone   Normal( +[0-9]+)+ $' "$M/nodes/node$1/buddyinfo" ||
			bad=$((bad + 1))
		cat "$M/nodes/node$1/buddy/avail" "$M/nodes/node$1/cma/used" >/dev/null ||
			bad=$((bad + 1))
		ls "$A" >/dev/null || bad=$((bad + 1))
		reads=$((reads + 1))
	done
	echo "$bad" > "$TMP/bad.$1"
	echo "$reads" > "$TMP/reads.$1"
}

reader 0 & r0=$!
reader 1 & r1=$!
pids=()
for ((i = 0; i < WRITERS; i++)); do
	writer "$i" 2>>"$TMP/writers.log" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
touch "$TMP/stop-readers"
wait "$r0" "$r1"

total=0
for ((i = 0; i < WRITERS; i++)); do
	total=$((total + $(cat "$TMP/fails.$i" 2>/dev/null || echo 9999)))
done
eq "$WRITERS writers x $PAIRS alloc/free pairs: no failed write" "$total" 0
head -3 "$TMP/writers.log" 2>/dev/null | sed 's/^/# /'
eq "readers saw well-formed files throughout" "$(cat "$TMP/bad.0" "$TMP/bad.1" | awk "{ s += \$1 } END { print s + 0 }")" 0
# (a reader that never got to read would pass the line above)
check "both readers read while the writers ran" \
	test "$(cat "$TMP/reads.0" 2>/dev/null || echo 0)" -gt 0 -a "$(cat "$TMP/reads.1" 2>/dev/null || echo 0)" -gt 0
eq "nothing left allocated" "$(ls "$A" | tr '\n' ' ')" "ctl error "
eq "every pool file as before (avail, buddyinfo, free_area, cma, meminfo)" "$(snapshot)" "$before"
for n in 0 1; do
	eq "node$n avail = buddy size" "$(cat "$M/nodes/node$n/buddy/avail")" "$(cat "$M/nodes/node$n/buddy/size")"
	eq "node$n cma/used = 0" "$(cat "$M/nodes/node$n/cma/used")" 0
	eq "node$n no dirty free blocks (freed memory returns clean)" \
	   "$(awk '{ d += $4 } END { print d + 0 }' "$M/nodes/node$n/buddy/free_area")" 0
done
eq "allocations/error is empty (no write failed)" "$(cat "$A/error")" ""

finish
