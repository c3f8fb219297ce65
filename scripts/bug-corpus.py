#!/usr/bin/env python3
"""Measure cargo-lockstep's recall on real, fixed upstream bugs.

Reads the corpus `docs/corpus/bugs.toml` (one `[[bug]]` table per upstream fix commit). For each
case the WHOLE repository is materialised twice from a local bare mirror, at the parent of the fix
(`fix^`) and at the fix itself, and cargo-lockstep is run on the case's package the way a user
runs it:

    cargo-lockstep lockstep --manifest-path <tree>/<manifest> [-p <package> | --workspace] \
        [--features <features>] --no-cache --message-format json

with a wall-clock timeout and an address-space limit. A case is

* FOUND   when, at `fix^`, a finding of the case's lint has a primary span inside the buggy
          function, and at `fix` no finding of that lint remains in that function;
* MISSED  otherwise (no such finding before the fix, or one is still there after it); a
          finding that names the function only as a secondary (labelled) site is not counted,
          but is mentioned in the reason;
* ERROR   when the trees cannot be made, `cargo metadata` fails, or the tool times out, runs out
          of memory or exits with a status other than 0 or 1.

The function's line range is found by parsing the file for `fn <name>` (the last segment of the
case's `function`) and matching its braces; the definition whose range contains the start of the
case's `lines` is the one used. After the fix, the definition of the same name that is closest to
the parent's position in the same file is used (none left: nothing can remain in it).

Mirrors are bare git repositories at `$MIRRORS/<owner>+<name>/repo` (default `/work/.mirror`),
the layout the corpus was collected with. Submodules are filled in from their own mirrors when
those exist (a submodule without a mirror stays empty and is named in the result); blobs that a
mirror lacks (snapshots leave out files of several MiB, e.g. data tables) are left out. Nothing is fetched from the network, nothing is built
and no build script runs: the tool reads sources only. The tool and `cargo metadata` run with the
scratch directory as their working directory, so a `rust-toolchain.toml` inside a materialised
tree does not make rustup look for its (dated, usually not installed) toolchain; a tree that pins
a nightly channel is analysed with `RUSTUP_TOOLCHAIN=nightly` instead, since its manifest may use
`cargo-features` that stable cargo refuses to parse.

Usage:
    scripts/bug-corpus.py [--tool PATH] [--only ID ...] [--json OUT] [--md OUT]
                          [--corpus FILE] [--scratch DIR] [--keep] [--timeout S]
                          [--mem-limit-mb N] [--stats]

Python 3.11 or later (tomllib); standard library only, plus `git` and `tar` on PATH.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = [
    "double_lock",
    "lock_order_inversion",
    "blocking_under_spinlock",
    "irq_unsafe_lock",
    "unreleased_lock",
    "resource_leak",
    "seq_compare",
    "seq_arith",
    "isn_not_monotonic",
]
REQUIRED = ["id", "repo", "fix", "class", "package", "manifest", "files", "function", "lines",
            "description"]


# ---------------------------------------------------------------------------------------------
# Corpus


def load_corpus(path):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    bugs = data.get("bug", [])
    seen = set()
    for b in bugs:
        for k in REQUIRED:
            if k not in b:
                sys.exit(f"{path}: case {b.get('id', '?')}: missing key `{k}`")
        if b["id"] in seen:
            sys.exit(f"{path}: duplicate id {b['id']}")
        seen.add(b["id"])
        if b["class"] not in CLASSES:
            sys.exit(f"{path}: case {b['id']}: unknown class {b['class']}")
        if not re.fullmatch(r"[0-9a-f]{40}", b["fix"]):
            sys.exit(f"{path}: case {b['id']}: `fix` must be 40 hex digits")
        if not re.fullmatch(r"\d+-\d+", b["lines"]):
            sys.exit(f"{path}: case {b['id']}: `lines` must be \"start-end\"")
    return bugs


# ---------------------------------------------------------------------------------------------
# Locating a function in Rust source: a small lexer that blanks out comments, strings and
# character literals (keeping line breaks), then brace matching.


def blank_non_code(src):
    """Return `src` with comments, string and char literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(src)

    def keep_newlines(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth += 1
                    j += 2
                elif src.startswith("*/", j):
                    depth -= 1
                    j += 2
                else:
                    j += 1
            out.append(keep_newlines(src[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', src[i:i + 258]) and not (
                i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = '"' + m.group(1)
            j = src.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(keep_newlines(src[i:j]))
            i = j
        elif c == "b" and src.startswith('b"', i) and not (
                i > 0 and (src[i - 1].isalnum() or src[i - 1] == "_")):
            out.append(" ")
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(keep_newlines(src[i:j]))
            i = j
        elif c == "'":
            # char literal ('x', '\n', '\u{..}') or a lifetime ('a)
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", src[i:i + 16])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_ranges(src, name):
    """Every definition `fn name` in `src` as (start_line, end_line), 1-based, inclusive."""
    code = blank_non_code(src)
    nl = [m.start() for m in re.finditer("\n", code)]  # offsets of line breaks

    def line(off):
        lo, hi = 0, len(nl)
        while lo < hi:
            mid = (lo + hi) // 2
            if nl[mid] < off:
                lo = mid + 1
            else:
                hi = mid
        return lo + 1

    out = []
    for m in re.finditer(r"\bfn\s+" + re.escape(name) + r"\b", code):
        # the body starts at the first `{` after the signature at bracket depth 0; a `;` first
        # means a declaration without a body (trait method, extern fn)
        j, depth = m.end(), 0
        body = None
        while j < len(code):
            ch = code[j]
            if ch in "([<":
                # `<` of generics; `->` is skipped below so that `>` of it is not counted
                depth += 1
            elif ch in ")]>":
                if ch == ">" and code[j - 1] == "-":
                    pass
                else:
                    depth = max(0, depth - 1)
            elif ch == "{" and depth == 0:
                body = j
                break
            elif ch == ";" and depth == 0:
                break
            j += 1
        if body is None:
            continue
        depth, k = 0, body
        while k < len(code):
            if code[k] == "{":
                depth += 1
            elif code[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        # from the line of `fn` (qualifiers such as `pub async unsafe` are on it) to the `}`
        out.append((line(m.start()), line(k)))
    return out


def pick_range(ranges, start_line):
    inside = [r for r in ranges if r[0] <= start_line <= r[1]]
    if inside:
        # the innermost one (a nested fn of the same name is unlikely, but be exact)
        return min(inside, key=lambda r: r[1] - r[0])
    return None


def nearest_range(ranges, line):
    if not ranges:
        return None
    return min(ranges, key=lambda r: abs(r[0] - line))


# ---------------------------------------------------------------------------------------------
# Git and processes


def git(mirror, *args, check=True):
    p = subprocess.run(["git", "--git-dir", str(mirror), *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def extract(mirror, rev, dest):
    """Write the tree of `rev` to `dest`. `git archive` first; a snapshot that lacks some blobs
    (mirrors leave out files of several MiB, such as data tables) is written file by file,
    leaving those out. Returns the paths left out."""
    archive = subprocess.Popen(["git", "--git-dir", str(mirror), "archive", "--format=tar", rev],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout,
                         capture_output=True)
    archive.stdout.close()
    err = archive.stderr.read().decode(errors="replace")
    if archive.wait() == 0 and tar.returncode == 0:
        return []
    if "invalid object" not in err and "missing" not in err:
        raise RuntimeError(f"git archive {rev}: {err.strip() or tar.stderr.decode().strip()}")
    # file by file through one `git cat-file --batch`
    entries = []
    for rec in git(mirror, "ls-tree", "-r", "-z", "--full-tree", rev).split("\0"):
        if not rec:
            continue
        meta, path = rec.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob":
            entries.append((mode, sha, path))
    missing = []
    cat = subprocess.Popen(["git", "--git-dir", str(mirror), "cat-file", "--batch"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for mode, sha, path in entries:
        cat.stdin.write(sha.encode() + b"\n")
        cat.stdin.flush()
        header = cat.stdout.readline().decode().split()
        if len(header) < 3 or header[1] == "missing":
            missing.append(path)
            continue
        data = cat.stdout.read(int(header[2]))
        cat.stdout.read(1)  # the newline after the content
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            if not target.exists() and not target.is_symlink():
                os.symlink(data.decode(errors="replace"), target)
        else:
            target.write_bytes(data)
            if mode == "100755":
                target.chmod(0o755)
    cat.stdin.close()
    cat.wait()
    return missing


def parse_gitmodules(text):
    """{path: url} from a .gitmodules file."""
    out, cur = {}, {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            if "path" in cur and "url" in cur:
                out[cur["path"]] = cur["url"]
            cur = {}
        elif "=" in line:
            k, v = line.split("=", 1)
            cur[k.strip()] = v.strip()
    if "path" in cur and "url" in cur:
        out[cur["path"]] = cur["url"]
    return out


def github_repo_of(url, parent_repo):
    """owner/name of a submodule URL (absolute GitHub URL or relative to the superproject)."""
    if url.startswith("../") or url.startswith("./"):
        base = ["github.com"] + parent_repo.split("/")
        for part in url.split("/"):
            if part == "..":
                base.pop()
            elif part not in (".", ""):
                base.append(part)
        url = "https://" + "/".join(base)
    m = re.search(r"github\.com[:/]+([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def materialise(mirrors, repo, rev, dest, depth=0):
    """The whole tree of `rev` at `dest`, with the submodules whose repository has a mirror
    (reused when a previous run left it complete). Returns notes on what is left out."""
    mirror = Path(mirrors) / repo.replace("/", "+") / "repo"
    marker = dest / ".bug-corpus-rev"
    if depth == 0 and marker.exists() and marker.read_text().split("\n")[0].strip() == rev:
        return marker.read_text().split("\n")[1:-1]
    if dest.exists() and depth == 0:
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    notes = [f"{repo}: left out {p}" for p in extract(mirror, rev, dest)]
    gitlinks = []
    for rec in git(mirror, "ls-tree", "-r", "-z", "--full-tree", rev).split("\0"):
        if rec and rec.split()[0] == "160000":
            meta, path = rec.split("\t", 1)
            gitlinks.append((path, meta.split()[2]))
    if gitlinks:
        urls = parse_gitmodules(git(mirror, "show", f"{rev}:.gitmodules", check=False))
        for path, sha in gitlinks:
            sub = github_repo_of(urls.get(path, ""), repo)
            sub_mirror = Path(mirrors) / (sub or "?").replace("/", "+") / "repo"
            ok = sub and sub_mirror.exists() and subprocess.run(
                ["git", "--git-dir", str(sub_mirror), "cat-file", "-e", sha + "^{commit}"],
                capture_output=True).returncode == 0
            if not ok or depth >= 3:
                notes.append(f"{repo}: submodule {path} ({sub or urls.get(path, '?')} "
                             f"{sha[:10]}) not available")
                continue
            notes += materialise(mirrors, sub, sha, dest / path, depth + 1)
    if depth == 0:
        marker.write_text(rev + "\n" + "".join(n + "\n" for n in notes))
    return notes


def limit_memory(mb):
    def f():
        os.setsid()
        if mb:
            b = mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (b, b))
    return f


def run_limited(cmd, cwd, timeout, mem_mb, env=None):
    """(returncode, stdout, stderr, seconds); returncode None on timeout."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=limit_memory(mem_mb), env=env)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the tool and the cargo it started, nothing else
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        rc = None
    return rc, out.decode(errors="replace"), err.decode(errors="replace"), \
        time.monotonic() - start


# ---------------------------------------------------------------------------------------------
# One case


class CaseError(Exception):
    pass


def pinned_channel(tree, manifest):
    """The channel of the nearest rust-toolchain(.toml) from the manifest's directory up to the
    tree root, or None."""
    d = manifest.parent
    while True:
        for name in ("rust-toolchain.toml", "rust-toolchain"):
            f = d / name
            if f.is_file():
                text = f.read_text(errors="replace")
                try:
                    return tomllib.loads(text).get("toolchain", {}).get("channel")
                except tomllib.TOMLDecodeError:
                    return text.strip().splitlines()[0].strip() if text.strip() else None
        if d == tree or d == d.parent:
            return None
        d = d.parent


def toolchain_env(tree, manifest):
    """Environment for cargo: a tree that pins a nightly toolchain (its manifest may use
    `cargo-features`, which stable cargo rejects) gets the installed `nightly`, as the pinned
    dated nightly cannot be downloaded here. Anything else uses the default toolchain."""
    env = dict(os.environ)
    ch = pinned_channel(tree, manifest)
    if ch and ch.startswith("nightly"):
        env["RUSTUP_TOOLCHAIN"] = "nightly"
    return env, ch


def analyse(tool, tree, case, cwd, timeout, mem_mb, stats):
    manifest = tree / case["manifest"]
    env, _ = toolchain_env(tree, manifest)
    rc, out, err, _ = run_limited(["cargo", "metadata", "--no-deps", "--offline",
                                   "--format-version", "1", "--manifest-path", str(manifest)],
                                  cwd, timeout, mem_mb, env)
    if rc != 0:
        last = [l for l in err.strip().splitlines() if l.strip()][:3]
        raise CaseError("cargo metadata failed: " + " / ".join(last) if rc is not None
                        else "cargo metadata timed out")
    ws_root = Path(json.loads(out)["workspace_root"])
    cmd = [tool, "lockstep", "--manifest-path", str(manifest)]
    if case["package"] == "workspace":
        cmd.append("--workspace")
    else:
        cmd += ["-p", case["package"]]
    if case.get("features"):
        cmd += ["--features", ",".join(case["features"])]
    cmd += ["--no-cache", "--message-format", "json"]
    if stats:
        cmd.append("--stats")
    rc, out, err, secs = run_limited(cmd, cwd, timeout, mem_mb, env)
    if rc is None:
        raise CaseError(f"timeout after {timeout} s")
    if rc not in (0, 1):
        last = [l for l in err.strip().splitlines() if l.strip()][-3:]
        what = "killed (memory limit?)" if rc < 0 else f"exit status {rc}"
        raise CaseError(f"tool {what}: " + " / ".join(last))
    findings = []
    for line in out.splitlines():
        try:
            o = json.loads(line)
        except json.JSONDecodeError:
            continue
        if o.get("reason") != "compiler-message":
            continue
        m = o["message"]
        code = (m.get("code") or {}).get("code", "")
        lint = code.split("::", 1)[1] if code.startswith("lockstep::") else code
        def rel_of(span):
            p = Path(span["file_name"])
            p = p if p.is_absolute() else ws_root / p
            try:
                return os.path.relpath(p.resolve(), tree.resolve())
            except ValueError:
                return str(p)
        spans = m.get("spans", [])
        others = [[rel_of(s), s["line_start"]] for s in spans if not s.get("is_primary")]
        for s in spans:
            if not s.get("is_primary"):
                continue
            findings.append({"lint": lint, "file": rel_of(s), "line": s["line_start"],
                             "message": m.get("message", ""), "secondary": others})
    stat_lines = [l for l in err.splitlines() if l.startswith("lockstep:")] if stats else []
    return findings, secs, stat_lines


def in_function(findings, lint, file, rng):
    if rng is None:
        return []
    return [f for f in findings
            if f["lint"] == lint and f["file"] == file and rng[0] <= f["line"] <= rng[1]]


def run_case(case, args, scratch):
    cid = case["id"]
    mirror = Path(args.mirrors) / case["repo"].replace("/", "+") / "repo"
    if not mirror.exists():
        raise CaseError(f"no mirror at {mirror}")
    fix = case["fix"]
    try:
        parent = git(mirror, "rev-parse", "--verify", "--quiet", fix + "^").strip()
    except RuntimeError as e:
        raise CaseError(f"fix commit not in mirror: {e}")
    fn_name = re.split(r"::|\.", case["function"])[-1]
    bug_file = case["files"][0]
    start_line = int(case["lines"].split("-")[0])

    try:
        src_before = git(mirror, "show", f"{parent}:{bug_file}")
    except RuntimeError as e:
        raise CaseError(f"{bug_file} not in fix^: {e}")
    rng_before = pick_range(function_ranges(src_before, fn_name), start_line)
    if rng_before is None:
        raise CaseError(f"fn {fn_name} around line {start_line} not found in {bug_file} at fix^")
    src_after = git(mirror, "show", f"{fix}:{bug_file}", check=False)
    rng_after = nearest_range(function_ranges(src_after, fn_name), rng_before[0])

    before_dir = scratch / cid / "before"
    after_dir = scratch / cid / "after"
    try:
        notes = materialise(args.mirrors, case["repo"], parent, before_dir)
        notes += materialise(args.mirrors, case["repo"], fix, after_dir)
    except RuntimeError as e:
        raise CaseError(str(e))
    cwd = scratch
    try:
        f_before, t_before, s_before = analyse(args.tool, before_dir, case, cwd, args.timeout,
                                               args.mem_limit_mb, args.stats)
        f_after, t_after, s_after = analyse(args.tool, after_dir, case, cwd, args.timeout,
                                            args.mem_limit_mb, args.stats)
    except CaseError as e:
        sub = [n for n in notes if "submodule" in n]
        raise CaseError(str(e) + (f" [{'; '.join(sorted(set(sub)))}]" if sub else ""))
    hit_before = in_function(f_before, case["class"], bug_file, rng_before)
    hit_after = in_function(f_after, case["class"], bug_file, rng_after)
    in_file = [f for f in f_before if f["file"] == bug_file]
    if not hit_before:
        others = sorted({f["lint"] for f in in_file
                         if rng_before[0] <= f["line"] <= rng_before[1]})
        cls_in_file = [f for f in in_file if f["lint"] == case["class"]]
        reason = f"no {case['class']} finding in {fn_name} before the fix"
        extra = []
        if others:
            extra.append("other lints there: " + ", ".join(others))
        if cls_in_file:
            extra.append(f"{len(cls_in_file)} elsewhere in the file")
        # not scored: a finding of the class that names the function only as a secondary site
        labelled = [f for f in f_before if f["lint"] == case["class"] and any(
            fl == bug_file and rng_before[0] <= ln <= rng_before[1] for fl, ln in f["secondary"])]
        if labelled:
            f = labelled[0]
            extra.append(f"the function is only a secondary site of one {case['class']} "
                         f"finding, whose primary span is at {f['file']}:{f['line']}")
        if extra:
            reason += " (" + "; ".join(extra) + ")"
        result = "MISSED"
    elif hit_after:
        reason = f"{case['class']} still reported in {fn_name} after the fix"
        result = "MISSED"
    else:
        reason = f"{case['class']} at line {hit_before[0]['line']} before, gone after"
        result = "FOUND"
    if not args.keep:
        shutil.rmtree(scratch / cid, ignore_errors=True)
    return {
        "result": result,
        "reason": reason,
        "parent": parent,
        "function_range_before": list(rng_before),
        "function_range_after": list(rng_after) if rng_after else None,
        "findings_before": len(f_before),
        "findings_after": len(f_after),
        "in_function_before": hit_before,
        "in_function_after": hit_after,
        "seconds": round(t_before + t_after, 2),
        "materialise_notes": sorted(set(notes)),
        "stats_before": s_before,
        "stats_after": s_after,
    }


# ---------------------------------------------------------------------------------------------
# Reports


def recall_rows(bugs, results):
    rows = []
    for cls in CLASSES:
        cases = [b for b in bugs if b["class"] == cls]
        if not cases:
            continue
        found = sum(1 for b in cases if results[b["id"]]["result"] == "FOUND")
        errors = sum(1 for b in cases if results[b["id"]]["result"] == "ERROR")
        rows.append((cls, len(cases), found, errors))
    return rows


def pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "-"


def markdown(bugs, results, tool_version, tool_path):
    lines = []
    lines.append(f"Tool: `{tool_version}` (`{tool_path}`)\n")
    lines.append("| lint | cases | found | errors | recall |")
    lines.append("|---|---:|---:|---:|---:|")
    tc = tf = te = 0
    for cls, n, f, e in recall_rows(bugs, results):
        lines.append(f"| `{cls}` | {n} | {f} | {e} | {pct(f, n)} |")
        tc, tf, te = tc + n, tf + f, te + e
    lines.append(f"| **all** | {tc} | {tf} | {te} | {pct(tf, tc)} |")
    lines.append("")
    lines.append("| id | repo | lint | result | reason |")
    lines.append("|---|---|---|---|---|")
    for b in bugs:
        r = results[b["id"]]
        reason = r["reason"].replace("|", "\\|")
        lines.append(f"| `{b['id']}` | {b['repo']} | `{b['class']}` | {r['result']} | {reason} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tool", default=shutil.which("cargo-lockstep") or "cargo-lockstep",
                    help="the cargo-lockstep binary (default: from PATH)")
    ap.add_argument("--corpus", default=str(ROOT / "docs/corpus/bugs.toml"))
    ap.add_argument("--only", action="append", metavar="ID", help="run only this case (repeatable)")
    ap.add_argument("--json", metavar="OUT", help="write every result as JSON to OUT")
    ap.add_argument("--md", metavar="OUT", help="write the markdown report to OUT (default: stdout)")
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS", "/work/.mirror"),
                    help="directory of bare mirrors <owner>+<name>/repo (default: $MIRRORS or /work/.mirror)")
    ap.add_argument("--scratch", help="where the trees are materialised (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the materialised trees")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per tool run (default 900)")
    ap.add_argument("--mem-limit-mb", type=int, default=8192,
                    help="address-space limit of each tool run in MiB (default 8192, 0: none)")
    ap.add_argument("--stats", action="store_true",
                    help="pass --stats to the tool and keep its coverage lines in the JSON")
    args = ap.parse_args()

    bugs = load_corpus(args.corpus)
    if args.only:
        unknown = set(args.only) - {b["id"] for b in bugs}
        if unknown:
            sys.exit("unknown case id(s): " + ", ".join(sorted(unknown)))
        bugs = [b for b in bugs if b["id"] in args.only]

    tmp = None
    if args.scratch:
        scratch = Path(args.scratch).resolve()
        scratch.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="bug-corpus-")
        scratch = Path(tmp)
    try:
        ver = subprocess.run([args.tool, "--version"], capture_output=True, text=True,
                             cwd=scratch).stdout.strip()
    except OSError as e:
        sys.exit(f"cannot run {args.tool}: {e}")

    results = {}
    for i, b in enumerate(bugs, 1):
        print(f"[{i}/{len(bugs)}] {b['id']} ({b['repo']} {b['fix'][:10]}, {b['class']}) ...",
              file=sys.stderr, flush=True)
        try:
            r = run_case(b, args, scratch)
        except CaseError as e:
            r = {"result": "ERROR", "reason": str(e)}
            if not args.keep:
                shutil.rmtree(scratch / b["id"], ignore_errors=True)
        results[b["id"]] = r
        print(f"    {r['result']}: {r['reason']}", file=sys.stderr, flush=True)

    print("", file=sys.stderr)
    print(f"{'lint':<26} {'found':>5} / {'cases':<5} {'recall':>7}", file=sys.stderr)
    tc = tf = 0
    for cls, n, f, e in recall_rows(bugs, results):
        print(f"{cls:<26} {f:>5} / {n:<5} {pct(f, n):>7}" + (f"  ({e} errors)" if e else ""),
              file=sys.stderr)
        tc, tf = tc + n, tf + f
    print(f"{'all':<26} {tf:>5} / {tc:<5} {pct(tf, tc):>7}", file=sys.stderr)

    md = markdown(bugs, results, ver, args.tool)
    if args.md:
        Path(args.md).write_text(md)
    else:
        sys.stdout.write(md)
    if args.json:
        out = [{"id": b["id"], "repo": b["repo"], "fix": b["fix"], "class": b["class"], **results[b["id"]]}
               for b in bugs]
        Path(args.json).write_text(json.dumps({"tool": ver, "cases": out}, indent=2) + "\n")
    if tmp and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
