#!/usr/bin/env python3
"""Every fenced code block of README.md and docs/*.md is checked by running it, the way a
reader would use it, in a scratch directory:

  cpp    compiled against include/ ({fmt} header-only, -Wall -Wextra -Wpedantic -Werror) and
         run. A block with main() is a program; one with TEST_CASE a doctest file; one with
         #include lines but neither is a file of the reader's code, compiled only; any other
         is the body of main() after #include <anklet/metrics.hpp>.
  sh     run with bash -eu in the reader's project (main.cpp there is
         examples/consumers/consumer.cpp; third_party/anklet-metrics is the library).
  ini    a wrap file: read as ini (no inline comments), then used by the next meson block.
  meson  a meson.build, configured, built and its program run; with a wrap just before it,
         through that wrap (a git clone of the library); without project(), one is put
         before it and the installed library is found through pkg-config.
  make   a Makefile, run with make against the installed library, then its program.
  cmake  a CMakeLists.txt, configured and built against the installed library, then run.
  yaml   parsed; a Prometheus configuration (scrape_configs) also by `promtool check config`.
  json   parsed.
A block without a language is text (output, diagrams, flag lists) and is not run.

The docs name a few places a reader would pick; the check maps them into the scratch
directory: the prefix /opt/anklet-metrics, the wrap's url https://example.invalid/...

An HTML comment on the line before a block changes how it is checked:
  <!-- snippet: skip REASON -->          not run at all (keep these rare, say why)
  <!-- snippet: compile-only REASON -->  cpp: compiled, not run
  <!-- snippet: expect REGEX -->         stdout has a line matching REGEX (repeatable)
  <!-- snippet: after-previous -->       cpp: the previous cpp block of the file comes first
  <!-- snippet: in-library -->           sh: run in the library's checkout, not the project
  <!-- snippet: compiles-nothing -->     sh: afterwards no object file exists in the checkout

Usage: doc_snippets.py ROOT --cxx CXX [--promtool PROMTOOL] [--keep] [FILE...]
"""
import argparse
import configparser
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\S*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*snippet:\s*([a-z-]+)\s*(.*?)\s*-->\s*$")
KNOWN_DIRECTIVES = {"skip", "compile-only", "expect", "after-previous", "in-library", "compiles-nothing"}
NEEDS_REASON = {"skip", "compile-only", "expect"}
LANGUAGES = {"", "cpp", "sh", "ini", "meson", "make", "cmake", "yaml", "json"}
DOC_PREFIX = "/opt/anklet-metrics"
DOC_WRAP_URL = "https://example.invalid/anklet-metrics.git"
CXXFLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-DFMT_HEADER_ONLY", "-pthread"]


class SnippetError(Exception):
    pass


def blocks_of(path):
    """[(line, language, code, [(directive, argument)])] in document order."""
    lines = path.read_text(encoding="utf-8").split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            raise SnippetError(f"{path}:{start + 1}: unclosed code block")
        directives, k = [], start - 1
        while k >= 0 and DIRECTIVE.match(lines[k]):
            d = DIRECTIVE.match(lines[k])
            directives.insert(0, (d.group(1), d.group(2)))
            k -= 1
        out.append((start + 1, lang, "\n".join(lines[start + 1:j]) + "\n", directives))
        i = j + 1
    return out


def run(cmd, cwd, env=None, what=None, timeout=600):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise SnippetError(f"{what or ' '.join(map(str, cmd))} exited {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


class Checker:
    def __init__(self, root, cxx, promtool, work):
        self.root, self.cxx, self.promtool, self.work = root, cxx, promtool, work
        self.lib = work / "anklet-metrics"
        self.prefix = work / "prefix"
        self.env = dict(os.environ)
        self.env.pop("DESTDIR", None)
        self.pending_wrap = None
        self.previous_cpp = None
        self.n = 0
        self.make_library_repo()

    def make_library_repo(self):
        # The working tree as committed plus what is not yet committed, as a git repository
        # of its own: the wrap clones it, the install snippet builds in it.
        files = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], self.root).split("\0")
        for f in filter(None, files):
            src = self.root / f
            if src.is_file():
                dst = self.lib / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        git = ["git", "-c", "user.name=doc snippets", "-c", "user.email=doc@snippets.invalid"]
        run(git + ["init", "-q", "-b", "main"], self.lib)
        run(git + ["add", "-A"], self.lib)
        run(git + ["commit", "-q", "-m", "snapshot for the doc snippets"], self.lib)

    def map_places(self, code):
        return code.replace(DOC_PREFIX, str(self.prefix)).replace(DOC_WRAP_URL, "file://" + str(self.lib))

    def fresh(self, kind):
        self.n += 1
        d = self.work / f"{self.n:02d}-{kind}"
        d.mkdir()
        shutil.copy(self.root / "examples" / "consumers" / "consumer.cpp", d / "main.cpp")
        return d

    def installed_env(self):
        pcs = list(self.prefix.rglob("anklet-metrics.pc"))
        if not pcs:
            raise SnippetError(f"no installed library under {DOC_PREFIX}: an install snippet must come first")
        env = dict(self.env)
        env["PKG_CONFIG_PATH"] = str(pcs[0].parent)
        return env

    def run_program(self, exe, directives, cwd):
        out = run([str(exe)], cwd, self.env, what=exe.name, timeout=120)
        for regex in (a for d, a in directives if d == "expect"):
            if not re.search(regex, out, re.M):
                raise SnippetError(f"no output line matches {regex!r}; output:\n{out}")
        return out

    # One method per language.
    def check_cpp(self, code, directives):
        d = self.fresh("cpp")
        if any(k == "after-previous" for k, _ in directives):
            if self.previous_cpp is None:
                raise SnippetError("after-previous, but no cpp block before it")
            code = self.previous_cpp + code
        self.previous_cpp = code
        if "TEST_CASE" in code:
            source = "#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN\n#include <doctest/doctest.h>\n" + code
        elif re.search(r"\bint\s+main\s*\(", code):
            source = code
        elif re.search(r"^#include", code, re.M):
            # A file of the reader's own code (a class, no program): compiled, not linked.
            (d / "snippet.cpp").write_text(code, encoding="utf-8")
            run([self.cxx, *CXXFLAGS, f"-I{self.lib / 'include'}", "-c", "snippet.cpp"], d, self.env, what="compiling")
            return
        else:
            source = "#include <anklet/metrics.hpp>\nint main() {\n" + code + "}\n"
        (d / "snippet.cpp").write_text(source, encoding="utf-8")
        run([self.cxx, *CXXFLAGS, f"-I{self.lib / 'include'}", "snippet.cpp", "-o", "snippet"], d, self.env,
            what="compiling")
        if not any(k == "compile-only" for k, _ in directives):
            self.run_program(d / "snippet", directives, d)

    def check_sh(self, code, directives):
        if any(k == "in-library" for k, _ in directives):
            d = self.lib
        else:
            d = self.fresh("sh")
            (d / "third_party").mkdir()
            (d / "third_party" / "anklet-metrics").symlink_to(self.lib)
        (self.work / f"snippet-{self.n}.sh").write_text(self.map_places(code), encoding="utf-8")
        run(["bash", "-eu", str(self.work / f"snippet-{self.n}.sh")], d, self.env, what="the commands")
        if any(k == "compiles-nothing" for k, _ in directives):
            objects = [str(p.relative_to(d)) for p in d.rglob("*.o")]
            if objects:
                raise SnippetError(f"compiled {len(objects)} object files, e.g. {objects[0]}")

    def check_ini(self, code, directives):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str
        parser.read_string(code)
        for section in parser.sections():
            for key, value in parser[section].items():
                # Meson reads wrap files without inline comments: a '#' is part of the value.
                if re.search(r"\s[#;]", value) or any(c.isspace() for c in value.strip()):
                    raise SnippetError(f"[{section}] {key} = {value!r}: the value has spaces or an inline comment")
        if parser.has_section("wrap-git"):
            for key in ("url", "revision"):
                if not parser.has_option("wrap-git", key):
                    raise SnippetError(f"[wrap-git] has no {key}")
            self.pending_wrap = code

    def check_meson(self, code, directives):
        d = self.fresh("meson")
        env = self.env
        if "project(" in code:
            if self.pending_wrap is None:
                raise SnippetError("a whole meson.build, but no wrap block before it to take the library from")
            (d / "subprojects").mkdir()
            (d / "subprojects" / "anklet-metrics.wrap").write_text(self.map_places(self.pending_wrap))
            self.pending_wrap = None
        else:
            code = "project('my-tool', 'cpp', default_options : ['cpp_std=c++20'])\n" + code
            env = self.installed_env()
        (d / "meson.build").write_text(code, encoding="utf-8")
        run(["meson", "setup", "build"], d, env, what="meson setup")
        run(["ninja", "-C", "build", "-j2"], d, env, what="ninja")  # runs beside other tests
        if (d / "subprojects" / "anklet-metrics.wrap").exists() and not (d / "subprojects" / "anklet-metrics" / "meson.build").exists():
            raise SnippetError("the wrap did not fetch the library")
        self.run_single_program(d / "build", directives, d)

    def check_make(self, code, directives):
        d = self.fresh("make")
        (d / "Makefile").write_text(code, encoding="utf-8")
        run(["make", "-s"], d, self.installed_env(), what="make")
        self.run_single_program(d, directives, d)

    def check_cmake(self, code, directives):
        d = self.fresh("cmake")
        (d / "CMakeLists.txt").write_text(code, encoding="utf-8")
        run(["cmake", "-S", ".", "-B", "build", f"-DCMAKE_PREFIX_PATH={self.prefix}"], d, self.env, what="cmake")
        run(["cmake", "--build", "build"], d, self.env, what="cmake --build")
        self.run_single_program(d / "build", directives, d)

    def run_single_program(self, where, directives, cwd):
        # The snippets build `my-tool` from the consumer program, which checks itself.
        exe = where / "my-tool"
        if not exe.exists():
            raise SnippetError(f"no program my-tool in {where}")
        self.run_program(exe, directives, cwd)

    def check_yaml(self, code, directives):
        import yaml  # python3-yaml
        doc = yaml.safe_load(code)
        if isinstance(doc, dict) and "scrape_configs" in doc:
            if not self.promtool:
                raise SnippetError("a Prometheus configuration, but no promtool to check it")
            path = self.work / f"prometheus-{self.n}.yml"
            path.write_text(code, encoding="utf-8")
            run([self.promtool, "check", "config", str(path)], self.work, self.env, what="promtool check config")

    def check_json(self, code, directives):
        json.loads(code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--cxx", default="c++")
    ap.add_argument("--promtool")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("files", nargs="*")
    args = ap.parse_intermixed_args()
    root = pathlib.Path(args.root).resolve()
    files = [pathlib.Path(f).resolve() for f in args.files] or [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    work = pathlib.Path(tempfile.mkdtemp(prefix="doc_snippets."))
    checked = skipped = text = 0
    failures = []
    try:
        checker = Checker(root, args.cxx, args.promtool, work)
        for path in files:
            checker.pending_wrap = checker.previous_cpp = None
            rel = path.relative_to(root) if path.is_relative_to(root) else path
            for line, lang, code, directives in blocks_of(path):
                where = f"{rel}:{line} ({lang or 'text'})"
                try:
                    for d, a in directives:
                        if d not in KNOWN_DIRECTIVES:
                            raise SnippetError(f"unknown directive '{d}'")
                        if d in NEEDS_REASON and not a:
                            raise SnippetError(f"'{d}' needs a {'regex' if d == 'expect' else 'reason'}")
                    if lang not in LANGUAGES:
                        raise SnippetError(f"language '{lang}' has no check; tag it as one of {sorted(LANGUAGES - {''})}")
                    if any(d == "skip" for d, _ in directives):
                        skipped += 1
                        print(f"skip {where}: {dict(directives)['skip']}")
                        continue
                    if not lang:
                        text += 1
                        continue
                    getattr(checker, "check_" + lang)(code, directives)
                    checked += 1
                    print(f"ok   {where}")
                except (SnippetError, configparser.Error, ValueError, subprocess.TimeoutExpired) as e:
                    failures.append(where)
                    print(f"FAIL {where}: {e}", file=sys.stderr)
                except Exception as e:  # a YAML error, a missing tool
                    failures.append(where)
                    print(f"FAIL {where}: {type(e).__name__}: {e}", file=sys.stderr)
    finally:
        if args.keep:
            print(f"scratch directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{checked} snippets checked, {len(failures)} failed, {skipped} skipped as marked, {text} text blocks")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
