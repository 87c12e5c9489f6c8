#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/tree.sh KVMEM FS_WRITE - the file tree as built, honest modes, and
# every file's format, read whole and in 3-byte chunks.
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

serve --numa 0:1G,1:16M --cma 0:64M

# ---- the exact tree and its modes ----
got=$(cd "$M" && find . -printf '%M %p\n' | sort -k2)
want=$(cat <<'TREE'
dr-xr-xr-x .
drwxr-xr-x ./allocations
--w------- ./allocations/ctl
-rw-r--r-- ./allocations/error
-rw------- ./memory
dr-xr-xr-x ./nodes
dr-xr-xr-x ./nodes/node0
dr-xr-xr-x ./nodes/node0/buddy
-r--r--r-- ./nodes/node0/buddy/avail
-r--r--r-- ./nodes/node0/buddy/chunk_size
-r--r--r-- ./nodes/node0/buddy/free_area
-r--r--r-- ./nodes/node0/buddy/size
-r--r--r-- ./nodes/node0/buddy/unusable_index
-r--r--r-- ./nodes/node0/buddyinfo
dr-xr-xr-x ./nodes/node0/cma
-r--r--r-- ./nodes/node0/cma/bitmap
-r--r--r-- ./nodes/node0/cma/maxchunk
-r--r--r-- ./nodes/node0/cma/order_per_bit
-rw-r--r-- ./nodes/node0/cma/size
-r--r--r-- ./nodes/node0/cma/used
dr-xr-xr-x ./nodes/node0/early
-r--r--r-- ./nodes/node0/early/ranges
-r--r--r-- ./nodes/node0/host_node
-r--r--r-- ./nodes/node0/map.svg
-r--r--r-- ./nodes/node0/meminfo
dr-xr-xr-x ./nodes/node1
dr-xr-xr-x ./nodes/node1/buddy
-r--r--r-- ./nodes/node1/buddy/avail
-r--r--r-- ./nodes/node1/buddy/chunk_size
-r--r--r-- ./nodes/node1/buddy/free_area
-r--r--r-- ./nodes/node1/buddy/size
-r--r--r-- ./nodes/node1/buddy/unusable_index
-r--r--r-- ./nodes/node1/buddyinfo
dr-xr-xr-x ./nodes/node1/cma
-r--r--r-- ./nodes/node1/cma/bitmap
-r--r--r-- ./nodes/node1/cma/maxchunk
-r--r--r-- ./nodes/node1/cma/order_per_bit
-rw-r--r-- ./nodes/node1/cma/size
-r--r--r-- ./nodes/node1/cma/used
dr-xr-xr-x ./nodes/node1/early
-r--r--r-- ./nodes/node1/early/ranges
-r--r--r-- ./nodes/node1/host_node
-r--r--r-- ./nodes/node1/map.svg
-r--r--r-- ./nodes/node1/meminfo
-r--r--r-- ./nodes/online
dr-xr-xr-x ./vm
-r--r--r-- ./vm/domain.xml
-r--r--r-- ./vm/e820
-r--r--r-- ./vm/memory
-r--r--r-- ./vm/name
-r--r--r-- ./vm/state
-r--r--r-- ./vm/vcpus
TREE
)
eq "tree and modes as built" "$got" "$want"
eq "owner is the mounting user" "$(stat -c %u:%g "$M/nodes/online")" "$(id -u):$(id -g)"
check "mount is private (no allow_other)" bash -c "! grep ' $M fuse' /proc/self/mounts | grep -q allow_other"
check "mount uses default_permissions" grep -q " $M fuse.*default_permissions" /proc/self/mounts

# ---- every readable file: cat == 3-byte chunked dd, newline-terminated ----
while read -r f; do
	whole=$(cat "$M/$f"; echo x)
	chunks=$(dd if="$M/$f" bs=3 status=none; echo x)
	eq "$f: dd bs=3 reads what cat reads" "$chunks" "$whole"
	if [ "$whole" != x ]; then
		eq "$f: ends with a newline" "$(tail -c 1 "$M/$f" | od -An -c | tr -d ' ')" '\n'
	fi
done < <(cd "$M" && find . -type f -perm -0444 ! -name memory | sort)

# ---- one-value files ----
eq "nodes/online (cpulist)" "$(cat "$M/nodes/online")" "0-1"
eq "vm/name without a guest" "$(cat "$M/vm/name")" none
eq "vm/state without a guest" "$(cat "$M/vm/state")" none
eq "vm/vcpus without a guest" "$(cat "$M/vm/vcpus")" 0
eq "vm/memory without a guest" "$(cat "$M/vm/memory")" 0
eq "vm/e820 without a guest is empty" "$(cat "$M/vm/e820")" ""
eq "vm/domain.xml without a guest is empty" "$(cat "$M/vm/domain.xml")" ""
eq "allocations/error starts empty" "$(cat "$M/allocations/error")" ""
for n in 0 1; do
	eq "node$n host_node unbound" "$(cat "$M/nodes/node$n/host_node")" -1
	eq "node$n chunk_size" "$(cat "$M/nodes/node$n/buddy/chunk_size")" 4096
	eq "node$n early/ranges empty under serve" "$(cat "$M/nodes/node$n/early/ranges")" ""
done
eq "node0 buddy/size = 1G - 64M cma" "$(cat "$M/nodes/node0/buddy/size")" $((1024 * 1048576 - 64 * 1048576))
eq "node0 avail = size when empty" "$(cat "$M/nodes/node0/buddy/avail")" $((960 * 1048576))
eq "node1 buddy/size" "$(cat "$M/nodes/node1/buddy/size")" $((16 * 1048576))
eq "node0 cma/size" "$(cat "$M/nodes/node0/cma/size")" $((64 * 1048576))
eq "node0 cma/used" "$(cat "$M/nodes/node0/cma/used")" 0
eq "node0 cma/maxchunk" "$(cat "$M/nodes/node0/cma/maxchunk")" $((64 * 1048576))
eq "node0 cma/order_per_bit" "$(cat "$M/nodes/node0/cma/order_per_bit")" 0
eq "node1 cma/size (no area)" "$(cat "$M/nodes/node1/cma/size")" 0
bm=$(cat "$M/nodes/node0/cma/bitmap")
eq "node0 cma/bitmap: 16384 bits in lines of 64" "$(printf '%s\n' "$bm" | wc -l)" 256
match "node0 cma/bitmap: all free" "$bm" '^0{64}$'
eq "node1 cma/bitmap empty" "$(cat "$M/nodes/node1/cma/bitmap")" ""

# ---- kernel formats ----
mi=$(cat "$M/nodes/node0/meminfo")
match "meminfo: sysfs node meminfo lines" "$mi" '^Node 0 [A-Za-z]+: +[0-9]+ kB$'
match "meminfo: values right-aligned like the kernel's" "$mi" '^Node 0 .{16}[ 0-9]{8} kB$'
kb() { awk -v k="$1:" '$3 == k { print $4 }' <<<"$mi"; }
eq "meminfo MemTotal" "$(kb MemTotal)" 1048576
eq "meminfo MemFree = avail + cma free" "$(kb MemFree)" $(((960 + 64) * 1024))
eq "meminfo MemUsed" "$(kb MemUsed)" 0
eq "meminfo CmaTotal" "$(kb CmaTotal)" 65536
eq "meminfo BuddyFree" "$(kb BuddyFree)" $((960 * 1024))

for n in 0 1; do
	bi=$(cat "$M/nodes/node$n/buddyinfo")
	match "node$n buddyinfo: /proc/buddyinfo format" "$bi" "^Node $n, zone   Normal( +[0-9]+)+ \$"
	# orders 0 .. log2(node size / chunk): 19 columns for 1G, 13 for 16M
	cols=$(awk '{ print NF - 4 }' <<<"$bi")
	[ $n = 0 ] && want=19 || want=13
	eq "node$n buddyinfo: one column per order from chunk order 0" "$cols" "$want"
	sum=$(awk '{ s = 0; for (i = 5; i <= NF; i++) s += $i * 4096 * 2 ^ (i - 5); printf "%d", s }' <<<"$bi")
	eq "node$n buddyinfo: free blocks add up to avail" "$sum" "$(cat "$M/nodes/node$n/buddy/avail")"

	fa=$(cat "$M/nodes/node$n/buddy/free_area")
	match "node$n free_area: order size clean dirty" "$fa" '^[0-9]+ [0-9]+ [0-9]+ [0-9]+$'
	eq "node$n free_area: one row per order" "$(wc -l <<<"$fa")" "$want"
	eq "node$n free_area: size = chunk << order" \
	   "$(awk '$2 != 4096 * 2 ^ $1 { bad++ } END { print bad + 0 }' <<<"$fa")" 0
	eq "node$n free_area: counts agree with buddyinfo" \
	   "$(awk '{ printf "%d ", $3 + $4 }' <<<"$fa")" \
	   "$(awk '{ for (i = 5; i <= NF; i++) printf "%d ", $i }' <<<"$bi")"

	ui=$(cat "$M/nodes/node$n/buddy/unusable_index")
	match "node$n unusable_index: extfrag format" "$ui" "^Node $n, zone   Normal( [01]\\.[0-9]{3})+ \$"
	eq "node$n unusable_index: order 0 is fully usable" "$(awk '{ print $5 }' <<<"$ui")" 0.000
done
eq "node0 unusable_index values (960M free as 512M+256M+128M+64M)" \
   "$(awk '{ $1 = $2 = $3 = $4 = ""; print }' "$M/nodes/node0/buddy/unusable_index" | xargs)" \
   "0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.066 0.200 0.466 1.000"

# ---- memory: offset = guest-physical address ----
eq "memory st_size = end of the last node" "$(stat -c %s "$M/memory")" $((0x100000000 + 16 * 1048576))
check "memory reads at GPA 0" dd if="$M/memory" of=/dev/null bs=4096 count=1 status=none
err=$(dd if="$M/memory" of=/dev/null bs=4096 count=1 skip=$((0x80000000 / 4096)) 2>&1)
eq "memory hole (2G) reads EIO" "$(grep -c 'Input/output error' <<<"$err")" 1
check "memory hole fails" bash -c "! dd if='$M/memory' of=/dev/null bs=4096 count=1 skip=$((0x80000000 / 4096)) status=none"
check "memory reads in node 1 (4G)" dd if="$M/memory" of=/dev/null bs=4096 count=1 skip=$((0x100000000 / 4096)) status=none
eq "memory read past the end is EOF" "$(dd if="$M/memory" bs=4096 skip=$(((0x101000000) / 4096)) status=none | wc -c)" 0

# ---- honest modes are enforced, also for root ----
eq "cat ctl is refused (write-only)" "$(cat "$M/allocations/ctl" 2>&1 >/dev/null | grep -c 'Permission denied')" 1
eq "write to buddy/avail refused" "$(echo 1 | wr "$M/nodes/node0/buddy/avail")" EACCES
eq "write to buddyinfo refused" "$(echo 1 | wr "$M/nodes/node0/buddyinfo")" EACCES
eq "write to vm/state refused without a guest" "$(echo pause | wr "$M/vm/state")" EACCES
eq "mkdir outside allocations/ refused" "$(mkdir "$M/nodes/x" 2>&1 | grep -c 'Operation not permitted')" 1
eq "rm of a file refused" "$(rm -f "$M/nodes/online" 2>&1 | grep -c 'Operation not permitted')" 1
eq "creating a file refused" "$(bash -c ": > '$M/allocations/newfile'" 2>&1 | grep -c 'Operation not permitted')" 1
eq "rmdir nodes/node0 refused" "$(rmdir "$M/nodes/node0" 2>&1 | grep -c 'Operation not permitted')" 1
check "no such node" bash -c "! ls '$M/nodes/node2' 2>/dev/null"
check "node01 is not node1" bash -c "! ls '$M/nodes/node01' 2>/dev/null"

finish
