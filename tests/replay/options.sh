#!/bin/sh
# options.sh KVMEM - `kvmem replay` option handling: --help exits 0, every
# bad option exits 2 with one line on stderr and nothing on stdout.
set -u
K=${1:?usage: $0 PATH-TO-KVMEM}
fail=0
cases=0

"$K" replay --help > /tmp/kvmem-replay-help.$$ 2>&1
rc=$?
cases=$((cases + 1))
if [ $rc -ne 0 ] || ! grep -q "kvmem replay \[--numa" /tmp/kvmem-replay-help.$$; then
	echo "FAIL: --help (exit $rc)"
	fail=1
fi
rm -f /tmp/kvmem-replay-help.$$

# bad WORD ARGS...: exit 2, nothing on stdout, one stderr line naming WORD
bad() {
	word=$1
	shift
	cases=$((cases + 1))
	out=$(echo "stat" | timeout 10 "$K" replay "$@" 2> /tmp/kvmem-replay-err.$$)
	rc=$?
	lines=$(wc -l < /tmp/kvmem-replay-err.$$)
	# the line names kvmem replay and the option (or word) at fault
	if [ $rc -ne 2 ] || [ -n "$out" ] || [ "$lines" -ne 1 ] ||
	   ! grep -qF -- "$word" /tmp/kvmem-replay-err.$$ ||
	   ! grep -q '^kvmem replay: ' /tmp/kvmem-replay-err.$$; then
		echo "FAIL: replay $*: exit $rc, stdout '$out', $lines stderr lines"
		fail=1
	else
		echo "ok: replay $* -> $(cat /tmp/kvmem-replay-err.$$)"
	fi
	rm -f /tmp/kvmem-replay-err.$$
}

bad "--numa: needs a value" --numa
bad "node 0 given twice" --numa 0:1G,0:1G
bad "node 1 given but node 0 missing" --numa 1:1G
bad "node 0 size" --numa 0:0
bad "0:1Gx" --numa 0:1Gx
bad "node 0 size" --numa 0:5000
bad "--chunk 3K" --chunk 3K
bad "--chunk 2G" --chunk 2G
bad "--chunk x" --chunk x
bad "--cma: node 0" --cma 0:2G
bad "--cma: no node 1" --cma 1:4M
bad "--cma: node 0" --cma 0:6K
bad "node 0" --numa 0:4M --chunk 1M --cma 0:512K
bad "'--bogus'" --bogus
bad "'-x'" -x
bad "'trace.txt'" trace.txt

cases=$((cases + 1))
out=$(printf 'alloc node=0 size=8M\nalloc node=0 size=1\n' | "$K" replay --numa 0:8M)
rc=$?
if [ $rc -ne 0 ] || [ "$(echo "$out" | sed -n 2p | cut -d' ' -f1-3)" != "err - ENOSPC" ]; then
	echo "FAIL: failed commands must still exit 0 (exit $rc): $out"
	fail=1
fi
echo "$cases cases"
exit $fail
