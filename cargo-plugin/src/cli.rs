//! The command line: `cargo lockstep [OPTIONS] [PATH]...` and its subcommands.
//!
//! Parsing only: the result is an [`Invocation`], which the driver acts on.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use lockstep_analyzer::{Edition, Level};

use crate::config::LevelFlag;
use crate::graph::GraphFormat;
use crate::plan::Selection;
use crate::render::MessageFormat;

/// `cargo` as seen by clap: the only subcommand it knows is `lockstep`.
#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo", disable_help_subcommand = true)]
pub enum CargoCli {
    /// Lock-discipline and TCP sequence-number analysis for Rust drivers
    Lockstep(LockstepArgs),
}

#[derive(Args, Debug)]
#[command(
    version,
    about = "Lock-discipline and TCP sequence-number analysis for Rust drivers",
    long_about = "Reads the sources of a crate or workspace (nothing is built, no build script or \
                  proc macro runs) and reports lock and sequence-number hazards.\n\n\
                  Without PATH the package or workspace at the current directory (or \
                  --manifest-path) is analyzed. With PATHs, each file or directory is analyzed: \
                  a directory with a Cargo.toml by its targets, any other directory as every .rs \
                  file below it.",
    after_help = "Exit status: 0 when no finding is at deny level, 1 when one is, \
                  2 for usage, configuration or IO errors."
)]
pub struct LockstepArgs {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// List every lint with its default level and summary
    List,
    /// Print the documentation of a lint
    Explain {
        /// Lint name, with or without the `lockstep::` prefix
        lint: String,
    },
    /// Print the lock-order graph (DOT, Mermaid or SVG)
    Graph(Box<GraphArgs>),
    /// Analyze the built-in examples: the five knowledge-base bugs and a clean reference stack
    Demo,
    /// Run a language server on stdio that an editor starts beside rust-analyzer: findings as
    /// diagnostics on open and on save, quick fixes, lint documentation on hover
    Lsp(Box<LspArgs>),
}

/// `cargo lockstep lsp`: the options select and configure what is analyzed, as for a run.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct LspArgs {
    #[command(flatten)]
    pub run: RunArgs,
}

/// `cargo lockstep graph`: analyzes like the default command, then prints the lock graph.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct GraphArgs {
    /// Graph format
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot, value_name = "FMT")]
    pub format: GraphFormat,
    /// Show only the classes on lock cycles or against the declared order (the default above
    /// 40 classes)
    #[arg(long, conflicts_with = "all_classes")]
    pub cycles_only: bool,
    /// Show every class, however many
    #[arg(long)]
    pub all_classes: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args, Debug, Default, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// Files or directories to analyze instead of the package at the current directory
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH", help_heading = "Package Selection")]
    pub manifest_path: Option<PathBuf>,
    /// Package to analyze (repeatable)
    #[arg(
        short = 'p',
        long = "package",
        value_name = "SPEC",
        help_heading = "Package Selection",
        conflicts_with = "workspace"
    )]
    pub packages: Vec<String>,
    /// Analyze every package of the workspace
    #[arg(long, alias = "all", help_heading = "Package Selection")]
    pub workspace: bool,
    /// Exclude packages from --workspace (repeatable)
    #[arg(
        long,
        value_name = "SPEC",
        help_heading = "Package Selection",
        requires = "workspace"
    )]
    pub exclude: Vec<String>,
    /// Also analyze tests, benches and examples (and `#[cfg(test)]` modules)
    #[arg(long, help_heading = "Target Selection")]
    pub all_targets: bool,
    /// Do not read the dependencies' sources (their lock types and what their functions do)
    #[arg(long, help_heading = "Target Selection")]
    pub no_deps: bool,
    /// Space or comma separated list of features to activate (repeatable)
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Feature Selection"
    )]
    pub features: Vec<String>,
    /// Activate all available features of all selected packages
    #[arg(long, help_heading = "Feature Selection")]
    pub all_features: bool,
    /// Do not activate the `default` feature of the selected packages
    #[arg(long, help_heading = "Feature Selection")]
    pub no_default_features: bool,
    /// Edition for PATHs that are not a package [default: the enclosing package's, else 2021]
    #[arg(long, value_name = "YEAR", value_parser = parse_edition)]
    pub edition: Option<Edition>,

    /// Set a lint to deny (repeatable; `warnings` turns every warning into an error)
    #[arg(
        short = 'D',
        long = "deny",
        value_name = "LINT",
        help_heading = "Lint Levels"
    )]
    pub deny: Vec<String>,
    /// Set a lint to warn (repeatable)
    #[arg(
        short = 'W',
        long = "warn",
        value_name = "LINT",
        help_heading = "Lint Levels"
    )]
    pub warn: Vec<String>,
    /// Set a lint to allow (repeatable; `warnings` hides every warning)
    #[arg(
        short = 'A',
        long = "allow",
        value_name = "LINT",
        help_heading = "Lint Levels"
    )]
    pub allow: Vec<String>,

    /// Output format
    #[arg(
        long,
        value_enum,
        default_value_t = MessageFormatArg::Human,
        value_name = "FMT",
        help_heading = "Output"
    )]
    pub message_format: MessageFormatArg,
    /// Write the findings (or the graph) to FILE instead of stdout
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Coloring [default: auto, or CARGO_TERM_COLOR]
    #[arg(long, value_enum, value_name = "WHEN", help_heading = "Output")]
    pub color: Option<ColorChoice>,
    /// Report only findings that are not in the baseline FILE
    #[arg(long, value_name = "FILE", help_heading = "Baseline")]
    pub baseline: Option<PathBuf>,
    /// Write every current finding to the baseline FILE
    #[arg(long, value_name = "FILE", help_heading = "Baseline")]
    pub write_baseline: Option<PathBuf>,
    /// Apply machine-applicable suggestions to the sources
    #[arg(long, help_heading = "Fixes")]
    pub fix: bool,
    /// Let --fix edit files with uncommitted changes
    #[arg(long, requires = "fix", help_heading = "Fixes")]
    pub allow_dirty: bool,
    /// Print file counts, phase timings and analysis coverage to stderr
    #[arg(long)]
    pub stats: bool,
    /// Number of analysis threads [default: all cores]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Run `cargo check` first and report its errors too
    #[arg(long)]
    pub with_cargo_check: bool,
    /// Do not read or write the per-file cache under `target/lockstep/`
    #[arg(long)]
    pub no_cache: bool,
}

fn parse_edition(s: &str) -> Result<Edition, String> {
    Edition::parse(s)
        .ok_or_else(|| format!("unknown edition `{s}` (expected 2015, 2018, 2021 or 2024)"))
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageFormatArg {
    #[default]
    Human,
    Short,
    Json,
    Sarif,
}

impl From<MessageFormatArg> for MessageFormat {
    fn from(m: MessageFormatArg) -> MessageFormat {
        match m {
            MessageFormatArg::Human => MessageFormat::Human,
            MessageFormatArg::Short => MessageFormat::Short,
            MessageFormatArg::Json => MessageFormat::Json,
            MessageFormatArg::Sarif => MessageFormat::Sarif,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// `--color`, else `CARGO_TERM_COLOR`, else auto.
    pub fn resolve(flag: Option<ColorChoice>) -> ColorChoice {
        if let Some(c) = flag {
            return c;
        }
        match std::env::var("CARGO_TERM_COLOR").as_deref() {
            Ok("always") => ColorChoice::Always,
            Ok("never") => ColorChoice::Never,
            _ => ColorChoice::Auto,
        }
    }

    /// Whether to color a stream that is (or is not) a terminal.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// Everything about a run that is not which sources to read: output, baseline and fix options.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub message_format: MessageFormatArg,
    pub output: Option<PathBuf>,
    pub color: ColorChoice,
    pub baseline: Option<PathBuf>,
    pub write_baseline: Option<PathBuf>,
    pub fix: bool,
    pub allow_dirty: bool,
    pub stats: bool,
    pub with_cargo_check: bool,
    /// Analysis threads; all cores when unset.
    pub jobs: Option<usize>,
    /// Skip the per-file cache.
    pub no_cache: bool,
}

/// The parsed command line.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub command: Option<Command>,
    pub paths: Vec<PathBuf>,
    pub selection: Selection,
    pub level_flags: Vec<LevelFlag>,
    pub options: RunOptions,
}

/// When run as `cargo lockstep`, cargo passes `lockstep` as the first argument; when run as
/// `cargo-lockstep` directly it is missing. Make it present either way.
pub fn normalize_args(mut args: Vec<OsString>) -> Vec<OsString> {
    if args.is_empty() {
        args.push("cargo-lockstep".into());
    }
    if args.get(1).map(|a| a != "lockstep").unwrap_or(true) {
        args.insert(1, "lockstep".into());
    }
    args
}

/// Parse a full argv (including the program name). Help, version and usage errors come back
/// as clap errors for the caller to print with their exit code.
pub fn parse(args: Vec<OsString>) -> Result<Invocation, clap::Error> {
    let args = normalize_args(args);
    let matches = CargoCli::command().try_get_matches_from(args)?;
    let CargoCli::Lockstep(parsed) = CargoCli::from_arg_matches(&matches)?;
    let sub = matches
        .subcommand_matches("lockstep")
        .expect("lockstep is the only subcommand");
    let mut level_flags = level_flags(sub);
    let mut r = parsed.run;
    // `graph` and `lsp` take the same options after their name; they add to those before it.
    let after = match &parsed.command {
        Some(Command::Graph(g)) => Some(("graph", &g.run)),
        Some(Command::Lsp(l)) => Some(("lsp", &l.run)),
        _ => None,
    };
    if let Some((name, run)) = after {
        if let Some(m) = sub.subcommand_matches(name) {
            level_flags.extend(self::level_flags(m));
            r = merge_run(r, run.clone());
        }
    }
    Ok(Invocation {
        command: parsed.command,
        paths: r.paths,
        selection: Selection {
            manifest_path: r.manifest_path,
            packages: r.packages,
            workspace: r.workspace,
            exclude: r.exclude,
            all_targets: r.all_targets,
            no_deps: r.no_deps,
            edition: r.edition,
            features: crate::features::FeatureFlags {
                features: r.features,
                all_features: r.all_features,
                no_default_features: r.no_default_features,
            },
        },
        level_flags,
        options: RunOptions {
            message_format: r.message_format,
            output: r.output,
            color: ColorChoice::resolve(r.color),
            baseline: r.baseline,
            write_baseline: r.write_baseline,
            fix: r.fix,
            allow_dirty: r.allow_dirty,
            stats: r.stats,
            with_cargo_check: r.with_cargo_check,
            jobs: r.jobs.map(usize::from),
            no_cache: r.no_cache,
        },
    })
}

/// Options before a subcommand combined with those after it (the later wins).
fn merge_run(a: RunArgs, b: RunArgs) -> RunArgs {
    fn cat<T>(mut x: Vec<T>, y: Vec<T>) -> Vec<T> {
        x.extend(y);
        x
    }
    RunArgs {
        paths: cat(a.paths, b.paths),
        manifest_path: b.manifest_path.or(a.manifest_path),
        packages: cat(a.packages, b.packages),
        workspace: a.workspace || b.workspace,
        exclude: cat(a.exclude, b.exclude),
        all_targets: a.all_targets || b.all_targets,
        no_deps: a.no_deps || b.no_deps,
        features: cat(a.features, b.features),
        all_features: a.all_features || b.all_features,
        no_default_features: a.no_default_features || b.no_default_features,
        edition: b.edition.or(a.edition),
        deny: cat(a.deny, b.deny),
        warn: cat(a.warn, b.warn),
        allow: cat(a.allow, b.allow),
        message_format: if b.message_format != MessageFormatArg::default() {
            b.message_format
        } else {
            a.message_format
        },
        output: b.output.or(a.output),
        color: b.color.or(a.color),
        baseline: b.baseline.or(a.baseline),
        write_baseline: b.write_baseline.or(a.write_baseline),
        fix: a.fix || b.fix,
        allow_dirty: a.allow_dirty || b.allow_dirty,
        stats: a.stats || b.stats,
        jobs: b.jobs.or(a.jobs),
        with_cargo_check: a.with_cargo_check || b.with_cargo_check,
        no_cache: a.no_cache || b.no_cache,
    }
}

/// `-D`/`-W`/`-A` flags in the order they were written: a later flag overrides an earlier one.
fn level_flags(m: &ArgMatches) -> Vec<LevelFlag> {
    let mut flags: Vec<(usize, LevelFlag)> = Vec::new();
    for (id, level) in [
        ("deny", Level::Deny),
        ("warn", Level::Warn),
        ("allow", Level::Allow),
    ] {
        let (Some(idx), Some(vals)) = (m.indices_of(id), m.get_many::<String>(id)) else {
            continue;
        };
        for (i, v) in idx.zip(vals) {
            flags.push((
                i,
                LevelFlag {
                    level,
                    lint: v.clone(),
                },
            ));
        }
    }
    flags.sort_by_key(|(i, _)| *i);
    flags.into_iter().map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(args: &[&str]) -> Invocation {
        parse(args.iter().map(OsString::from).collect()).expect("parses")
    }

    #[test]
    fn cargo_and_direct_invocations_agree() {
        let a = inv(&["cargo-lockstep", "lockstep", "src"]);
        let b = inv(&["cargo-lockstep", "src"]);
        assert_eq!(a.paths, b.paths);
        assert_eq!(a.paths, vec![PathBuf::from("src")]);
    }

    #[test]
    fn level_flags_keep_their_order() {
        let i = inv(&[
            "cargo-lockstep",
            "-A",
            "a",
            "-D",
            "b",
            "--warn",
            "c",
            "-D",
            "d",
        ]);
        let got: Vec<(Level, &str)> = i
            .level_flags
            .iter()
            .map(|f| (f.level, f.lint.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Level::Allow, "a"),
                (Level::Deny, "b"),
                (Level::Warn, "c"),
                (Level::Deny, "d")
            ]
        );
    }

    #[test]
    fn subcommand_words_win_over_paths() {
        assert!(matches!(
            inv(&["cargo-lockstep", "graph"]).command,
            Some(Command::Graph(g)) if g.format == GraphFormat::Dot
        ));
        let g = inv(&[
            "cargo-lockstep",
            "--stats",
            "graph",
            "--format",
            "svg",
            "src",
            "--output",
            "g.svg",
        ]);
        assert!(matches!(
            &g.command,
            Some(Command::Graph(a)) if a.format == GraphFormat::Svg
        ));
        assert_eq!(g.paths, vec![PathBuf::from("src")]);
        assert!(g.options.stats);
        assert_eq!(g.options.output, Some(PathBuf::from("g.svg")));
        let i = inv(&["cargo-lockstep", "./graph"]);
        assert_eq!(i.command, None);
        assert_eq!(i.paths, vec![PathBuf::from("./graph")]);
        assert_eq!(
            inv(&["cargo-lockstep", "explain", "double_lock"]).command,
            Some(Command::Explain {
                lint: "double_lock".into()
            })
        );
    }

    #[test]
    fn lsp_takes_the_run_options() {
        let i = inv(&[
            "cargo-lockstep",
            "-W",
            "a",
            "lsp",
            "--all-targets",
            "-D",
            "b",
        ]);
        assert!(matches!(i.command, Some(Command::Lsp(_))));
        assert!(i.selection.all_targets);
        let got: Vec<&str> = i.level_flags.iter().map(|f| f.lint.as_str()).collect();
        assert_eq!(got, ["a", "b"]);
    }

    #[test]
    fn feature_flags_as_cargo_spells_them() {
        let i = inv(&[
            "cargo-lockstep",
            "--features",
            "a,b",
            "-F",
            "c",
            "--no-default-features",
            "graph",
            "--all-features",
        ]);
        let f = &i.selection.features;
        assert_eq!(f.features, ["a,b", "c"]);
        assert!(f.no_default_features && f.all_features);
        assert_eq!(
            f.cargo_args(),
            [
                "--features",
                "a,b,c",
                "--all-features",
                "--no-default-features"
            ]
        );
    }

    #[test]
    fn command_definition_is_valid() {
        CargoCli::command().debug_assert();
    }
}
