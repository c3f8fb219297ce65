//! `cargo lockstep graph` (DOT, Mermaid, SVG) and the coverage lines of `--stats`.

mod cli_support;

use cargo_lockstep::graph::{self, GraphFormat};
use cli_support::{fixture, lockstep, scratch};

/// The DOT line of the edge between two labelled nodes, if any.
fn dot_edge<'a>(dot: &'a str, from: &str, to: &str) -> Option<&'a str> {
    let id = |label: &str| {
        dot.lines()
            .find(|l| l.contains(&format!("[label=\"{label}\", tooltip=")) && !l.contains("->"))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string)
    };
    let (a, b) = (id(from)?, id(to)?);
    dot.lines()
        .find(|l| l.trim_start().starts_with(&format!("{a} -> {b} ")))
}

#[test]
fn dot_highlights_cycles_order_violations_and_try_edges() {
    let o = lockstep(&fixture("locks/inversion"), &["graph"]);
    assert_eq!(o.code, 0, "{o:?}");
    let dot = &o.stdout;
    assert!(dot.starts_with("digraph lock_order {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    for (label, class) in [
        ("Wan.link", "locks_inversion::Wan.link"),
        ("Wan.bundle", "locks_inversion::Wan.bundle"),
        ("Wan.stats", "locks_inversion::Wan.stats"),
        ("A", "locks_inversion::cycle_a::A"),
        ("B", "locks_inversion::cycle_b::B"),
        ("C", "locks_inversion::cycle_c::C"),
        ("Pair.first", "locks_inversion::ordered::Pair.first"),
        ("Pair.second", "locks_inversion::ordered::Pair.second"),
    ] {
        assert!(
            dot.contains(&format!("[label=\"{label}\", tooltip=\"{class}\"")),
            "{label}: {dot}"
        );
    }
    // the 2-lock cycle across files
    for (a, b) in [("Wan.link", "Wan.bundle"), ("Wan.bundle", "Wan.link")] {
        let e = dot_edge(dot, a, b).unwrap_or_else(|| panic!("{a} -> {b}: {dot}"));
        assert!(e.contains("color=red") && e.contains("penwidth"), "{e}");
        assert!(e.contains("on a lock cycle"), "{e}");
    }
    assert!(
        dot_edge(dot, "Wan.link", "Wan.bundle")
            .unwrap()
            .contains("label=\"src/bundle.rs:5\""),
        "{dot}"
    );
    // the 3-lock cycle through statics
    for (a, b) in [("A", "B"), ("B", "C"), ("C", "A")] {
        let e = dot_edge(dot, a, b).unwrap_or_else(|| panic!("{a} -> {b}: {dot}"));
        assert!(e.contains("color=red"), "{e}");
    }
    // ordered and try-only edges are not red; the try-only one is dashed
    let ordered = dot_edge(dot, "Wan.link", "Wan.stats").expect("link -> stats");
    assert!(
        !ordered.contains("color=red") && !ordered.contains("dashed"),
        "{ordered}"
    );
    let tried = dot_edge(dot, "Wan.stats", "Wan.link").expect("stats -> link");
    assert!(
        tried.contains("style=dashed") && !tried.contains("color=red"),
        "{tried}"
    );
    // against the declared order, without a cycle
    let declared = dot_edge(dot, "Pair.second", "Pair.first").expect("second -> first");
    assert!(declared.contains("color=red"), "{declared}");
    assert!(
        declared.contains("against the declared lock order"),
        "{declared}"
    );
    assert!(!declared.contains("on a lock cycle"), "{declared}");
    assert!(
        dot_edge(dot, "Pair.first", "Pair.second").is_none(),
        "{dot}"
    );
    // deterministic
    let again = lockstep(&fixture("locks/inversion"), &["graph", "--format", "dot"]);
    assert_eq!(&again.stdout, dot);
}

#[test]
fn mermaid_has_the_same_edges_and_styles_red_ones() {
    let o = lockstep(
        &fixture("locks/inversion"),
        &["graph", "--format", "mermaid"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    let mm = &o.stdout;
    assert!(mm.starts_with("flowchart LR\n"), "{mm}");
    let id = |label: &str| {
        mm.lines()
            .find(|l| l.ends_with(&format!("[\"{label}\"]")))
            .map(|l| l.trim().split('[').next().unwrap().to_string())
            .unwrap_or_else(|| panic!("node {label}: {mm}"))
    };
    let links: Vec<&str> = mm
        .lines()
        .filter(|l| l.contains("-->") || l.contains("-.->"))
        .collect();
    assert_eq!(links.len(), 8, "{mm}");
    let link = |a: &str, b: &str| {
        let (a, b) = (id(a), id(b));
        links
            .iter()
            .position(|l| l.trim().starts_with(&format!("{a} ")) && l.ends_with(&format!(" {b}")))
            .unwrap_or_else(|| panic!("{a} -> {b}: {mm}"))
    };
    let style = mm
        .lines()
        .find(|l| l.trim_start().starts_with("linkStyle "))
        .expect("linkStyle line");
    let red: Vec<usize> = style
        .trim()
        .split(' ')
        .nth(1)
        .unwrap()
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(style.contains("stroke:red"), "{style}");
    for (a, b) in [
        ("Wan.link", "Wan.bundle"),
        ("Wan.bundle", "Wan.link"),
        ("A", "B"),
        ("B", "C"),
        ("C", "A"),
        ("Pair.second", "Pair.first"),
    ] {
        assert!(red.contains(&link(a, b)), "{a} -> {b} not red: {mm}");
    }
    let try_link = link("Wan.stats", "Wan.link");
    assert!(!red.contains(&try_link), "{mm}");
    assert!(links[try_link].contains("-.->"), "{mm}");
    assert!(!red.contains(&link("Wan.link", "Wan.stats")), "{mm}");
}

/// Tags of an XML-ish text balance: every opened element is closed in order.
fn balanced(s: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        let tail = &rest[i + 1..];
        let j = tail.find('>').ok_or("unterminated tag")?;
        let tag = &tail[..j];
        rest = &tail[j + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("stray </{name}>"))?;
            if open != name.trim() {
                return Err(format!("<{open}> closed by </{name}>"));
            }
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            stack.push(name);
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed: {stack:?}"))
    }
}

#[test]
fn svg_is_well_formed_and_labels_every_node() {
    let dir = scratch("graph-svg");
    let path = dir.join("g.svg");
    let o = lockstep(
        &fixture("locks/inversion"),
        &[
            "graph",
            "--format",
            "svg",
            "--output",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    let svg = std::fs::read_to_string(&path).expect("svg written");
    assert!(svg.starts_with("<svg "), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
    balanced(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
    // each connected part in a box captioned with the module its classes share
    assert!(svg.contains(">locks_inversion::ordered</text>"), "{svg}");
    assert!(svg.contains("stroke-dasharray=\"4 3\""), "{svg}");
    for label in [
        "Wan.link",
        "Wan.bundle",
        "Wan.stats",
        ">A<",
        ">B<",
        ">C<",
        "Pair.first",
        "Pair.second",
    ] {
        assert!(svg.contains(label), "{label}: {svg}");
    }
    assert!(svg.contains("stroke=\"#d62728\""), "cycle edges are red");
    assert!(svg.contains("stroke-dasharray"), "try edges are dashed");
    for attr in ["width=\"", "height=\""] {
        let v: f64 = svg
            .split(attr)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        assert!(v > 50.0, "{attr}{v}");
    }
}

#[test]
fn empty_graph_renders_in_every_format() {
    let m = graph::GraphModel::default();
    for fmt in [GraphFormat::Dot, GraphFormat::Mermaid, GraphFormat::Svg] {
        let mut out = Vec::new();
        graph::render(&m, fmt, &mut out).expect("render");
        let s = String::from_utf8(out).unwrap();
        assert!(!s.is_empty());
        if fmt == GraphFormat::Svg {
            balanced(&s).unwrap();
        }
    }
}

#[test]
fn labels_and_text_are_escaped() {
    let m = graph::GraphModel {
        nodes: vec![
            graph::GraphNode {
                class: "k::Q<\"x\">.a".into(),
                label: "Q<\"x\">.a".into(),
                in_cycle: false,
                group: "k<\"m\">".into(),
            },
            graph::GraphNode {
                class: "k::R&.b".into(),
                label: "R&.b".into(),
                in_cycle: false,
                group: "k".into(),
            },
        ],
        edges: vec![graph::GraphEdge {
            from: 0,
            to: 1,
            site: "src/a b.rs:3".into(),
            func: "k::f".into(),
            chain: vec!["g<T> at src/a b.rs:2".into()],
            try_only: false,
            in_cycle: false,
            against_order: false,
        }],
    };
    let render = |fmt| {
        let mut out = Vec::new();
        graph::render(&m, fmt, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    assert!(render(GraphFormat::Dot).contains(r#"label="Q<\"x\">.a""#));
    assert!(render(GraphFormat::Dot).contains(r#"label="k<\"m\">""#));
    assert!(render(GraphFormat::Mermaid).contains("Q#lt;#quot;x#quot;#gt;.a"));
    assert!(render(GraphFormat::Mermaid).contains("subgraph g1[\"k#lt;#quot;m#quot;#gt;\"]"));
    let svg = render(GraphFormat::Svg);
    assert!(svg.contains("Q&lt;&quot;x&quot;&gt;.a") && svg.contains("R&amp;.b"));
    assert!(svg.contains("calls g&lt;T&gt; at src/a b.rs:2"), "{svg}");
    balanced(&svg).unwrap();
}

#[test]
fn stats_report_coverage() {
    let o = lockstep(
        &fixture("locks/inversion"),
        &["--stats", "--message-format", "short"],
    );
    assert_eq!(o.code, 1, "{o:?}");
    for line in [
        "lockstep: coverage: 16 of 16 functions analyzed",
        "lockstep: calls: 4 resolved (100.0%), 0 unresolved (0.0%)",
        "lockstep: opaque macros: none",
        "lockstep: functions hit the step budget: none",
        "lockstep: functions truncated (too large or deep): none",
        "lockstep: lock graph: 8 lock classes, 8 edges (1 try-only, 5 on cycles, 1 against lock_order)",
    ] {
        assert!(o.stderr.contains(line), "{line}\n{o:?}");
    }
    // and with `graph`, after the graph
    let g = lockstep(&fixture("locks/inversion"), &["graph", "--stats"]);
    assert_eq!(g.code, 0, "{g:?}");
    assert!(
        g.stderr.contains("lockstep: lock graph: 8 lock classes"),
        "{g:?}"
    );
}

#[test]
fn stats_name_unresolved_calls_and_opaque_macros() {
    let dir = cli_support::package(
        "graph-stats",
        "2021",
        &[(
            "src/lib.rs",
            "use std::sync::Mutex;\n\
             pub struct S { m: Mutex<u32> }\n\
             impl S {\n\
                 pub fn f(&self) {\n\
                     let g = self.m.lock().unwrap();\n\
                     external::poke(*g);\n\
                     external::poke(1);\n\
                     other::thing();\n\
                     my_macro!(g);\n\
                 }\n\
             }\n",
        )],
    );
    let o = lockstep(&dir, &["--stats"]);
    assert!(
        o.stderr
            .contains("lockstep: unresolved calls: external::poke ×2, other::thing ×1"),
        "{o:?}"
    );
    assert!(
        o.stderr
            .contains("lockstep: opaque macros (1, arguments not analyzed): my_macro ×1"),
        "{o:?}"
    );
}

#[test]
fn graph_mentions_files_it_could_not_read() {
    let o = lockstep(&fixture("harness/parse-error"), &["graph"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.starts_with("digraph "), "{o:?}");
    assert!(
        o.stderr
            .contains("1 file(s) or module(s) could not be analyzed"),
        "{o:?}"
    );
}

#[test]
fn register_read_returned_by_a_helper_is_no_lock_for_callers() {
    let o = lockstep(&fixture("locks/precision/returned-read"), &["graph"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(!o.stdout.contains("Dev.regs"), "{}", o.stdout);
}

/// A crate with `pairs` structs taking their two locks in one order, and two structs whose
/// locks form a cycle.
fn many_classes(name: &str, pairs: usize) -> std::path::PathBuf {
    let d = scratch(name);
    let mut src = String::from("use std::sync::Mutex;\n");
    for i in 0..pairs {
        src.push_str(&format!(
            "pub struct P{i} {{ a: Mutex<u32>, b: Mutex<u32> }}\n\
             impl P{i} {{ pub fn f(&self) {{ let _a = self.a.lock().unwrap(); let _b = self.b.lock().unwrap(); }} }}\n"
        ));
    }
    src.push_str(
        "pub struct Link { state: Mutex<u32> }\npub struct Bundle { state: Mutex<u32> }\n\
         pub fn up(l: &Link, b: &Bundle) { let _l = l.state.lock().unwrap(); let _b = b.state.lock().unwrap(); }\n\
         pub fn down(l: &Link, b: &Bundle) { let _b = b.state.lock().unwrap(); let _l = l.state.lock().unwrap(); }\n",
    );
    cli_support::write(&d.join("src/lib.rs"), src);
    d
}

#[test]
fn a_large_graph_shows_its_cycles_only_unless_asked_for_every_class() {
    let d = many_classes("graph-large", 25);
    let o = lockstep(&d, &["graph", "src"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stderr
            .contains("note: the graph has 52 lock classes; showing the 2 on cycles"),
        "{o:?}"
    );
    assert!(
        dot_edge(&o.stdout, "Link.state", "Bundle.state").is_some(),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("P0.a"), "{}", o.stdout);

    let all = lockstep(&d, &["graph", "src", "--all-classes"]);
    assert_eq!(all.code, 0, "{all:?}");
    assert!(!all.stderr.contains("note: the graph has"), "{all:?}");
    let ordered = dot_edge(&all.stdout, "P0.a", "P0.b").expect("every class");
    assert!(
        ordered.contains("color=gray70"),
        "the rest is faded: {ordered}"
    );
    assert!(dot_edge(&all.stdout, "Link.state", "Bundle.state")
        .unwrap()
        .contains("color=red"));
}

#[test]
fn cycles_only_on_a_small_graph() {
    let d = many_classes("graph-small", 2);
    let o = lockstep(
        &d,
        &["graph", "src", "--cycles-only", "--format", "mermaid"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(!o.stderr.contains("note:"), "{o:?}");
    assert!(
        o.stdout.contains("Link.state") && !o.stdout.contains("P1.b"),
        "{}",
        o.stdout
    );
    let full = lockstep(&d, &["graph", "src", "--format", "mermaid"]);
    assert!(
        full.stdout.contains("P1.b") && full.stdout.contains("classDef faded"),
        "{}",
        full.stdout
    );
}

#[test]
fn many_small_parts_wrap_into_rows() {
    let d = many_classes("graph-rows", 25);
    let o = lockstep(&d, &["graph", "src", "--all-classes", "--format", "svg"]);
    assert_eq!(o.code, 0, "{o:?}");
    let width: f64 = o
        .stdout
        .split("width=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|w| w.parse().ok())
        .expect("svg width");
    assert!(width < 1800.0, "26 parts side by side: {width}");
    balanced(&o.stdout).unwrap();
}
