#!/bin/sh
# acceptance.sh KVMEM - the acceptance lines of issue 3 (seed 004's doc
# examples) through `kvmem replay`, with exact output.
. "$(dirname "$0")/lib.sh"

cat > "$tmp/trace" <<'T'
stat node=0
alloc name=x node=0 size=16M align=16M
stat node=0
free x
stat node=0
alloc name=x node=0 size=16M align=16M mode=topdown
free x
stat node=0
T
cat > "$tmp/want" <<'W'
node=0 size=1073741824 avail=1073741824 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
ok x node=0 blocks=0x3f000000+0x1000000
node=0 size=1073741824 avail=1056964608 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
ok x freed
node=0 size=1073741824 avail=1073741824 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
ok x node=0 blocks=0x3f000000+0x1000000
ok x freed
node=0 size=1073741824 avail=1073741824 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
W
expect "16M align=16M lands at the top, simple and topdown" --numa 0:1G --chunk 4K

cat > "$tmp/trace" <<'T'
alloc name=h1 node=0 size=4M mode=range:0-4M
alloc name=h2 node=0 size=4M mode=range:8M-12M
alloc name=fr node=0 size=8M align=4M mode=range:0-16M
stat node=0
free fr
stat node=0
free h2
free h1
stat node=0
T
cat > "$tmp/want" <<'W'
ok h1 node=0 blocks=0x0+0x400000
ok h2 node=0 blocks=0x800000+0x400000
ok fr node=0 blocks=0x400000+0x400000,0xc00000+0x400000
node=0 size=1073741824 avail=1056964608 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
ok fr freed
node=0 size=1073741824 avail=1065353216 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
ok h2 freed
ok h1 freed
node=0 size=1073741824 avail=1073741824 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
W
expect "range allocation fills the fragmented space" --numa 0:1G --chunk 4K

cat > "$tmp/trace" <<'T'
alloc name=h1 node=0 size=4M mode=range:0-4M
alloc name=h2 node=0 size=4M mode=range:8M-12M
alloc name=c node=0 size=8M flags=contiguous
stat
alloc name=c node=0 size=8M flags=fallback
free c
free h1
free h2
stat
alloc name=c node=0 size=8M flags=contiguous
T
cat > "$tmp/want" <<'W'
ok h1 node=0 blocks=0x0+0x400000
ok h2 node=0 blocks=0x800000+0x400000
err c ENOSPC no room for 8388608 bytes in node 0
node=0 size=16777216 avail=8388608 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x1000000
ok c node=0 blocks=0x400000+0x400000,0xc00000+0x400000
ok c freed
ok h1 freed
ok h2 freed
node=0 size=16777216 avail=16777216 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x1000000
ok c node=0 blocks=0x800000+0x800000
W
expect "8M contiguous in a fragmented 16M node: ENOSPC; fallback scatters" --numa 0:16M

finish
