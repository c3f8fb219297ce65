//! `human` and `short` output, snapshotted.

mod render_support;

use cargo_lockstep::render::{human, MessageFormat};
use render_support::*;

fn human_plain(report: &cargo_lockstep::Report) -> String {
    let mut out = Vec::new();
    human::render(report, false, 100, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn human_plain_output() {
    insta::assert_snapshot!(human_plain(&report()));
}

#[test]
fn human_color_output_uses_escapes_and_plain_does_not() {
    let r = report();
    let mut out = Vec::new();
    human::render(&r, true, 100, &mut out).unwrap();
    let colored = String::from_utf8(out).unwrap();
    assert!(colored.contains('\u{1b}'));
    let plain = human_plain(&r);
    assert!(!plain.contains('\u{1b}'));
    assert!(plain.is_ascii() || !plain.chars().any(|c| "╭│─╰×⚠".contains(c)));
}

#[test]
fn human_shows_sites_in_every_file() {
    let plain = human_plain(&report());
    assert!(plain.contains("first acquisition here"));
    assert!(plain.contains("second acquisition blocks forever"));
    assert!(plain.contains("both guards are passed on here"));
    assert!(plain.contains("src/tcp.rs"));
    assert!(plain.contains("= note: a spin or sleeping mutex is not reentrant"));
}

#[test]
fn summary_line() {
    let plain = human_plain(&report());
    assert_eq!(
        plain.lines().last().unwrap(),
        "lockstep: 2 errors, 1 warning (double_lock: 1, resource_leak: 1, seq_compare: 1)"
    );
    assert_eq!(human::summary(&[]), "lockstep: no findings");
}

#[test]
fn short_output() {
    insta::assert_snapshot!(rendered(&report(), MessageFormat::Short), @r"
    src/lib.rs:11:17: error[lockstep::double_lock]: `self.state` is locked while already held
    src/tcp.rs:3:9: warning[lockstep::resource_leak]: credit taken and never given back
    src/tcp.rs:4:5: error[lockstep::seq_compare]: sequence numbers compared with `>`, wrong across the wrap
    ");
}
