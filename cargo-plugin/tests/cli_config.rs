//! Configuration files: errors point into the TOML, levels and settings are applied.

mod cli_support;

use cli_support::{findings, fixture, lockstep, package, scratch, write};

const BROKEN: &str = "pub fn broken( {\n";

fn with_config(name: &str, config: &str) -> cli_support::Out {
    let d = package(
        name,
        "2021",
        &[("src/lib.rs", "mod broken;\n"), ("src/broken.rs", BROKEN)],
    );
    write(&d.join("lockstep.toml"), config);
    lockstep(&d, &["--message-format", "short"])
}

#[test]
fn unknown_key_points_at_it() {
    let o = with_config(
        "cfg-unknown-key",
        "# comment\n[lints]\nparse_error = \"warn\"\n\n[seq]\nnamez = [\"snd_nxt\"]\n",
    );
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("unknown field `namez`"), "{o:?}");
    assert!(o.stderr.contains("lockstep.toml:6:1"), "{o:?}");
    assert!(findings(&o.stdout).is_empty(), "{o:?}");
}

#[test]
fn wrong_type_names_the_key() {
    let o = with_config(
        "cfg-wrong-type",
        "lock_order = []\nalloc_blocks = \"yes\"\n",
    );
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("invalid `alloc_blocks`"), "{o:?}");
    assert!(o.stderr.contains("expected a boolean"), "{o:?}");
    assert!(o.stderr.contains("lockstep.toml:2:16"), "{o:?}");
}

#[test]
fn unknown_lint_and_level_in_config() {
    let o = with_config("cfg-unknown-lint", "[lints]\nparse_eror = \"deny\"\n");
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("unknown lint `parse_eror`"), "{o:?}");
    assert!(o.stderr.contains("did you mean `parse_error`"), "{o:?}");
    assert!(o.stderr.contains("lockstep.toml:2:1"), "{o:?}");

    let o = with_config("cfg-bad-level", "[lints]\nparse_error = \"forbid\"\n");
    assert_eq!(o.code, 2, "{o:?}");
    assert!(
        o.stderr
            .contains("invalid level `forbid` for lint `parse_error`"),
        "{o:?}"
    );
    assert!(o.stderr.contains("lockstep.toml:2:15"), "{o:?}");
}

#[test]
fn missing_required_field_and_bad_table() {
    let o = with_config(
        "cfg-missing-field",
        "[[lock_pair]]\nacquire = \"lock_it\"\n",
    );
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("missing field `release`"), "{o:?}");
    let o = with_config("cfg-syntax", "[lints\nparse_error = \"deny\"\n");
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("lockstep.toml:1:"), "{o:?}");
}

#[test]
fn a_good_config_is_applied() {
    let o = with_config(
        "cfg-good",
        r#"lock_order = ["crate::Dev.state", "crate::Dev.queue"]
irq_handlers = ["isr"]
alloc_blocks = true

[lints]
"lockstep::parse_error" = "deny"

[[lock_type]]
type_name = "IrqLock"
spin = true
acquire = ["lock"]
irq_acquire = ["lock_irqsave"]

[[lock_pair]]
acquire = "KeAcquireSpinLock"
release = "KeReleaseSpinLock"
spin = true

[[resource_pair]]
take = "take_credit"
give = "return_credit"

[[contract]]
function = "ndis::NdisMSendComplete"
may_block = false
acquires = ["Miniport.lock"]

[seq]
names = ["snd_una"]
ignore = ["window"]
"#,
    );
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stdout.contains("error[lockstep::parse_error]"), "{o:?}");
}

#[test]
fn config_in_manifest_metadata() {
    let o = lockstep(
        &fixture("cli/metadata-config"),
        &["--message-format", "short"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(findings(&o.stdout).is_empty(), "{o:?}");

    // a virtual workspace's [workspace.metadata.lockstep] applies to its members
    let d = scratch("cfg-workspace-metadata");
    write(
        &d.join("Cargo.toml"),
        "[workspace]\nmembers = [\"m\"]\nresolver = \"2\"\n\n[workspace.metadata.lockstep.lints]\nparse_error = \"deny\"\n",
    );
    write(
        &d.join("m/Cargo.toml"),
        "[package]\nname = \"m\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
    );
    write(&d.join("m/src/lib.rs"), BROKEN);
    let o = lockstep(&d, &["--message-format", "short"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(
        o.stdout
            .contains("m/src/lib.rs:1:16: error[lockstep::parse_error]"),
        "{o:?}"
    );
}

#[test]
fn config_in_two_places_is_an_error() {
    let d = package(
        "cfg-twice",
        "2021",
        &[
            ("src/lib.rs", "pub fn a() {}\n"),
            ("lockstep.toml", "alloc_blocks = true\n"),
        ],
    );
    let manifest = std::fs::read_to_string(d.join("Cargo.toml")).unwrap();
    write(
        &d.join("Cargo.toml"),
        format!("{manifest}\n[package.metadata.lockstep]\nalloc_blocks = false\n"),
    );
    let o = lockstep(&d, &[]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(
        o.stderr.contains(
            "configuration given twice: in lockstep.toml and in [package.metadata.lockstep]"
        ),
        "{o:?}"
    );
    assert!(o.stderr.contains("Cargo.toml:8:1"), "{o:?}");
}

#[test]
fn bad_metadata_config_points_into_the_manifest() {
    let d = package(
        "cfg-bad-metadata",
        "2021",
        &[("src/lib.rs", "pub fn a() {}\n")],
    );
    let manifest = std::fs::read_to_string(d.join("Cargo.toml")).unwrap();
    write(
        &d.join("Cargo.toml"),
        format!("{manifest}\n[package.metadata.lockstep]\nskip = \"src/gen\"\n"),
    );
    let o = lockstep(&d, &[]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.stderr.contains("invalid `skip`"), "{o:?}");
    assert!(o.stderr.contains("Cargo.toml:9:8"), "{o:?}");
}

#[test]
fn paths_inside_a_package_use_its_config() {
    // the package's lockstep.toml applies to a directory or file given as a path inside it
    let d = fixture("cli/levels");
    for path in ["src", "src/broken.rs"] {
        let o = lockstep(&d, &["--message-format", "short", path]);
        assert_eq!(o.code, 1, "{path}: {o:?}");
        assert!(
            o.stdout.contains("error[lockstep::parse_error]"),
            "{path}: {o:?}"
        );
        // and its `skip`
        assert!(!o.stdout.contains("skipped"), "{path}: {o:?}");
    }
    // a virtual workspace's metadata reaches a member directory given as a path
    let ws = scratch("cfg-paths-workspace");
    write(
        &ws.join("Cargo.toml"),
        "[workspace]\nmembers = [\"m\"]\n\n[workspace.metadata.lockstep.lints]\nparse_error = \"deny\"\n",
    );
    write(
        &ws.join("m/Cargo.toml"),
        "[package]\nname = \"m\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
    );
    write(&ws.join("m/src/lib.rs"), BROKEN);
    let o = lockstep(&ws, &["--message-format", "short", "m/src"]);
    assert_eq!(o.code, 1, "{o:?}");
}
