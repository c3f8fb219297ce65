//! `sarif` output: the SARIF 2.1.0 structure, locations, fingerprints, and (opt-in) the
//! SARIF multitool's validator.

mod render_support;

use cargo_lockstep::render::MessageFormat;
use render_support::*;
use serde_json::Value;

fn sarif(report: &cargo_lockstep::Report) -> Value {
    serde_json::from_str(&rendered(report, MessageFormat::Sarif)).expect("sarif is JSON")
}

#[test]
fn log_run_and_rules() {
    let log = sarif(&report());
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &log["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert_eq!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"], "file:///ws/");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "cargo-lockstep");
    assert!(driver["informationUri"].is_string());
    assert!(driver["version"].is_string());
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(ids.contains(&"lockstep::unused_allow"));
    let unused = rules
        .iter()
        .find(|r| r["id"] == "lockstep::unused_allow")
        .unwrap();
    assert_eq!(unused["defaultConfiguration"]["level"], "warning");
    assert_eq!(
        unused["shortDescription"]["text"],
        "a lockstep allow suppresses nothing"
    );
    assert!(unused["fullDescription"]["text"]
        .as_str()
        .unwrap()
        .starts_with("Reports a `// lockstep: allow(..)` comment"));
    assert!(unused["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("## Why is this bad?"));
    assert!(!unused["help"]["text"].as_str().unwrap().contains("## "));
    // Every result's ruleIndex points at its rule.
    for r in run["results"].as_array().unwrap() {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
}

#[test]
fn results_locations_and_related_sites() {
    let log = sarif(&report());
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let double = &results[0];
    assert_eq!(double["ruleId"], "lockstep::double_lock");
    assert_eq!(double["level"], "error");
    assert!(double["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("`self.state` is locked while already held"));
    let locs = double["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 1);
    let pl = &locs[0]["physicalLocation"];
    assert_eq!(pl["artifactLocation"]["uri"], "src/lib.rs");
    assert_eq!(pl["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    let region = &pl["region"];
    assert_eq!(region["startLine"], 11);
    assert_eq!(region["startColumn"], 17);
    assert_eq!(region["endLine"], 11);
    assert_eq!(region["endColumn"], 34);
    // charOffset counts code points: "Café" has one two-byte character before the site.
    let at = LIB.match_indices("self.state.lock()").nth(1).unwrap().0;
    assert_eq!(
        region["charOffset"].as_u64().unwrap() as usize,
        LIB[..at].chars().count()
    );
    assert_eq!(region["charLength"], 17);
    let related = double["relatedLocations"].as_array().unwrap();
    assert_eq!(related.len(), 2);
    assert_eq!(related[0]["id"], 1);
    assert_eq!(related[0]["message"]["text"], "first acquisition here");
    assert_eq!(related[1]["id"], 2);
    assert_eq!(
        related[1]["physicalLocation"]["artifactLocation"]["uri"],
        "src/tcp.rs"
    );
    // A BOM file: code points are counted after the BOM.
    let leak = &results[1];
    let region = &leak["locations"][0]["physicalLocation"]["region"];
    let at = TCP.find("let d").unwrap() + 4;
    assert_eq!(
        region["charOffset"].as_u64().unwrap() as usize,
        TCP[3..at].chars().count()
    );
    assert_eq!(leak["level"], "warning");
    // Suggestions become fixes: the deleted region and the inserted text.
    let fix = &leak["fixes"][0];
    assert_eq!(fix["description"]["text"], "remove the binding");
    let change = &fix["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "src/tcp.rs");
    let rep = &change["replacements"][0];
    assert_eq!(rep["insertedContent"]["text"], "");
    assert_eq!(rep["deletedRegion"]["startLine"], 3);
    assert_eq!(rep["deletedRegion"]["endLine"], 4);
    assert_eq!(rep["deletedRegion"]["endColumn"], 1);
    assert!(results[0].get("fixes").is_none());
}

#[test]
fn fingerprints_ignore_lines() {
    let a = sarif(&report());
    // The same findings with every line moved down: fingerprints stay.
    let mut moved = report();
    let (mut db, lib, tcp) = db();
    let _ = (lib, tcp);
    db = {
        let mut d = lockstep_analyzer::SourceDb::new();
        for f in db.files() {
            let text = format!("\n\n\n{}", f.text.trim_start_matches('\u{feff}'));
            d.add(lockstep_analyzer::SourceFile::new(
                f.id,
                f.path.clone(),
                text,
            ));
        }
        d
    };
    moved.diagnostics = diagnostics(&db, lib, tcp);
    moved.db = db;
    let b = sarif(&moved);
    let fp = |v: &Value| -> Vec<String> {
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["lockstepIdentity/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let line = |v: &Value| {
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"]
            .clone()
    };
    assert_ne!(line(&a), line(&b));
    assert_eq!(fp(&a), fp(&b));
    let mut unique = fp(&a);
    unique.dedup();
    assert_eq!(unique.len(), 3);
}

#[test]
fn empty_report_is_a_valid_run() {
    let log = sarif(&cargo_lockstep::Report::default());
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
}

/// Run the SARIF multitool's validator on our output. Opt in with `LOCKSTEP_SARIF_VALIDATE=1`
/// (and `SARIF_MULTITOOL=/path/to/Sarif.Multitool` or `sarif-multitool` on `PATH`); see
/// `scripts/validate-sarif.sh`.
#[test]
fn multitool_validates_the_log() {
    if std::env::var("LOCKSTEP_SARIF_VALIDATE").as_deref() != Ok("1") {
        eprintln!("skipped: set LOCKSTEP_SARIF_VALIDATE=1 to run the SARIF validator");
        return;
    }
    let tool = std::env::var("SARIF_MULTITOOL").unwrap_or_else(|_| "sarif-multitool".into());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("lockstep.sarif");
    let output = dir.path().join("validation.sarif");
    std::fs::write(&input, rendered(&report_with_units(), MessageFormat::Sarif)).unwrap();
    let out = std::process::Command::new(&tool)
        .arg("validate")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--log", "ForceOverwrite"])
        .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(&output)
            .unwrap_or_else(|e| panic!("validator wrote no log ({e}):\n{text}")),
    )
    .unwrap();
    let errors: Vec<&Value> = report["runs"][0]["results"]
        .as_array()
        .map(|r| r.iter().filter(|r| r["level"] == "error").collect())
        .unwrap_or_default();
    assert!(errors.is_empty(), "validator errors: {errors:#?}\n{text}");
    assert!(out.status.success(), "validator failed:\n{text}");
}

/// Write the test report's SARIF to `$LOCKSTEP_SARIF_OUT` (used by `scripts/validate-sarif.sh`).
#[test]
fn write_sample_log() {
    if let Ok(path) = std::env::var("LOCKSTEP_SARIF_OUT") {
        std::fs::write(path, rendered(&report_with_units(), MessageFormat::Sarif)).unwrap();
    }
}
