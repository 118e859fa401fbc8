#!/usr/bin/env python3
"""Runs tests/integration/doctest_messages.cpp, whose checks fail on purpose, and compares the values
doctest prints with what docs/testing.md promises: numbers, `nullopt` for a lookup that
matched nothing, statuses and labels by name, never `{?}`.
Usage: doctest_messages.py PROGRAM"""
import subprocess
import sys

EXPECTED = [
    "values: CHECK( 2 == 0 )",
    "values: CHECK( nullopt == 1 )",
    "values: CHECK( idle == running )",
    "values: CHECK( idle == running )",
    'values: CHECK( name="RUNNER1" == name="RUNNER2" )',
]

run = subprocess.run([sys.argv[1], "--no-colors=true"], capture_output=True, text=True, timeout=60)
out = run.stdout + run.stderr
got = [line.strip() for line in out.splitlines() if line.strip().startswith("values:")]
problems = []
if run.returncode == 0:
    problems.append("the program's checks fail on purpose, yet it exited 0")
if "{?}" in out:
    problems.append("doctest printed {?} for a value")
if got != EXPECTED:
    problems.append("printed values differ:\n  expected: " + "\n            ".join(EXPECTED) +
                    "\n  got:      " + "\n            ".join(got))
for p in problems:
    print("FAIL:", p, file=sys.stderr)
if problems:
    print(out, file=sys.stderr)
    sys.exit(1)
print(f"{len(EXPECTED)} failure messages as documented")
