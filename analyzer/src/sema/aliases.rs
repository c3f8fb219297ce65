//! Lock classes united because they name one value: the data `resolve::alias` computes and
//! the index keeps, so every pass that names a lock's class names the same one.

use std::collections::BTreeMap;

use crate::fast_hash::HashMap;

/// The class every lock class stands for after unification.
#[derive(Clone, Debug, Default)]
pub struct Aliases {
    /// class → the class that names its set (only classes of sets with two or more members).
    pub(crate) canon: HashMap<String, String>,
    /// Sets of two or more classes, by the class that names them, with their members.
    pub sets: BTreeMap<String, Vec<String>>,
    /// Places that receive values of several lock classes, left apart.
    pub views: usize,
}

impl Aliases {
    /// The class that names `class`'s set (`class` itself when it was united with nothing).
    pub fn canon<'a>(&'a self, class: &'a str) -> &'a str {
        self.canon.get(class).map_or(class, String::as_str)
    }

    /// The class that names `class`'s set, when it is another class.
    pub fn canon_owned(&self, class: &str) -> Option<String> {
        self.canon.get(class).filter(|c| *c != class).cloned()
    }

    /// The other classes united with `class` (empty when it stands alone).
    pub fn others<'a>(&'a self, class: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let rep = self.canon(class);
        self.sets
            .get(rep)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .filter(move |c| *c != class)
    }

    /// How many classes were united into another one's name.
    pub fn merged(&self) -> usize {
        self.canon.len() - self.sets.len()
    }
}

/// A struct field's class (`crate::m::Bus.alloc`) names a set first (0), then a static's
/// (1), then a function's local or parameter (2).
pub fn rank(class: &str) -> u8 {
    let last = class.rsplit("::").next().unwrap_or(class);
    if last.contains('.') && !class.contains("()") {
        0
    } else if last.chars().next().is_some_and(|c| c.is_uppercase()) {
        1
    } else {
        2
    }
}
