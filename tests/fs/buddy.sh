#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/buddy.sh KVMEM FS_WRITE - the seed's GPU-buddy doc examples
# (seeds/004) reproduced through allocations/ctl and blocks, the configfs
# habit (mkdir + spec), multi-line ctl writes, rmdir, and cma/size resize.
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

# node 0: 1 GiB at GPA 0, no CMA (the seed's 1G allocator, 4K chunks);
# node 1: 16 MiB at 4 GiB (the seed's small allocator); node 2: CMA tests.
serve --numa 0:1G,1:16M,2:256M --cma 2:64M
N0=$M/nodes/node0 N1=$M/nodes/node1 N2=$M/nodes/node2 A=$M/allocations
avail0=$(cat "$N0/buddy/avail")
# ctl_ok DESC LINE: the write of LINE + newline succeeds whole.
ctl_ok() { eq "$1" "$(ctl "$2")" "ok $((${#2} + 1))"; }
eq "node0 starts with 1G free" "$avail0" $((1 << 30))

# Example 1: simple 16M aligned 16M lands at the top: 1G - 16M, order 12.
ctl_ok "simple 16M/16M ok" 'alloc name=s node=0 size=16M align=16M'
eq "simple: blocks" "$(cat "$A/s/blocks")" "0x3f000000 0x1000000 order=12"
eq "simple: avail - 16M" "$(cat "$N0/buddy/avail")" $((avail0 - (16 << 20)))
eq "simple: data st_size = 16M" "$(stat -c %s "$A/s/data")" $((16 << 20))
eq "simple: spec reads back the request" "$(cat "$A/s/spec")" \
   "node=0 size=0x1000000 align=0x1000000 from=buddy mode=simple"
check "rmdir frees" rmdir "$A/s"
eq "rmdir: avail restored" "$(cat "$N0/buddy/avail")" "$avail0"
check "rmdir: gone from ls" bash -c "! ls '$A' | grep -qx s"

# Example 2: top-down, same place.
ctl 'alloc name=t node=0 size=16M align=16M mode=topdown' >/dev/null
eq "topdown: blocks" "$(cat "$A/t/blocks")" "0x3f000000 0x1000000 order=12"
ctl_ok "topdown: free via ctl" 'free t'
eq "topdown: avail restored" "$(cat "$N0/buddy/avail")" "$avail0"

# Example 3: fragmentation at [0,4M) and [8M,12M), then 8M over [0,16M)
# comes back as two 4M blocks from the holes.
ctl 'alloc name=frag1 node=0 size=4M align=4M mode=range:0-4M' >/dev/null
eq "frag1 at 0" "$(cat "$A/frag1/blocks")" "0x0 0x400000 order=10"
eq "frag1: avail - 4M" "$(cat "$N0/buddy/avail")" $((avail0 - (4 << 20)))
ctl 'alloc name=frag2 node=0 size=4M align=4M mode=range:8M-12M' >/dev/null
eq "frag2 at 8M" "$(cat "$A/frag2/blocks")" "0x800000 0x400000 order=10"
eq "frag2: avail - 8M" "$(cat "$N0/buddy/avail")" $((avail0 - (8 << 20)))
ctl 'alloc name=fragmented node=0 size=8M align=4M mode=range:0-16M' >/dev/null
eq "fragmented: two 4M blocks from the holes" "$(cat "$A/fragmented/blocks")" \
   "0x400000 0x400000 order=10
0xc00000 0x400000 order=10"
eq "fragmented: avail - 16M" "$(cat "$N0/buddy/avail")" $((avail0 - (16 << 20)))
eq "fragmented: data is one 8M file over both blocks" "$(stat -c %s "$A/fragmented/data")" $((8 << 20))
check "free all three" rmdir "$A/frag1" "$A/frag2" "$A/fragmented"
eq "fragmentation: avail restored" "$(cat "$N0/buddy/avail")" "$avail0"

# Example 4: a 16M allocator with holes at [0,4M) and [8M,12M) cannot give
# 8M contiguous (node 1 starts at 4G).
avail1=$(cat "$N1/buddy/avail")
ctl 'alloc name=hole1 node=1 size=4M align=4M mode=range:0x100000000-0x100400000' >/dev/null
ctl 'alloc name=hole2 node=1 size=4M align=4M mode=range:0x100800000-0x100c00000' >/dev/null
eq "holes at 4G+0 and 4G+8M" "$(cat "$A/hole1/blocks" "$A/hole2/blocks")" \
   "0x100000000 0x400000 order=10
0x100800000 0x400000 order=10"
snap=$(snapshot)
eq "contiguous 8M fails with ENOSPC" "$(ctl 'alloc name=c node=1 size=8M align=4M flags=contiguous')" ENOSPC
match "error says why, in one line" "$(cat "$A/error")" '^err c ENOSPC .+'
eq "failed alloc changed nothing" "$(snapshot)" "$snap"
ctl_ok "non-contiguous 8M fills the holes" 'alloc name=nc node=1 size=8M align=4M'
eq "non-contiguous: blocks" "$(cat "$A/nc/blocks")" \
   "0x100400000 0x400000 order=10
0x100c00000 0x400000 order=10"
eq "node1 full" "$(cat "$N1/buddy/avail")" 0
eq "node1 buddyinfo all zero" "$(awk '{ s = 0; for (i = 5; i <= NF; i++) s += $i; print s }' "$N1/buddyinfo")" 0
eq "node1 unusable_index at 1.000 when nothing is free" \
   "$(awk '{ print $5, $NF }' "$N1/buddy/unusable_index")" "1.000 1.000"
rmdir "$A/hole1" "$A/hole2" "$A/nc"
eq "node1 restored" "$(cat "$N1/buddy/avail")" "$avail1"

# ---- multi-line writes: applied in order, stop at the first failing line ----
lines='alloc name=m1 node=0 size=4K\nalloc name=m2 node=0 size=8K\n# comment\n\nfree m1\n'
eq "3 lines, all applied" "$(printf "$lines" | wr "$A/ctl")" "ok $(printf "$lines" | wc -c)"
check "m1 freed by line 3, m2 kept" bash -c "[ ! -e '$A/m1' ] && [ -d '$A/m2' ]"
eq "failing line 2 fails the write with its errno" \
   "$(printf 'alloc name=m3 node=0 size=4K\nalloc name=m2 node=0 size=4K\nalloc name=m4 node=0 size=4K\n' | wr "$A/ctl")" EEXIST
check "line 1 stays applied" test -d "$A/m3"
check "line 3 was not run" test ! -e "$A/m4"
match "error names the failing line" "$(cat "$A/error")" '^err m2 EEXIST '
ctl_ok "alloc with no name" 'alloc node=0 size=4K'
eq "auto names a1, a2, ..." "$(ls "$A" | grep -c '^a[0-9]')" 1
echo > "$A/error"
eq "writing error clears it" "$(cat "$A/error")" ""
ctl_ok "stat is accepted" 'stat node=0'
rmdir "$A/m2" "$A/m3" "$A"/a[0-9]*

# ---- configfs habit: mkdir + spec ----
check "mkdir allocations/buf" mkdir "$A/buf"
eq "pending: spec writable" "$(stat -c %A "$A/buf/spec")" "-rw-r--r--"
eq "pending: empty spec and blocks, size 0" "$(cat "$A/buf/spec" "$A/buf/blocks"; stat -c %s "$A/buf/data")" 0
eq "pending: avail untouched" "$(cat "$N0/buddy/avail")" "$avail0"
eq "mkdir of a pending name: EEXIST" "$(mkdir "$A/buf" 2>&1 | grep -c 'File exists')" 1
eq "ctl alloc of a pending name: EEXIST" "$(ctl 'alloc name=buf node=0 size=4K')" EEXIST
eq "spec with name=: EINVAL" "$(echo 'name=x node=0 size=16M' | wr "$A/buf/spec")" EINVAL
eq "bad spec: EINVAL, still pending" "$(echo 'node=0 size=banana' | wr "$A/buf/spec"; stat -c %A "$A/buf/spec")" "EINVAL
-rw-r--r--"
check "echo words > spec allocates" bash -c "echo 'node=0 size=16M align=16M mode=topdown flags=contiguous' > '$A/buf/spec'"
eq "spec: blocks" "$(cat "$A/buf/blocks")" "0x3f000000 0x1000000 order=12"
eq "spec: reads back" "$(cat "$A/buf/spec")" \
   "node=0 size=0x1000000 align=0x1000000 from=buddy mode=topdown flags=contiguous"
eq "spec: read-only once applied" "$(stat -c %A "$A/buf/spec")" "-r--r--r--"
eq "spec: second write refused" "$(echo 'node=0 size=4K' | wr "$A/buf/spec")" EACCES
check "rmdir frees it" rmdir "$A/buf"
eq "configfs: avail restored" "$(cat "$N0/buddy/avail")" "$avail0"
mkdir "$A/pend"
check "rmdir of a pending dir" rmdir "$A/pend"
check "pending dir gone" test ! -e "$A/pend"
eq "mkdir ctl: EEXIST" "$(mkdir "$A/ctl" 2>&1 | grep -c 'File exists')" 1
eq "mkdir with a bad name: EINVAL" "$(mkdir "$A/bad=name" 2>&1 | grep -c 'Invalid argument')" 1
eq "rmdir of nothing: ENOENT" "$(rmdir "$A/nothing" 2>&1 | grep -c 'No such file')" 1

# ---- cma: allocate, resize (EBUSY in use), bitmap ----
ctl_ok "cma alloc" 'alloc name=c1 node=2 size=1M from=cma'
eq "cma/used" "$(cat "$N2/cma/used")" $((1 << 20))
eq "cma bitmap: 256 pages used" "$(tr -cd 1 < "$N2/cma/bitmap" | wc -c)" 256
eq "cma blocks inside the area" "$(awk '{ print ($1 >= 0x20000000 + 0x100000000 - 0x4000000) ? "in" : "out" }' "$A/c1/blocks" 2>/dev/null | head -1)" in
snap=$(snapshot)
check "resize while in use fails" bash -c "! echo 32M > '$N2/cma/size' 2>/dev/null"
eq "resize in use: EBUSY" "$(echo 32M | wr "$N2/cma/size")" EBUSY
eq "resize in use: nothing changed" "$(snapshot)" "$snap"
rmdir "$A/c1"
eq "cma/used back to 0" "$(cat "$N2/cma/used")" 0
b2=$(cat "$N2/buddy/avail")
check "echo 32M > cma/size when empty" bash -c "echo 32M > '$N2/cma/size'"
eq "cma/size is 32M" "$(cat "$N2/cma/size")" $((32 << 20))
eq "buddy got 32M back" "$(cat "$N2/buddy/avail")" $((b2 + (32 << 20)))
eq "meminfo CmaTotal follows" "$(awk '$3 == "CmaTotal:" { print $4 }' "$N2/meminfo")" 32768
check "hex size accepted" bash -c "echo 0x4000000 > '$N2/cma/size'"
eq "cma/size back to 64M" "$(cat "$N2/cma/size")" $((64 << 20))
eq "malformed size: EINVAL" "$(echo 12Q | wr "$N2/cma/size")" EINVAL
eq "larger than the node: EINVAL" "$(echo 1G | wr "$N2/cma/size")" EINVAL
ctl_ok "fill most of node 2's buddy" 'alloc name=big node=2 size=180M'
eq "no room in the buddy: ENOSPC" "$(echo 128M | wr "$N2/cma/size")" ENOSPC
rmdir "$A/big"
eq "cma/size unchanged after failures" "$(cat "$N2/cma/size")" $((64 << 20))
check "echo 0 > cma/size removes the area" bash -c "echo 0 > '$N2/cma/size'"
eq "no area" "$(cat "$N2/cma/size"; cat "$N2/cma/bitmap")" 0
eq "cma alloc with no area fails" "$(ctl 'alloc name=c2 node=2 size=1M from=cma')" ENOSPC

finish
