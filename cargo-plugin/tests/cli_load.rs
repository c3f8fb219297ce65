//! What gets loaded: package selection, targets, editions, module trees, paths mode, and
//! files that cannot be read.

mod cli_support;

use std::collections::BTreeMap;

use cli_support::{findings, fixture, lockstep, package, scratch, write};
use lockstep_analyzer::Edition;

fn short(dir: &std::path::Path, args: &[&str]) -> cli_support::Out {
    let mut a = vec!["--message-format", "short"];
    a.extend_from_slice(args);
    lockstep(dir, &a)
}

/// The files named in findings, in output order.
fn finding_files(s: &str) -> Vec<String> {
    findings(s)
        .iter()
        .map(|l| l.split(':').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn workspace_selection() {
    let ws = fixture("cli/workspace");
    let here = std::env::current_dir().unwrap();
    let manifest = ws.join("Cargo.toml");
    let m = manifest.to_str().unwrap();

    // a virtual manifest: every member; paths relative to the workspace root
    let all = short(&here, &["--manifest-path", m]);
    assert_eq!(all.code, 0, "{all:?}");
    assert_eq!(
        finding_files(&all.stdout),
        ["alpha/src/broken.rs", "beta/src/bad.rs"],
        "{all:?}"
    );

    let alpha = short(&here, &["--manifest-path", m, "-p", "alpha-core"]);
    assert_eq!(
        finding_files(&alpha.stdout),
        ["alpha/src/broken.rs"],
        "{alpha:?}"
    );
    let both = short(
        &here,
        &[
            "--manifest-path",
            m,
            "-p",
            "beta",
            "--package",
            "alpha-core",
        ],
    );
    assert_eq!(finding_files(&both.stdout).len(), 2, "{both:?}");

    let excl = short(&ws, &["--workspace", "--exclude", "alpha-core"]);
    assert_eq!(finding_files(&excl.stdout), ["beta/src/bad.rs"], "{excl:?}");
    let glob = short(&ws, &["-p", "alpha-*"]);
    assert_eq!(
        finding_files(&glob.stdout),
        ["alpha/src/broken.rs"],
        "{glob:?}"
    );
    let glob = short(&ws, &["--workspace", "--exclude", "*-core"]);
    assert_eq!(finding_files(&glob.stdout), ["beta/src/bad.rs"], "{glob:?}");
    let versioned = short(&ws, &["-p", "beta@0.0.0"]);
    assert_eq!(
        finding_files(&versioned.stdout),
        ["beta/src/bad.rs"],
        "{versioned:?}"
    );
    let stray = short(&ws, &["--workspace", "--exclude", "gamma"]);
    assert!(
        stray
            .stderr
            .contains("excluded package `gamma` is not a member"),
        "{stray:?}"
    );

    // inside a member: that member only, paths still relative to the workspace root
    let member = short(&ws.join("beta/src"), &[]);
    assert_eq!(
        finding_files(&member.stdout),
        ["beta/src/bad.rs"],
        "{member:?}"
    );
    let member_ws = short(&ws.join("beta"), &["--workspace"]);
    assert_eq!(finding_files(&member_ws.stdout).len(), 2, "{member_ws:?}");

    let unknown = short(&ws, &["-p", "alpha_core"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(unknown.stderr.contains("`alpha-core`"), "{unknown:?}");
}

#[test]
fn root_package_and_default_members() {
    let d = scratch("root-package");
    let top = "[package]\nname = \"top\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n";
    write(
        &d.join("Cargo.toml"),
        format!("{top}[workspace]\nmembers = [\"sub\"]\n"),
    );
    write(&d.join("src/lib.rs"), "fn top( {\n");
    write(
        &d.join("sub/Cargo.toml"),
        "[package]\nname = \"sub\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
    );
    write(&d.join("sub/src/lib.rs"), "fn sub( {\n");
    // at the root of a workspace with a root package: that package
    assert_eq!(finding_files(&short(&d, &[]).stdout), ["src/lib.rs"]);
    // in a member: that member
    assert_eq!(
        finding_files(&short(&d.join("sub"), &[]).stdout),
        ["sub/src/lib.rs"]
    );
    // default-members decides at the root
    write(
        &d.join("Cargo.toml"),
        format!("{top}[workspace]\nmembers = [\"sub\"]\ndefault-members = [\".\", \"sub\"]\n"),
    );
    assert_eq!(
        finding_files(&short(&d, &[]).stdout),
        ["src/lib.rs", "sub/src/lib.rs"]
    );
    let only_sub = format!("{top}[workspace]\nmembers = [\"sub\"]\ndefault-members = [\"sub\"]\n");
    write(&d.join("Cargo.toml"), only_sub);
    assert_eq!(finding_files(&short(&d, &[]).stdout), ["sub/src/lib.rs"]);
}

#[test]
fn all_targets_adds_tests_never_build_scripts() {
    let ws = fixture("cli/workspace");
    let o = short(&ws, &["--all-targets"]);
    assert_eq!(
        finding_files(&o.stdout),
        ["alpha/src/broken.rs", "beta/src/bad.rs", "beta/tests/it.rs"],
        "{o:?}"
    );
    assert!(!o.stdout.contains("build.rs"), "{o:?}");

    // `#[cfg(test)] mod tests;` is followed only with --all-targets
    let m = fixture("cli/modules");
    let without = short(&m, &[]);
    assert!(!without.stdout.contains("src/tests.rs"), "{without:?}");
    let with = short(&m, &["--all-targets"]);
    assert!(with.stdout.contains("src/tests.rs:2:"), "{with:?}");
}

#[test]
fn units_and_editions_come_from_metadata() {
    let r = cargo_lockstep::analyze_fixture(&fixture("cli/workspace"));
    assert!(r.io_errors.is_empty(), "{:?}", r.io_errors);
    let mut got = BTreeMap::new();
    for f in r.db.files() {
        let u = &r.units[r.file_units[f.id.0 as usize]];
        got.insert(
            f.path.clone(),
            (
                f.crate_name.clone(),
                f.edition,
                u.target_name.clone(),
                u.target_kind.clone(),
            ),
        );
    }
    let lib = vec!["lib".to_string()];
    let bin = vec!["bin".to_string()];
    let e = |path: &str, krate: &str, ed, target: &str, kind: &Vec<String>| {
        (
            path.to_string(),
            (krate.to_string(), ed, target.to_string(), kind.clone()),
        )
    };
    let want: BTreeMap<_, _> = [
        e(
            "alpha/src/lib.rs",
            "alpha_core",
            Edition::E2018,
            "alpha_core",
            &lib,
        ),
        e(
            "alpha/src/broken.rs",
            "alpha_core",
            Edition::E2018,
            "alpha_core",
            &lib,
        ),
        e("beta/src/lib.rs", "beta", Edition::E2021, "beta", &lib),
        e("beta/src/bad.rs", "beta", Edition::E2021, "beta", &lib),
        e("beta/src/main.rs", "beta", Edition::E2021, "beta", &bin),
        e("beta/src/cmd.rs", "beta", Edition::E2021, "beta", &bin),
        e(
            "beta/src/old_main.rs",
            "beta_old",
            Edition::E2015,
            "beta-old",
            &bin,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    for u in &r.units {
        assert!(u.manifest_path.ends_with("Cargo.toml"), "{u:?}");
        assert!(u.package_id.contains(&u.package_name), "{u:?}");
        assert!(u.src_path.is_absolute(), "{u:?}");
        assert!(!u.crate_types.is_empty(), "{u:?}");
    }
    assert!(r.root.ends_with("cli/workspace"), "{:?}", r.root);
}

#[test]
fn module_tree_follows_rustc_rules() {
    let r = cargo_lockstep::analyze_fixture(&fixture("cli/modules"));
    let got: BTreeMap<String, String> =
        r.db.files()
            .iter()
            .map(|f| (f.path.clone(), f.module_name()))
            .collect();
    let want: BTreeMap<String, String> = [
        ("src/lib.rs", "cli_modules"),
        ("src/plain.rs", "cli_modules::plain"),
        ("src/plain/child.rs", "cli_modules::plain::child"),
        ("src/p.rs", "cli_modules::plain::y"),
        ("src/plain/nested/x.rs", "cli_modules::plain::nested::x"),
        ("src/plain/nested/q.rs", "cli_modules::plain::nested::z"),
        ("src/dir/mod.rs", "cli_modules::dir"),
        ("src/dir/leaf.rs", "cli_modules::dir::leaf"),
        ("src/elsewhere/renamed.rs", "cli_modules::renamed"),
        ("src/elsewhere/sib.rs", "cli_modules::renamed::sib"),
        ("src/outer/inner.rs", "cli_modules::outer::inner"),
        (
            "src/outer/custom/deep.rs",
            "cli_modules::outer::pathdir::deep",
        ),
        ("src/gated.rs", "cli_modules::gated"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    let msgs: Vec<&str> = r.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.contains(&"file not found for module `missing`; its code was not analyzed"),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("module cycle")), "{msgs:?}");
}

#[test]
fn paths_mode_walks_directories() {
    let d = scratch("paths-walk");
    write(&d.join("drv/lib.rs"), "mod net;\n");
    write(&d.join("drv/net/mod.rs"), "pub mod tcp;\n");
    write(&d.join("drv/net/tcp.rs"), "fn tcp( {\n");
    write(&d.join("drv/notes.txt"), "not rust\n");
    write(&d.join("drv/target/gen.rs"), "fn skipped( {\n");
    write(&d.join("single.rs"), "fn single( {\n");
    let o = short(&d, &["drv", "single.rs"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(
        finding_files(&o.stdout),
        ["drv/net/tcp.rs", "single.rs"],
        "{o:?}"
    );

    let r = cargo_lockstep::analyze_dir(&d.join("drv"), Edition::E2018, &Default::default());
    let got: Vec<(String, String, Edition)> =
        r.db.files()
            .iter()
            .map(|f| (f.path.clone(), f.module_name(), f.edition))
            .collect();
    assert_eq!(
        got,
        [
            ("lib.rs".to_string(), "drv".to_string(), Edition::E2018),
            (
                "net/mod.rs".to_string(),
                "drv::net".to_string(),
                Edition::E2018
            ),
            (
                "net/tcp.rs".to_string(),
                "drv::net::tcp".to_string(),
                Edition::E2018
            ),
        ]
    );

    // a module file given alone: its children are found in the directory named after it
    write(&d.join("m/net.rs"), "mod tcp;\n");
    write(&d.join("m/net/tcp.rs"), "fn tcp( {\n");
    let o = short(&d, &["m/net.rs"]);
    assert_eq!(finding_files(&o.stdout), ["m/net/tcp.rs"], "{o:?}");

    // an empty directory is not an error
    std::fs::create_dir_all(d.join("empty")).unwrap();
    let o = short(&d, &["empty"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stderr.contains("no `.rs` file below `empty`"), "{o:?}");

    // a missing path is an error; the other paths are still analyzed
    let o = short(&d, &["nope", "single.rs"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("`nope` does not exist"), "{o:?}");
    assert_eq!(finding_files(&o.stdout), ["single.rs"], "{o:?}");
}

#[test]
fn paths_mode_directory_with_manifest_uses_its_targets() {
    let d = scratch("paths-manifest");
    let p = package(
        "paths-manifest-pkg",
        "2018",
        &[
            ("src/lib.rs", "mod a;\n"),
            ("src/a.rs", "fn a( {\n"),
            ("src/stray.rs", "fn s( {\n"),
        ],
    );
    let o = short(&d, &[p.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{o:?}");
    // stray.rs is not in the module tree
    assert_eq!(findings(&o.stdout).len(), 1, "{o:?}");
    assert!(o.stdout.contains("src/a.rs:1:"), "{o:?}");
    let r = cargo_lockstep::analyze_dir(&p, Edition::E2024, &Default::default());
    assert!(r.db.files().iter().all(|f| f.edition == Edition::E2018));
}

#[test]
fn paths_mode_edition_comes_from_the_enclosing_package() {
    use cargo_lockstep::plan::enclosing_edition;
    let d = scratch("paths-edition");
    write(
        &d.join("Cargo.toml"),
        "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\n\n[workspace.package]\nedition = \"2024\"\n",
    );
    write(
        &d.join("a/Cargo.toml"),
        "[package]\nname = \"a\"\nedition = \"2018\"\n",
    );
    write(
        &d.join("b/Cargo.toml"),
        "[package]\nname = \"b\"\nedition.workspace = true\n",
    );
    write(&d.join("c/Cargo.toml"), "[package]\nname = \"c\"\n");
    std::fs::create_dir_all(d.join("a/src/net")).unwrap();
    std::fs::create_dir_all(d.join("b/src")).unwrap();
    std::fs::create_dir_all(d.join("c/src")).unwrap();
    std::fs::create_dir_all(d.join("other")).unwrap();
    assert_eq!(
        enclosing_edition(&d.join("a/src/net")),
        Some(Edition::E2018)
    );
    assert_eq!(enclosing_edition(&d.join("b/src")), Some(Edition::E2024));
    assert_eq!(enclosing_edition(&d.join("c/src")), Some(Edition::E2015));
    // outside any package (the virtual manifest is not a package)
    assert_eq!(enclosing_edition(&d.join("other")), None);
}

#[test]
fn subcommand_words_and_paths() {
    let d = scratch("paths-graph");
    write(&d.join("graph/x.rs"), "fn x( {\n");
    let word = lockstep(&d, &["graph"]);
    assert!(word.stdout.starts_with("digraph "), "{word:?}");
    assert!(!word.stdout.contains("x.rs"), "{word:?}");
    let path = short(&d, &["./graph"]);
    assert_eq!(path.code, 0, "{path:?}");
    assert_eq!(finding_files(&path.stdout), ["graph/x.rs"], "{path:?}");
    let dw = short(&d, &["-D", "warnings", "./graph"]);
    assert_eq!(dw.code, 1, "{dw:?}");
}

#[test]
fn unreadable_and_non_utf8_files_are_findings() {
    let d = package(
        "load-problems",
        "2021",
        &[
            (
                "src/lib.rs",
                "mod latin1;\nmod dir_not_file;\nmod fine;\nmod broken;\nmod gone;\n",
            ),
            ("src/fine.rs", "pub fn fine() {}\n"),
            ("src/broken.rs", "fn broken( {\n"),
        ],
    );
    write(&d.join("src/latin1.rs"), b"// caf\xe9\nfn a() {}\n");
    std::fs::create_dir_all(d.join("src/dir_not_file.rs")).unwrap();
    let o = short(&d, &[]);
    assert_eq!(o.code, 0, "{o:?}");
    let f = findings(&o.stdout);
    assert_eq!(f.len(), 4, "{o:?}");
    // in path order
    assert!(f[0].starts_with("src/broken.rs:"), "{o:?}");
    assert!(
        f[1].starts_with(
            "src/latin1.rs:1:7: warning[lockstep::parse_error]: file is not valid utf-8"
        ),
        "{o:?}"
    );
    assert!(
        f[2].starts_with("src/lib.rs:2:5: warning[lockstep::parse_error]: cannot read `src/dir_not_file.rs` for module `dir_not_file`"),
        "{o:?}"
    );
    assert!(
        f[3].starts_with(
            "src/lib.rs:5:5: warning[lockstep::parse_error]: file not found for module `gone`"
        ),
        "{o:?}"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_cycles() {
    use std::os::unix::fs::symlink;
    // a loop met while walking a directory
    let d = scratch("symlink-walk");
    write(&d.join("src/a.rs"), "fn a( {\n");
    symlink("..", d.join("src/up")).unwrap();
    let o = short(&d, &["src"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("symlink loop"), "{o:?}");
    assert_eq!(finding_files(&o.stdout), ["src/a.rs"], "{o:?}");

    // a module file that is a symlink back to the crate root
    let p = package(
        "symlink-mod",
        "2021",
        &[("src/lib.rs", "mod again;\nmod b;\n"), ("src/b.rs", "")],
    );
    symlink("lib.rs", p.join("src/again.rs")).unwrap();
    let o = short(&p, &[]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stdout
            .contains("src/lib.rs:1:5: warning[lockstep::parse_error]: module `again`"),
        "{o:?}"
    );
    assert!(o.stdout.contains("module cycle"), "{o:?}");
    // a FIFO is not read (reading it would block)
    let fifo = p.join("src/fifo.rs");
    if std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        write(&p.join("src/lib.rs"), "mod fifo;\n");
        let o = short(&p, &[]);
        assert!(
            o.stdout
                .contains("cannot read `src/fifo.rs` for module `fifo`: not a regular file"),
            "{o:?}"
        );
    }
    // a dangling module symlink
    symlink("nowhere.rs", p.join("src/b2.rs")).unwrap();
    write(&p.join("src/lib.rs"), "mod b2;\n");
    let o = short(&p, &[]);
    assert!(o.stdout.contains("file not found for module `b2`"), "{o:?}");
}

#[test]
fn output_is_deterministic() {
    let mut files: Vec<(String, String)> = vec![("src/lib.rs".into(), String::new())];
    for i in 0..40 {
        files[0].1.push_str(&format!("mod m{i};\n"));
        let mut body = String::new();
        for j in 0..5 {
            body.push_str(&format!("mod s{j};\n"));
            files.push((format!("src/m{i}/s{j}.rs"), format!("fn f{j}( {{\n")));
        }
        files.push((format!("src/m{i}.rs"), body));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let d = package("determinism", "2021", &refs);
    let first = short(&d, &[]);
    assert_eq!(findings(&first.stdout).len(), 200, "{first:?}");
    for jobs in ["1", "2", "3"] {
        assert_eq!(short(&d, &["-j", jobs]).stdout, first.stdout);
    }
    let a = cargo_lockstep::analyze_fixture(&d);
    let b = cargo_lockstep::analyze_fixture(&d);
    let ids = |r: &cargo_lockstep::Report| -> Vec<String> {
        r.db.files().iter().map(|f| f.path.clone()).collect()
    };
    assert_eq!(ids(&a), ids(&b));
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 250;
    let body = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
    let src = format!("pub fn deep() -> i32 {{ {body} }}\n");
    let d = package("deep-nesting", "2021", &[("src/lib.rs", &src)]);
    let o = short(&d, &[]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(findings(&o.stdout).is_empty(), "{o:?}");
}

/// The findings' `path:line` of a short-format run.
fn lines_of(out: &str) -> Vec<String> {
    findings(out)
        .iter()
        .map(|l| l.split(':').take(2).collect::<Vec<_>>().join(":"))
        .collect()
}

#[test]
fn feature_flags_decide_feature_cfgs() {
    let dir = fixture("locks/precision/cfg-features");
    let run = |flags: &[&str]| {
        let mut args = vec!["--no-cache", "--message-format", "short", "--stats"];
        args.extend(flags);
        let out = lockstep(&dir, &args);
        assert_eq!(out.code, 1, "{out:?}");
        out
    };
    let lib =
        |ls: &[u32]| -> Vec<String> { ls.iter().map(|l| format!("src/lib.rs:{l}")).collect() };
    // default: `std` and `alloc` on (what the `//~` comments expect)
    let out = run(&[]);
    assert_eq!(
        lines_of(&out.stdout),
        lib(&[18, 38, 59, 66, 75, 87]),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(
            "lockstep: 10 items under disabled features left out (among them 2 statements and 1 module)"
        ),
        "{out:?}"
    );
    let out = run(&["--no-default-features"]);
    assert_eq!(
        lines_of(&out.stdout),
        lib(&[32, 38, 52, 59, 66, 87]),
        "{out:?}"
    );
    // `trace` on: its module is read, its statements are in, its alternative is the first
    let mut want = lib(&[18, 25, 45, 52, 59, 66, 73, 75]);
    want.push("src/tracing.rs:5".into());
    assert_eq!(lines_of(&run(&["--features", "trace"]).stdout), want);
    assert_eq!(
        lines_of(&run(&["-F", "precision-cfg-features/trace"]).stdout),
        want
    );
    want.splice(
        8..8,
        ["src/lib.rs:101".to_string(), "src/lib.rs:110".to_string()],
    );
    assert_eq!(lines_of(&run(&["--all-features"]).stdout), want);
    // as cargo, a feature no selected package has is an error
    let out = lockstep(&dir, &["--no-cache", "--features", "nope"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("none of the selected packages contains this feature: nope"),
        "{out:?}"
    );
}
