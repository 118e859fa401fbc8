#!/usr/bin/env python3
"""The flags each program lists in --help are the flags docs/http.md lists for it, no more
and no fewer: the first text block after the heading "The exporter program", and the first
after "The aggregator program".
Usage: program_flags.py DOC EXPORTER AGGREGATOR"""
import re
import subprocess
import sys

HEADINGS = {"exporter": "## The exporter program", "aggregator": "## The aggregator program"}


def help_flags(program):
    out = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=30, check=True).stdout
    return {m.group(1) for m in re.finditer(r"^\s{1,8}(--[a-z][a-z-]*)", out, re.M)}


def doc_flags(doc, heading):
    start = doc.find("\n" + heading + "\n")
    if start < 0:
        raise SystemExit(f"FAIL: no heading '{heading}' in the doc")
    block = re.search(r"^```\n(.*?)^```$", doc[start:], re.M | re.S)
    if not block:
        raise SystemExit(f"FAIL: no text block after '{heading}'")
    return {m.group(1) for m in re.finditer(r"^(--[a-z][a-z-]*)", block.group(1), re.M)}


def main():
    doc = open(sys.argv[1], encoding="utf-8").read()
    failed = False
    for (name, heading), program in zip(HEADINGS.items(), sys.argv[2:4]):
        in_help, in_doc = help_flags(program), doc_flags(doc, heading)
        if not in_help:
            print(f"FAIL: {name} --help lists no flags", file=sys.stderr)
            failed = True
        for f in sorted(in_help - in_doc):
            print(f"FAIL: {name}: {f} is in --help but not in the doc", file=sys.stderr)
            failed = True
        for f in sorted(in_doc - in_help):
            print(f"FAIL: {name}: {f} is in the doc but not in --help", file=sys.stderr)
            failed = True
        if in_help == in_doc:
            print(f"{name}: {len(in_help)} flags, the same in --help and in the doc")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
