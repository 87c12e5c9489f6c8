#!/bin/sh
# grammar.sh KVMEM - the control grammar through `kvmem replay`: one line
# per command, err lines with errno names, auto names, comments, stat of
# several nodes with CMA, and that failures still exit 0.
. "$(dirname "$0")/lib.sh"

cat > "$tmp/trace" <<'T'
# comments and blank lines print nothing

   # indented comment
alloc node=0 size=4K
alloc node=0 size=4K
alloc name=a3 node=1 size=8K mode=topdown
alloc node=1 size=4K align=64K
alloc name=a3 node=0 size=4K
free a2
free a2
free nosuch
alloc node=0 size=0
alloc node=0 size=4K align=3K
alloc node=0 size=0xffffffffffffffff align=8K
alloc name=big node=0 size=2G
alloc name=far node=1 size=4K mode=range:0-4M
alloc name=x node=7 size=4K
alloc name=x node=0 size=4K size=8K
alloc name=x node=0 size=4K colour=red
alloc name=x node=0 size=4K flags=contiguous,sticky
alloc name=x node=0 size=4K from=cma mode=topdown
alloc name=.x node=0 size=4K
allocate node=0 size=4K
free
stat node=9
alloc name=c node=0 size=3M from=cma
alloc name=d node=1 size=4K from=cma
stat
T
cat > "$tmp/want" <<'W'
ok a1 node=0 blocks=0x3bfff000+0x1000
ok a2 node=0 blocks=0x3bffe000+0x1000
ok a3 node=1 blocks=0x11fffe000+0x2000
ok a4 node=1 blocks=0x11ffe0000+0x10000
err a3 EEXIST name taken
ok a2 freed
err a2 ENOENT no such allocation
err nosuch ENOENT no such allocation
err - EINVAL size: must be non-zero
err - EINVAL align: '3K' is not a power of two
err - ERANGE size rounded up to align overflows 64 bits
err big ENOSPC no room for 2147483648 bytes in node 0
err far EINVAL range 0x0-0x400000 is outside node 1 (0x100000000-0x120000000)
err x EINVAL no node 7
err x EINVAL key 'size' given twice
err x EINVAL unknown key 'colour' (name node size align from mode flags)
err x EINVAL flags: unknown flag 'sticky' (contiguous, clear, trim_disable, noclear, fallback)
err x EINVAL from=cma takes mode=simple only
err - EINVAL name: '.x' is not 1..63 of [A-Za-z0-9._-] not starting with '.'
err - EINVAL unknown command 'allocate' (expected alloc, free or stat)
err - EINVAL usage: free NAME
err - EINVAL stat: no node 9
ok c node=0 blocks=0x3c000000+0x300000
err d ENOSPC no room for 4096 bytes in node 1 cma
node=0 size=1073741824 avail=1006628864 cma_size=67108864 cma_used=3145728 cma_maxchunk=63963136 early=0 start=0x0 end=0x40000000
node=1 size=536870912 avail=536797184 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x100000000 end=0x120000000
W
expect "grammar, errors and stat" --numa 0:1G,1:512M --cma 0:64M

# a NUL byte, an over-long line, a control byte: one err line each
printf 'alloc node=0 size=4K\0junk\n' > "$tmp/trace"
printf 'alloc node=0 size=4K name=%02000d\n' 0 >> "$tmp/trace"
printf 'alloc node=0\001 size=4K\n' >> "$tmp/trace"
printf 'stat node=0' >> "$tmp/trace"		# no final newline
cat > "$tmp/want" <<'W'
err - EINVAL NUL byte in line
err - EINVAL line longer than 1024 bytes
err - EINVAL byte 0x01 at column 13 is not printable ASCII
node=0 size=1048576 avail=1048576 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x100000
W
expect "binary and over-long lines" --numa 0:1M

# 2M chunks: a 4K request takes a whole chunk
cat > "$tmp/trace" <<'T'
alloc node=0 size=4K
stat
T
cat > "$tmp/want" <<'W'
ok a1 node=0 blocks=0x3fe00000+0x200000
node=0 size=1073741824 avail=1071644672 cma_size=0 cma_used=0 cma_maxchunk=0 early=0 start=0x0 end=0x40000000
W
expect "--chunk 2M, default --numa 0:1G" --chunk 2M

finish
