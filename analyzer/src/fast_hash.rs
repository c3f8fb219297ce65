//! Hash maps and sets for the analysis's own keys (names, places, states): a fast hasher with a
//! fixed seed instead of std's SipHash, which was a quarter of a run's instructions. The keys
//! are the analyzed code's own names, not untrusted input an attacker could collide at scale
//! against a long-lived service; and iteration order is never relied on for output.

pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
pub type HashSet<T> = std::collections::HashSet<T, foldhash::fast::FixedState>;
