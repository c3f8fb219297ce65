#!/usr/bin/env python3
"""Re-measure cargo-lockstep's deny-level precision on the corpus of docs/precision.md.

Reads `docs/corpus/precision.toml`: one `[[package]]` table per analysed package (repository,
commit, package, mode, directory or crate-root paths, toolchain, the lines measured) and one
`[[finding]]` table per deny-level finding that was triaged (TRUE / FALSE / DEBATABLE).

Each repository is materialised once, at its commit, from the local bare mirror
`$MIRRORS/<owner>+<name>/repo` (default `/work/.mirror`), without submodules (the corpus was
measured on snapshots without them; that is why twizzler is run in paths mode). Blobs a
mirror lacks (snapshots leave out files of several MiB, such as images) are left out. Every
package is then run on its own, one at a time, exactly as the corpus was measured:

    cd <tree>/<manifest_dir>                                   # mode "package"
    RUSTUP_TOOLCHAIN=<toolchain> <tool> lockstep -p <package> --no-cache \\
        --message-format json --stats -j 2
    cd <tree>                                                  # mode "paths"
    RUSTUP_TOOLCHAIN=<toolchain> <tool> lockstep <paths...> --no-cache \\
        --message-format json --stats -j 2

with a wall-clock timeout and an address-space limit (the tool and the cargo it starts run in
their own process group, which is killed on timeout). Nothing is built and no build script
runs.

Every deny-level finding (`message.level` "error") is keyed by (repo, file relative to the
repository root, line of the primary span, lint) and matched against the triaged findings of
the same key. Several triaged findings can share a key (one per lock); within a key they are
paired first with a reported finding whose message names every `...` part of the triaged
subject, then in order. For the lock lints (whose message names the lock) the in-order step
is skipped: a report at the same site that names another lock is a different finding (NEW,
and the triaged one GONE); `--key-only` pairs those too. A reported finding with no triaged
partner is NEW; a triaged finding with no reported partner is GONE (for a TRUE one, a lost
true positive). Each NEW finding is shown with the GONE findings of the same lint whose
subject its message names (the same lock, now reported at another site) and those at its
site (the same site, now naming another lock), as hints for triage; it is still NEW.
Warn-level findings are counted per lint.

Output (stdout, and --md / --json): per repository and in total the lines, deny-level
findings, TRUE / FALSE / DEBATABLE / NEW, GONE, % TRUE among the triaged findings still
reported, FALSE per 100k lines; every GONE and every NEW finding; warn-level counts per lint;
packages whose line count differs from the corpus; packages that failed.

Usage:
    python3 scripts/precision-corpus.py [--tool PATH] [--only REPO-REGEX] [--json OUT]
        [--md OUT] [--scratch DIR] [--keep] [--key-only] [--corpus FILE] [--mirrors DIR]
        [--timeout S] [--mem-limit-mb N]

Exit status: 0 when every package ran, 1 when one failed (timeout, memory, exit status other
than 0 or 1, tree or metadata problem), 2 for usage errors.

Python 3.11 or later (tomllib); standard library only, plus `git`, `tar` and `cargo` on PATH.
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
import time
import tomllib
from collections import Counter, OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERDICTS = ("TRUE", "FALSE", "DEBATABLE")
PKG_REQUIRED = ("repo", "commit", "package", "mode", "toolchain", "lines")
FINDING_REQUIRED = ("repo", "file", "line", "lint", "verdict", "reason")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Corpus


def load_corpus(path):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    pkgs, finds = data.get("package", []), data.get("finding", [])
    problems = []
    commits = {}
    for i, p in enumerate(pkgs):
        where = f"package #{i + 1} ({p.get('repo')} {p.get('package')})"
        for k in PKG_REQUIRED:
            if k not in p:
                problems.append(f"{where}: no `{k}`")
        if not re.fullmatch(r"[0-9a-f]{40}", str(p.get("commit", ""))):
            problems.append(f"{where}: commit is not 40 hex digits")
        if commits.setdefault(p.get("repo"), p.get("commit")) != p.get("commit"):
            problems.append(f"{where}: a second commit for the same repo")
        if p.get("mode") == "package":
            p.setdefault("manifest_dir", ".")
        elif p.get("mode") == "paths":
            if not p.get("paths"):
                problems.append(f"{where}: mode \"paths\" without `paths`")
        else:
            problems.append(f"{where}: mode must be \"package\" or \"paths\"")
        if p.get("toolchain") not in ("stable", "nightly"):
            problems.append(f"{where}: toolchain must be \"stable\" or \"nightly\"")
    for i, f in enumerate(finds):
        where = f"finding #{f.get('id', i + 1)}"
        for k in FINDING_REQUIRED:
            if k not in f:
                problems.append(f"{where}: no `{k}`")
        if f.get("verdict") not in VERDICTS:
            problems.append(f"{where}: verdict must be one of {', '.join(VERDICTS)}")
        if f.get("repo") not in commits:
            problems.append(f"{where}: repo {f.get('repo')} has no [[package]]")
    if problems:
        sys.exit("corpus " + str(path) + ":\n  " + "\n  ".join(problems))
    return pkgs, finds


# ---------------------------------------------------------------------------------------------
# Trees


def git(mirror, *args, check=True):
    p = subprocess.run(["git", "--git-dir", str(mirror), *args], capture_output=True,
                       text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def extract(mirror, rev, dest):
    """Write the tree of `rev` (without submodules) to `dest`. `git archive` first; when the
    mirror lacks some blobs, file by file through `git cat-file --batch`, leaving those out.
    Returns the paths left out."""
    archive = subprocess.Popen(["git", "--git-dir", str(mirror), "archive", "--format=tar",
                                rev], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout,
                         capture_output=True)
    archive.stdout.close()
    err = archive.stderr.read().decode(errors="replace")
    if archive.wait() == 0 and tar.returncode == 0:
        return []
    if "invalid object" not in err and "missing" not in err and "cannot read" not in err:
        raise RuntimeError(f"git archive {rev}: {err.strip() or tar.stderr.decode().strip()}")
    shutil.rmtree(dest)
    dest.mkdir(parents=True)
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


def materialise(mirrors, scratch, repo, rev):
    """(tree, notes). A tree left complete by an earlier run (--keep) is reused."""
    mirror = Path(mirrors) / repo.replace("/", "+") / "repo"
    if not mirror.is_dir():
        raise RuntimeError(f"no mirror at {mirror} (fetch github:{repo} first)")
    dest = Path(scratch) / f"{repo.replace('/', '+')}@{rev[:12]}"
    marker = dest.parent / (dest.name + ".done")
    if dest.is_dir() and marker.is_file() and marker.read_text().startswith(rev + "\n"):
        return dest, marker.read_text().splitlines()[1:]
    if dest.exists():
        shutil.rmtree(dest)
    marker.unlink(missing_ok=True)
    dest.mkdir(parents=True)
    missing = extract(mirror, rev, dest)
    notes = [f"left out {len(missing)} file(s) the mirror lacks: "
             + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")] if missing else []
    marker.write_text(rev + "\n" + "".join(n + "\n" for n in notes))
    return dest, notes


def remove_tree(tree):
    shutil.rmtree(tree, ignore_errors=True)
    (tree.parent / (tree.name + ".done")).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Running


def limit_memory(mb):
    def f():
        os.setsid()  # own process group: a timeout kills the tool and its cargo, nothing else
        if mb:
            b = mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (b, b))
    return f


def run_limited(cmd, cwd, timeout, mem_mb, env):
    """(returncode, stdout, stderr, seconds); returncode None on timeout."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=limit_memory(mem_mb), env=env)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        rc = None
    return rc, out.decode(errors="replace"), err.decode(errors="replace"), \
        time.monotonic() - start


def tool_env(toolchain):
    env = dict(os.environ)
    env["RUSTUP_TOOLCHAIN"] = toolchain
    env.pop("CARGO_TERM_COLOR", None)
    return env


class PackageError(Exception):
    pass


def workspace_root(cwd, env, timeout, mem_mb, cache):
    """The workspace root cargo reports for the manifest in `cwd` (file names in the JSON
    output are relative to it)."""
    key = (str(cwd), env.get("RUSTUP_TOOLCHAIN"))
    if key not in cache:
        rc, out, err, _ = run_limited(["cargo", "metadata", "--no-deps", "--offline",
                                       "--format-version", "1"], cwd, timeout, mem_mb, env)
        if rc != 0:
            last = [l for l in err.strip().splitlines() if l.strip()][:3]
            raise PackageError("cargo metadata failed: " + " / ".join(last) if rc is not None
                               else "cargo metadata timed out")
        cache[key] = Path(json.loads(out)["workspace_root"])
    return cache[key]


def rel_to_tree(file_name, bases, tree):
    """`file_name` of a span, relative to the repository root: resolved against the first of
    `bases` under which it exists (else the first base)."""
    p = Path(file_name)
    cands = [p] if p.is_absolute() else [b / p for b in bases]
    chosen = next((c for c in cands if c.exists()), cands[0])
    try:
        return Path(os.path.relpath(chosen.resolve(), tree.resolve())).as_posix()
    except ValueError:
        return str(chosen)


def run_package(tool, tree, pkg, timeout, mem_mb, ws_cache):
    env = tool_env(pkg["toolchain"])
    common = ["--no-cache", "--message-format", "json", "--stats", "-j", "2"]
    if pkg["mode"] == "package":
        cwd = tree / pkg["manifest_dir"]
        if not (cwd / "Cargo.toml").is_file():
            raise PackageError(f"no Cargo.toml in {pkg['manifest_dir']}")
        bases = [workspace_root(cwd, env, timeout, mem_mb, ws_cache), cwd]
        cmd = [tool, "lockstep", "-p", pkg["package"], *common]
    else:
        cwd = tree
        bases = [cwd]
        for path in pkg["paths"]:
            if not (tree / path).exists():
                raise PackageError(f"{path} does not exist")
        cmd = [tool, "lockstep", *pkg["paths"], *common]
    rc, out, err, secs = run_limited(cmd, cwd, timeout, mem_mb, env)
    if rc is None:
        raise PackageError(f"timeout after {timeout} s")
    if rc not in (0, 1):
        lines = [l for l in err.strip().splitlines() if l.strip()]
        msgs = [l for l in lines if not l.startswith("lockstep: ")] or lines  # not --stats
        what = (f"killed by signal {-rc} (memory limit {mem_mb} MiB?)" if rc < 0
                else f"exit status {rc}")
        raise PackageError(f"tool {what}: " + " / ".join(msgs[-3:]))
    deny, warn = [], Counter()
    finished = False
    for line in out.splitlines():
        try:
            o = json.loads(line)
        except json.JSONDecodeError:
            continue
        if o.get("reason") == "build-finished":
            finished = True
        if o.get("reason") != "compiler-message":
            continue
        m = o.get("message", {})
        code = (m.get("code") or {}).get("code", "")
        lint = code.split("::", 1)[1] if code.startswith("lockstep::") else code
        level = m.get("level")
        if level == "error":
            prim = [s for s in m.get("spans", []) if s.get("is_primary")]
            if not prim:
                deny.append({"lint": lint, "file": "?", "line": 0,
                             "message": m.get("message", ""), "package": pkg["package"]})
            for s in prim[:1]:
                deny.append({"lint": lint, "file": rel_to_tree(s["file_name"], bases, tree),
                             "line": s["line_start"], "message": m.get("message", ""),
                             "package": pkg["package"]})
        elif level == "warning":
            warn[lint] += 1
    if not finished:
        raise PackageError("the JSON stream has no build-finished line")
    m = re.search(r"^lockstep: (\d+) files, (\d+) lines", err, re.M)
    files, lines = (int(m[1]), int(m[2])) if m else (None, None)
    mem = re.search(r"^lockstep: peak memory (.*)$", err, re.M)
    return {"files": files, "lines": lines, "deny": deny, "warn": dict(warn), "seconds": secs,
            "peak_memory": mem[1] if mem else None, "exit": rc}


# ---------------------------------------------------------------------------------------------
# Matching


def subject_parts(subject):
    return [s for s in re.findall(r"`([^`]+)`", subject or "")]


def names_subject(message, triaged):
    parts = subject_parts(triaged.get("subject"))
    return bool(parts) and all(re.search(r"(?<![\w.])" + re.escape(p) + r"(?!\w)", message)
                               for p in parts)


# lints whose message names the lock(s) of the finding; a triaged finding of one of these
# lints is the same finding only when the message still names its subject
LOCK_LINTS = {"double_lock", "lock_order_inversion", "unreleased_lock", "irq_unsafe_lock",
              "blocking_under_spinlock"}


def match(reported, triaged, key_only=False):
    """(pairs, new, gone) for one repository, keyed by (file, line, lint). Within a key, a
    reported finding whose message names the triaged subject is paired first; the rest are
    paired in order, for a lock lint only with `key_only`."""
    def key(x):
        return (x["file"], x["line"], x["lint"])
    by_key = OrderedDict()
    for t in triaged:
        by_key.setdefault(key(t), ([], []))[0].append(t)
    for r in reported:
        by_key.setdefault(key(r), ([], []))[1].append(r)
    pairs, new, gone = [], [], []
    for (_, _, lint), (ts, rs) in by_key.items():
        ts, rs = list(ts), list(rs)
        for t in list(ts):  # first by subject
            r = next((r for r in rs if names_subject(r["message"], t)), None)
            if r is not None:
                pairs.append((t, r))
                ts.remove(t)
                rs.remove(r)
        if key_only or lint not in LOCK_LINTS:
            while ts and rs:
                pairs.append((ts.pop(0), rs.pop(0)))
        gone += ts
        new += rs
    return pairs, new, gone


# ---------------------------------------------------------------------------------------------
# Report


def pct(a, b):
    return f"{100.0 * a / b:.1f} %" if b else "-"


def per100k(n, lines):
    return f"{n / (lines / 100000):.2f}" if lines else "-"


def summarize(rows):
    t = Counter()
    for r in rows:
        for k in ("packages", "errors", "lines", "deny", "TRUE", "FALSE", "DEBATABLE", "NEW",
                  "GONE", "GONE_TRUE", "warn"):
            t[k] += r[k]
    return t


def loc(f):
    return f"{f['file']}:{f['line']}"


def render(result, md):
    """The report as text; Markdown tables when `md`, plain aligned columns otherwise."""
    out = []
    w = out.append
    tot = result["total"]
    head = ["repo", "packages", "lines", "deny", "TRUE", "FALSE", "DEBATABLE", "NEW", "GONE",
            "GONE TRUE", "% TRUE", "FALSE/100k", "warn"]

    def row_cells(name, r):
        triaged = r["TRUE"] + r["FALSE"] + r["DEBATABLE"]
        pk = str(r["packages"]) + (f" ({r['errors']} failed)" if r["errors"] else "")
        return [name, pk, str(r["lines"]), str(r["deny"]), str(r["TRUE"]), str(r["FALSE"]),
                str(r["DEBATABLE"]), str(r["NEW"]), str(r["GONE"]), str(r["GONE_TRUE"]),
                pct(r["TRUE"], triaged), per100k(r["FALSE"], r["lines"]), str(r["warn"])]

    table = [row_cells(name, r) for name, r in result["repos"].items()]
    table.append(row_cells("total", tot))

    def emit_table(header, rows, numeric_from=1):
        if md:
            w("| " + " | ".join(header) + " |")
            w("|" + "|".join("---" if i < numeric_from else "--:"
                             for i in range(len(header))) + "|")
            for r in rows:
                w("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
        else:
            widths = [max(len(str(x[i])) for x in [header] + rows) for i in range(len(header))]
            for r in [header] + rows:
                w("  ".join(str(c).ljust(widths[i]) if i < numeric_from
                            else str(c).rjust(widths[i]) for i, c in enumerate(r)).rstrip())
        w("")

    h1, h2 = ("# ", "## ") if md else ("", "")
    w(f"{h1}cargo-lockstep precision corpus")
    w("")
    w(f"tool: `{result['tool']}` ({result['tool_version']}); corpus: {result['corpus']}"
      + (f"; only repos matching `{result['only']}`" if result["only"] else "")
      + ("; matched by (repo, file, line, lint) only" if result["key_only"] else ""))
    w("")
    triaged = tot["TRUE"] + tot["FALSE"] + tot["DEBATABLE"]
    w(f"{tot['lines']} lines in {tot['packages']} packages"
      + (f" ({tot['errors']} failed)" if tot["errors"] else "")
      + f": {tot['deny']} deny-level findings, {tot['TRUE']} TRUE / {tot['FALSE']} FALSE / "
      f"{tot['DEBATABLE']} DEBATABLE / {tot['NEW']} NEW; {tot['GONE']} triaged GONE "
      f"({tot['GONE_TRUE']} TRUE). % TRUE among triaged: {pct(tot['TRUE'], triaged)}; "
      f"FALSE per 100k lines: {per100k(tot['FALSE'], tot['lines'])}; "
      f"{tot['warn']} warn-level findings.")
    w("")
    emit_table(head, table)

    gone = result["gone"]
    w(f"{h2}GONE: triaged findings no longer reported ({len(gone)})")
    w("")
    if gone:
        rows = [[g["repo"], f"#{g.get('id', '?')}", loc(g), g["lint"], g.get("subject", ""),
                 g["verdict"] + (" (lost true positive)" if g["verdict"] == "TRUE" else "")
                 + (" (repo had a failed package)" if g.get("repo_failed") else "")]
                for g in gone]
        emit_table(["repo", "id", "file:line", "lint", "subject", "verdict"], rows, 6)
    else:
        w("none")
        w("")

    new = result["new"]
    w(f"{h2}NEW: deny-level findings not triaged ({len(new)})")
    w("")
    if new:
        rows = [[n["repo"], loc(n), n["lint"], n["package"], n["message"],
                 ", ".join(f"#{i}" for i in n["names_gone"]),
                 ", ".join(f"#{i}" for i in n["site_of_gone"])] for n in new]
        emit_table(["repo", "file:line", "lint", "package", "message", "same subject as GONE",
                    "same site as GONE"], rows, 7)
    else:
        w("none")
        w("")

    w(f"{h2}Warn-level findings by lint")
    w("")
    wl = result["warn_by_lint"]
    if wl:
        emit_table(["lint", "warnings"], [[k, str(v)] for k, v in
                                          sorted(wl.items(), key=lambda kv: (-kv[1], kv[0]))])
    else:
        w("none")
        w("")

    diff = [p for p in result["packages"] if p.get("lines") is not None
            and p["lines"] != p["expected_lines"]]
    w(f"{h2}Packages whose line count differs from the corpus ({len(diff)})")
    w("")
    if diff:
        emit_table(["repo", "package", "lines", "corpus lines"],
                   [[p["repo"], p["package"], str(p["lines"]), str(p["expected_lines"])]
                    for p in diff], 2)
    else:
        w("none")
        w("")

    errs = [p for p in result["packages"] if p.get("error")]
    w(f"{h2}Failed packages ({len(errs)})")
    w("")
    if errs:
        emit_table(["repo", "package", "error"],
                   [[p["repo"], p["package"], p["error"]] for p in errs], 3)
    else:
        w("none")
        w("")
    if result["notes"]:
        w(f"{h2}Notes")
        w("")
        for n in result["notes"]:
            w(f"- {n}")
        w("")
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", default=str(ROOT / "target" / "release" / "cargo-lockstep"),
                    help="cargo-lockstep binary (default: target/release/cargo-lockstep)")
    ap.add_argument("--only", metavar="REPO-REGEX",
                    help="only repositories whose owner/name matches (re.search)")
    ap.add_argument("--json", metavar="OUT", help="write the result as JSON")
    ap.add_argument("--md", metavar="OUT", help="write the report as Markdown")
    ap.add_argument("--scratch", default="/tmp/lockstep-precision",
                    help="where the trees are materialised (default: %(default)s)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the trees (and reuse them on the next run)")
    ap.add_argument("--key-only", action="store_true",
                    help="match by (repo, file, line, lint) alone, also for lock lints whose "
                         "message names another lock than the triaged subject")
    ap.add_argument("--corpus", default=str(ROOT / "docs" / "corpus" / "precision.toml"))
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS", "/work/.mirror"))
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per run (default 1800)")
    ap.add_argument("--mem-limit-mb", type=int, default=12288,
                    help="address-space limit per run in MiB (default 12288, 0 = none)")
    args = ap.parse_args()

    tool = shutil.which(args.tool) or args.tool
    if not os.access(tool, os.X_OK):
        ap.error(f"--tool {args.tool}: not an executable")
    tool = str(Path(tool).resolve())
    only = re.compile(args.only) if args.only else None
    pkgs, finds = load_corpus(args.corpus)
    if only:
        pkgs = [p for p in pkgs if only.search(p["repo"])]
        finds = [f for f in finds if only.search(f["repo"])]
        if not pkgs:
            ap.error(f"--only {args.only}: no repository matches")
    v = subprocess.run([tool, "--version"], capture_output=True, text=True)
    version = (v.stdout or v.stderr).strip() or "?"

    repos = OrderedDict()
    for p in pkgs:
        repos.setdefault(p["repo"], []).append(p)
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)

    result = {"tool": tool, "tool_version": version, "corpus": args.corpus,
              "only": args.only, "key_only": args.key_only, "repos": OrderedDict(),
              "packages": [], "new": [], "gone": [], "matched": [],
              "warn_by_lint": Counter(), "notes": []}
    n_total, n_done = len(pkgs), 0
    for repo, rpkgs in repos.items():
        commit = rpkgs[0]["commit"]
        row = Counter(packages=len(rpkgs))
        reported = []
        failed = False
        tree = None
        try:
            tree, notes = materialise(args.mirrors, scratch, repo, commit)
            result["notes"] += [f"{repo}: {n}" for n in notes]
        except Exception as e:  # noqa: BLE001 - reported as a failure of every package
            failed = True
            for p in rpkgs:
                result["packages"].append({"repo": repo, "package": p["package"],
                                           "expected_lines": p["lines"], "lines": None,
                                           "error": f"tree: {e}"})
            row["errors"] = len(rpkgs)
            n_done += len(rpkgs)
            log(f"[{n_done}/{n_total}] {repo}: cannot materialise: {e}")
        ws_cache = {}
        for p in (rpkgs if tree else []):
            n_done += 1
            rec = {"repo": repo, "package": p["package"], "mode": p["mode"],
                   "expected_lines": p["lines"], "lines": None}
            try:
                r = run_package(tool, tree, p, args.timeout, args.mem_limit_mb, ws_cache)
                rec.update(files=r["files"], lines=r["lines"], deny=len(r["deny"]),
                           warn=sum(r["warn"].values()), warn_by_lint=r["warn"],
                           seconds=round(r["seconds"], 1), peak_memory=r["peak_memory"])
                reported += r["deny"]
                row["lines"] += r["lines"] or 0
                row["warn"] += rec["warn"]
                result["warn_by_lint"].update(r["warn"])
                log(f"[{n_done}/{n_total}] {repo} {p['package']}: {r['lines']} lines, "
                    f"{len(r['deny'])} deny, {rec['warn']} warn, {r['seconds']:.1f} s")
            except PackageError as e:
                failed = True
                row["errors"] += 1
                rec["error"] = str(e)
                log(f"[{n_done}/{n_total}] {repo} {p['package']}: FAILED: {e}")
            result["packages"].append(rec)
        if tree is not None and not args.keep:
            remove_tree(tree)
        triaged = [f for f in finds if f["repo"] == repo]
        pairs, new, gone = match(reported, triaged, args.key_only)
        row["deny"] = len(reported)
        for t, r in pairs:
            row[t["verdict"]] += 1
            result["matched"].append({"id": t.get("id"), "repo": repo, "file": t["file"],
                                      "line": t["line"], "lint": t["lint"],
                                      "verdict": t["verdict"], "message": r["message"]})
        row["NEW"] = len(new)
        row["GONE"] = len(gone)
        row["GONE_TRUE"] = sum(1 for g in gone if g["verdict"] == "TRUE")
        for n in new:
            # hints for triage, counts are unchanged: GONE findings of the same lint whose
            # subject this message names (the same lock now reported at another site), and
            # GONE findings at the same site (the same site now naming another lock)
            like = [g.get("id") for g in gone
                    if g["lint"] == n["lint"] and names_subject(n["message"], g)]
            site = [g.get("id") for g in gone
                    if (g["file"], g["line"], g["lint"]) == (n["file"], n["line"], n["lint"])]
            result["new"].append({"repo": repo, **n, "names_gone": like, "site_of_gone": site})
        for g in gone:
            result["gone"].append({"id": g.get("id"), "repo": repo, "file": g["file"],
                                   "line": g["line"], "lint": g["lint"],
                                   "subject": g.get("subject", ""), "verdict": g["verdict"],
                                   "reason": g["reason"], "repo_failed": failed})
        for k in ("lines", "deny", "TRUE", "FALSE", "DEBATABLE", "NEW", "GONE", "GONE_TRUE",
                  "warn", "errors"):
            row.setdefault(k, 0)
        result["repos"][repo] = dict(row)
    result["total"] = dict(summarize(result["repos"].values()))
    tot = result["total"]
    triaged_n = tot["TRUE"] + tot["FALSE"] + tot["DEBATABLE"]
    result["total"]["pct_true_triaged"] = round(100.0 * tot["TRUE"] / triaged_n, 2) \
        if triaged_n else None
    result["total"]["false_per_100k"] = round(tot["FALSE"] / (tot["lines"] / 1e5), 3) \
        if tot["lines"] else None
    result["warn_by_lint"] = dict(result["warn_by_lint"])

    sys.stdout.write(render(result, md=False))
    if args.md:
        Path(args.md).write_text(render(result, md=True))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if not args.keep:
        try:
            scratch.rmdir()  # only when empty: never anything this run did not make
        except OSError:
            pass
    return 1 if tot["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
