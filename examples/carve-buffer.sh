#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# carve-buffer.sh MOUNT [FILE] - carve a 64 MiB physically contiguous buffer
# on NUMA node 1 of a running kvmem (serve or run --mount MOUNT), fill it
# from FILE (default: 64 MiB of random bytes) with dd, check it with cmp,
# show where it landed, and free it. Exits non-zero at the first failure.
#
#   kvmem serve --numa 0:512M,1:512M --mount /tmp/kvmem &
#   examples/carve-buffer.sh /tmp/kvmem
set -euo pipefail

mnt=${1:?usage: carve-buffer.sh MOUNT [FILE]}
file=${2:-}
name=carve$$
buf=$mnt/allocations/$name

[ -d "$mnt/nodes/node1" ] || { echo "carve-buffer: $mnt has no node 1" >&2; exit 1; }
if [ -z "$file" ]; then
	file=$(mktemp)
	trap 'rm -f "$file"' EXIT
	head -c 64M /dev/urandom > "$file"
fi
size=$(stat -c %s "$file")
[ "$size" -le $((64 << 20)) ] || { echo "carve-buffer: $file is larger than 64 MiB" >&2; exit 1; }

echo "node 1 before: $(cat "$mnt/nodes/node1/buddyinfo")"
# One contiguous range, aligned to its size, from the top of node 1.
echo "alloc name=$name node=1 size=64M align=64M mode=topdown flags=contiguous" \
	> "$mnt/allocations/ctl" || { cat "$mnt/allocations/error" >&2; exit 1; }
echo "blocks of $name:"
cat "$buf/blocks"

dd if="$file" of="$buf/data" bs=1M conv=notrunc status=none
cmp -n "$size" "$file" "$buf/data"
echo "cmp: $size bytes of $file match $buf/data"

echo "node 1 while held: $(cat "$mnt/nodes/node1/buddyinfo")"
rmdir "$buf"
echo "freed $name; node 1 after: $(cat "$mnt/nodes/node1/buddyinfo")"
