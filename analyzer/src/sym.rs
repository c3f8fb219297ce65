//! Interned text: names, paths and place texts of the lowered code, each distinct text stored
//! once for the life of the process and referred to by an 8-byte `Sym`.
//!
//! The lowered IR repeats a few thousand distinct texts (method names such as `lock` or
//! `wrapping_add`, field names, the texts of places) hundreds of thousands of times; as
//! `String`s each copy cost its own heap block. A `Sym` is `Copy` and one pointer wide (to the
//! leaked `&'static str` of its text, so a `Place` or an `Op` holding several stays small); it
//! compares by that pointer (one text, one address) and orders and hashes by its text, so maps
//! and sorted output are the same as with `String`s. The interned texts are never freed: a long-lived process (the language
//! server) keeps every distinct text it has lowered, which grows with the distinct names of the
//! code it sees, not with the number of runs.

use std::sync::{Mutex, OnceLock};

use crate::fast_hash::HashSet;

/// An interned text (see the module documentation).
#[derive(Clone, Copy)]
pub struct Sym(&'static &'static str);

/// The empty text's one `Sym`.
static EMPTY: &str = "";

impl Default for Sym {
    fn default() -> Sym {
        Sym(&EMPTY)
    }
}

const SHARDS: usize = 64;

fn shards() -> &'static [Mutex<HashSet<Sym>>; SHARDS] {
    static S: OnceLock<[Mutex<HashSet<Sym>>; SHARDS]> = OnceLock::new();
    S.get_or_init(|| std::array::from_fn(|_| Mutex::new(HashSet::default())))
}

fn shard_of(s: &str) -> usize {
    use std::hash::BuildHasher;
    (foldhash::fast::FixedState::default().hash_one(s) as usize) % SHARDS
}

impl Sym {
    /// The one shared copy of `s`.
    pub fn new(s: &str) -> Sym {
        if s.is_empty() {
            return Sym::default();
        }
        let mut set = shards()[shard_of(s)]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(&t) = set.get(s) {
            return t;
        }
        let text: &'static str = Box::leak(s.to_owned().into_boxed_str());
        let t = Sym(Box::leak(Box::new(text)));
        set.insert(t);
        t
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl std::borrow::Borrow<str> for Sym {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl PartialEq for Sym {
    fn eq(&self, o: &Sym) -> bool {
        // interned: one text, one address
        std::ptr::eq(self.0, o.0)
    }
}

impl Eq for Sym {}

impl PartialOrd for Sym {
    fn partial_cmp(&self, o: &Sym) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Sym {
    fn cmp(&self, o: &Sym) -> std::cmp::Ordering {
        if std::ptr::eq(self.0, o.0) {
            return std::cmp::Ordering::Equal;
        }
        (*self.0).cmp(*o.0)
    }
}

impl std::hash::Hash for Sym {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // as `str` hashes, so that `Borrow<str>` lookups find it
        (*self.0).hash(h)
    }
}

impl std::fmt::Display for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::fmt::Debug for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.0, f)
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Sym {
        Sym::new(s)
    }
}

impl From<&String> for Sym {
    fn from(s: &String) -> Sym {
        Sym::new(s)
    }
}

impl From<String> for Sym {
    fn from(s: String) -> Sym {
        Sym::new(&s)
    }
}

impl From<Sym> for String {
    fn from(s: Sym) -> String {
        (*s.0).to_owned()
    }
}

impl PartialEq<str> for Sym {
    fn eq(&self, o: &str) -> bool {
        *self.0 == o
    }
}

impl PartialEq<&str> for Sym {
    fn eq(&self, o: &&str) -> bool {
        *self.0 == *o
    }
}

impl PartialEq<String> for Sym {
    fn eq(&self, o: &String) -> bool {
        *self.0 == o.as_str()
    }
}

impl PartialEq<Sym> for str {
    fn eq(&self, o: &Sym) -> bool {
        self == *o.0
    }
}

impl PartialEq<Sym> for &str {
    fn eq(&self, o: &Sym) -> bool {
        *self == *o.0
    }
}

impl PartialEq<Sym> for String {
    fn eq(&self, o: &Sym) -> bool {
        self.as_str() == *o.0
    }
}

impl serde::Serialize for Sym {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Sym {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sym, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Sym;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sym, E> {
                Ok(Sym::new(v))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::Sym;

    #[test]
    fn one_copy_per_text() {
        let a = Sym::new("lock");
        let b = Sym::new(&String::from("lock"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, b);
        assert_eq!(a, "lock");
        assert_ne!(a, Sym::new("read"));
        assert_eq!(Sym::new(""), Sym::default());
        assert_eq!(std::mem::size_of::<Sym>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn orders_and_hashes_as_text() {
        let mut v = [Sym::new("write"), Sym::new("lock"), Sym::new("read")];
        v.sort();
        let t: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        assert_eq!(t, ["lock", "read", "write"]);
        let set: std::collections::HashSet<Sym> = v.iter().copied().collect();
        assert!(set.contains("read"));
    }

    #[test]
    fn round_trips_through_postcard() {
        let a = Sym::new("self.queue");
        let bytes = postcard::to_allocvec(&a).unwrap();
        let b: Sym = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
    }
}
