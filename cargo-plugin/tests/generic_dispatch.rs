//! Findings whose witness goes through a call on a bounded type parameter are one level
//! weaker and say which trait was assumed, like those through a `dyn` receiver.

use std::path::Path;

#[test]
fn generic_dispatch_is_reported_as_assumed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/locks/generics");
    let report = cargo_lockstep::analyze_fixture(&dir);
    let through: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.notes.iter().any(|n| n.contains("through trait")))
        .collect();
    // Every finding of the fixture but `Table::reenter` (a closure, not a trait) goes through
    // a bound: two inversions and eight double locks.
    assert_eq!(through.len(), 10, "{:#?}", report.diagnostics);
    for d in &through {
        assert_eq!(d.level, lockstep_analyzer::Level::Warn, "{d:#?}");
    }
    let traits: std::collections::BTreeSet<_> = through
        .iter()
        .flat_map(|d| d.notes.iter())
        .filter_map(|n| n.split('`').nth(1))
        .collect();
    assert_eq!(
        traits.into_iter().collect::<Vec<_>>(),
        ["Device", "NicOps"],
        "{through:#?}"
    );
}
