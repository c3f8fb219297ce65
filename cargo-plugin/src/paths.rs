//! Paths: lexical normalization, display paths relative to a root, small globs and the
//! configured `skip` patterns, `file:` URIs, and the wording of IO errors.

use std::path::{Component, Path, PathBuf};

/// Paths to leave out (`skip` in the configuration).
#[derive(Clone, Debug, Default)]
pub struct SkipSet {
    /// (base directory, glob relative to it)
    pub patterns: Vec<(PathBuf, String)>,
}

impl SkipSet {
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (or a directory above it) matches a pattern.
    pub fn matches(&self, path: &Path) -> bool {
        let path = normalize(path);
        self.patterns.iter().any(|(base, pat)| {
            let Ok(rel) = path.strip_prefix(normalize(base)) else {
                return false;
            };
            let rel = to_slash(rel);
            let mut cut = rel.as_str();
            loop {
                if glob_match(pat.trim_end_matches('/'), cut) {
                    return true;
                }
                match cut.rfind('/') {
                    Some(i) => cut = &cut[..i],
                    None => return false,
                }
            }
        })
    }
}

/// A small glob: `*` (within one path segment), `?`, and `**` (any number of segments).
pub fn glob_match(pat: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        if p.is_empty() {
            return t.is_empty();
        }
        if p.starts_with(b"**") {
            let mut rest = &p[2..];
            if rest.first() == Some(&b'/') {
                rest = &rest[1..];
                // `**/` matches zero or more whole segments
                if go(rest, t) {
                    return true;
                }
                return t
                    .iter()
                    .enumerate()
                    .any(|(i, &c)| c == b'/' && go(rest, &t[i + 1..]));
            }
            return (0..=t.len()).any(|i| go(rest, &t[i..]));
        }
        match p[0] {
            b'*' => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| go(&p[1..], &t[i..])),
            b'?' => !t.is_empty() && t[0] != b'/' && go(&p[1..], &t[1..]),
            c => !t.is_empty() && t[0] == c && go(&p[1..], &t[1..]),
        }
    }
    go(pat.as_bytes(), text.as_bytes())
}

/// `p` with `.` and `..` resolved lexically.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

fn to_slash(p: &Path) -> String {
    let s = p.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Display path of `p` relative to `root` with `/` separators (absolute when outside `root`).
pub fn display_path(root: &Path, p: &Path) -> String {
    let p = normalize(p);
    let root = normalize(root);
    match p.strip_prefix(&root) {
        Ok(rel) if !rel.as_os_str().is_empty() => to_slash(rel),
        _ => to_slash(&p),
    }
}
/// Percent-encode a path for a URI, keeping `/` separators.
pub fn encode_uri_path(path: &str) -> String {
    let mut s = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The `file:` URI of an absolute path (`\\` separators become `/`).
pub fn file_uri(abs: &str) -> String {
    let abs = abs.replace('\\', "/");
    if abs.starts_with('/') {
        format!("file://{}", encode_uri_path(&abs))
    } else {
        format!("file:///{}", encode_uri_path(&abs))
    }
}

/// The path a `file:` URI names (`file:///a%20b`, `file://localhost/a`); `None` for another
/// scheme, a remote host or an encoding that is not UTF-8.
pub fn uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let s = String::from_utf8(out).ok()?;
    // `file:///C:/x` on Windows
    let s = match s.as_bytes() {
        [b'/', d, b':', ..] if d.is_ascii_alphabetic() && cfg!(windows) => s[1..].to_string(),
        _ => s,
    };
    Some(PathBuf::from(s))
}

/// Why reading a file failed, in lower case and without rustc's " (os error N)".
pub fn io_reason(e: &std::io::Error) -> String {
    let s = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => {
            let s = e.to_string();
            // drop rustc-style " (os error N)" and lowercase the first letter
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => s,
            }
        }
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip() {
        for p in ["/w/src/lib.rs", "/w/a b/ü%.rs", "/w/[x]#?.rs"] {
            let u = file_uri(p);
            assert!(!u[7..].contains([' ', '#', '?', '[']), "{u}");
            assert_eq!(uri_to_path(&u), Some(PathBuf::from(p)), "{u}");
        }
        assert_eq!(file_uri("/w/a b"), "file:///w/a%20b");
        assert_eq!(
            uri_to_path("file://localhost/w/x.rs"),
            Some(PathBuf::from("/w/x.rs"))
        );
        assert_eq!(
            uri_to_path("file:///w/%E2%9C%93"),
            Some(PathBuf::from("/w/✓"))
        );
        assert_eq!(uri_to_path("untitled:Untitled-1"), None);
        assert_eq!(uri_to_path("file://host/w"), None);
        assert_eq!(uri_to_path("file:///w/%zz"), None);
        assert_eq!(uri_to_path("file:///w/%FF"), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match("src/generated/**", "src/generated/a/b.rs"));
        assert!(glob_match("**/gen.rs", "gen.rs"));
        assert!(glob_match("**/gen.rs", "a/b/gen.rs"));
        assert!(glob_match("src/*.rs", "src/a.rs"));
        assert!(!glob_match("src/*.rs", "src/a/b.rs"));
        assert!(glob_match("src/?.rs", "src/a.rs"));
        assert!(!glob_match("src/?.rs", "src/ab.rs"));
        let s = SkipSet {
            patterns: vec![("/w".into(), "src/generated".into())],
        };
        assert!(s.matches(Path::new("/w/src/generated/x.rs")));
        assert!(!s.matches(Path::new("/w/src/gen.rs")));
    }

    #[test]
    fn display_paths() {
        assert_eq!(
            display_path(Path::new("/w"), Path::new("/w/src/../a.rs")),
            "a.rs"
        );
        assert_eq!(
            display_path(Path::new("/w"), Path::new("/x/a.rs")),
            "/x/a.rs"
        );
    }
}
