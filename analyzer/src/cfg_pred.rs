//! `#[cfg(..)]` predicates as plain data, and their three-valued evaluation against the
//! features of a package.
//!
//! Lowering records the predicate of each item, module declaration and statement as written
//! ([`CfgPred`]) without deciding it, so a lowered file is the same whatever the features;
//! the loader decides them for each unit ([`CfgPred::eval`]) and leaves out what is
//! definitely not compiled. Only `feature = ".."` can be decided: the target (`unix`,
//! `target_os = ".."`), `test`, `debug_assertions` and custom cfgs are [`Tri::Unknown`], and
//! so is every predicate when the package's features are not known.

use std::collections::BTreeSet;

/// A `cfg` predicate as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CfgPred {
    /// `feature = "name"`.
    Feature(String),
    Not(Box<CfgPred>),
    All(Vec<CfgPred>),
    Any(Vec<CfgPred>),
    /// Anything else, as its tokens print (`unix`, `target_os = "linux"`, `test`).
    Other(String),
}

/// A predicate's value: decided, or not decidable from the features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl std::ops::Not for Tri {
    type Output = Tri;

    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

impl Tri {
    /// Kleene conjunction: false wins over unknown.
    pub fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    /// Kleene disjunction: true wins over unknown.
    pub fn or(self, o: Tri) -> Tri {
        !(!self).and(!o)
    }
}

/// The features of one package for one build: what cargo enables (the requested features and
/// everything they enable) and what the package declares (its `[features]` table and the
/// implicit features of its optional dependencies). A feature that is not declared may still be
/// set by a build script (`cargo:rustc-cfg=feature="x"`) or `RUSTFLAGS`, which nothing here
/// reads: its predicate stays unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Features {
    pub enabled: BTreeSet<String>,
    pub declared: BTreeSet<String>,
}

impl Features {
    fn value(&self, name: &str) -> Tri {
        if self.enabled.contains(name) {
            Tri::True
        } else if self.declared.contains(name) {
            Tri::False
        } else {
            Tri::Unknown
        }
    }
}

impl CfgPred {
    /// The predicate's value for a package with `features`; without them only the
    /// predicates that need no feature can be decided, and none can.
    pub fn eval(&self, features: Option<&Features>) -> Tri {
        match self {
            CfgPred::Feature(name) => features.map_or(Tri::Unknown, |f| f.value(name)),
            CfgPred::Not(p) => !p.eval(features),
            CfgPred::All(ps) => (ps.iter()).fold(Tri::True, |v, p| v.and(p.eval(features))),
            CfgPred::Any(ps) => (ps.iter()).fold(Tri::False, |v, p| v.or(p.eval(features))),
            CfgPred::Other(_) => Tri::Unknown,
        }
    }

    /// Whether the predicate names a feature, so that some set of features may decide it.
    pub fn mentions_feature(&self) -> bool {
        match self {
            CfgPred::Feature(_) => true,
            CfgPred::Not(p) => p.mentions_feature(),
            CfgPred::All(ps) | CfgPred::Any(ps) => ps.iter().any(CfgPred::mentions_feature),
            CfgPred::Other(_) => false,
        }
    }

    /// Both predicates (an item under `#[cfg(a)]` inside a module under `#[cfg(b)]`).
    pub fn both(a: Option<&CfgPred>, b: Option<&CfgPred>) -> Option<CfgPred> {
        match (a, b) {
            (None, None) => None,
            (Some(p), None) | (None, Some(p)) => Some(p.clone()),
            (Some(a), Some(b)) if a == b => Some(a.clone()),
            (Some(a), Some(b)) => {
                let mut v = Vec::new();
                for p in [a, b] {
                    match p {
                        CfgPred::All(ps) => v.extend(ps.iter().cloned()),
                        p => v.push(p.clone()),
                    }
                }
                Some(CfgPred::All(v))
            }
        }
    }
}

/// Boxed for the IR, where most items have no predicate (a null pointer).
pub type ItemCfg = Option<Box<CfgPred>>;

/// The value of an item's predicate (`None`: always compiled).
pub fn eval_item(cfg: &ItemCfg, features: Option<&Features>) -> Tri {
    cfg.as_deref().map_or(Tri::True, |p| p.eval(features))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feat(n: &str) -> CfgPred {
        CfgPred::Feature(n.into())
    }

    fn other(n: &str) -> CfgPred {
        CfgPred::Other(n.into())
    }

    fn not(p: CfgPred) -> CfgPred {
        CfgPred::Not(Box::new(p))
    }

    /// `std` and `alloc` enabled, `libc` declared but off; `custom` is not declared.
    fn features() -> Features {
        Features {
            enabled: ["std", "alloc"].map(String::from).into(),
            declared: ["std", "alloc", "libc"].map(String::from).into(),
        }
    }

    #[test]
    fn features_decide_only_declared_names() {
        let f = features();
        assert_eq!(feat("std").eval(Some(&f)), Tri::True);
        assert_eq!(feat("libc").eval(Some(&f)), Tri::False);
        // a build script may set it
        assert_eq!(feat("custom").eval(Some(&f)), Tri::Unknown);
        // nothing known about the package
        assert_eq!(feat("std").eval(None), Tri::Unknown);
        assert_eq!(feat("libc").eval(None), Tri::Unknown);
    }

    #[test]
    fn negation_keeps_unknown() {
        let f = features();
        assert_eq!(not(feat("std")).eval(Some(&f)), Tri::False);
        assert_eq!(not(feat("libc")).eval(Some(&f)), Tri::True);
        assert_eq!(not(other("unix")).eval(Some(&f)), Tri::Unknown);
        assert_eq!(not(not(feat("libc"))).eval(Some(&f)), Tri::False);
        assert_eq!(not(feat("libc")).eval(None), Tri::Unknown);
    }

    #[test]
    fn all_and_any_are_kleene() {
        let f = Some(features());
        let f = f.as_ref();
        let all = |v: Vec<CfgPred>| CfgPred::All(v).eval(f);
        let any = |v: Vec<CfgPred>| CfgPred::Any(v).eval(f);
        // false decides a conjunction whatever the unknowns
        assert_eq!(all(vec![other("unix"), feat("libc")]), Tri::False);
        assert_eq!(all(vec![other("unix"), feat("std")]), Tri::Unknown);
        assert_eq!(all(vec![feat("std"), feat("alloc")]), Tri::True);
        assert_eq!(all(vec![]), Tri::True);
        // true decides a disjunction whatever the unknowns
        assert_eq!(any(vec![other("unix"), feat("std")]), Tri::True);
        assert_eq!(any(vec![other("unix"), feat("libc")]), Tri::Unknown);
        assert_eq!(any(vec![feat("libc"), not(feat("std"))]), Tri::False);
        assert_eq!(any(vec![]), Tri::False);
        // `not(any(libc, std))`, the shape of a `compile_error!` guard, with `std` on
        assert_eq!(
            not(CfgPred::Any(vec![feat("libc"), feat("std")])).eval(f),
            Tri::False
        );
        assert_eq!(
            CfgPred::All(vec![other("test"), feat("custom")]).eval(f),
            Tri::Unknown
        );
    }

    #[test]
    fn kleene_tables() {
        use Tri::*;
        let vals = [True, False, Unknown];
        for a in vals {
            for b in vals {
                assert_eq!(a.and(b), b.and(a));
                assert_eq!(a.or(b), b.or(a));
                // De Morgan holds in Kleene logic
                assert_eq!(!a.and(b), (!a).or(!b));
            }
        }
        assert_eq!(Unknown.and(False), False);
        assert_eq!(Unknown.and(True), Unknown);
        assert_eq!(Unknown.or(True), True);
        assert_eq!(Unknown.or(False), Unknown);
    }

    #[test]
    fn mentions_and_conjunction() {
        assert!(not(CfgPred::All(vec![other("unix"), feat("x")])).mentions_feature());
        assert!(!CfgPred::Any(vec![other("unix"), other("windows")]).mentions_feature());
        assert_eq!(CfgPred::both(None, None), None);
        assert_eq!(CfgPred::both(Some(&feat("a")), None), Some(feat("a")));
        assert_eq!(
            CfgPred::both(
                Some(&CfgPred::All(vec![feat("a"), feat("b")])),
                Some(&feat("c"))
            ),
            Some(CfgPred::All(vec![feat("a"), feat("b"), feat("c")]))
        );
        assert_eq!(
            CfgPred::both(Some(&feat("a")), Some(&feat("a"))),
            Some(feat("a"))
        );
        assert_eq!(eval_item(&None, None), Tri::True);
        assert_eq!(
            eval_item(&Some(Box::new(feat("libc"))), Some(&features())),
            Tri::False
        );
    }
}
