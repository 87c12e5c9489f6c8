#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/fresh.sh KVMEM FS_WRITE - never a stale read: after every change
# a new open(2) sees the new text, whole and in 3-byte reads, with st_size
# to match; in both modes (page cache checked on open, the default, and
# KVMEM_FS_DIRECT_IO=1).
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

for mode in cache direct; do
	if [ $mode = direct ]; then export KVMEM_FS_DIRECT_IO=1; else unset KVMEM_FS_DIRECT_IO; fi
	serve --numa 0:1G --cma 0:16M
	N=$M/nodes/node0 A=$M/allocations
	# fresh FILE WANT DESC: cat, dd bs=3 and st_size all agree with WANT.
	fresh() {
		eq "$mode: $3 (cat)" "$(cat "$1")" "$2"
		eq "$mode: $3 (dd bs=3)" "$(dd if="$1" bs=3 status=none)" "$2"
		local size=0
		[ -n "$2" ] && size=$(printf '%s\n' "$2" | wc -c)
		[ $mode = cache ] && eq "$mode: $3 (st_size)" "$(stat -c %s "$1")" "$size"
	}
	a0=$(cat "$N/buddy/avail")
	bi0=$(cat "$N/buddyinfo")
	for i in 1 2 3; do
		echo "alloc name=f$i node=0 size=${i}M" > "$A/ctl"
		fresh "$N/buddy/avail" $((a0 - (i * (i + 1) / 2 << 20))) "avail after alloc $i"
	done
	check "$mode: buddyinfo changed" test "$(cat "$N/buddyinfo")" != "$bi0"
	exec 3<"$N/buddy/avail"
	rmdir "$A/f1" "$A/f2" "$A/f3"
	fresh "$N/buddy/avail" "$a0" "avail after frees, with an old open file around"
	fresh "$N/buddyinfo" "$bi0" "buddyinfo back"
	exec 3<&-
	# Same value written twice, then read: no stale or torn text.
	echo 8M > "$N/cma/size"
	echo 8M > "$N/cma/size"
	fresh "$N/cma/size" 8388608 "cma/size after the same value twice"
	echo 16M > "$N/cma/size"
	fresh "$N/cma/size" 16777216 "cma/size after a new value"
	# error: set, cleared, set again (the text shrinks and grows).
	echo 'free nope' | wr "$A/ctl" >/dev/null
	fresh "$A/error" "$(cat "$A/error")" "error readable"
	match "$mode: error set" "$(cat "$A/error")" '^err nope ENOENT .+'
	echo > "$A/error"
	fresh "$A/error" "" "error cleared"
	echo 'alloc node=0 size=0' | wr "$A/ctl" >/dev/null
	match "$mode: error set again" "$(cat "$A/error")" '^err - EINVAL .+'
	# spec and blocks of a mkdir'd allocation, before and after spec.
	mkdir "$A/s"
	fresh "$A/s/blocks" "" "pending blocks empty"
	echo 'node=0 size=4K mode=range:0-4K' > "$A/s/spec"
	fresh "$A/s/blocks" "0x0 0x1000 order=0" "blocks after spec"
	rmdir "$A/s"
	stop
done

done_testing
