#!/usr/bin/env python3
"""Every public header compiles on its own, and so does the example in its doc comments,
with each given compiler at the strict flags users build with (docs/getting-started.md).

An example is a comment block that starts with a line `// Example:` (or `/// Example:`)
followed by lines of the same comment prefix indented by at least two more spaces:

    // Example:
    //   anklet::metrics::store metrics;
    //   ...

Its `#include` lines go to the top of the translation unit, after the header, which comes first
(so the example's unit also checks that the header compiles on its own);
an example with a TEST_CASE is a doctest file, any other is the body of main(). Examples are
compiled, not run: they bind ports and connect to Redis. Indented code in a header comment
without the marker fails the check, so that no example escapes it.

Usage: header_check.py --include DIR [--work DIR] [--only-examples] COMPILER...
"""
import argparse
import concurrent.futures
import pathlib
import re
import subprocess
import sys
import tempfile

STRICT_FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wsign-conversion",
                "-Wshadow", "-Werror", "-DFMT_HEADER_ONLY", "-pthread"]

COMMENT = re.compile(r"^(\s*//+)(.*)$")
# Lines that read as C++ statements: a declaration with an initializer or a call ending in ';'.
CODE_LIKE = re.compile(r"^[A-Za-z_][\w:<>, ]*\s[\w]+\s*[({=].*;\s*(//.*)?$|[\w\]\)]+(\.|->)\w+\(.*\);\s*(//.*)?$")


def examples_of(text):
    """[(line number, example text)] and [(line number, line)] of unmarked indented code."""
    lines = text.split("\n")
    examples, unmarked = [], []
    i = 0
    while i < len(lines):
        m = COMMENT.match(lines[i])
        if m and m.group(2).strip() == "Example:":
            prefix = m.group(1)
            body, j = [], i + 1
            while j < len(lines) and lines[j].startswith(prefix + "  ") and COMMENT.match(lines[j]):
                body.append(lines[j][len(prefix):])
                j += 1
            if not body:
                raise SystemExit(f"line {i + 1}: 'Example:' with no indented code after it")
            indent = min(len(b) - len(b.lstrip()) for b in body if b.strip())
            examples.append((i + 1, "\n".join(b[indent:] for b in body)))
            i = j
            continue
        if m and m.group(2).startswith("   ") and CODE_LIKE.search(m.group(2).strip()):
            unmarked.append((i + 1, lines[i].strip()))
        i += 1
    return examples, unmarked


def example_tu(header, example):
    includes = [l for l in example.split("\n") if l.startswith("#include")]
    body = "\n".join(l for l in example.split("\n") if not l.startswith("#include"))
    head = f'#include "{header}"\n' + "".join(i + "\n" for i in includes)
    if "TEST_CASE" in body:
        return ("#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN\n" + head + "#include <doctest/doctest.h>\n"
                + body + "\n")
    return head + "int main() {\n" + body + "\n}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--include", required=True)
    ap.add_argument("--work")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("compilers", nargs="+")
    args = ap.parse_args()
    include = pathlib.Path(args.include).resolve()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="header_check."))
    work.mkdir(parents=True, exist_ok=True)

    jobs, problems = [], []
    headers = sorted(include.rglob("*.hpp"))
    if not headers:
        problems.append(f"no headers under {include}")
    n_examples = 0
    for h in headers:
        rel = h.relative_to(include).as_posix()
        try:
            examples, unmarked = examples_of(h.read_text(encoding="utf-8"))
        except SystemExit as e:
            problems.append(f"{rel}: {e}")
            continue
        for line, code in unmarked:
            problems.append(f"{rel}:{line}: code in a comment without an 'Example:' line before it: {code}")
        stem = re.sub(r"\W", "_", rel)
        # An example's translation unit includes its header first, so it checks that the
        # header compiles on its own as well: a header with examples needs no other unit.
        tus = [] if examples else [(f"{rel} on its own", f'#include "{rel}"\n', f"{stem}.cpp")]
        for k, (line, example) in enumerate(examples):
            n_examples += 1
            tus.append((f"{rel}:{line} example (and the header on its own)", example_tu(rel, example),
                        f"{stem}_example{k}.cpp"))
        for what, source, name in tus:
            (work / name).write_text(source, encoding="utf-8")
            for cxx in args.compilers:
                jobs.append((what, cxx, work / name))

    def run(job):
        what, cxx, path = job
        cmd = [cxx, *STRICT_FLAGS, f"-I{include}", "-fsyntax-only", str(path)]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError:
            return job, 127, f"compiler {cxx} not found (both g++ and clang++ are needed)"
        return job, r.returncode, r.stderr

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for (what, cxx, path), rc, err in pool.map(run, jobs):
            if rc != 0:
                failed += 1
                print(f"FAIL {what} with {cxx} ({path}):\n{err}", file=sys.stderr)
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    print(f"{len(headers)} headers and {n_examples} examples, {len(args.compilers)} compilers: "
          f"{len(jobs) - failed} compiled, {failed} failed, {len(problems)} other problems")
    return 1 if failed or problems or not jobs else 0


if __name__ == "__main__":
    sys.exit(main())
