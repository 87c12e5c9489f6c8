#!/usr/bin/env bash
# domain.sh KVMEM XMLDIR EXAMPLE - `kvmem domain` and `kvmem run --domain`
# over the test domain XMLs (no KVM: nothing runs), TAP output.
#
# Each XMLDIR/NAME.xml comes with NAME.cmd (the exact command `kvmem domain`
# prints, exit 0, nothing on stderr) or NAME.err (exit 2, nothing on
# stdout, exactly one stderr line "kvmem domain: FILE: MESSAGE"; `kvmem run
# --domain FILE` fails the same way before anything runs, checked for one
# refusal of each step). @DIR@ in the files stands for a scratch directory
# holding the files they name (bzImage, initrd.cpio, flat.bin: empty, only
# their existence is checked; vda.img, vdb.img, vdc.img: 1 MiB disk images),
# @BLK@ for a block device of the machine (the case is skipped without one).
# Also: the printed commands survive the shell (quoting), options that
# describe the guest are refused beside --domain, usage errors, and
# EXAMPLE (examples/domain.xml) with its kernel, initrd and disk image in
# the scratch directory.
set -uo pipefail

(($# == 3)) || { echo "usage: domain.sh KVMEM XMLDIR EXAMPLE" >&2; exit 2; }
kvmem=$1 xmldir=$2 example=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/kvmem-domain.XXXXXX")
trap 'rm -rf "$dir"' EXIT
: >"$dir/bzImage" >"$dir/initrd.cpio" >"$dir/flat.bin"
truncate -s 1M "$dir/vda.img" "$dir/vdb.img" "$dir/vdc.img"
# @BLK@: a block device of this machine, for type='block' (none: skipped)
blk=$(find /dev -maxdepth 1 -type b -print -quit 2>/dev/null)

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /'; }

# run CMD...: status in $rc, streams in $dir/out and $dir/err
run() {
	rc=0
	timeout 30 "$@" >"$dir/out" 2>"$dir/err" </dev/null || rc=$?
}

# expect_fail DESC WANT-LINE CMD...: exit 2, no stdout, stderr = WANT-LINE
expect_fail() {
	local desc=$1 want=$2
	shift 2
	run "$@"
	if ((rc == 2)) && [[ ! -s $dir/out && $(wc -l <"$dir/err") == 1 &&
		$(cat "$dir/err") == "$want" ]]; then
		ok "$desc"
	else
		notok "$desc: status $rc (want 2)"
		{ echo "want: $want"; echo "got:"; cat "$dir/err" "$dir/out"; } | diag
	fi
}

for xml in "$xmldir"/*.xml; do
	name=$(basename "$xml" .xml)
	f=$dir/$name.xml
	if [[ -z $blk ]] && grep -q @BLK@ "$xml"; then
		n=$((n + 1))
		echo "ok $n - $name # SKIP no block device in /dev"
		continue
	fi
	sed -e "s|@DIR@|$dir|g" -e "s|@BLK@|$blk|g" "$xml" >"$f"
	if [[ -e $xmldir/$name.cmd ]]; then
		want=$(sed -e "s|@DIR@|$dir|g" -e "s|@BLK@|$blk|g" "$xmldir/$name.cmd")
		run "$kvmem" domain "$f"
		if ((rc == 0)) && [[ ! -s $dir/err && $(cat "$dir/out") == "$want" ]]; then
			ok "$name: $(cat "$dir/out")"
		else
			notok "$name: status $rc"
			{ echo "want: $want"; echo "got:"; cat "$dir/out" "$dir/err"; } | diag
		fi
	elif [[ -e $xmldir/$name.err ]]; then
		msg=$(sed "s|@DIR@|$dir|g" "$xmldir/$name.err")
		expect_fail "$name: $msg" "kvmem domain: $f: $msg" "$kvmem" domain "$f"
		# one refusal from each step: libxml2, libvirt, the table, the
		# cross-element checks, the host, the vCPU placement
		case $name in
		malformed | schema | disk-qcow2 | memory-sum | missing-kernel | host-node | disk-missing | placement)
			expect_fail "$name: kvmem run --domain fails the same way" \
				"kvmem run: --domain $f: $msg" "$kvmem" run --domain "$f" --mount "$dir/mnt"
		esac
	else
		notok "$name: neither $name.cmd nor $name.err"
	fi
done

# The printed command is shell words: the command line comes back whole.
run "$kvmem" domain "$dir/one-node-bound.xml"
eval "set -- $(cat "$dir/out")"
while (($#)) && [[ $1 != --cmdline ]]; do shift; done
if [[ ${2:-} == "console=ttyS0 quiet it's=\"a b\"" ]]; then
	ok "quoting: --cmdline comes back as one word, quotes and all"
else
	notok "quoting: --cmdline came back as '${2:-}'"
fi

# Options that describe the guest are the XML's alone.
for opt in "--kernel $dir/bzImage" "--initrd $dir/initrd.cpio" "--cmdline x" \
	"--flat $dir/flat.bin@0x100000" "--cpus 2" "--numa 0:256M" "--mem 256M" \
	"--cma 0:16M" "--headroom 0:16M" "--hugepages" "--name x" "--rng" \
	"--disk $dir/disk.img" "--balloon off"; do
	o=${opt%% *}
	# shellcheck disable=SC2086 # the option and its value are two words
	expect_fail "$o refused beside --domain" \
		"kvmem run: ${o}: not with --domain (the domain XML describes the guest)" \
		"$kvmem" run --domain "$dir/minimal.xml" $opt
done
expect_fail "--domain twice" "kvmem run: --domain: given twice" \
	"$kvmem" run --domain "$dir/minimal.xml" --domain "$dir/minimal.xml"
expect_fail "--domain of a missing file" \
	"kvmem run: --domain $dir/none.xml: No such file or directory" \
	"$kvmem" run --domain "$dir/none.xml"
expect_fail "kvmem domain without a file" \
	"kvmem domain: expected one FILE.xml (try kvmem domain --help)" "$kvmem" domain
expect_fail "kvmem domain with two files" \
	"kvmem domain: expected one FILE.xml (try kvmem domain --help)" \
	"$kvmem" domain "$dir/minimal.xml" "$dir/minimal.xml"
expect_fail "kvmem domain of a directory" \
	"kvmem domain: $dir: not a regular file of at most 1048576 bytes" "$kvmem" domain "$dir"
run "$kvmem" domain --help
if ((rc == 0)) && grep -q '^usage: kvmem domain FILE.xml' "$dir/out"; then
	ok "kvmem domain --help"
else
	notok "kvmem domain --help: status $rc"
fi

# examples/domain.xml, with its kernel, initrd and disk image here.
sed -e "s|<kernel>[^<]*</kernel>|<kernel>$dir/bzImage</kernel>|" \
	-e "s|<initrd>[^<]*</initrd>|<initrd>$dir/initrd.cpio</initrd>|" \
	-e "s|<source file='[^']*'/>|<source file='$dir/vda.img'/>|" "$example" >"$dir/example.xml"
want="kvmem run --kernel $dir/bzImage --initrd $dir/initrd.cpio --cmdline 'console=ttyS0 quiet' --cpus 2 --numa 0:512M,1:512M --cma 1:64M --console stdio --name numa-demo --rng --disk $dir/vda.img"
run "$kvmem" domain "$dir/example.xml"
if ((rc == 0)) && [[ $(cat "$dir/out") == "$want" ]]; then
	ok "examples/domain.xml: $want"
else
	notok "examples/domain.xml: status $rc"
	{ echo "want: $want"; cat "$dir/out" "$dir/err"; } | diag
fi

echo "1..$n"
((failed == 0))
