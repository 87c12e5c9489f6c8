#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/data.sh KVMEM FS_WRITE - allocations/NAME/data and memory: one
# contiguous view over the blocks, st_size, EOF and EFBIG at the end, the
# same bytes at their guest-physical addresses, zero-on-allocate.
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

serve --numa 0:1G,1:64M
A=$M/allocations

# A 8M allocation in two blocks (fragmented on purpose).
ctl 'alloc name=h1 node=0 size=4M align=4M mode=range:0-4M' >/dev/null
ctl 'alloc name=h2 node=0 size=4M align=4M mode=range:8M-12M' >/dev/null
ctl 'alloc name=d node=0 size=8M align=4M mode=range:0-16M' >/dev/null
eq "d has two blocks" "$(cat "$A/d/blocks")" "0x400000 0x400000 order=10
0xc00000 0x400000 order=10"
eq "data st_size = allocation size" "$(stat -c %s "$A/d/data")" $((8 << 20))
eq "zeroed on allocation" "$(cmp -n $((8 << 20)) "$A/d/data" /dev/zero && echo zero)" zero

head -c $((8 << 20)) /dev/urandom > "$TMP/pattern"
check "dd fills data" dd if="$TMP/pattern" of="$A/d/data" bs=1M conv=notrunc status=none
check "cmp: data holds the pattern" cmp "$A/d/data" "$TMP/pattern"
# 3-byte reads across the boundary between the two blocks (4M into data).
check "3-byte reads across the block boundary" \
	cmp <(dd if="$A/d/data" bs=3 skip=$(((4 << 20) - 3000)) count=6000 iflag=skip_bytes,count_bytes status=none) \
	    <(dd if="$TMP/pattern" bs=4096 skip=$(((4 << 20) - 3000)) count=6000 iflag=skip_bytes,count_bytes status=none)
eq "read past the end: 0 bytes" "$(dd if="$A/d/data" bs=4096 skip=$((8 << 8)) status=none | wc -c)" 0
# One read(2) and one write(2) that start 5 / 8 bytes before the end and
# cross it (fs-write does exactly one call; dd may split or align).
eq "one read across the end is cut at the end" "$("$FS_WRITE" -r 100 -o $(((8 << 20) - 5)) "$A/d/data")" "ok 5"
eq "write past the end: EFBIG" "$(dd if=/dev/zero of="$A/d/data" bs=4096 seek=$((8 << 8)) count=1 conv=notrunc 2>&1 | grep -c 'File too large')" 1
eq "one write across the end is cut short" "$(printf '0123456789abcdef' | "$FS_WRITE" -o $(((8 << 20) - 8)) "$A/d/data")" "ok 8"
eq "... its first 8 bytes landed" "$(dd if="$A/d/data" bs=1 skip=$(((8 << 20) - 8)) status=none)" "01234567"
check "st_size unchanged by writes" test "$(stat -c %s "$A/d/data")" = $((8 << 20))
dd if="$TMP/pattern" of="$A/d/data" bs=1M conv=notrunc status=none

# memory: the first 4M of data is at GPA 4M, the next 4M at GPA 12M.
check "memory at block 1 = first half of data" \
	cmp <(dd if="$M/memory" bs=1M skip=4 count=4 status=none) <(head -c $((4 << 20)) "$TMP/pattern")
check "memory at block 2 = second half of data" \
	cmp <(dd if="$M/memory" bs=1M skip=12 count=4 status=none) <(tail -c $((4 << 20)) "$TMP/pattern")
printf 'GPA!' | dd of="$M/memory" bs=1 seek=$((0xc00000)) conv=notrunc status=none
eq "a write to memory shows in data" "$(dd if="$A/d/data" bs=1 skip=$((4 << 20)) count=4 status=none)" "GPA!"
eq "memory hole: EIO" "$(dd if="$M/memory" of=/dev/null bs=4096 skip=$((0x50000000 / 4096)) count=1 2>&1 | grep -c 'Input/output error')" 1
eq "memory hole write: EIO" "$(dd if=/dev/zero of="$M/memory" bs=4096 seek=$((0x50000000 / 4096)) count=1 conv=notrunc 2>&1 | grep -c 'Input/output error')" 1

# echo > data (O_TRUNC) works and keeps the size: the allocation is fixed.
check "echo > data works" bash -c "echo hello > '$A/d/data'"
eq "echo wrote at offset 0" "$(head -c 6 "$A/d/data")" hello
eq "O_TRUNC kept the size" "$(stat -c %s "$A/d/data")" $((8 << 20))

# Zero-on-allocate: free, allocate the same place again, read zeros.
blocks=$(cat "$A/d/blocks")
check "free d" rmdir "$A/d"
ctl 'alloc name=d2 node=0 size=8M align=4M mode=range:0-16M' >/dev/null
eq "same blocks again" "$(cat "$A/d2/blocks")" "$blocks"
eq "new owner reads zeros" "$(cmp "$A/d2/data" /dev/zero 2>&1 | grep -c EOF)" 1
eq "memory there reads zeros too" "$(dd if="$M/memory" bs=1M skip=4 count=4 status=none | cmp - /dev/zero 2>&1 | grep -c EOF)" 1

# flags=clear on memory that held bytes: dirty node 1's first 1M first (a
# noclear allocation, filled, freed), then take exactly that range back.
ctl 'alloc name=dirt node=1 size=1M mode=range:0x100000000-0x100100000 flags=noclear' >/dev/null
head -c 1M /dev/urandom > "$TMP/dirt"
dd if="$TMP/dirt" of="$A/dirt/data" bs=64K conv=notrunc status=none
check "the range held the bytes before" cmp "$A/dirt/data" "$TMP/dirt"
rmdir "$A/dirt"
ctl 'alloc name=z node=1 size=1M mode=range:0x100000000-0x100100000 flags=clear' >/dev/null
eq "flags=clear allocation of the dirtied range is zero" "$(cmp -n 1048576 "$A/z/data" /dev/zero 2>&1 && echo zero)" zero
eq "... and it is that range" "$(head -1 "$A/z/blocks")" "0x100000000 0x100000 order=8"

# Data of a pending directory: empty, writes refused.
mkdir "$A/p"
eq "pending data reads 0 bytes" "$(wc -c < "$A/p/data")" 0
eq "pending data write: EFBIG" "$(echo x | wr "$A/p/data")" EFBIG
rmdir "$A/p"

# A freed allocation's open data file fails instead of reading new owners.
ctl 'alloc name=gone node=1 size=64K' >/dev/null
exec 3<"$A/gone/data"
rmdir "$A/gone"
eq "read from a freed allocation: ENOENT" "$(dd bs=4096 count=1 status=none <&3 2>&1 >/dev/null | grep -c 'No such file')" 1
exec 3<&-

finish
