//! `cargo lockstep graph`: the lock-order graph as Graphviz DOT, a Mermaid flowchart or a
//! self-drawn SVG.
//!
//! Nodes are lock classes; an edge A → B means B was acquired while A was held. Edges on a
//! cycle of blocking acquisitions and edges against the declared `lock_order` are drawn red;
//! edges taken only with a try-lock are dashed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use lockstep_analyzer::ir::{last_two_segments, short_class, LockClass};
use lockstep_analyzer::{Analysis, Config, SourceDb};
use petgraph::graph::DiGraph;

/// One lock class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    /// Full class (`crate::module::Type.field` or `crate::module::STATIC`).
    pub class: String,
    /// Short label (`Type.field`, `STATIC`), unique within the graph.
    pub label: String,
    /// Takes part in a cycle of blocking acquisitions.
    pub in_cycle: bool,
    /// The crate and module the class is declared in (`crate::net`), for clusters.
    pub group: String,
}

/// One ordered pair of lock classes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    /// `file:line` of the inner acquisition of the best witness.
    pub site: String,
    /// Function in which the outer lock is held, for the best witness.
    pub func: String,
    /// The calls from that function to the inner acquisition (`callee at file:line`), empty
    /// when it is in the function itself.
    pub chain: Vec<String>,
    /// Every witness is a try-lock: the edge cannot close a deadlock.
    pub try_only: bool,
    /// Both ends lie in one strongly connected component of blocking edges.
    pub in_cycle: bool,
    /// Goes against the declared `lock_order`.
    pub against_order: bool,
}

impl GraphEdge {
    /// Drawn highlighted.
    pub fn hot(&self) -> bool {
        self.in_cycle || self.against_order
    }

    fn tooltip(&self) -> String {
        let mut t = format!("held in {}", self.func);
        for c in &self.chain {
            let _ = write!(t, " → calls {c}");
        }
        let _ = write!(t, " → acquired at {}", self.site);
        if self.in_cycle {
            t.push_str("; on a lock cycle");
        }
        if self.against_order {
            t.push_str("; against the declared lock order");
        }
        if self.try_only {
            t.push_str("; try-lock only");
        }
        t
    }
}

/// The lock graph as plain data, nodes sorted by class, edges by (from, to).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphModel {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// Above this many classes, `graph` shows only the cycles unless asked for every class.
pub const CYCLES_ONLY_ABOVE: usize = 40;

impl GraphModel {
    /// Some edge is on a cycle or against the declared order: the rest is drawn faded.
    pub fn has_hot(&self) -> bool {
        self.edges.iter().any(GraphEdge::hot)
    }

    /// For every node: on a cycle, or an end of an edge against the declared order.
    pub fn hot_nodes(&self) -> Vec<bool> {
        let mut hot: Vec<bool> = self.nodes.iter().map(|n| n.in_cycle).collect();
        for e in self.edges.iter().filter(|e| e.hot()) {
            hot[e.from] = true;
            hot[e.to] = true;
        }
        hot
    }

    /// For every node: drawn faded (something else is hot and this node is not).
    fn faded_nodes(&self) -> Vec<bool> {
        let any = self.has_hot();
        self.hot_nodes().into_iter().map(|h| any && !h).collect()
    }

    /// Only the classes on cycles or on edges against the declared order, and those edges.
    pub fn cycles_only(&self) -> GraphModel {
        let hot = self.hot_nodes();
        let keep: Vec<usize> = (0..self.nodes.len()).filter(|&i| hot[i]).collect();
        let new_index: BTreeMap<usize, usize> =
            keep.iter().enumerate().map(|(n, &o)| (o, n)).collect();
        let nodes = keep.iter().map(|&i| self.nodes[i].clone()).collect();
        let edges = self
            .edges
            .iter()
            .filter(|e| e.hot())
            .filter_map(|e| {
                Some(GraphEdge {
                    from: *new_index.get(&e.from)?,
                    to: *new_index.get(&e.to)?,
                    ..e.clone()
                })
            })
            .collect();
        GraphModel { nodes, edges }
    }

    /// The groups (crate and module) in order, with their nodes.
    fn groups(&self) -> Vec<(&str, Vec<usize>)> {
        let mut g: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            g.entry(n.group.as_str()).or_default().push(i);
        }
        g.into_iter().collect()
    }
}

/// The crate and module a class is declared in: `crate::net::Link.state` → `crate::net`.
fn group_of(class: &str) -> String {
    let base = class.split("::{").next().unwrap_or(class);
    match base.rfind("::") {
        Some(i) => base[..i].to_string(),
        None => String::new(),
    }
}

/// Output format of `cargo lockstep graph`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GraphFormat {
    #[default]
    Dot,
    Mermaid,
    Svg,
}

/// Build the graph model from an analysis.
pub fn model(db: &SourceDb, analysis: &Analysis, config: &Config) -> GraphModel {
    let lg = &analysis.lock_graph;
    let classes: Vec<String> = lg.nodes.keys().map(|c| c.to_string()).collect();
    let index: BTreeMap<&str, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();

    // Components of the blocking edges that can close a cycle (not the two orders of a pair
    // locked by comparing the two objects).
    let cycle_edges: BTreeSet<(LockClass, LockClass)> = lg.cycle_edges().into_iter().collect();
    let mut g: DiGraph<usize, ()> = DiGraph::new();
    let gn: Vec<_> = (0..classes.len()).map(|i| g.add_node(i)).collect();
    for (a, b) in &cycle_edges {
        g.add_edge(gn[index[a.as_str()]], gn[index[b.as_str()]], ());
    }
    let mut comp = vec![usize::MAX; classes.len()];
    for (ci, scc) in petgraph::algo::tarjan_scc(&g).into_iter().enumerate() {
        if scc.len() < 2 {
            continue;
        }
        for n in scc {
            comp[g[n]] = ci;
        }
    }
    let blocking: BTreeSet<(LockClass, LockClass)> = lg.blocking_edges().into_iter().collect();

    let labels = unique_labels(&classes);
    let nodes: Vec<GraphNode> = classes
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(i, (c, label))| GraphNode {
            class: c.clone(),
            label,
            in_cycle: comp[i] != usize::MAX,
            group: group_of(c),
        })
        .collect();

    let pos = |c: &str| config.lock_order.iter().position(|o| o == c);
    let mut edges = Vec::new();
    for e in lg.graph.edge_indices() {
        let Some((a, b)) = lg.graph.edge_endpoints(e) else {
            continue;
        };
        let (ca, cb) = (&lg.graph[a], &lg.graph[b]);
        if ca == cb {
            continue;
        }
        let ws = &lg.graph[e];
        let Some(best) = ws.iter().find(|w| !w.is_try).or_else(|| ws.first()) else {
            continue;
        };
        let (from, to) = (index[ca.as_str()], index[cb.as_str()]);
        let is_blocking = blocking.contains(&(*ca, *cb));
        let against_order =
            is_blocking && matches!((pos(ca), pos(cb)), (Some(x), Some(y)) if x > y);
        let at = |span: lockstep_analyzer::Span| match db.files().get(span.file.0 as usize) {
            Some(f) if f.id == span.file => {
                format!("{}:{}", short_path(&f.path), f.line_col(span.start).line)
            }
            _ => "?".to_string(),
        };
        let site = at(best.to_span);
        let chain = best
            .chain
            .iter()
            .map(|c| format!("{} at {}", last_two_segments(&c.callee), at(c.call)))
            .collect();
        edges.push(GraphEdge {
            from,
            to,
            site,
            func: best.func.clone(),
            chain,
            try_only: !is_blocking,
            in_cycle: cycle_edges.contains(&(*ca, *cb))
                && comp[from] != usize::MAX
                && comp[from] == comp[to],
            against_order,
        });
    }
    edges.sort_by_key(|x| (x.from, x.to));
    GraphModel { nodes, edges }
}

/// A file path as an edge label shows it: relative paths as they are; a dependency's file
/// from the registry from its package directory on (`vhost-0.16.0/src/lib.rs`), any other
/// absolute path by its last three components.
fn short_path(path: &str) -> String {
    if !path.starts_with('/') && !path.contains(":\\") {
        return path.to_string();
    }
    let norm = path.replace('\\', "/");
    if let Some(i) = norm.find("/registry/src/") {
        let rest = &norm[i + "/registry/src/".len()..];
        if let Some(j) = rest.find('/') {
            return rest[j + 1..].to_string();
        }
    }
    let parts: Vec<&str> = norm.rsplit('/').take(3).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// Short labels (`Type.field`, `STATIC`); where two coincide, as many trailing path segments as
/// make them differ (`add_region::self`), the full class at worst.
fn unique_labels(classes: &[String]) -> Vec<String> {
    let segs: Vec<Vec<&str>> = classes.iter().map(|c| c.split("::").collect()).collect();
    let suffix = |i: usize, k: usize| {
        let s = &segs[i];
        s[s.len().saturating_sub(k)..].join("::")
    };
    let mut labels: Vec<String> = classes.iter().map(|c| short_class(c).to_string()).collect();
    let mut taken = vec![1usize; classes.len()];
    // Bounded: every round lengthens each colliding label by a segment, up to its class.
    for _ in 0..segs.iter().map(Vec::len).max().unwrap_or(0) {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for l in &labels {
            *count.entry(l.as_str()).or_default() += 1;
        }
        let clash: Vec<usize> = (0..labels.len())
            .filter(|&i| count[labels[i].as_str()] > 1 && taken[i] < segs[i].len())
            .collect();
        if clash.is_empty() {
            break;
        }
        for i in clash {
            taken[i] += 1;
            labels[i] = suffix(i, taken[i]);
        }
    }
    labels
}

mod svg;
pub use svg::svg;

/// Render the model in a format.
pub fn render(m: &GraphModel, format: GraphFormat, out: &mut dyn Write) -> io::Result<()> {
    let s = match format {
        GraphFormat::Dot => dot(m),
        GraphFormat::Mermaid => mermaid(m),
        GraphFormat::Svg => svg(m),
    };
    out.write_all(s.as_bytes())
}

fn dot_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Graphviz DOT.
pub fn dot(m: &GraphModel) -> String {
    let mut s = String::new();
    s.push_str("digraph lock_order {\n");
    s.push_str(
        "  // red: on a lock cycle or against the declared lock_order, the rest faded; dashed: \
         try-lock only; boxes: the crate and module of each class\n",
    );
    s.push_str("  rankdir=LR;\n");
    s.push_str("  node [shape=box, style=rounded, fontname=\"monospace\"];\n");
    s.push_str("  edge [fontname=\"monospace\", fontsize=10];\n");
    let faded_nodes = m.faded_nodes();
    for (k, (group, members)) in m.groups().into_iter().enumerate() {
        let _ = writeln!(s, "  subgraph cluster_{k} {{");
        let _ = writeln!(
            s,
            "    label={}; style=\"rounded,dashed\"; color=gray60; fontcolor=gray40; fontname=\"monospace\";",
            dot_str(group)
        );
        for i in members {
            let n = &m.nodes[i];
            let _ = write!(
                s,
                "    n{i} [label={}, tooltip={}",
                dot_str(&n.label),
                dot_str(&n.class)
            );
            if n.in_cycle {
                s.push_str(", color=red, penwidth=2");
            } else if faded_nodes[i] {
                s.push_str(", color=gray70, fontcolor=gray50");
            }
            s.push_str("];\n");
        }
        s.push_str("  }\n");
    }
    let faded = m.has_hot();
    for e in &m.edges {
        let _ = write!(
            s,
            "  n{} -> n{} [label={}, tooltip={}",
            e.from,
            e.to,
            dot_str(&e.site),
            dot_str(&e.tooltip())
        );
        if e.hot() {
            s.push_str(", color=red, fontcolor=red, penwidth=2.5");
        } else if faded {
            s.push_str(", color=gray70, fontcolor=gray60");
        }
        if e.try_only {
            s.push_str(", style=dashed");
        }
        s.push_str("];\n");
    }
    s.push_str("}\n");
    s
}

fn mermaid_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            '|' => o.push_str("#124;"),
            c => o.push(c),
        }
    }
    o
}

/// A Mermaid flowchart.
pub fn mermaid(m: &GraphModel) -> String {
    let mut s = String::new();
    s.push_str("flowchart LR\n");
    for (k, (group, members)) in m.groups().into_iter().enumerate() {
        let _ = writeln!(s, "  subgraph g{k}[\"{}\"]", mermaid_str(group));
        for i in members {
            let n = &m.nodes[i];
            let _ = writeln!(s, "    %% n{i}: {}", n.class);
            let _ = writeln!(s, "    n{i}[\"{}\"]", mermaid_str(&n.label));
        }
        s.push_str("  end\n");
    }
    let any_hot = m.has_hot();
    let mut hot = Vec::new();
    let mut cold = Vec::new();
    for (k, e) in m.edges.iter().enumerate() {
        let arrow = if e.try_only { "-.->" } else { "-->" };
        let _ = writeln!(
            s,
            "  n{} {arrow}|\"{}\"| n{}",
            e.from,
            mermaid_str(&e.site),
            e.to
        );
        if e.hot() {
            hot.push(k.to_string());
        } else if any_hot {
            cold.push(k.to_string());
        }
    }
    let cyc: Vec<String> = (0..m.nodes.len())
        .filter(|&i| m.nodes[i].in_cycle)
        .map(|i| format!("n{i}"))
        .collect();
    if !cyc.is_empty() {
        s.push_str("  classDef cycle stroke:red,stroke-width:2px\n");
        let _ = writeln!(s, "  class {} cycle", cyc.join(","));
    }
    let faded_nodes = m.faded_nodes();
    let faded: Vec<String> = (0..m.nodes.len())
        .filter(|&i| faded_nodes[i])
        .map(|i| format!("n{i}"))
        .collect();
    if !faded.is_empty() {
        s.push_str("  classDef faded stroke:#bbbbbb,color:#888888\n");
        let _ = writeln!(s, "  class {} faded", faded.join(","));
    }
    if !hot.is_empty() {
        let _ = writeln!(
            s,
            "  linkStyle {} stroke:red,stroke-width:3px,color:red",
            hot.join(",")
        );
    }
    if !cold.is_empty() {
        let _ = writeln!(
            s,
            "  linkStyle {} stroke:#bbbbbb,color:#888888",
            cold.join(",")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_labels_take_as_many_segments_as_make_them_differ() {
        let classes: Vec<String> = [
            "k::a::Mutex::add_region::self",
            "k::a::RwLock::add_region::self",
            "k::b::get::self",
            "k::net::Link.state",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            unique_labels(&classes),
            [
                "Mutex::add_region::self",
                "RwLock::add_region::self",
                "get::self",
                "Link.state"
            ]
        );
    }

    #[test]
    fn dependency_paths_are_shown_from_their_package() {
        assert_eq!(short_path("src/lib.rs"), "src/lib.rs");
        assert_eq!(
            short_path("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/vhost-0.18.0/src/lib.rs"),
            "vhost-0.18.0/src/lib.rs"
        );
        assert_eq!(
            short_path("/opt/vendor/ksync/src/lib.rs"),
            "ksync/src/lib.rs"
        );
    }

    #[test]
    fn groups_are_the_module_of_the_class() {
        assert_eq!(group_of("k::net::Link.state"), "k::net");
        assert_eq!(group_of("k::TABLE"), "k");
        assert_eq!(group_of("TABLE"), "");
    }

    fn node(class: &str, in_cycle: bool) -> GraphNode {
        GraphNode {
            class: class.into(),
            label: short_class(class).into(),
            in_cycle,
            group: group_of(class),
        }
    }

    fn edge(from: usize, to: usize, in_cycle: bool, against_order: bool) -> GraphEdge {
        GraphEdge {
            from,
            to,
            site: "src/lib.rs:1".into(),
            func: "k::f".into(),
            chain: Vec::new(),
            try_only: false,
            in_cycle,
            against_order,
        }
    }

    #[test]
    fn cycles_only_keeps_the_hot_classes_and_their_edges_renumbered() {
        let m = GraphModel {
            nodes: vec![
                node("k::A.x", false),
                node("k::B.x", true),
                node("k::C.x", true),
                node("k::D.x", false),
                node("k::E.x", false),
            ],
            edges: vec![
                edge(0, 1, false, false),
                edge(1, 2, true, false),
                edge(2, 1, true, false),
                edge(3, 4, false, true),
            ],
        };
        let c = m.cycles_only();
        let labels: Vec<&str> = c.nodes.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, ["B.x", "C.x", "D.x", "E.x"]);
        let ends: Vec<(usize, usize)> = c.edges.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(ends, [(0, 1), (1, 0), (2, 3)]);
        assert_eq!(m.faded_nodes(), [true, false, false, false, false]);
    }
}
