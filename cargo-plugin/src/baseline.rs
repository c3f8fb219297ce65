//! Baselines: record today's findings so that later runs report only new ones.
//!
//! A finding is identified by its lint, its file and its stable `Diagnostic::key` (lock
//! classes, enclosing function, …), plus an occurrence index among findings that share all
//! three. Line numbers take no part, so edits elsewhere in a file keep the baseline valid.
//! The file is versioned JSON with its entries sorted.

use std::collections::BTreeMap;
use std::path::Path;

use lockstep_analyzer::Diagnostic;
use serde::{Deserialize, Serialize};

use crate::report::Report;

/// The format version written to and accepted from baseline files.
pub const VERSION: u32 = 1;

/// The identity of one finding, independent of line numbers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry {
    pub lint: String,
    pub file: String,
    pub key: String,
    /// Index among the report's findings with the same lint, file and key, in output order.
    pub occurrence: u32,
}

/// A baseline file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// The key a finding is identified by: its `key`, or its message when a lint set none.
fn stable_key(d: &Diagnostic) -> &str {
    if d.key.is_empty() {
        &d.message
    } else {
        &d.key
    }
}

/// The identity of every finding of `report`, in the report's order.
pub fn entries(report: &Report) -> Vec<Entry> {
    let mut seen: BTreeMap<(&str, &str, &str), u32> = BTreeMap::new();
    report
        .diagnostics
        .iter()
        .map(|d| {
            let file = report.db.get(d.primary.span.file).path.as_str();
            let n = seen.entry((d.lint, file, stable_key(d))).or_insert(0);
            let e = Entry {
                lint: d.lint.to_string(),
                file: file.to_string(),
                key: stable_key(d).to_string(),
                occurrence: *n,
            };
            *n += 1;
            e
        })
        .collect()
}

impl Baseline {
    /// The baseline of a report: every finding, sorted.
    pub fn of(report: &Report) -> Baseline {
        let mut findings = entries(report);
        findings.sort();
        Baseline {
            version: VERSION,
            findings,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn from_json(text: &str) -> Result<Baseline, String> {
        let b: Baseline =
            serde_json::from_str(text).map_err(|e| format!("not a lockstep baseline: {e}"))?;
        if b.version != VERSION {
            return Err(format!(
                "baseline version {} is not supported (expected {VERSION})",
                b.version
            ));
        }
        Ok(b)
    }
}

/// Record the findings of `report` in a baseline file.
pub fn write(path: &Path, report: &Report) -> std::io::Result<()> {
    std::fs::write(path, Baseline::of(report).to_json())
}

/// Read a baseline file.
pub fn read(path: &Path) -> Result<Baseline, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
    Baseline::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The findings of `report` that the baseline does not hold, in the report's order, and the
/// number of baseline entries that no longer match any finding.
pub fn filter(report: &Report, baseline: &Baseline) -> (Vec<Diagnostic>, usize) {
    let mut known: BTreeMap<&Entry, bool> = baseline.findings.iter().map(|e| (e, false)).collect();
    let mut new = Vec::new();
    for (d, e) in report.diagnostics.iter().zip(entries(report)) {
        match known.get_mut(&e) {
            Some(used) => *used = true,
            None => new.push(d.clone()),
        }
    }
    let stale = known.values().filter(|used| !**used).count();
    (new, stale)
}

/// A stable fingerprint of a finding's identity (FNV-1a, 64 bits, hex), for SARIF.
pub fn fingerprint(e: &Entry) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        e.lint.as_str(),
        e.file.as_str(),
        e.key.as_str(),
        &e.occurrence.to_string(),
    ] {
        for b in part.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
