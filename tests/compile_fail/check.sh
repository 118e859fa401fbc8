#!/bin/sh
# Usage: check.sh REGEX SOURCE INCLUDE_DIR COMPILER [ARGS...]
# Passes when SOURCE compiles with -DANKLET_COMPILE_FAIL_CONTROL, fails to compile
# without it, and the compiler's diagnostics match the extended REGEX.
set -u
regex=$1 source=$2 include=$3
shift 3
flags="-std=c++20 -fsyntax-only -I$include"

if ! "$@" $flags -DANKLET_COMPILE_FAIL_CONTROL "$source"; then
  echo "FAIL: the control build (a valid transport) does not compile" >&2
  exit 1
fi
out=$("$@" $flags "$source" 2>&1)
if [ $? -eq 0 ]; then
  echo "FAIL: $source compiled, but it should have been rejected" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq "$regex"; then
  printf '%s\n' "$out" | head -n 40 >&2
  echo "FAIL: the compiler rejected $source without a diagnostic matching /$regex/" >&2
  exit 1
fi
echo "rejected as expected; diagnostic matching /$regex/:"
printf '%s\n' "$out" | grep -E "$regex" | head -n 3
