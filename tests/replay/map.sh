#!/bin/sh
# map.sh KVMEM [TRACE SVG] - `kvmem replay --map DIR`: one nodeN.svg per node at the end
# of a trace, well-formed (xmllint), rendered by rsvg-convert without a
# word on stderr, naming every allocation in a <title>; under 256 KiB at
# 100,000 free fragments; a bad DIR is refused before the trace runs; the
# README's figure (SVG) is what its command makes of TRACE today.
. "$(dirname "$0")/lib.sh"

ok() { cases=$((cases + 1)); echo "ok: $1"; }
bad() { cases=$((cases + 1)); echo "FAIL: $1"; fail=1; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# A map must parse and render: xmllint, then rsvg-convert to a PNG with
# nothing on stderr (librsvg warns there about what it cannot draw).
renders() {
	xmllint --noout "$1" 2> "$tmp/xmlerr" &&
		rsvg-convert "$1" -o "$tmp/out.png" 2> "$tmp/rsvgerr" &&
		[ ! -s "$tmp/rsvgerr" ] && [ -s "$tmp/out.png" ] ||
		{ cat "$tmp/xmlerr" "$tmp/rsvgerr"; return 1; }
}

# The first line of every <title>: what a browser shows first on hover.
titles() {
	xmllint --xpath '//*[local-name()="title"]/text()' "$1" 2>/dev/null |
		sed -n 's/^\([^ ]*\)$/\1/p'
}

# ---- two nodes, CMA, allocations of every kind, a failed command ----
{
	for i in $(seq 1 40); do
		echo "alloc name=job-$i node=$((i % 2)) size=$(((i % 5 + 1) * 64))K"
	done
	echo "alloc name=dma.buf node=1 size=8M from=cma"
	echo "alloc name=big node=0 size=100M"
	echo "free job-7"
	echo "free nosuch"
} > "$tmp/trace"
"$K" replay --numa 0:1G,1:512M --cma 1:64M --map "$tmp/maps" < "$tmp/trace" \
	> "$tmp/out" 2> "$tmp/err"
check "exit 0 with a failed command in the trace" "[ $? -eq 0 ]"
check "node0.svg and node1.svg written" \
	"[ -s '$tmp/maps/node0.svg' ] && [ -s '$tmp/maps/node1.svg' ]"
check "node0.svg parses and renders" "renders '$tmp/maps/node0.svg'"
check "node1.svg parses and renders" "renders '$tmp/maps/node1.svg'"
titles "$tmp/maps/node0.svg" > "$tmp/t0"
titles "$tmp/maps/node1.svg" > "$tmp/t1"
missing=
for i in $(seq 1 40); do
	[ "$i" -eq 7 ] && continue
	grep -qx "job-$i" "$tmp/t$((i % 2))" || missing="$missing job-$i"
done
grep -qx big "$tmp/t0" || missing="$missing big"
grep -qx dma.buf "$tmp/t1" || missing="$missing dma.buf"
check "every live allocation has its <title> on its node${missing:+ (missing:$missing)}" \
	"[ -z '$missing' ]"
check "a freed allocation is not drawn" "! grep -qx job-7 '$tmp/t1'"
check "node1 shows its CMA area" "grep -q 'CMA area' '$tmp/maps/node1.svg'"

# ---- 100,000 free fragments beside 100,000 allocations ----
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "alloc name=f%d node=0 size=4K\n", i
	     for (i = 0; i < 200000; i += 2) printf "free f%d\n", i }' > "$tmp/trace"
"$K" replay --map "$tmp/frag" < "$tmp/trace" > "$tmp/out" 2> "$tmp/err"
check "a 300,000-line trace replays" "[ $? -eq 0 ] && [ \$(grep -c '^ok' '$tmp/out') -eq 300000 ]"
size=$(stat -c %s "$tmp/frag/node0.svg")
echo "# node0.svg at 100,000 free fragments: $size bytes"
check "under 256 KiB at 100,000 free fragments ($size bytes)" "[ $size -le 262144 ]"
check "the fragmented map parses and renders" "renders '$tmp/frag/node0.svg'"
check "the fragments show as free space below 32 KiB" \
	"grep -q 'free, &lt; 32 KiB: 100000 blocks' '$tmp/frag/node0.svg'"

# ---- a bad DIR: exit 2, one line, before the trace runs ----
echo "alloc name=x node=0 size=4K" > "$tmp/trace"
: > "$tmp/file"
"$K" replay --map "$tmp/file" < "$tmp/trace" > "$tmp/out" 2> "$tmp/err"
check "--map on a file: exit 2" "[ $? -eq 2 ]"
check "--map on a file: one line naming it, no trace run" \
	"[ \$(wc -l < '$tmp/err') -eq 1 ] && grep -q 'Not a directory' '$tmp/err' && [ ! -s '$tmp/out' ]"
"$K" replay --map "$tmp/no/such" < "$tmp/trace" > "$tmp/out" 2> "$tmp/err"
check "--map under a missing directory: exit 2" "[ $? -eq 2 ] && [ ! -s '$tmp/out' ]"
"$K" replay --map "" < "$tmp/trace" > "$tmp/out" 2> "$tmp/err"
check "--map '': exit 2" "[ $? -eq 2 ]"

# ---- the README's figure is current ----
if [ $# -ge 3 ]; then
	"$K" replay --numa 0:256M --cma 0:32M --map "$tmp/doc" < "$2" > /dev/null 2>&1
	check "docs/map-example.svg is what examples/fragment.trace makes" \
		"cmp -s '$tmp/doc/node0.svg' '$3'"
fi

finish
