//! Rendering a [`Report`] in one of the output formats: `human` (miette reports), `short` (one
//! line per finding), `json` (cargo's `--message-format=json` stream) and `sarif` (SARIF 2.1.0).
//!
//! Every renderer writes the findings in the report's order and nothing else varies between
//! runs: JSON objects are serialized from structs, so key order is fixed.

use std::path::PathBuf;

use crate::report::Report;

pub mod human;
pub mod json;
pub mod sarif;
pub mod short;

/// The `--message-format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MessageFormat {
    #[default]
    Human,
    Short,
    Json,
    Sarif,
}

impl MessageFormat {
    /// Parse a `--message-format` value (`human`, `short`, `json`, `sarif`).
    pub fn parse(s: &str) -> Option<MessageFormat> {
        Some(match s {
            "human" => MessageFormat::Human,
            "short" => MessageFormat::Short,
            "json" => MessageFormat::Json,
            "sarif" => MessageFormat::Sarif,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageFormat::Human => "human",
            MessageFormat::Short => "short",
            MessageFormat::Json => "json",
            MessageFormat::Sarif => "sarif",
        }
    }
}

/// How to render.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub format: MessageFormat,
    /// ANSI colors and unicode drawing in `human` output; plain ASCII otherwise.
    pub color: bool,
    /// Absolute workspace root: file paths in the output are relative to it.
    pub root: PathBuf,
}

/// Render every finding of `report` to `out`.
pub fn render(
    report: &Report,
    opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match opts.format {
        MessageFormat::Human => human::render(report, opts.color, terminal_width(), out),
        MessageFormat::Short => short::render(report, out),
        MessageFormat::Json => json::render(report, opts, out),
        MessageFormat::Sarif => sarif::render(report, opts, out),
    }
}

/// The width human output wraps at: `$COLUMNS` when set, else 100.
pub fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(100)
}

/// `lockstep::<lint>`, the code every format shows.
pub fn code(lint: &str) -> String {
    format!("lockstep::{lint}")
}
