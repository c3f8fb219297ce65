//! Configuration: `lockstep.toml`, `[workspace.metadata.lockstep]` or
//! `[package.metadata.lockstep]`, and lint levels from the configuration and the command line.
//!
//! Unknown keys, wrong types, unknown lint names and unknown levels are errors that point
//! at the offending TOML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lockstep_analyzer::config::{Contract, LockPair, LockType, ResourcePair};
use lockstep_analyzer::{Config, Level};
use serde::Deserialize;
use toml::Spanned;

use crate::paths::{display_path, normalize, SkipSet};
use crate::suggest::{did_you_mean_lint, unknown_lint};

/// The configuration file format (also the shape of the `metadata.lockstep` tables).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    lints: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    lock_type: Vec<LockTypeToml>,
    #[serde(default)]
    lock_pair: Vec<LockPairToml>,
    #[serde(default)]
    resource_pair: Vec<ResourcePairToml>,
    #[serde(default)]
    contract: Vec<ContractToml>,
    #[serde(default)]
    lock_order: Vec<String>,
    #[serde(default)]
    irq_handlers: Vec<String>,
    #[serde(default)]
    softirq_handlers: Vec<String>,
    #[serde(default)]
    blocking_functions: Vec<String>,
    #[serde(default)]
    seq: SeqToml,
    alloc_blocks: Option<bool>,
    #[serde(default)]
    skip: Vec<String>,
    #[serde(default)]
    budget: BudgetToml,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct BudgetToml {
    summary_per_component: Option<u64>,
    summary_per_run: Option<u64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct LockTypeToml {
    type_name: String,
    #[serde(default)]
    spin: bool,
    #[serde(default)]
    acquire: Vec<String>,
    #[serde(default)]
    irq_acquire: Vec<String>,
    #[serde(default)]
    try_acquire: Vec<String>,
    #[serde(default)]
    reentrant: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct LockPairToml {
    acquire: String,
    release: String,
    #[serde(default)]
    spin: bool,
    #[serde(default)]
    irq_safe: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ResourcePairToml {
    take: String,
    give: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ContractToml {
    function: String,
    #[serde(default)]
    acquires: Vec<String>,
    #[serde(default)]
    releases: Vec<String>,
    #[serde(default)]
    requires_held: Vec<String>,
    #[serde(default)]
    returns_held: Vec<String>,
    #[serde(default)]
    irq_context: bool,
    #[serde(default)]
    may_block: bool,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct SeqToml {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
}

/// Only the parts of a manifest that can hold configuration; everything else is ignored.
#[derive(Deserialize, Default)]
struct Manifest {
    package: Option<MetadataHolder>,
    workspace: Option<MetadataHolder>,
}

#[derive(Deserialize, Default)]
struct MetadataHolder {
    metadata: Option<LockstepHolder>,
}

#[derive(Deserialize, Default)]
struct LockstepHolder {
    lockstep: Option<ConfigFile>,
}

/// A configuration error: a message and, when it comes from a file, the place in it.
#[derive(Debug, miette::Diagnostic)]
pub struct ConfigError {
    pub message: String,
    #[source_code]
    pub src: Option<miette::NamedSource<String>>,
    #[label("{label}")]
    pub span: Option<miette::SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn plain(message: impl Into<String>) -> Box<ConfigError> {
        Box::new(ConfigError {
            message: message.into(),
            src: None,
            span: None,
            label: String::new(),
            help: None,
        })
    }

    fn at(
        name: &str,
        text: &str,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Box<ConfigError> {
        let len = span.end.saturating_sub(span.start);
        Box::new(ConfigError {
            message: message.into(),
            src: Some(miette::NamedSource::new(name, text.to_string())),
            span: Some((span.start, len).into()),
            label: label.into(),
            help: None,
        })
    }

    fn with_help(mut self: Box<Self>, help: impl Into<String>) -> Box<ConfigError> {
        self.help = Some(help.into());
        self
    }

    /// Render for a terminal (or not): the message, the TOML excerpt with the place marked,
    /// and the help.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut s = String::new();
        if handler.render_report(&mut s, self).is_err() {
            s = format!("error: {}\n", self.message);
        }
        s
    }
}

/// Where the configuration came from, for `--stats` and error messages.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub config: Config,
    /// Lint levels from the configuration files (`warnings` included), merged.
    pub levels: Vec<(String, Level)>,
    pub skip: SkipSet,
    pub sources: Vec<PathBuf>,
}

/// Read the configuration of each directory in `dirs` (a workspace root first, then package
/// directories) and merge it: lists are appended, levels and `alloc_blocks` of a later
/// directory override earlier ones. `[workspace.metadata.lockstep]` counts in a manifest
/// with a `[workspace]` table (a workspace root).
pub fn load_settings(dirs: &[PathBuf]) -> Result<Settings, Box<ConfigError>> {
    let mut settings = Settings::default();
    let mut done: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let dir = normalize(dir);
        if done.contains(&dir) {
            continue;
        }
        done.push(dir.clone());
        let manifest = dir.join("Cargo.toml");
        let file = dir.join("lockstep.toml");
        let mut found: Vec<Found> = Vec::new();
        if file.is_file() {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                ConfigError::plain(format!("cannot read `{}`: {e}", file.display()))
            })?;
            let name = shown(&file);
            let cfg = parse_toml::<ConfigFile>(&name, &text)?;
            found.push((name, text, cfg, 0..0, "lockstep.toml".into()));
        }
        if manifest.is_file() {
            let text = std::fs::read_to_string(&manifest).map_err(|e| {
                ConfigError::plain(format!("cannot read `{}`: {e}", manifest.display()))
            })?;
            let name = shown(&manifest);
            let m = parse_toml::<Manifest>(&name, &text)?;
            let is_root = m.workspace.is_some();
            if let Some(c) = m.package.and_then(|p| p.metadata).and_then(|m| m.lockstep) {
                let span = table_span(&text, "package.metadata.lockstep");
                let what = "[package.metadata.lockstep]".to_string();
                found.push((name.clone(), text.clone(), c, span, what));
            }
            if is_root {
                if let Some(c) = m
                    .workspace
                    .and_then(|w| w.metadata)
                    .and_then(|m| m.lockstep)
                {
                    let span = table_span(&text, "workspace.metadata.lockstep");
                    found.push((name, text, c, span, "[workspace.metadata.lockstep]".into()));
                }
            }
        }
        if found.len() > 1 {
            let (name, text, _, span, what) = &found[1];
            let first = &found[0].4;
            return Err(ConfigError::at(
                name,
                text,
                span.clone(),
                format!("configuration given twice: in {first} and in {what}"),
                "second configuration",
            )
            .with_help("keep the configuration in one place"));
        }
        if let Some((name, text, c, _, _)) = found.pop() {
            settings.sources.push(PathBuf::from(&name));
            merge(&mut settings, c, &dir, &name, &text)?;
        }
    }
    Ok(settings)
}

/// Directories whose configuration applies to a path outside any planned package: each
/// ancestor (from `start` up) with a `lockstep.toml` or a `Cargo.toml`, up to the first
/// workspace root, outermost first.
pub fn ancestor_config_dirs(start: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for d in start.ancestors() {
        let manifest = d.join("Cargo.toml");
        let has_manifest = manifest.is_file();
        if has_manifest || d.join("lockstep.toml").is_file() {
            dirs.push(d.to_path_buf());
        }
        if has_manifest
            && std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .is_some_and(|t| t.contains_key("workspace"))
        {
            break;
        }
    }
    dirs.reverse();
    dirs
}

/// A configuration found: file name, its text, the parsed table, where the table starts, and
/// how to name it.
type Found = (String, String, ConfigFile, std::ops::Range<usize>, String);

/// Where a `[a.b.c]` table (or its first `[a.b.c.*]` sub-table) starts in a manifest.
fn table_span(text: &str, dotted: &str) -> std::ops::Range<usize> {
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[') {
            let h = h.trim_start_matches('[').trim();
            if h.strip_prefix(dotted)
                .is_some_and(|r| r.starts_with(']') || r.starts_with('.'))
            {
                return off..off + line.trim_end().len();
            }
        }
        off += line.len();
    }
    0..0
}

/// A path as shown in messages: relative to the current directory when below it.
fn shown(p: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) => display_path(&cwd, p),
        Err(_) => p.display().to_string(),
    }
}

/// Deserialize TOML; an error points at its span with serde's message.
fn parse_toml<T: serde::de::DeserializeOwned>(
    name: &str,
    text: &str,
) -> Result<T, Box<ConfigError>> {
    toml::from_str::<T>(text).map_err(|e| {
        let msg = e.message().trim().trim_end_matches('.').to_string();
        let span = e.span().unwrap_or(0..0);
        let key = key_at(text, span.start);
        let message = match key {
            Some(k) if !msg.contains(&format!("`{k}`")) => format!("invalid `{k}`: {msg}"),
            _ => msg.clone(),
        };
        ConfigError::at(
            name,
            text,
            span,
            format!("invalid configuration: {message}"),
            msg,
        )
    })
}

/// The key a value at `offset` belongs to (`key = value` on the same line), if any.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = &text[line_start..];
    let line = line.split('\n').next().unwrap_or(line);
    let (k, _) = line.split_once('=')?;
    let k = k.trim().trim_matches('"');
    if k.is_empty() || line_start + line.find('=')? > offset {
        return None;
    }
    Some(k.to_string())
}

fn merge(
    settings: &mut Settings,
    c: ConfigFile,
    dir: &Path,
    name: &str,
    text: &str,
) -> Result<(), Box<ConfigError>> {
    for (lint, level) in &c.lints {
        let lname = lint.get_ref().as_str();
        let bare = lname.strip_prefix("lockstep::").unwrap_or(lname);
        if bare != "warnings" && lockstep_lints::find_meta(bare).is_none() {
            let mut e = ConfigError::at(
                name,
                text,
                lint.span(),
                format!("unknown lint `{lname}` in [lints]"),
                "unknown lint",
            );
            if let Some(s) = did_you_mean_lint(bare) {
                e = e.with_help(format!("did you mean `{s}`?"));
            } else {
                e = e.with_help("`cargo lockstep list` prints every lint");
            }
            return Err(e);
        }
        let lv = match level.get_ref().as_str() {
            "allow" => Level::Allow,
            "warn" => Level::Warn,
            "deny" => Level::Deny,
            other => {
                return Err(ConfigError::at(
                    name,
                    text,
                    level.span(),
                    format!("invalid level `{other}` for lint `{lname}`"),
                    "expected \"allow\", \"warn\" or \"deny\"",
                ))
            }
        };
        settings.levels.push((bare.to_string(), lv));
    }
    let cfg = &mut settings.config;
    cfg.lock_types
        .extend(c.lock_type.into_iter().map(|t| LockType {
            type_name: t.type_name,
            spin: t.spin,
            acquire: t.acquire,
            irq_acquire: t.irq_acquire,
            try_acquire: t.try_acquire,
            reentrant: t.reentrant,
        }));
    cfg.lock_pairs
        .extend(c.lock_pair.into_iter().map(|p| LockPair {
            acquire: p.acquire,
            release: p.release,
            spin: p.spin,
            irq_safe: p.irq_safe,
        }));
    cfg.resource_pairs
        .extend(c.resource_pair.into_iter().map(|p| ResourcePair {
            take: p.take,
            give: p.give,
        }));
    cfg.contracts
        .extend(c.contract.into_iter().map(|k| Contract {
            function: k.function,
            acquires: k.acquires,
            releases: k.releases,
            requires_held: k.requires_held,
            irq_context: k.irq_context,
            may_block: k.may_block,
            returns_held: k.returns_held,
        }));
    if c.budget.summary_per_component.is_some() {
        cfg.budget.summary_per_component = c.budget.summary_per_component;
    }
    if c.budget.summary_per_run.is_some() {
        cfg.budget.summary_per_run = c.budget.summary_per_run;
    }
    cfg.lock_order.extend(c.lock_order);
    cfg.irq_handlers.extend(c.irq_handlers);
    cfg.softirq_handlers.extend(c.softirq_handlers);
    cfg.blocking_functions.extend(c.blocking_functions);
    cfg.seq_names.extend(c.seq.names);
    cfg.seq_ignore.extend(c.seq.ignore);
    if c.alloc_blocks.is_some() {
        cfg.alloc_blocks = c.alloc_blocks;
    }
    settings
        .skip
        .patterns
        .extend(c.skip.into_iter().map(|p| (dir.to_path_buf(), p)));
    Ok(())
}

/// A `-D`/`-W`/`-A` flag, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelFlag {
    pub level: Level,
    /// As written (`lockstep::double_lock`, `double_lock` or `warnings`).
    pub lint: String,
}

/// Final lint levels: each lint's default, then the configuration, then the command-line
/// flags in order. `warnings` at deny turns every warning into an error; at allow it hides
/// every warning.
#[derive(Clone, Debug, Default)]
pub struct Levels {
    per_lint: BTreeMap<String, Level>,
    warnings: Option<Level>,
}

impl Levels {
    /// Build from configuration levels and command-line flags. Unknown lint names in flags are
    /// usage errors.
    pub fn new(config: &[(String, Level)], flags: &[LevelFlag]) -> Result<Levels, String> {
        let mut l = Levels::default();
        for m in lockstep_lints::all_metas() {
            l.per_lint.insert(m.name.to_string(), m.default_level);
        }
        for (name, level) in config {
            l.set(name, *level);
        }
        for f in flags {
            let bare = f.lint.strip_prefix("lockstep::").unwrap_or(&f.lint);
            if bare != "warnings" && !l.per_lint.contains_key(bare) {
                return Err(unknown_lint(&f.lint, bare));
            }
            l.set(bare, f.level);
        }
        Ok(l)
    }

    fn set(&mut self, name: &str, level: Level) {
        if name == "warnings" {
            self.warnings = Some(level);
        } else {
            self.per_lint.insert(name.to_string(), level);
        }
    }

    /// The level findings of `lint` are reported at.
    pub fn level(&self, lint: &str) -> Level {
        let base = self.per_lint.get(lint).copied().unwrap_or(Level::Warn);
        match (base, self.warnings) {
            (Level::Warn, Some(Level::Deny)) => Level::Deny,
            (Level::Warn, Some(Level::Allow)) => Level::Allow,
            _ => base,
        }
    }

    /// Every lint's final level (what `Config::levels` carries).
    pub fn resolved(&self) -> BTreeMap<String, Level> {
        self.per_lint
            .keys()
            .map(|k| (k.clone(), self.level(k)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(level: Level, lint: &str) -> LevelFlag {
        LevelFlag {
            level,
            lint: lint.into(),
        }
    }

    #[test]
    fn warnings_promotes_only_warnings() {
        let l = Levels::new(
            &[],
            &[
                flag(Level::Allow, "parse_error"),
                flag(Level::Deny, "warnings"),
            ],
        )
        .unwrap();
        assert_eq!(l.level("parse_error"), Level::Allow);
        assert_eq!(l.level("unused_allow"), Level::Deny);
        let l = Levels::new(
            &[("parse_error".into(), Level::Deny)],
            &[flag(Level::Warn, "lockstep::parse_error")],
        )
        .unwrap();
        assert_eq!(l.level("parse_error"), Level::Warn);
    }

    #[test]
    fn unknown_flag_lint_is_an_error() {
        let e = Levels::new(&[], &[flag(Level::Deny, "parse_eror")]).unwrap_err();
        assert!(e.contains("did you mean `parse_error`"), "{e}");
    }

    #[test]
    fn config_schema_parses() {
        let text = r#"
lock_order = ["a::A.x", "a::B.y"]
irq_handlers = ["isr"]
alloc_blocks = true
skip = ["src/generated/**"]

[lints]
parse_error = "deny"

[[lock_type]]
type_name = "IrqLock"
spin = true
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
acquires = ["Miniport.lock"]

[seq]
names = ["snd_nxt"]
"#;
        let c: ConfigFile = parse_toml("lockstep.toml", text).unwrap();
        let mut s = Settings::default();
        merge(&mut s, c, Path::new("/w"), "lockstep.toml", text).unwrap();
        assert_eq!(s.config.lock_types[0].type_name, "IrqLock");
        assert_eq!(s.config.lock_order.len(), 2);
        assert_eq!(s.config.alloc_blocks, Some(true));
        assert_eq!(s.levels, vec![("parse_error".to_string(), Level::Deny)]);
        assert_eq!(s.skip.patterns.len(), 1);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse_toml::<ConfigFile>("c.toml", "alloc_blocks = 3\n").unwrap_err();
        assert!(e.message.contains("alloc_blocks"), "{}", e.message);
        let e = parse_toml::<ConfigFile>("c.toml", "[seq]\nnamez = []\n").unwrap_err();
        assert!(e.message.contains("namez"), "{}", e.message);
    }
}
