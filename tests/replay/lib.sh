# lib.sh - shared helpers of the replay shell tests (sourced).
# Each case writes $tmp/trace and $tmp/want, then calls `expect DESC ARGS...`
# which runs `kvmem replay ARGS < trace` and diffs stdout with want.
set -u
K=${1:?usage: $0 PATH-TO-KVMEM}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
cases=0

expect() {
	desc=$1
	shift
	cases=$((cases + 1))
	timeout 20 "$K" replay "$@" < "$tmp/trace" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if ! diff -u "$tmp/want" "$tmp/out" > "$tmp/diff"; then
		echo "FAIL: $desc"
		cat "$tmp/diff"
		fail=1
	elif [ "$rc" -ne 0 ]; then
		echo "FAIL: $desc: exit $rc, stderr: $(cat "$tmp/err")"
		fail=1
	else
		echo "ok: $desc"
	fi
}

finish() {
	echo "$cases cases"
	exit $fail
}
