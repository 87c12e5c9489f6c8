#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/fs/name-race.sh KVMEM FS_WRITE NAME_RACE - two claims on one
# allocation name at once (mkdir vs `alloc name=X`, mkdir vs mkdir), raced
# by two threads of name-race.c ROUNDS times (KVMEM_RACE_ROUNDS, 10000):
# exactly one owner of the name every time.
KVMEM=$1 FS_WRITE=$2 NAME_RACE=$3
. "$(dirname "$0")/lib.sh"

serve --numa 0:256M
before=$(snapshot)
while IFS= read -r line; do
	case $line in
	ok*) ok "${line#ok [0-9] - }" ;;
	"not ok"*) not_ok "${line#not ok [0-9] - }" ;;
	"#"*) echo "$line" ;;
	esac
done < <("$NAME_RACE" "$M" "${KVMEM_RACE_ROUNDS:-10000}")
eq "every pool file as before" "$(snapshot)" "$before"
finish
