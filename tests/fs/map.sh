#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/map.sh KVMEM FS_WRITE - nodes/nodeN/map.svg on a live mount: a
# picture drawn fresh per open that xmllint parses and rsvg-convert renders
# without a word, with every allocation's name in a <title> (a name made
# with mkdir and spec included) and none that was freed; stat and read
# agree; 5,000 free fragments keep it under 256 KiB.
KVMEM=$1 FS_WRITE=$2
. "$(dirname "$0")/lib.sh"

serve --numa 0:1G,1:16M --cma 0:64M
N0=$M/nodes/node0 A=$M/allocations

# renders FILE: well-formed, and rsvg-convert draws it with empty stderr.
renders() {
	xmllint --noout "$1" && rsvg-convert "$1" -o "$TMP/out.png" 2> "$TMP/rsvg.err" &&
		[ ! -s "$TMP/rsvg.err" ] && [ -s "$TMP/out.png" ]
}
# titles FILE: the first line of each <title> (an allocation's is its name).
titles() {
	xmllint --xpath '//*[local-name()="title"]/text()' "$1" 2>/dev/null |
		sed -n 's/^\([^ ]*\)$/\1/p' | sort
}

cp "$N0/map.svg" "$TMP/empty.svg"
check "an empty node's map renders" renders "$TMP/empty.svg"
match "it says nothing is allocated" "$(grep -o '0 B allocated in 0 allocations' "$TMP/empty.svg")" \
	'^0 B allocated in 0 allocations$'

for i in 1 2 3 4 5 6; do
	ctl "alloc name=buf-$i node=0 size=$((i * 3))M" > /dev/null
done
ctl "alloc name=dma node=0 size=4M from=cma" > /dev/null
mkdir "$A/made.by.mkdir"
printf 'node=0 size=1M\n' | "$FS_WRITE" -t "$A/made.by.mkdir/spec" > /dev/null
ctl "free buf-2" > /dev/null

cp "$N0/map.svg" "$TMP/n0.svg"
check "node0 map.svg renders" renders "$TMP/n0.svg"
eq "every allocation has a <title>, the freed one none" "$(titles "$TMP/n0.svg" | grep -v '^cma\|^free')" \
	"$(printf '%s\n' buf-1 buf-3 buf-4 buf-5 buf-6 dma made.by.mkdir | sort)"
eq "st_size is what a read returns" "$(stat -c %s "$N0/map.svg")" "$(wc -c < "$TMP/n0.svg")"
check "the CMA area is drawn" grep -q 'CMA area' "$TMP/n0.svg"

check "buf-1 drawn before its free" grep -q '<title>buf-1' "$TMP/n0.svg"
ctl "free buf-1" > /dev/null
check "fresh per open: a free is gone at the next open" \
	bash -c "! grep -q '<title>buf-1' '$N0/map.svg'"
check "node1 (16 MiB, no CMA) renders" renders "$M/nodes/node1/map.svg"

# 10,000 4 KiB allocations in ctl writes of 1,000 lines, every other freed
# (the bound at 100,000 fragments is tests/replay/map.sh's and test_map's)
for b in $(seq 0 9); do
	seq $((b * 1000)) $((b * 1000 + 999)) |
		awk '{ printf "alloc name=f%d node=0 size=4K\n", $1 }' > "$TMP/batch"
	"$FS_WRITE" -t "$A/ctl" < "$TMP/batch" > /dev/null
done
for b in $(seq 0 9); do
	seq $((b * 1000)) 2 $((b * 1000 + 999)) |
		awk '{ printf "free f%d\n", $1 }' > "$TMP/batch"
	"$FS_WRITE" -t "$A/ctl" < "$TMP/batch" > /dev/null
done
eq "5,000 allocations left" "$(ls "$A" | grep -c '^f')" 5000
cp "$N0/map.svg" "$TMP/frag.svg"
size=$(stat -c %s "$TMP/frag.svg")
echo "# node0 map.svg with 5,000 free 4 KiB fragments: $size bytes"
check "under 256 KiB with 5,000 free fragments ($size bytes)" test "$size" -le 262144
check "the fragmented map renders" renders "$TMP/frag.svg"

finish
