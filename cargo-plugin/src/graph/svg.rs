//! The self-drawn SVG of the lock graph: a small layered layout. Cycles are broken by
//! reversing DFS back edges, nodes are put in rows by longest path, edges longer than one row
//! get invisible bend points, and rows are ordered by a few barycenter sweeps. Each connected
//! part is drawn on its own, side by side, in rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{GraphEdge, GraphModel};

const CHAR_W: f64 = 7.8;
const FONT: f64 = 13.0;
const NODE_H: f64 = 30.0;
const PAD_X: f64 = 12.0;
const GAP_X: f64 = 56.0;
const GAP_Y: f64 = 70.0;
const BEND_W: f64 = 12.0;
const BEND_GAP: f64 = 22.0;
const PART_GAP: f64 = 64.0;
/// Room above a part for its caption.
const CAPTION: f64 = 22.0;
/// Parts wrap to a new row past this width.
const ROW_WIDTH: f64 = 1600.0;
const MARGIN: f64 = 20.0;
const RED: &str = "#d62728";
const GREY: &str = "#444444";

fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Coordinates rounded to a tenth, without trailing zeros.
fn f(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Node positions and edge routes.
struct Layout {
    /// Center of every graph node.
    center: Vec<(f64, f64)>,
    /// Node widths.
    width: Vec<f64>,
    /// For every edge: the bend points between its ends (in drawing order, source first).
    bends: Vec<Vec<(f64, f64)>>,
    /// The connected parts, each drawn in a box captioned with its module.
    parts: Vec<Vec<usize>>,
}

/// Weakly connected parts, each a sorted list of nodes, ordered by their first node.
fn parts(m: &GraphModel) -> Vec<Vec<usize>> {
    let n = m.nodes.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for e in &m.edges {
        let (a, b) = (find(&mut parent, e.from), find(&mut parent, e.to));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for v in 0..n {
        let r = find(&mut parent, v);
        by_root.entry(r).or_default().push(v);
    }
    by_root.into_values().collect()
}

fn layout(m: &GraphModel) -> Layout {
    let n = m.nodes.len();
    let width: Vec<f64> = m
        .nodes
        .iter()
        .map(|nd| nd.label.chars().count() as f64 * CHAR_W + 2.0 * PAD_X)
        .collect();
    let mut center = vec![(0.0, 0.0); n];
    let mut bends = vec![Vec::new(); m.edges.len()];
    // Parts side by side, in rows no wider than ROW_WIDTH (a part wider than that alone).
    // Each part's box has its module as a caption above its top row.
    let (mut x0, mut y0, mut row_bottom) = (MARGIN, CAPTION, 0.0f64);
    let all_parts = parts(m);
    for part in &all_parts {
        let part = part.clone();
        let right = layout_part(m, &part, &width, x0, &mut center, &mut bends);
        let (dx, dy) = if right > ROW_WIDTH && x0 > MARGIN {
            y0 = row_bottom + GAP_Y + CAPTION;
            (MARGIN - x0, y0)
        } else {
            (0.0, y0)
        };
        let in_part: BTreeSet<usize> = part.iter().copied().collect();
        for &v in &part {
            center[v].0 += dx;
            center[v].1 += dy;
            row_bottom = row_bottom.max(center[v].1 + NODE_H / 2.0);
        }
        for (k, e) in m.edges.iter().enumerate() {
            if in_part.contains(&e.from) {
                for b in &mut bends[k] {
                    b.0 += dx;
                    b.1 += dy;
                }
            }
        }
        x0 = right + dx + PART_GAP;
    }
    Layout {
        center,
        width,
        bends,
        parts: all_parts,
    }
}

/// Lay out one connected part starting at `x0`; returns its right edge.
fn layout_part(
    m: &GraphModel,
    part: &[usize],
    width: &[f64],
    x0: f64,
    center: &mut [(f64, f64)],
    bends: &mut [Vec<(f64, f64)>],
) -> f64 {
    let local: BTreeMap<usize, usize> = part.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let n = part.len();
    let edges: Vec<(usize, usize, usize)> = m
        .edges
        .iter()
        .enumerate()
        .filter_map(|(k, e)| Some((k, *local.get(&e.from)?, *local.get(&e.to)?)))
        .collect();
    let reversed = back_edges(n, m.edges.len(), &edges);
    let oriented: Vec<(usize, usize, usize)> = edges
        .iter()
        .map(|&(k, a, b)| if reversed[k] { (k, b, a) } else { (k, a, b) })
        .collect();
    let layer = longest_path_layers(n, &oriented);
    let mut g = Layered::new(&layer, part.iter().map(|&v| width[v]).collect(), &oriented);
    g.order_rows();
    let x = g.place_x(n);
    let (vc, right) = g.coordinates(&x, x0);
    for (i, &v) in part.iter().enumerate() {
        center[v] = vc[i];
    }
    for (k, chain) in g.chains {
        let mut pts: Vec<(f64, f64)> = chain[1..chain.len() - 1].iter().map(|&b| vc[b]).collect();
        if reversed[k] {
            pts.reverse();
        }
        bends[k] = pts;
    }
    let part_w = right - x0;
    x0 + part_w
}

/// DFS over the part's edges `(edge index, from, to)`: the back edges (by edge index, of
/// `edge_count`), which are reversed for layering.
fn back_edges(n: usize, edge_count: usize, edges: &[(usize, usize, usize)]) -> Vec<bool> {
    let mut succ: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for &(k, a, b) in edges {
        succ[a].push((b, k));
    }
    let mut reversed = vec![false; edge_count];
    let mut state = vec![0u8; n];
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        let mut stack = vec![(root, 0usize)];
        while let Some(top) = stack.last_mut() {
            let (v, i) = *top;
            if let Some(&(w, k)) = succ[v].get(i) {
                top.1 += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => reversed[k] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    reversed
}

/// Longest-path layers of `n` nodes under acyclic edges `(edge index, from, to)`.
fn longest_path_layers(n: usize, oriented: &[(usize, usize, usize)]) -> Vec<usize> {
    let mut layer = vec![0usize; n];
    for _ in 0..n {
        let mut changed = false;
        for &(_, a, b) in oriented {
            if layer[b] < layer[a] + 1 {
                layer[b] = layer[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

/// A layered part: its nodes (ids `0..n`) plus a bend point (ids `n..`) in every layer an
/// edge crosses, the rows of each layer and the neighbours of each point.
struct Layered {
    vwidth: Vec<f64>,
    /// Per edge of the part: its index and the points it runs through, top to bottom.
    chains: Vec<(usize, Vec<usize>)>,
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    rows: Vec<Vec<usize>>,
}

impl Layered {
    fn new(layer: &[usize], node_width: Vec<f64>, oriented: &[(usize, usize, usize)]) -> Layered {
        // Chains with bend points: ids n.. are bends.
        let mut vlayer = layer.to_vec();
        let mut vwidth = node_width;
        let mut chains: Vec<(usize, Vec<usize>)> = Vec::new();
        for &(k, a, b) in oriented {
            let mut chain = vec![a];
            for l in layer[a] + 1..layer[b] {
                chain.push(vlayer.len());
                vlayer.push(l);
                vwidth.push(BEND_W);
            }
            chain.push(b);
            chains.push((k, chain));
        }
        let total = vlayer.len();
        let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
        let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
        for (_, c) in &chains {
            for w in c.windows(2) {
                down[w[0]].push(w[1]);
                up[w[1]].push(w[0]);
            }
        }
        let depth = vlayer.iter().copied().max().map_or(0, |d| d + 1);
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
        for v in 0..total {
            rows[vlayer[v]].push(v);
        }
        Layered {
            vwidth,
            chains,
            up,
            down,
            rows,
        }
    }

    fn total(&self) -> usize {
        self.vwidth.len()
    }

    /// Order the rows by a few barycenter sweeps, alternately down and up.
    fn order_rows(&mut self) {
        let (total, depth) = (self.total(), self.rows.len());
        let rows = &mut self.rows;
        let mut pos = vec![0f64; total];
        for r in rows.iter() {
            for (i, &v) in r.iter().enumerate() {
                pos[v] = i as f64;
            }
        }
        for sweep in 0..6 {
            let downward = sweep % 2 == 0;
            let order: Vec<usize> = if downward {
                (1..depth).collect()
            } else {
                (0..depth.saturating_sub(1)).rev().collect()
            };
            for li in order {
                let mut keyed: Vec<(f64, usize)> = rows[li]
                    .iter()
                    .map(|&v| {
                        let ns = if downward { &self.up[v] } else { &self.down[v] };
                        let bc = if ns.is_empty() {
                            pos[v]
                        } else {
                            ns.iter().map(|&w| pos[w]).sum::<f64>() / ns.len() as f64
                        };
                        (bc, v)
                    })
                    .collect();
                keyed.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                rows[li] = keyed.into_iter().map(|(_, v)| v).collect();
                for (i, &v) in rows[li].iter().enumerate() {
                    pos[v] = i as f64;
                }
            }
        }
    }

    /// Horizontal gap between the centers of neighbours `a` and `b` in a row (ids below
    /// `real` are nodes, the others bend points).
    fn sep(&self, real: usize, a: usize, b: usize) -> f64 {
        let gap = if a < real && b < real {
            GAP_X
        } else {
            BEND_GAP
        };
        (self.vwidth[a] + self.vwidth[b]) / 2.0 + gap
    }

    /// x of every point: start packed left to right, then pull every point towards its
    /// neighbours in the rows above and below, keeping the order and the gaps. Ids below
    /// `real` are nodes.
    fn place_x(&self, real: usize) -> Vec<f64> {
        let sep = |a: usize, b: usize| self.sep(real, a, b);
        let mut x = vec![0f64; self.total()];
        for r in &self.rows {
            let mut cur = 0.0;
            for (i, &v) in r.iter().enumerate() {
                if i > 0 {
                    cur += sep(r[i - 1], v);
                }
                x[v] = cur;
            }
        }
        for it in 0..8 {
            for r in &self.rows {
                let want: Vec<f64> = r
                    .iter()
                    .map(|&v| {
                        let ns: Vec<usize> = match it % 3 {
                            0 => self.up[v].clone(),
                            1 => self.down[v].clone(),
                            _ => self.up[v].iter().chain(&self.down[v]).copied().collect(),
                        };
                        if ns.is_empty() {
                            x[v]
                        } else {
                            ns.iter().map(|&w| x[w]).sum::<f64>() / ns.len() as f64
                        }
                    })
                    .collect();
                // Closest placement from the left and from the right, averaged: both keep the
                // gaps, so their mean does too.
                let k = r.len();
                let mut lft = want.clone();
                for i in 1..k {
                    lft[i] = lft[i].max(lft[i - 1] + sep(r[i - 1], r[i]));
                }
                let mut rgt = want.clone();
                for i in (0..k.saturating_sub(1)).rev() {
                    rgt[i] = rgt[i].min(rgt[i + 1] - sep(r[i], r[i + 1]));
                }
                for i in 0..k {
                    x[r[i]] = (lft[i] + rgt[i]) / 2.0;
                }
            }
        }
        x
    }

    /// Centers of every point with the part's left edge at `x0`, and the part's right edge.
    fn coordinates(&self, x: &[f64], x0: f64) -> (Vec<(f64, f64)>, f64) {
        let total = self.total();
        let left = (0..total)
            .map(|v| x[v] - self.vwidth[v] / 2.0)
            .fold(f64::INFINITY, f64::min);
        let left = if left.is_finite() { left } else { 0.0 };
        let mut vc = vec![(0.0, 0.0); total];
        let mut right = x0;
        for (li, r) in self.rows.iter().enumerate() {
            for &v in r {
                let cx = x0 + x[v] - left;
                vc[v] = (cx, MARGIN + li as f64 * (NODE_H + GAP_Y) + NODE_H / 2.0);
                right = f64::max(right, cx + self.vwidth[v] / 2.0);
            }
        }
        (vc, right)
    }
}

/// A smooth path through points: vertical at both ends, Catmull-Rom through the bends.
fn smooth_path(pts: &[(f64, f64)]) -> String {
    let k = pts.len();
    let tangent = |i: usize| -> (f64, f64) {
        if i == 0 {
            (0.0, 1.5 * (pts[1].1 - pts[0].1))
        } else if i + 1 == k {
            (0.0, 1.5 * (pts[k - 1].1 - pts[k - 2].1))
        } else {
            (
                (pts[i + 1].0 - pts[i - 1].0) / 2.0,
                (pts[i + 1].1 - pts[i - 1].1) / 2.0,
            )
        }
    };
    let mut d = format!("M{},{}", f(pts[0].0), f(pts[0].1));
    for i in 0..k.saturating_sub(1) {
        let (p, q) = (pts[i], pts[i + 1]);
        let (tp, tq) = (tangent(i), tangent(i + 1));
        let _ = write!(
            d,
            " C{},{} {},{} {},{}",
            f(p.0 + tp.0 / 3.0),
            f(p.1 + tp.1 / 3.0),
            f(q.0 - tq.0 / 3.0),
            f(q.1 - tq.1 / 3.0),
            f(q.0),
            f(q.1)
        );
    }
    d
}

/// Where each edge leaves its source and enters its target (the x of both ends): the edges at
/// one side of a node are spread along it, in the order of where they head.
fn ports(m: &GraphModel, lay: &Layout) -> Vec<(f64, f64)> {
    type Port = (f64, (usize, usize, bool), usize, bool);
    let mut at: BTreeMap<(usize, bool), Vec<Port>> = BTreeMap::new();
    for (k, e) in m.edges.iter().enumerate() {
        let (a, b) = (e.from, e.to);
        let (ca, cb) = (lay.center[a], lay.center[b]);
        let first = lay.bends[k].first().copied().unwrap_or(cb);
        let last = lay.bends[k].last().copied().unwrap_or(ca);
        let key = (a.min(b), a.max(b), a < b);
        at.entry((a, first.1 > ca.1))
            .or_default()
            .push((first.0, key, k, true));
        at.entry((b, last.1 > cb.1))
            .or_default()
            .push((last.0, key, k, false));
    }
    let mut ports = vec![(0.0, 0.0); m.edges.len()];
    for ((v, _), mut list) in at {
        list.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let cnt = list.len();
        let spread = (lay.width[v] * 0.6).min(16.0 * cnt.saturating_sub(1) as f64);
        for (i, &(_, _, k, is_source)) in list.iter().enumerate() {
            let x = if cnt > 1 {
                lay.center[v].0 - spread / 2.0 + spread * i as f64 / (cnt - 1) as f64
            } else {
                lay.center[v].0
            };
            if is_source {
                ports[k].0 = x;
            } else {
                ports[k].1 = x;
            }
        }
    }
    ports
}

/// The points edge `k` runs through: its source port, its bends, its target port.
fn edge_points(lay: &Layout, k: usize, e: &GraphEdge, port: (f64, f64)) -> Vec<(f64, f64)> {
    let (ca, cb) = (lay.center[e.from], lay.center[e.to]);
    let bends = &lay.bends[k];
    // Leave the source towards the first point, enter the target from the last one.
    let first = bends.first().copied().unwrap_or(cb);
    let last = bends.last().copied().unwrap_or(ca);
    let out_dir = if first.1 > ca.1 { 1.0 } else { -1.0 };
    let in_dir = if last.1 < cb.1 { -1.0 } else { 1.0 };
    let mut pts = vec![(port.0, ca.1 + out_dir * NODE_H / 2.0)];
    pts.extend(bends.iter().copied());
    pts.push((port.1, cb.1 + in_dir * NODE_H / 2.0));
    pts
}

/// The `<path>` of an edge through `pts`.
fn edge_path(out: &mut String, m: &GraphModel, e: &GraphEdge, faded: bool, pts: &[(f64, f64)]) {
    let d = smooth_path(pts);
    let (stroke, marker, sw) = if e.hot() {
        (RED, "arrow-red", "2.5")
    } else {
        (GREY, "arrow", "1.4")
    };
    let dash = if e.try_only {
        " stroke-dasharray=\"6 4\""
    } else {
        ""
    };
    let fade = if faded { FADED } else { "" };
    let _ = writeln!(
        out,
        "<path d=\"{d}\" stroke=\"{stroke}\" stroke-width=\"{sw}\"{dash}{fade} marker-end=\"url(#{marker})\"><title>{} → {}: {}</title></path>",
        xml(&m.nodes[e.from].label),
        xml(&m.nodes[e.to].label),
        xml(&e.tooltip())
    );
}

/// Where the label of an edge through `pts`, `tw` wide, goes (its left end and its middle
/// line): beside the middle of a stretch, the first that overlaps nothing in `taken` (the
/// rectangles left, top, right, bottom already drawn); by default beside the first stretch,
/// on the outer side of a pair. `off` is where the edge leaves its node relative to the
/// node's center: labels of an edge leaving left of it go to the left.
fn place_label(
    pts: &[(f64, f64)],
    off: f64,
    tw: f64,
    taken: &[(f64, f64, f64, f64)],
) -> (f64, f64) {
    let mut cands = Vec::new();
    let sides: [bool; 2] = if off < 0.0 {
        [true, false]
    } else {
        [false, true]
    };
    for &t in &[0.5, 0.3, 0.7] {
        for w in pts.windows(2) {
            let lx = w[0].0 + (w[1].0 - w[0].0) * t;
            let ly = w[0].1 + (w[1].1 - w[0].1) * t;
            for &left_side in &sides {
                let x = if left_side { lx - 5.0 - tw } else { lx + 5.0 };
                cands.push((x, ly));
            }
        }
    }
    // Area of `taken` a label at (x, y) would cover.
    let overlap = |x: f64, y: f64| -> f64 {
        taken
            .iter()
            .map(|&(l, t, r, b)| {
                let w = (x + tw + 2.0).min(r) - (x - 2.0).max(l);
                let h = (y + 7.0).min(b) - (y - 7.0).max(t);
                w.max(0.0) * h.max(0.0)
            })
            .sum()
    };
    cands
        .iter()
        .copied()
        .map(|(x, y)| (overlap(x, y), x, y))
        .fold(None, |best: Option<(f64, f64, f64)>, c| match best {
            Some(b) if b.0 <= c.0 => Some(b),
            _ => Some(c),
        })
        .map_or((pts[0].0, pts[0].1), |(_, x, y)| (x, y))
}

/// The label of an edge, `tw` wide, with its left end at `left` and its middle line at `ly`.
fn edge_label(out: &mut String, e: &GraphEdge, faded: bool, left: f64, ly: f64, tw: f64) {
    let (anchor, tx) = ("start", left);
    let color = if e.hot() { RED } else { "#555555" };
    let fade = if faded { FADED } else { "" };
    let _ = writeln!(
        out,
        "<g{fade}><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" rx=\"3\" fill=\"white\" fill-opacity=\"0.85\"/><text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"10\" fill=\"{color}\">{}</text></g>",
        xml(&e.tooltip()),
        f(left - 2.0),
        f(ly - 7.0),
        f(tw + 4.0),
        f(tx),
        f(ly + 3.5),
        xml(&e.site)
    );
}

/// What a faded element (not on a cycle, while something is) carries.
const FADED: &str = " opacity=\"0.35\"";

/// The edges drawn: their paths, their labels, and how far the labels reach left and right.
struct DrawnEdges {
    paths: String,
    labels: String,
    min_x: f64,
    max_x: f64,
}

/// Draw every edge; `min_x` and `max_x` are the horizontal extent of the drawing so far.
fn draw_edges(m: &GraphModel, lay: &Layout, min_x: f64, max_x: f64) -> DrawnEdges {
    let ports = ports(m, lay);
    let any_hot = m.has_hot();
    let mut out = DrawnEdges {
        paths: String::new(),
        labels: String::new(),
        min_x,
        max_x,
    };
    // Rectangles (left, top, right, bottom) labels must not cover: nodes, then placed labels.
    let mut taken: Vec<(f64, f64, f64, f64)> = lay
        .center
        .iter()
        .zip(&lay.width)
        .map(|(&(x, y), &w)| (x - w / 2.0, y - NODE_H / 2.0, x + w / 2.0, y + NODE_H / 2.0))
        .collect();
    for (k, e) in m.edges.iter().enumerate() {
        let pts = edge_points(lay, k, e, ports[k]);
        let off = pts[0].0 - lay.center[e.from].0;
        let faded = any_hot && !e.hot();
        edge_path(&mut out.paths, m, e, faded, &pts);
        let tw = e.site.chars().count() as f64 * 6.1;
        let (left, ly) = place_label(&pts, off, tw, &taken);
        taken.push((left - 2.0, ly - 7.0, left + tw + 2.0, ly + 7.0));
        out.min_x = out.min_x.min(left - 4.0);
        out.max_x = out.max_x.max(left + tw + 4.0);
        edge_label(&mut out.labels, e, faded, left, ly, tw);
    }
    out
}

/// The `<svg>` element's start, the arrow heads and the white background.
fn svg_head(s: &mut String, vx: f64, width: f64, height: f64) {
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"{} 0 {} {}\" font-family=\"monospace\" font-size=\"{}\">",
        f(width),
        f(height),
        f(vx),
        f(width),
        f(height),
        f(FONT)
    );
    s.push_str("<title>lock order graph</title>\n<defs>\n");
    for (id, color) in [("arrow", GREY), ("arrow-red", RED)] {
        let _ = writeln!(
            s,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{color}\"/></marker>"
        );
    }
    s.push_str("</defs>\n");
    let _ = writeln!(
        s,
        "<rect x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>",
        f(vx),
        f(width),
        f(height)
    );
}

/// One box per node, its class as tooltip.
fn draw_nodes(s: &mut String, m: &GraphModel, lay: &Layout) {
    let faded_nodes = m.faded_nodes();
    for (v, nd) in m.nodes.iter().enumerate() {
        let (x, y) = lay.center[v];
        let w = lay.width[v];
        let (stroke, sw) = if nd.in_cycle {
            (RED, "2")
        } else {
            ("#333333", "1.2")
        };
        let fade = if faded_nodes[v] { FADED } else { "" };
        let _ = writeln!(
            s,
            "<g{fade}><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"#f4f6fb\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#111111\">{}</text></g>",
            xml(&nd.class),
            f(x - w / 2.0),
            f(y - NODE_H / 2.0),
            f(w),
            f(NODE_H),
            f(x),
            f(y + FONT * 0.35),
            xml(&nd.label)
        );
    }
}

/// The legend line at height `ly`.
fn legend(s: &mut String, ly: f64) {
    let x0 = MARGIN;
    let _ = writeln!(
        s,
        "<g font-size=\"11\" fill=\"#333333\"><path d=\"M{},{} h28\" stroke=\"{RED}\" stroke-width=\"2.5\"/><text x=\"{}\" y=\"{}\">on a cycle / against lock_order</text><path d=\"M{},{} h28\" stroke=\"{GREY}\" stroke-width=\"1.4\"/><text x=\"{}\" y=\"{}\">ordered</text><path d=\"M{},{} h28\" stroke=\"{GREY}\" stroke-width=\"1.4\" stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{}\">try-lock only</text></g>",
        f(x0),
        f(ly),
        f(x0 + 34.0),
        f(ly + 4.0),
        f(x0 + 264.0),
        f(ly),
        f(x0 + 298.0),
        f(ly + 4.0),
        f(x0 + 362.0),
        f(ly),
        f(x0 + 396.0),
        f(ly + 4.0)
    );
}

/// The module the classes of a part share: the longest common prefix of their groups, by
/// path segments (`k::net` for `k::net::tcp` and `k::net::udp`).
fn common_group(m: &GraphModel, part: &[usize]) -> String {
    let mut common: Option<Vec<&str>> = None;
    for &v in part {
        let segs: Vec<&str> = m.nodes[v].group.split("::").collect();
        common = Some(match common {
            None => segs,
            Some(c) => c
                .iter()
                .zip(&segs)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    common.unwrap_or_default().join("::")
}

/// A dashed box around every part, its shared module as caption.
fn draw_parts(s: &mut String, m: &GraphModel, lay: &Layout) {
    for part in &lay.parts {
        let (mut l, mut t, mut r, mut b) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &v in part {
            let (x, y) = lay.center[v];
            l = l.min(x - lay.width[v] / 2.0);
            r = r.max(x + lay.width[v] / 2.0);
            t = t.min(y - NODE_H / 2.0);
            b = b.max(y + NODE_H / 2.0);
        }
        if part.is_empty() {
            continue;
        }
        let group = common_group(m, part);
        // wide enough for its caption (11 px monospace is about 6.6 px a character)
        r = r.max(l - 2.0 + group.chars().count() as f64 * 6.6 - 8.0);
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"none\" stroke=\"#c8c8c8\" stroke-dasharray=\"4 3\"/>",
            f(l - 8.0),
            f(t - CAPTION),
            f(r - l + 16.0),
            f(b - t + CAPTION + 8.0)
        );
        if !group.is_empty() {
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#888888\">{}</text>",
                f(l - 2.0),
                f(t - 7.0),
                xml(&group)
            );
        }
    }
}

/// An SVG drawing of the graph.
pub fn svg(m: &GraphModel) -> String {
    let lay = layout(m);
    let mut max_x: f64 = 0.0;
    let mut max_y: f64 = 0.0;
    for (v, &(x, y)) in lay.center.iter().enumerate() {
        max_x = max_x.max(x + lay.width[v] / 2.0);
        max_y = max_y.max(y + NODE_H / 2.0);
    }
    let edges = draw_edges(m, &lay, 0.0, max_x);

    let legend_y = max_y + 34.0;
    let legend_w = 470.0;
    let vx = edges.min_x.min(0.0);
    let width = (edges.max_x + MARGIN).max(MARGIN + legend_w) - vx;
    let height = legend_y + 12.0 + MARGIN;

    let mut s = String::new();
    svg_head(&mut s, vx, width, height);
    s.push_str("<g>\n");
    draw_parts(&mut s, m, &lay);
    s.push_str("</g>\n<g fill=\"none\">\n");
    s.push_str(&edges.paths);
    s.push_str("</g>\n<g>\n");
    draw_nodes(&mut s, m, &lay);
    s.push_str("</g>\n<g>\n");
    s.push_str(&edges.labels);
    s.push_str("</g>\n");
    legend(&mut s, legend_y);
    s.push_str("</svg>\n");
    s
}
