use super::*;

fn def(src: &str) -> MacroDef {
    let item: syn::ItemMacro = syn::parse_str(src).expect("parses");
    definition(&item, FileId(0)).expect("a definition")
}

fn exp(d: &MacroDef, input: &str) -> Option<String> {
    let ts: TokenStream = input.parse().expect("tokens");
    expand_tokens(d, ts, Span::call_site()).map(|t| t.to_string())
}

#[test]
fn literal_tokens_and_fragments() {
    let d = def("macro_rules! m { ($a:expr, $b:ident) => { $a.$b() }; }");
    assert_eq!(
        exp(&d, "self.x, lock").as_deref(),
        Some("self . x . lock ()")
    );
    assert_eq!(exp(&d, "self.x lock"), None);
}

#[test]
fn first_matching_arm_wins() {
    let d = def("macro_rules! m { (a) => { 1 }; ($x:tt) => { 2 }; () => { 3 } }");
    assert_eq!(exp(&d, "a").as_deref(), Some("1"));
    assert_eq!(exp(&d, "b").as_deref(), Some("2"));
    assert_eq!(exp(&d, "").as_deref(), Some("3"));
    assert_eq!(exp(&d, "a b"), None);
}

#[test]
fn repetitions_with_separators_and_nesting() {
    let d = def("macro_rules! m { ($($x:expr),* $(,)?) => { [$($x + 1),*] } }");
    assert_eq!(exp(&d, "a, b,").as_deref(), Some("[a + 1 , b + 1]"));
    assert_eq!(exp(&d, "").as_deref(), Some("[]"));
    let d = def(
        "macro_rules! m { ($($k:ident => [$($v:literal);+]),+) => { $( fn $k() { $(f($v);)+ } )+ } }",
    );
    assert_eq!(
        exp(&d, "a => [1; 2], b => [-3]").as_deref(),
        Some("fn a () { f (1) ; f (2) ; } fn b () { f (- 3) ; }")
    );
    let d = def("macro_rules! m { ($($x:ident)+) => {} }");
    assert_eq!(exp(&d, ""), None);
}

#[test]
fn operator_expressions_stay_one_operand() {
    let d = def("macro_rules! m { ($e:expr) => { $e * 2 } }");
    assert_eq!(exp(&d, "a + b").as_deref(), Some("(a + b) * 2"));
}

#[test]
fn other_fragment_kinds() {
    let d = def(
        "macro_rules! m { ($v:vis $n:ident : $t:ty = $b:block; $p:pat => $q:path, $l:lifetime, #[$m:meta] $i:item $s:stmt) => { ok } }",
    );
    assert_eq!(
        exp(
            &d,
            "pub(crate) x: Vec<u8> = { 1 }; Some(_) | None => a::b, 'a, #[cfg(x)] fn f() {} let y = 2"
        )
        .as_deref(),
        Some("ok")
    );
    let d = def("macro_rules! m { ($($t:tt)*) => { $($t)* } }");
    assert_eq!(exp(&d, "a (b) [c]").as_deref(), Some("a (b) [c]"));
}

#[test]
fn crate_paths_and_unknown_variables() {
    let d = def("macro_rules! m { () => { $crate::f($x) } }");
    assert_eq!(exp(&d, "").as_deref(), Some("crate :: f ($ x)"));
}

#[test]
fn malformed_definitions_are_refused() {
    let item: syn::ItemMacro = syn::parse_str("macro_rules! m { ($x) => {} }").expect("parses");
    assert!(definition(&item, FileId(0)).is_none());
    let item: syn::ItemMacro = syn::parse_str("macro_rules! m { () }").expect("parses");
    assert!(definition(&item, FileId(0)).is_none());
}

#[test]
fn huge_expansions_are_cut() {
    let d = def("macro_rules! m { ($($t:tt)*) => { $($t $t $t $t)* } }");
    let input = "x ".repeat(MAX_TOKENS / 2);
    assert_eq!(exp(&d, &input), None);
}

fn lower(text: &str) -> crate::LoweredFile {
    let f = crate::SourceFile::new(FileId(0), "a.rs", text);
    crate::lower_file(&f)
}

fn acquire_spans(l: &crate::LoweredFile, text: &str) -> Vec<String> {
    let mut v = Vec::new();
    for f in &l.items.fns {
        for n in f.body.iter().flat_map(|b| &b.nodes) {
            if let crate::ir::Op::Acquire { span, .. } = &n.op {
                v.push(text[span.start as usize..span.end as usize].to_string());
            }
        }
    }
    v
}

#[test]
fn definition_tokens_are_placed_at_the_call() {
    let text = "macro_rules! grab { ($m:expr) => { $m.lock().unwrap() }; }\n\
                fn f(s: &S) { let _g = grab!(s.m); }\n";
    let l = lower(text);
    assert_eq!(l.macros.expanded, 1);
    assert_eq!(l.macros.defs.len(), 1);
    let spans = acquire_spans(&l, text);
    assert_eq!(spans.len(), 1, "{spans:?}");
    // `.lock()` comes from the definition: it is reported from the macro's path to its
    // argument
    assert!(spans[0].starts_with("grab"), "{spans:?}");
}

#[test]
fn runaway_macros_are_bounded_and_counted() {
    let text = "macro_rules! deep { ($($t:tt)*) => { deep!($($t)* x) }; }\n\
                macro_rules! wide { () => { wide!(); wide!(); }; }\n\
                macro_rules! nomatch { (a) => {}; }\n\
                fn f() { deep!(); wide!(); nomatch!(b); }\n";
    let l = lower(text);
    assert!(l.macros.failed >= 3, "{:?}", l.macros);
    assert!(l.macros.expanded <= MAX_DEPTH + MAX_EXPANSIONS + 1);
    let opaque: Vec<&String> = (l.items.fns.iter())
        .flat_map(|f| f.body.iter().flat_map(|b| &b.opaque_macros))
        .collect();
    assert!(opaque.iter().any(|m| *m == "deep") && opaque.iter().any(|m| *m == "nomatch"));
}

#[test]
fn item_macros_generate_functions() {
    let text = "macro_rules! getter { ($n:ident, $f:ident) => { fn $n(&self) -> u32 { *self.$f.lock().unwrap() } }; }\n\
                macro_rules! device { ($t:ident) => { impl $t { getter!(get, m); } }; }\n\
                struct D { m: std::sync::Mutex<u32> }\n\
                device!(D);\n";
    let l = lower(text);
    let names: Vec<&str> = l.items.fns.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(names, ["crate::D::get"]);
    assert_eq!(acquire_spans(&l, text).len(), 1);
    assert!(l.macros.foreign.is_empty());
}

#[test]
fn table_prefers_the_calling_file() {
    let mut t = MacroTable::new();
    let mut a = def("macro_rules! m { () => { 1 } }");
    a.file = FileId(1);
    let mut b = def("macro_rules! m { () => { 2 } }");
    b.file = FileId(2);
    t.add(Arc::new(a));
    t.add(Arc::new(b));
    assert_eq!(t.pick("m", FileId(2)).map(|d| d.file), Some(FileId(2)));
    assert!(t.pick("m", FileId(3)).is_none());
    // `cfg` variants in one file: the first
    let mut c = def("macro_rules! n { () => { 1 } }");
    c.file = FileId(1);
    let mut d = def("macro_rules! n { () => { 2 } }");
    d.file = FileId(1);
    t.add(Arc::new(c.clone()));
    t.add(Arc::new(d));
    assert_eq!(t.pick("n", FileId(3)).as_deref(), Some(&c));
}
