//! Mutation operators: sites found by parsing the sources with syn.

use std::collections::{BTreeMap, BTreeSet};

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Expr, FnArg, ImplItem, Item, Pat, Stmt, TraitItem, Type};

use super::{Mutant, Workspace};
use lockstep_analyzer::FileId;

pub const DROP_RELEASE: &str = "drop_release";
pub const EARLY_RETURN: &str = "early_return";
pub const SWAP_ACQUISITIONS: &str = "swap_acquisitions";
pub const NEST_INVERTED: &str = "nest_inverted";
pub const CALL_BACK: &str = "call_back";
pub const SLEEP_UNDER_SPIN: &str = "sleep_under_spin";
pub const RAW_COMPARE: &str = "raw_compare";
pub const RAW_ADD: &str = "raw_add";
pub const LEAK_CREDIT: &str = "leak_credit";
pub const IRQ_PLAIN_LOCK: &str = "irq_plain_lock";

pub const LOCK_OPS: &[&str] = &[
    DROP_RELEASE,
    EARLY_RETURN,
    SWAP_ACQUISITIONS,
    NEST_INVERTED,
    CALL_BACK,
    SLEEP_UNDER_SPIN,
    LEAK_CREDIT,
    IRQ_PLAIN_LOCK,
];
pub const SEQ_OPS: &[&str] = &[RAW_COMPARE, RAW_ADD];

const SLEEP: &str = " std::thread::sleep(std::time::Duration::from_millis(1));";
const EARLY: &str = " if std::hint::black_box(true) { return Default::default(); }";

/// An acquisition statement.
#[derive(Clone, Debug)]
struct Acq {
    /// The lock expression (`self.table`, `bundle.lock`).
    recv: String,
    /// `lock`, `lock_irqsave`, `read`, `write`, or `spin_lock_irqsave`.
    method: String,
    /// The binding of a `let` (guard or flags).
    binding: Option<String>,
    /// Released by hand (no guard).
    raw: bool,
    spin: bool,
}

#[derive(Clone, Debug)]
enum Release {
    /// `X.unlock()` or `spin_unlock_irqrestore(&X, ..)`.
    Raw(String),
    /// `drop(guard)`.
    Drop(String),
}

#[derive(Clone, Debug)]
struct StmtInfo {
    start: usize,
    end: usize,
    text: String,
    acq: Option<Acq>,
    release: Option<Release>,
    /// Names bound by a `let`.
    binds: Vec<String>,
    /// The block's tail expression: nothing can be inserted after it.
    tail: bool,
}

#[derive(Clone, Debug)]
struct FnInfo {
    name: String,
    self_ty: Option<String>,
    /// Byte range of the whole function and of its body.
    range: (usize, usize),
    body: (usize, usize),
    lines: (u32, u32),
    has_self_ref: bool,
    /// Parameters besides `self`: (name, type text).
    params: Vec<(String, String)>,
    blocks: Vec<Vec<StmtInfo>>,
}

struct FileModel {
    file: FileId,
    path: String,
    text: String,
    fns: Vec<FnInfo>,
}

/// Sites of the whole tree.
pub struct Model {
    files: Vec<FileModel>,
    /// Field name → declared types (all structs).
    field_types: BTreeMap<String, Vec<String>>,
    /// Struct name → its fields and their types.
    structs: BTreeMap<String, Vec<(String, String)>>,
    /// Names of the sequence-number type (a crate may re-export it under another name).
    seq_types: Vec<String>,
    lock_order: Vec<String>,
    irq_handlers: Vec<String>,
}

fn text_of<T: Spanned + ?Sized>(text: &str, node: &T) -> String {
    let r = node.span().byte_range();
    text.get(r).unwrap_or("").to_string()
}

fn range_of<T: Spanned + ?Sized>(node: &T) -> (usize, usize) {
    let r = node.span().byte_range();
    (r.start, r.end)
}

fn line_of(text: &str, off: usize) -> u32 {
    text[..off.min(text.len())].matches('\n').count() as u32 + 1
}

fn ty_text(text: &str, t: &Type) -> String {
    text_of(text, t).split_whitespace().collect()
}

fn last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => last_ident(&r.elem),
        _ => None,
    }
}

fn has_cfg_test(text: &str, attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let s: String = text_of(text, a).split_whitespace().collect();
        s.contains("cfg(test") || s == "#[test]" || s.contains("cfg(all(test")
    })
}

/// Strip `unsafe { e }`, parentheses, `.unwrap()` and `.expect(..)`.
fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Unsafe(u) if u.block.stmts.len() == 1 => match &u.block.stmts[0] {
            Stmt::Expr(inner, None) => strip(inner),
            _ => e,
        },
        Expr::Paren(p) => strip(&p.expr),
        Expr::MethodCall(m) if m.method == "unwrap" || m.method == "expect" => strip(&m.receiver),
        _ => e,
    }
}

fn strip_unsafe_stmt(e: &Expr) -> &Expr {
    match e {
        Expr::Unsafe(u) if u.block.stmts.len() == 1 => match &u.block.stmts[0] {
            Stmt::Expr(inner, _) => strip_unsafe_stmt(inner),
            _ => e,
        },
        _ => e,
    }
}

fn pat_ident(p: &Pat) -> Option<String> {
    match p {
        Pat::Ident(i) => Some(i.ident.to_string()),
        Pat::Type(t) => pat_ident(&t.pat),
        _ => None,
    }
}

fn pat_idents(p: &Pat, out: &mut Vec<String>) {
    struct V<'a>(&'a mut Vec<String>);
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.push(i.ident.to_string());
            syn::visit::visit_pat_ident(self, i);
        }
    }
    V(out).visit_pat(p);
}

fn field_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Field(f) => match &f.member {
            syn::Member::Named(i) => Some(i.to_string()),
            _ => None,
        },
        Expr::Paren(p) => field_name(&p.expr),
        Expr::Reference(r) => field_name(&r.expr),
        _ => None,
    }
}

impl Model {
    pub fn build(ws: &Workspace, seq_types: &[&str], only: Option<&[&str]>) -> Model {
        let mut m = Model {
            files: Vec::new(),
            field_types: BTreeMap::new(),
            structs: BTreeMap::new(),
            seq_types: seq_types.iter().map(|s| s.to_string()).collect(),
            lock_order: ws.config.lock_order.clone(),
            irq_handlers: ws.config.irq_handlers.clone(),
        };
        let mut parsed = Vec::new();
        for f in ws.db.files() {
            // dependencies are read, not reported: no mutant goes there
            if f.test_only
                || f.dependency
                || f.text.starts_with('\u{feff}')
                || f.text.starts_with("#!")
            {
                continue;
            }
            let Ok(ast) = syn::parse_file(&f.text) else {
                continue;
            };
            m.collect_structs(&f.text, &ast.items);
            let wanted = only.is_none_or(|o| o.iter().any(|p| f.path.ends_with(p)));
            if wanted {
                parsed.push((f.id, f.path.clone(), f.text.clone(), ast));
            }
        }
        for (id, path, text, ast) in parsed {
            let mut fm = FileModel {
                file: id,
                path,
                text,
                fns: Vec::new(),
            };
            m.collect_fns(&ast.items, None, &mut fm);
            m.files.push(fm);
        }
        m
    }

    fn collect_structs(&mut self, text: &str, items: &[Item]) {
        for it in items {
            match it {
                Item::Struct(s) => {
                    let mut fields = Vec::new();
                    for f in &s.fields {
                        if let Some(i) = &f.ident {
                            let t = ty_text(text, &f.ty);
                            self.field_types
                                .entry(i.to_string())
                                .or_default()
                                .push(t.clone());
                            fields.push((i.to_string(), t));
                        }
                    }
                    self.structs.insert(s.ident.to_string(), fields);
                }
                Item::Mod(md) if !has_cfg_test(text, &md.attrs) => {
                    if let Some((_, items)) = &md.content {
                        self.collect_structs(text, items);
                    }
                }
                _ => {}
            }
        }
    }

    fn collect_fns(&self, items: &[Item], _parent: Option<&str>, fm: &mut FileModel) {
        let text = &fm.text.clone();
        for it in items {
            match it {
                Item::Fn(f) if !has_cfg_test(text, &f.attrs) => {
                    let info = self.fn_info(fm, &f.sig, &f.block, None, f.span());
                    fm.fns.push(info);
                }
                Item::Impl(i) if !has_cfg_test(text, &i.attrs) => {
                    let self_ty = last_ident(&i.self_ty);
                    for ii in &i.items {
                        if let ImplItem::Fn(f) = ii {
                            if has_cfg_test(text, &f.attrs) {
                                continue;
                            }
                            let info =
                                self.fn_info(fm, &f.sig, &f.block, self_ty.clone(), f.span());
                            fm.fns.push(info);
                        }
                    }
                }
                Item::Trait(t) => {
                    for ti in &t.items {
                        if let TraitItem::Fn(f) = ti {
                            if let Some(b) = &f.default {
                                let info = self.fn_info(fm, &f.sig, b, None, f.span());
                                fm.fns.push(info);
                            }
                        }
                    }
                }
                Item::Mod(md) if !has_cfg_test(text, &md.attrs) => {
                    if let Some((_, items)) = &md.content {
                        self.collect_fns(items, None, fm);
                    }
                }
                _ => {}
            }
        }
    }

    fn fn_info(
        &self,
        fm: &FileModel,
        sig: &syn::Signature,
        body: &syn::Block,
        self_ty: Option<String>,
        span: proc_macro2::Span,
    ) -> FnInfo {
        let text = &fm.text;
        let r = span.byte_range();
        let mut has_self_ref = false;
        let mut params = Vec::new();
        for a in &sig.inputs {
            match a {
                FnArg::Receiver(rcv) => has_self_ref = rcv.reference.is_some(),
                FnArg::Typed(t) => {
                    params.push((pat_ident(&t.pat).unwrap_or_default(), ty_text(text, &t.ty)))
                }
            }
        }
        struct Blocks<'a>(Vec<&'a syn::Block>);
        impl<'ast> Visit<'ast> for Blocks<'ast> {
            fn visit_block(&mut self, b: &'ast syn::Block) {
                self.0.push(b);
                syn::visit::visit_block(self, b);
            }
            fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
            fn visit_item(&mut self, _: &'ast Item) {}
        }
        let mut v = Blocks(Vec::new());
        v.visit_block(body);
        let blocks =
            v.0.iter()
                .map(|b| {
                    let n = b.stmts.len();
                    b.stmts
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let mut info = self.stmt_info(text, s);
                            info.tail = i + 1 == n && matches!(s, Stmt::Expr(_, None));
                            info
                        })
                        .collect()
                })
                .collect();
        FnInfo {
            name: sig.ident.to_string(),
            self_ty,
            range: (r.start, r.end),
            body: range_of(body),
            lines: (line_of(text, r.start), line_of(text, r.end)),
            has_self_ref,
            params,
            blocks,
        }
    }

    fn lock_type(&self, recv: &Expr) -> Option<String> {
        let f = field_name(recv)?;
        let tys = self.field_types.get(&f)?;
        tys.iter()
            .find(|t| t.contains("Mutex") || t.contains("RwLock") || t.contains("Spin"))
            .cloned()
    }

    fn stmt_info(&self, text: &str, s: &Stmt) -> StmtInfo {
        let (start, end) = range_of(s);
        let mut info = StmtInfo {
            start,
            end,
            text: text.get(start..end).unwrap_or("").to_string(),
            acq: None,
            release: None,
            binds: Vec::new(),
            tail: false,
        };
        match s {
            Stmt::Local(l) => {
                pat_idents(&l.pat, &mut info.binds);
                if let Some(init) = &l.init {
                    info.acq = self.acq_of(text, strip(&init.expr), pat_ident(&l.pat));
                }
            }
            Stmt::Expr(e, Some(_)) => {
                let e = strip_unsafe_stmt(e);
                match e {
                    Expr::MethodCall(m) if m.method == "lock" && m.args.is_empty() => {
                        if let Some(t) = self.lock_type(&m.receiver) {
                            if t.contains("RawSpin") && !t.contains("Mutex") {
                                info.acq = Some(Acq {
                                    recv: text_of(text, &*m.receiver),
                                    method: "lock".into(),
                                    binding: None,
                                    raw: true,
                                    spin: true,
                                });
                            }
                        }
                    }
                    Expr::MethodCall(m) if is_release_name(&m.method.to_string()) => {
                        info.release = Some(Release::Raw(text_of(text, &*m.receiver)));
                    }
                    Expr::Call(c) => {
                        let name = match &*c.func {
                            Expr::Path(p) => p
                                .path
                                .segments
                                .last()
                                .map(|s| s.ident.to_string())
                                .unwrap_or_default(),
                            _ => String::new(),
                        };
                        if is_release_name(&name) {
                            let recv = match c.args.first() {
                                Some(Expr::Reference(r)) => Some(text_of(text, &*r.expr)),
                                Some(e) => Some(text_of(text, e)),
                                None => None,
                            };
                            if let Some(r) = recv {
                                info.release = Some(Release::Raw(r));
                            }
                        } else if name == "drop" && c.args.len() == 1 {
                            if let Some(Expr::Path(p)) = c.args.first() {
                                if let Some(i) = p.path.get_ident() {
                                    info.release = Some(Release::Drop(i.to_string()));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        info
    }

    fn acq_of(&self, text: &str, e: &Expr, binding: Option<String>) -> Option<Acq> {
        match e {
            Expr::MethodCall(m) if m.args.is_empty() => {
                let method = m.method.to_string();
                if !["lock", "lock_irqsave", "read", "write"].contains(&method.as_str()) {
                    return None;
                }
                let t = self.lock_type(&m.receiver)?;
                if (method == "read" || method == "write") && !t.contains("RwLock") {
                    return None;
                }
                if t.contains("RawSpin") && !t.contains("Mutex") {
                    return None;
                }
                Some(Acq {
                    recv: text_of(text, &*m.receiver),
                    method,
                    binding,
                    raw: false,
                    spin: t.contains("Spin"),
                })
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    return None;
                };
                let name = p.path.segments.last()?.ident.to_string();
                if name != "spin_lock_irqsave" {
                    return None;
                }
                let Some(Expr::Reference(r)) = c.args.first() else {
                    return None;
                };
                Some(Acq {
                    recv: text_of(text, &*r.expr),
                    method: name,
                    binding,
                    raw: true,
                    spin: true,
                })
            }
            _ => None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn mutant(
        &self,
        fm: &FileModel,
        f: &FnInfo,
        op: &'static str,
        at: usize,
        edits: Vec<(usize, usize, String)>,
        expected: &'static str,
        desc: String,
    ) -> Mutant {
        Mutant {
            op,
            file: fm.file,
            path: fm.path.clone(),
            line: line_of(&fm.text, at),
            fn_lines: f.lines,
            edits,
            expected,
            desc,
        }
    }

    /// Every lock mutant, plus the sites that were not turned into mutants and why.
    pub fn lock_mutants(&self) -> (Vec<Mutant>, Vec<String>) {
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        for fm in &self.files {
            for f in &fm.fns {
                self.sleep_and_return(fm, f, &mut out);
                self.drop_release(fm, f, &mut out, &mut skipped);
                self.swap(fm, f, &mut out);
                self.nest_inverted(fm, f, &mut out, &mut skipped);
                self.call_back(fm, f, &mut out);
                self.leak(fm, f, &mut out);
                self.irq(fm, f, &mut out);
            }
        }
        (out, skipped)
    }

    fn sleep_and_return(&self, fm: &FileModel, f: &FnInfo, out: &mut Vec<Mutant>) {
        for b in &f.blocks {
            for (i, s) in b.iter().enumerate() {
                let Some(a) = &s.acq else { continue };
                if a.spin {
                    out.push(self.mutant(
                        fm,
                        f,
                        SLEEP_UNDER_SPIN,
                        s.end,
                        vec![(s.end, s.end, SLEEP.into())],
                        "blocking_under_spinlock",
                        format!("sleep after `{}`", s.text.trim()),
                    ));
                }
                if !a.raw {
                    continue;
                }
                // a return after the acquisition and after every later statement of the
                // block while the lock is still held
                for t in &b[i..] {
                    if let Some(Release::Raw(r)) = &t.release {
                        if *r == a.recv {
                            break;
                        }
                    }
                    if t.tail {
                        break;
                    }
                    out.push(self.mutant(
                        fm,
                        f,
                        EARLY_RETURN,
                        t.end,
                        vec![(t.end, t.end, EARLY.into())],
                        "unreleased_lock",
                        format!("return after `{}` with `{}` held", t.text.trim(), a.recv),
                    ));
                }
            }
        }
    }

    fn acquisitions(&self, f: &FnInfo) -> Vec<(usize, Acq)> {
        f.blocks
            .iter()
            .flatten()
            .filter_map(|s| s.acq.clone().map(|a| (s.start, a)))
            .collect()
    }

    fn sibling_fns<'a>(&self, fm: &'a FileModel, f: &FnInfo) -> Vec<&'a FnInfo> {
        fm.fns
            .iter()
            .filter(|g| g.self_ty.is_some() && g.self_ty == f.self_ty && g.name != f.name)
            .collect()
    }

    fn drop_release(
        &self,
        fm: &FileModel,
        f: &FnInfo,
        out: &mut Vec<Mutant>,
        skipped: &mut Vec<String>,
    ) {
        let acqs = self.acquisitions(f);
        for s in f.blocks.iter().flatten() {
            let Some(rel) = &s.release else { continue };
            let edit = vec![(s.start, s.end, blank(&s.text))];
            match rel {
                Release::Raw(recv) => out.push(self.mutant(
                    fm,
                    f,
                    DROP_RELEASE,
                    s.start,
                    edit,
                    "unreleased_lock",
                    format!("remove `{}` (raw release of `{recv}`)", s.text.trim()),
                )),
                Release::Drop(g) => {
                    let Some((_, a)) = acqs
                        .iter()
                        .rev()
                        .find(|(at, a)| *at < s.start && a.binding.as_deref() == Some(g))
                    else {
                        continue;
                    };
                    // the same lock taken again later on a path from here, directly or in a
                    // method of the same type called from there
                    let rest = &path_rest(fm, f, s.end);
                    let needle = format!("{}.{}(", a.recv, a.method);
                    let mut again = rest.find(&needle);
                    if let Some(field) = a.recv.strip_prefix("self.") {
                        let own = format!("self.{field}.");
                        for g in self.sibling_fns(fm, f) {
                            if !fm.text[g.body.0..g.body.1].contains(&own) {
                                continue;
                            }
                            if let Some(k) = rest.find(&format!("self.{}(", g.name)) {
                                again = Some(again.map_or(k, |a| a.min(k)));
                            }
                        }
                    }
                    // the guard released across a call into another object of the tree (a
                    // parameter of a type declared there): removing the release may also
                    // hold the lock across whatever that call takes or waits for
                    let across = again.and_then(|k| {
                        f.params.iter().find(|(p, ty)| {
                            !p.is_empty()
                                && self.is_tree_type(ty)
                                && rest[..k].contains(&format!("{p}."))
                        })
                    });
                    if let Some((p, ty)) = across {
                        skipped.push(format!(
                            "`{DROP_RELEASE}` {}:{}: `{}` — `{}` is released across a call on `{p}: {ty}` before it is taken again: held there too, the mutant could inject a second bug",
                            fm.path,
                            line_of(&fm.text, s.start),
                            s.text.trim(),
                            a.recv,
                        ));
                        continue;
                    }
                    let again = again.is_some();
                    if again {
                        out.push(self.mutant(
                            fm,
                            f,
                            DROP_RELEASE,
                            s.start,
                            edit,
                            "double_lock",
                            format!(
                                "remove `{}`; `{}` is locked again later",
                                s.text.trim(),
                                a.recv
                            ),
                        ));
                    } else {
                        skipped.push(format!(
                            "`{DROP_RELEASE}` {}:{}: `{}` — the guard ends with its scope and `{}` is not locked again in `{}`: removing it injects no bug",
                            fm.path,
                            line_of(&fm.text, s.start),
                            s.text.trim(),
                            a.recv,
                            f.name
                        ));
                    }
                }
            }
        }
    }

    fn swap(&self, fm: &FileModel, f: &FnInfo, out: &mut Vec<Mutant>) {
        for b in &f.blocks {
            for i in 0..b.len() {
                let Some(a) = &b[i].acq else { continue };
                let mut bound: BTreeSet<String> = b[i].binds.iter().cloned().collect();
                for j in i + 1..b.len() {
                    let released = match &b[j].release {
                        Some(Release::Raw(r)) => *r == a.recv,
                        Some(Release::Drop(g)) => a.binding.as_deref() == Some(g.as_str()),
                        None => false,
                    };
                    if released {
                        break;
                    }
                    if let Some(c) = &b[j].acq {
                        let uses_bound = idents(&b[j].text).iter().any(|w| bound.contains(w));
                        let one_line = !b[i].text.contains('\n') && !b[j].text.contains('\n');
                        if c.recv != a.recv && !uses_bound && one_line {
                            out.push(self.mutant(
                                fm,
                                f,
                                SWAP_ACQUISITIONS,
                                b[i].start,
                                vec![
                                    (b[i].start, b[i].end, b[j].text.clone()),
                                    (b[j].start, b[j].end, b[i].text.clone()),
                                ],
                                "lock_order_inversion",
                                format!("take `{}` before `{}`", c.recv, a.recv),
                            ));
                        }
                    }
                    bound.extend(b[j].binds.iter().cloned());
                }
            }
        }
    }

    /// A type declared in the analyzed tree, or a trait object (`&Ipv4Layer`, `&dyn NicOps`).
    fn is_tree_type(&self, ty: &str) -> bool {
        let t = ty.trim_start_matches('&').trim_start_matches("mut");
        if t.starts_with("dyn") || t.starts_with("impl") {
            return true;
        }
        let last = t.rsplit("::").next().unwrap_or(t);
        let name: String = last
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        self.structs.contains_key(&name)
    }

    /// Position of `Type.field` in the configured lock order.
    fn order_of(&self, ty: &str, field: &str) -> Option<usize> {
        let suffix = format!("::{ty}.{field}");
        self.lock_order.iter().position(|l| l.ends_with(&suffix))
    }

    /// How `self.field` is acquired elsewhere in the file (`lock` when never).
    fn method_for(&self, fm: &FileModel, field: &str) -> String {
        let recv = format!("self.{field}");
        let mut found: Option<String> = None;
        for f in &fm.fns {
            for (_, a) in self.acquisitions(f) {
                if a.recv == recv && !a.raw && (found.is_none() || a.method == "lock_irqsave") {
                    found = Some(a.method);
                }
            }
        }
        found.unwrap_or_else(|| "lock".into())
    }

    /// Whether `recv` is held at byte `at` of `f` by a `let` guard of an enclosing block
    /// taken earlier and not yet dropped (or a raw acquisition not yet released).
    fn held_at(&self, f: &FnInfo, recv: &str, at: usize) -> bool {
        f.blocks.iter().any(|b| {
            let Some(last) = b.last() else { return false };
            b.iter().enumerate().any(|(i, s)| {
                let Some(a) = &s.acq else { return false };
                if a.recv != recv || s.end > at || at > last.end {
                    return false;
                }
                !b[i + 1..].iter().any(|t| {
                    t.start < at
                        && match &t.release {
                            Some(Release::Raw(r)) => *r == a.recv,
                            Some(Release::Drop(g)) => a.binding.as_deref() == Some(g.as_str()),
                            None => false,
                        }
                })
            })
        })
    }

    /// Methods of `f`'s type that call `f`, directly or through other methods of the type.
    fn callers<'a>(&self, fm: &'a FileModel, f: &FnInfo) -> Vec<&'a FnInfo> {
        let mut names: BTreeSet<String> = BTreeSet::from([f.name.clone()]);
        loop {
            let before = names.len();
            for g in fm.fns.iter().filter(|g| g.self_ty == f.self_ty) {
                let body = &fm.text[g.body.0..g.body.1];
                if names.iter().any(|n| body.contains(&format!("self.{n}("))) {
                    names.insert(g.name.clone());
                }
            }
            if names.len() == before {
                break;
            }
        }
        names.remove(&f.name);
        fm.fns
            .iter()
            .filter(|g| g.self_ty == f.self_ty && names.contains(&g.name))
            .collect()
    }

    fn nest_inverted(
        &self,
        fm: &FileModel,
        f: &FnInfo,
        out: &mut Vec<Mutant>,
        skipped: &mut Vec<String>,
    ) {
        let Some(ty) = &f.self_ty else { return };
        let Some(fields) = self.structs.get(ty) else {
            return;
        };
        for s in f.blocks.iter().flatten() {
            let Some(a) = &s.acq else { continue };
            if a.raw {
                continue;
            }
            let Some(field) = a.recv.strip_prefix("self.") else {
                continue;
            };
            let Some(pos) = self.order_of(ty, field) else {
                continue;
            };
            for (g, gty) in fields {
                let Some(gpos) = self.order_of(ty, g) else {
                    continue;
                };
                // an outer lock taken inside an inner one; a sleeping lock only inside a
                // sleeping one (under a spin lock it would also be a blocking call)
                if gpos >= pos || (a.spin && !gty.contains("Spin")) {
                    continue;
                }
                if gty.contains("RawSpin") && !gty.contains("Mutex") {
                    continue;
                }
                // a lock the interrupt handler takes would add an interrupt hazard too
                if self.irq_locks(fm).contains(&format!("self.{g}")) {
                    continue;
                }
                // a lock already held there would make the inserted acquisition a
                // self-deadlock as well: the mutant would inject two bugs
                let outer = format!("self.{g}");
                let held = if self.held_at(f, &outer, s.end) {
                    Some(format!("`{outer}` is held there already"))
                } else {
                    let takers: Vec<String> = self
                        .callers(fm, f)
                        .into_iter()
                        .filter(|c| fm.text[c.body.0..c.body.1].contains(&format!("{outer}.")))
                        .map(|c| format!("`{}`", c.name))
                        .collect();
                    (!takers.is_empty()).then(|| {
                        format!(
                            "`{}` is called, directly or through other methods, from {} which take `{outer}`",
                            f.name,
                            takers.join(", ")
                        )
                    })
                };
                if let Some(why) = held {
                    skipped.push(format!(
                        "`{NEST_INVERTED}` {}:{}: take `{outer}` while `{}` is held — {why}: the acquisition would also be a self-deadlock",
                        fm.path,
                        line_of(&fm.text, s.end),
                        a.recv
                    ));
                    continue;
                }
                let method = self.method_for(fm, g);
                out.push(self.mutant(
                    fm,
                    f,
                    NEST_INVERTED,
                    s.end,
                    vec![(s.end, s.end, format!(" drop(self.{g}.{method}());"))],
                    "lock_order_inversion",
                    format!("take `self.{g}` while `{}` is held", a.recv),
                ));
            }
        }
    }

    fn call_back(&self, fm: &FileModel, f: &FnInfo, out: &mut Vec<Mutant>) {
        const PER_SITE: usize = 1;
        for s in f.blocks.iter().flatten() {
            let Some(a) = &s.acq else { continue };
            if a.raw || !(a.method == "lock" || a.method == "lock_irqsave") {
                continue;
            }
            let Some(field) = a.recv.strip_prefix("self.") else {
                continue;
            };
            let mut n = 0;
            for g in self.sibling_fns(fm, f) {
                if n == PER_SITE {
                    break;
                }
                let body = &fm.text[g.body.0..g.body.1];
                let takes = self.acquisitions(g).iter().any(|(_, b)| b.recv == a.recv)
                    || body.contains(&format!("self.{field}.lock"));
                // a method that takes that lock and no other (directly or through a method of
                // the same type), so the call injects one bug only
                if !g.has_self_ref || !takes || !self.locks_only(fm, g, &a.recv, 2) {
                    continue;
                }
                let args = vec!["Default::default()"; g.params.len()].join(", ");
                out.push(self.mutant(
                    fm,
                    f,
                    CALL_BACK,
                    s.end,
                    vec![(s.end, s.end, format!(" self.{}({args});", g.name))],
                    "double_lock",
                    format!(
                        "call `{}` (locks `{}`) with `{}` held",
                        g.name, a.recv, a.recv
                    ),
                ));
                n += 1;
            }
        }
    }

    /// Whether `g` takes no lock but `recv`, directly or through methods of its type.
    fn locks_only(&self, fm: &FileModel, g: &FnInfo, recv: &str, depth: u32) -> bool {
        let lockish = [
            "lock(",
            "lock_irqsave(",
            ".read()",
            ".write()",
            "spin_lock",
            "try_lock(",
        ];
        let mut body = fm.text[g.body.0..g.body.1].to_string();
        for k in ["lock_irqsave(", "try_lock(", "lock(", "read(", "write("] {
            body = body.replace(&format!("{recv}.{k}"), "");
        }
        if lockish.iter().any(|k| body.contains(k)) {
            return false;
        }
        for h in self.sibling_fns(fm, g) {
            if body.contains(&format!("self.{}(", h.name))
                && (depth == 0 || !self.locks_only(fm, h, recv, depth - 1))
            {
                return false;
            }
        }
        true
    }

    /// Locks an interrupt handler of this file takes (`self.field`).
    fn irq_locks(&self, fm: &FileModel) -> Vec<String> {
        let mut out = Vec::new();
        for h in &self.irq_handlers {
            let mut segs = h.rsplit("::");
            let (Some(hname), Some(hty)) = (segs.next(), segs.next()) else {
                continue;
            };
            for g in &fm.fns {
                if g.name == hname && g.self_ty.as_deref() == Some(hty) {
                    out.extend(self.acquisitions(g).into_iter().map(|(_, a)| a.recv));
                }
            }
        }
        out
    }

    fn leak(&self, fm: &FileModel, f: &FnInfo, out: &mut Vec<Mutant>) {
        let is_take = |t: &str| {
            (t.ends_with("-= 1;") || t.contains("fetch_sub(1")) && is_taken_resource(t, &fm.text)
        };
        let is_give =
            |t: &str| t.starts_with("self.return_credit(") || is_counter_give_back(t, &fm.text);
        let takes: Vec<&StmtInfo> = f
            .blocks
            .iter()
            .flatten()
            .filter(|s| is_take(s.text.trim()))
            .collect();
        let Some(first_take) = takes.first() else {
            return;
        };
        // a give-back on one path of a function that takes
        for s in f.blocks.iter().flatten() {
            let t = s.text.trim();
            if is_give(t) && s.start > first_take.end {
                out.push(self.mutant(
                    fm,
                    f,
                    LEAK_CREDIT,
                    s.start,
                    vec![(s.start, s.end, blank(&s.text))],
                    "resource_leak",
                    format!("remove the give-back `{t}`"),
                ));
            }
        }
        // a return right after the take, after every later statement of its block until a
        // give-back, and at the start of every later block that precedes a give-back
        for b in &f.blocks {
            for (i, s) in b.iter().enumerate() {
                if !is_take(s.text.trim()) {
                    continue;
                }
                for u in &b[i..] {
                    if u.tail || u.text.contains("return_credit(") || is_give(u.text.trim()) {
                        break;
                    }
                    out.push(self.mutant(
                        fm,
                        f,
                        LEAK_CREDIT,
                        u.end,
                        vec![(u.end, u.end, EARLY.into())],
                        "resource_leak",
                        format!("return after `{}` with the credit taken", u.text.trim()),
                    ));
                }
            }
        }
        for b in &f.blocks {
            let Some(s0) = b.first() else { continue };
            if s0.start <= first_take.end || !b.iter().any(|u| is_give(u.text.trim())) {
                continue;
            }
            let at = fm.text[..s0.start].rfind('{').map_or(s0.start, |k| k + 1);
            out.push(self.mutant(
                fm,
                f,
                LEAK_CREDIT,
                at,
                vec![(at, at, EARLY.into())],
                "resource_leak",
                format!("return before `{}` with the credit taken", s0.text.trim()),
            ));
        }
    }

    fn irq(&self, fm: &FileModel, f: &FnInfo, out: &mut Vec<Mutant>) {
        for h in &self.irq_handlers {
            let mut segs = h.rsplit("::");
            let (Some(hname), Some(hty)) = (segs.next(), segs.next()) else {
                continue;
            };
            if f.self_ty.as_deref() != Some(hty) {
                continue;
            }
            let Some(handler) = fm
                .fns
                .iter()
                .find(|g| g.name == hname && g.self_ty.as_deref() == Some(hty))
            else {
                continue;
            };
            let htext = &fm.text[handler.body.0..handler.body.1];
            let shared: Vec<String> = self
                .acquisitions(handler)
                .into_iter()
                .map(|(_, a)| a.recv)
                .filter(|r| r.starts_with("self."))
                .collect();
            if f.name == hname || htext.contains(&format!("self.{}(", f.name)) {
                continue;
            }
            let body = &fm.text[f.body.0..f.body.1];
            for recv in &shared {
                // natural sites: every `recv.lock_irqsave()`
                let needle = format!("{recv}.lock_irqsave()");
                let mut from = 0;
                while let Some(k) = body[from..].find(&needle) {
                    let at = f.body.0 + from + k + recv.len() + 1;
                    out.push(self.mutant(
                        fm,
                        f,
                        IRQ_PLAIN_LOCK,
                        at,
                        vec![(at, at + "lock_irqsave".len(), "lock".into())],
                        "irq_unsafe_lock",
                        format!("`{recv}.lock()` instead of `lock_irqsave()`"),
                    ));
                    from += k + needle.len();
                }
                // generated sites: a plain lock at the start of every other method
                if f.has_self_ref && !body.contains(recv.as_str()) {
                    let at = f.body.0 + 1;
                    out.push(self.mutant(
                        fm,
                        f,
                        IRQ_PLAIN_LOCK,
                        at,
                        vec![(at, at, format!(" drop({recv}.lock());"))],
                        "irq_unsafe_lock",
                        format!("plain `{recv}.lock()` at the start of `{}`", f.name),
                    ));
                }
            }
        }
    }
}

/// The text a path from byte `at` of `f` runs through, as far as the source shows it: the
/// rest of the block, then the rest of each enclosing block after the statement that holds it
/// (other arms and branches of that statement are not on the path), until a `return`.
fn path_rest(fm: &FileModel, f: &FnInfo, at: usize) -> String {
    let mut out = String::new();
    let mut pos = at;
    let innermost = |pos: usize| {
        f.blocks
            .iter()
            .filter(|b| {
                b.first().is_some_and(|s| s.start <= pos) && b.last().is_some_and(|s| pos <= s.end)
            })
            .min_by_key(|b| b.last().map_or(0, |s| s.end) - b[0].start)
    };
    while let Some(b) = innermost(pos) {
        let (start, end) = (b[0].start, b.last().map_or(pos, |s| s.end));
        let part = &fm.text[pos..end];
        out.push_str(part);
        if part.contains("return") {
            break;
        }
        let Some(parent) = f
            .blocks
            .iter()
            .flatten()
            .filter(|s| s.start < start && s.end >= end)
            .min_by_key(|s| s.end - s.start)
        else {
            break;
        };
        pos = parent.end;
    }
    out
}

/// A raw release by name: `unlock`, `spin_unlock_irqrestore`, `raw_unlock_*`, `ReleaseSpinLock`.
fn is_release_name(name: &str) -> bool {
    name.contains("unlock") || name.starts_with("Release") || name.starts_with("release_lock")
}

/// What a removed statement leaves: its line breaks, so lines keep their numbers.
fn blank(s: &str) -> String {
    s.chars().filter(|c| *c == '\n').collect()
}

fn idents(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `x.field += 1` or `x.field.fetch_add(1, ..)` where the file also takes that field.
fn is_counter_give_back(t: &str, file: &str) -> bool {
    let field = if let Some(p) = t.strip_suffix("+= 1;") {
        p.trim().rsplit('.').next().map(str::to_string)
    } else if let Some(k) = t.find(".fetch_add(1") {
        t[..k].rsplit('.').next().map(str::to_string)
    } else {
        None
    };
    let Some(field) = field else { return false };
    file.contains(&format!(".{field} -= 1")) || file.contains(&format!(".{field}.fetch_sub(1"))
}

fn is_taken_resource(t: &str, file: &str) -> bool {
    let field = if let Some(p) = t.strip_suffix("-= 1;") {
        p.trim().rsplit('.').next().map(str::to_string)
    } else if let Some(k) = t.find(".fetch_sub(1") {
        t[..k].rsplit('.').next().map(str::to_string)
    } else {
        None
    };
    let Some(field) = field else { return false };
    file.contains(&format!(".{field} += 1")) || file.contains(&format!(".{field}.fetch_add(1"))
}

// ---------------------------------------------------------------------------------------------
// sequence-number operators

struct SeqCx<'a> {
    model: &'a Model,
    text: &'a str,
    /// Locals and parameters of the sequence type.
    locals: BTreeSet<String>,
    /// Inside an impl of the sequence type itself (`self`, `Self` parameters are sequences).
    in_seq_impl: bool,
    /// The sequence type's name in this file.
    ctor: String,
}

impl SeqCx<'_> {
    fn is_seq_ty(&self, t: &str) -> bool {
        let t = t.trim_start_matches('&').trim_start_matches("mut");
        self.model.seq_types.iter().any(|s| s == t) || (self.in_seq_impl && t == "Self")
    }

    /// A value of the sequence type.
    fn is_seq(&self, e: &Expr) -> bool {
        match e {
            Expr::Paren(p) => self.is_seq(&p.expr),
            Expr::Reference(r) => self.is_seq(&r.expr),
            Expr::Path(p) => p.path.get_ident().is_some_and(|i| {
                self.locals.contains(&i.to_string()) || (self.in_seq_impl && i == "self")
            }),
            Expr::Field(f) => match &f.member {
                syn::Member::Named(i) => self
                    .model
                    .field_types
                    .get(&i.to_string())
                    .is_some_and(|ts| !ts.is_empty() && ts.iter().all(|t| self.is_seq_ty(t))),
                _ => false,
            },
            Expr::Call(c) => {
                matches!(&*c.func, Expr::Path(p) if self.model.seq_types.iter().any(|s| p.path.is_ident(s)))
            }
            // a sequence value plus or minus a length
            Expr::Binary(b) if matches!(b.op, BinOp::Add(_) | BinOp::Sub(_)) => {
                self.is_seq(&b.left) && !self.is_seq(&b.right)
            }
            _ => false,
        }
    }

    /// A field declared `Option<Seq>`.
    fn opt_seq(&self, e: &Expr) -> bool {
        field_name(e).is_some_and(|f| {
            self.model.field_types.get(&f).is_some_and(|ts| {
                ts.iter().all(|t| {
                    t.strip_prefix("Option<")
                        .and_then(|t| t.strip_suffix('>'))
                        .is_some_and(|t| self.model.seq_types.iter().any(|s| s == t))
                })
            })
        })
    }

    /// The integer inside a sequence value (`x.0`).
    fn is_seq_int(&self, e: &Expr) -> bool {
        match e {
            Expr::Paren(p) => self.is_seq_int(&p.expr),
            Expr::Field(f) => {
                matches!(&f.member, syn::Member::Unnamed(i) if i.index == 0) && self.is_seq(&f.base)
            }
            _ => false,
        }
    }

    fn raw(&self, e: &Expr) -> String {
        let t = text_of(self.text, e);
        match e {
            Expr::Path(_)
            | Expr::Field(_)
            | Expr::Paren(_)
            | Expr::Call(_)
            | Expr::MethodCall(_) => {
                format!("{t}.0")
            }
            Expr::Reference(r) => format!("&{}", self.raw(&r.expr)),
            _ => format!("({t}).0"),
        }
    }
}

/// A sequence site: operator, offset, edits, expected lint, description.
type SeqSite = (
    &'static str,
    usize,
    Vec<(usize, usize, String)>,
    &'static str,
    String,
);

struct SeqSites<'a> {
    cx: SeqCx<'a>,
    out: Vec<SeqSite>,
}

fn is_cmp(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_)
    )
}

fn is_zero(e: &Expr) -> bool {
    matches!(e, Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits() == "0"))
}

/// `(x.wrapping_sub(y) as i32)`: the receiver and argument.
fn wrapping_distance(e: &Expr) -> Option<(&Expr, &Expr)> {
    let e = match e {
        Expr::Paren(p) => &*p.expr,
        e => e,
    };
    let Expr::Cast(c) = e else { return None };
    let Expr::MethodCall(m) = &*c.expr else {
        return None;
    };
    if m.method != "wrapping_sub" || m.args.len() != 1 {
        return None;
    }
    Some((&m.receiver, &m.args[0]))
}

impl<'ast> Visit<'ast> for SeqSites<'_> {
    fn visit_local(&mut self, l: &'ast syn::Local) {
        // visit the initializer first: the binding is not in scope there
        syn::visit::visit_local(self, l);
        let typed = match &l.pat {
            Pat::Type(t) => self.cx.is_seq_ty(&ty_text(self.cx.text, &t.ty)),
            _ => false,
        };
        // an untyped binding takes the initializer's type: a sequence value, or a sequence
        // value plus or minus a length
        let inferred = l.init.as_ref().is_some_and(|i| {
            i.diverge.is_none()
                && match &*i.expr {
                    Expr::Binary(b) if matches!(b.op, BinOp::Add(_) | BinOp::Sub(_)) => {
                        self.cx.is_seq(&b.left) && !self.cx.is_seq(&b.right)
                    }
                    e => self.cx.is_seq(e),
                }
        });
        if typed || inferred {
            if let Some(n) = pat_ident(&l.pat) {
                self.cx.locals.insert(n);
            }
        }
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        let t = self.cx.text;
        let (ls, le) = range_of(&*b.left);
        let (rs, re) = range_of(&*b.right);
        if is_cmp(&b.op) {
            if self.cx.is_seq(&b.left) && self.cx.is_seq(&b.right) {
                self.out.push((
                    RAW_COMPARE,
                    ls,
                    vec![
                        (ls, le, self.cx.raw(&b.left)),
                        (rs, re, self.cx.raw(&b.right)),
                    ],
                    "seq_compare",
                    format!("`{}` on the raw integers", text_of(t, b)),
                ));
            } else {
                let (d, z, flip) = if is_zero(&b.right) {
                    (&*b.left, &*b.right, false)
                } else {
                    (&*b.right, &*b.left, true)
                };
                if is_zero(z) {
                    if let Some((x, y)) = wrapping_distance(d) {
                        let (bs, be) = range_of(b);
                        let op = text_of(t, &b.op);
                        let (x, y) = (text_of(t, x), text_of(t, y));
                        let new = if flip {
                            format!("{y} {op} {x}")
                        } else {
                            format!("{x} {op} {y}")
                        };
                        self.out.push((
                            RAW_COMPARE,
                            bs,
                            vec![(bs, be, new)],
                            "seq_compare",
                            format!("`{}` as a raw compare", text_of(t, b)),
                        ));
                    }
                }
            }
        }
        if let BinOp::Add(_) | BinOp::Sub(_) = b.op {
            if self.cx.is_seq(&b.left) && !self.cx.is_seq(&b.right) {
                let (bs, be) = range_of(b);
                let op = text_of(t, &b.op);
                let new = format!(
                    "{}({} {op} {})",
                    self.cx.ctor,
                    self.cx.raw(&b.left),
                    text_of(t, &*b.right)
                );
                self.out.push((
                    RAW_ADD,
                    bs,
                    vec![(bs, be, new)],
                    "seq_arith",
                    format!("`{}` on the raw integer", text_of(t, b)),
                ));
            }
        }
        // the distance between two sequence values taken on the raw integers
        if let BinOp::Sub(_) = b.op {
            if self.cx.is_seq(&b.left) && self.cx.is_seq(&b.right) {
                let (bs, be) = range_of(b);
                let new = format!("({} - {})", self.cx.raw(&b.left), self.cx.raw(&b.right));
                self.out.push((
                    RAW_ADD,
                    bs,
                    vec![(bs, be, new)],
                    "seq_arith",
                    format!("`{}` on the raw integers", text_of(t, b)),
                ));
            }
        }
        if let BinOp::AddAssign(_) | BinOp::SubAssign(_) = b.op {
            if self.cx.is_seq(&b.left) && !self.cx.is_seq(&b.right) {
                self.out.push((
                    RAW_ADD,
                    ls,
                    vec![(ls, le, self.cx.raw(&b.left))],
                    "seq_arith",
                    format!("`{}` on the raw integer", text_of(t, b)),
                ));
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let t = self.cx.text;
        let name = m.method.to_string();
        if ["cmp", "partial_cmp", "max", "min"].contains(&name.as_str())
            && m.args.len() == 1
            && self.cx.is_seq(&m.receiver)
            && self.cx.is_seq(&m.args[0])
        {
            let (rs, re) = range_of(&*m.receiver);
            let (as_, ae) = range_of(&m.args[0]);
            self.out.push((
                RAW_COMPARE,
                rs,
                vec![
                    (rs, re, self.cx.raw(&m.receiver)),
                    (as_, ae, self.cx.raw(&m.args[0])),
                ],
                "seq_compare",
                format!("`{}` on the raw integers", text_of(t, m)),
            ));
        }
        // a modular window check written out as raw compares
        if name == "in_window"
            && m.args.len() == 2
            && self.cx.is_seq(&m.receiver)
            && self.cx.is_seq(&m.args[0])
        {
            let (s, e) = range_of(m);
            let x = self.cx.raw(&m.receiver);
            let st = self.cx.raw(&m.args[0]);
            let len = text_of(t, &m.args[1]);
            self.out.push((
                RAW_COMPARE,
                s,
                vec![(
                    s,
                    e,
                    format!("({x} >= {st} && {x} < {st}.wrapping_add({len}))"),
                )],
                "seq_compare",
                format!("`{}` as raw compares", text_of(t, m)),
            ));
        }
        // the parameter of a closure over an optional sequence value is a sequence value
        if [
            "is_some_and",
            "is_none_or",
            "map",
            "filter",
            "and_then",
            "map_or",
        ]
        .contains(&name.as_str())
            && self.cx.opt_seq(&m.receiver)
        {
            if let Some(Expr::Closure(c)) = m.args.last() {
                if let Some(n) = c.inputs.first().and_then(pat_ident) {
                    self.cx.locals.insert(n);
                }
            }
        }
        if (name == "wrapping_add" || name == "wrapping_sub")
            && m.args.len() == 1
            && self.cx.is_seq_int(&m.receiver)
        {
            let (s, e) = range_of(m);
            let op = if name == "wrapping_add" { "+" } else { "-" };
            let arg = &m.args[0];
            let arg_t = match arg {
                Expr::Binary(_) | Expr::Cast(_) => format!("({})", text_of(t, arg)),
                _ => text_of(t, arg),
            };
            // a distance compared as signed is the compare operator's business
            self.out.push((
                RAW_ADD,
                s,
                vec![(s, e, format!("{} {op} {arg_t}", text_of(t, &*m.receiver)))],
                "seq_arith",
                format!("`{}` without wrapping", text_of(t, m)),
            ));
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_let(&mut self, l: &'ast syn::ExprLet) {
        // `if let Some(x) = opt_seq`
        if let Pat::TupleStruct(ts) = &*l.pat {
            if ts.path.is_ident("Some") && ts.elems.len() == 1 && self.cx.opt_seq(&l.expr) {
                if let Some(n) = pat_ident(&ts.elems[0]) {
                    self.cx.locals.insert(n);
                }
            }
        }
        syn::visit::visit_expr_let(self, l);
    }
}

impl Model {
    /// Every sequence-number mutant.
    pub fn seq_mutants(&self) -> Vec<Mutant> {
        let mut out = Vec::new();
        for fm in &self.files {
            let Ok(ast) = syn::parse_file(&fm.text) else {
                continue;
            };
            let mut fns: Vec<(&syn::Signature, &syn::Block, Option<String>)> = Vec::new();
            collect_bodies(&fm.text, &ast.items, &mut fns);
            for (sig, body, self_ty) in fns {
                let Some(f) = fm.fns.iter().find(|f| f.body == range_of(body)) else {
                    continue;
                };
                let in_seq_impl = self_ty.as_ref().is_some_and(|t| self.seq_types.contains(t));
                // the constructor as this file spells it
                let ctor = self
                    .seq_types
                    .iter()
                    .find(|t| idents(&fm.text).contains(t))
                    .cloned()
                    .unwrap_or_default();
                let mut cx = SeqCx {
                    model: self,
                    text: &fm.text,
                    locals: BTreeSet::new(),
                    in_seq_impl,
                    ctor,
                };
                for a in &sig.inputs {
                    if let FnArg::Typed(t) = a {
                        if cx.is_seq_ty(&ty_text(&fm.text, &t.ty)) {
                            if let Some(n) = pat_ident(&t.pat) {
                                cx.locals.insert(n);
                            }
                        }
                    }
                }
                let mut v = SeqSites {
                    cx,
                    out: Vec::new(),
                };
                v.visit_block(body);
                // `wrapping_sub` inside a signed distance is a compare site, not arithmetic
                let compares: Vec<(usize, usize)> = v
                    .out
                    .iter()
                    .filter(|s| s.0 == RAW_COMPARE)
                    .flat_map(|s| s.2.iter().map(|e| (e.0, e.1)))
                    .collect();
                for (op, at, edits, expected, desc) in v.out {
                    let inside_compare = op == RAW_ADD
                        && edits
                            .iter()
                            .all(|e| compares.iter().any(|c| c.0 <= e.0 && e.1 <= c.1));
                    if inside_compare {
                        continue;
                    }
                    out.push(self.mutant(fm, f, op, at, edits, expected, desc));
                }
            }
        }
        out
    }
}

fn collect_bodies<'a>(
    text: &str,
    items: &'a [Item],
    out: &mut Vec<(&'a syn::Signature, &'a syn::Block, Option<String>)>,
) {
    for it in items {
        match it {
            Item::Fn(f) if !has_cfg_test(text, &f.attrs) => out.push((&f.sig, &f.block, None)),
            Item::Impl(i) if !has_cfg_test(text, &i.attrs) => {
                let ty = last_ident(&i.self_ty);
                for ii in &i.items {
                    if let ImplItem::Fn(f) = ii {
                        if !has_cfg_test(text, &f.attrs) {
                            out.push((&f.sig, &f.block, ty.clone()));
                        }
                    }
                }
            }
            Item::Trait(t) => {
                for ti in &t.items {
                    if let TraitItem::Fn(f) = ti {
                        if let Some(b) = &f.default {
                            out.push((&f.sig, b, None));
                        }
                    }
                }
            }
            Item::Mod(m) if !has_cfg_test(text, &m.attrs) => {
                if let Some((_, items)) = &m.content {
                    collect_bodies(text, items, out);
                }
            }
            _ => {}
        }
    }
}
