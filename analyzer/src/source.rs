//! The source model: files, editions, byte spans and their line/column view.
//!
//! Loading files from disk is the driver's business; this module only holds text that was
//! handed to it.

use std::fmt;

/// Index of a file in a [`SourceDb`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

thread_local! {
    static FILE_ID_OVERRIDE: std::cell::Cell<Option<FileId>> = const { std::cell::Cell::new(None) };
}

impl FileId {
    /// Run `f` with every `FileId` deserialized on this thread read as `id`: data saved for
    /// one file is read back under the id the file has now.
    pub fn deserialize_as<R>(id: FileId, f: impl FnOnce() -> R) -> R {
        let old = FILE_ID_OVERRIDE.with(|c| c.replace(Some(id)));
        let r = f();
        FILE_ID_OVERRIDE.with(|c| c.set(old));
        r
    }
}

impl serde::Serialize for FileId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for FileId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FileId, D::Error> {
        let raw = <u32 as serde::Deserialize>::deserialize(d)?;
        Ok(FILE_ID_OVERRIDE.with(|c| c.get()).unwrap_or(FileId(raw)))
    }
}

/// A Rust edition. The lock analysis depends on it (`if let` scrutinee and tail temporaries).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Edition {
    E2015,
    E2018,
    #[default]
    E2021,
    E2024,
}

impl Edition {
    pub fn parse(s: &str) -> Option<Edition> {
        Some(match s.trim() {
            "2015" => Edition::E2015,
            "2018" => Edition::E2018,
            "2021" => Edition::E2021,
            "2024" => Edition::E2024,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Edition::E2015 => "2015",
            Edition::E2018 => "2018",
            Edition::E2021 => "2021",
            Edition::E2024 => "2024",
        }
    }

    /// From 2024 on, an `if let` scrutinee's temporaries are dropped before the `else` branch
    /// and a block's tail-expression temporaries are dropped before the block's locals.
    pub fn is_2024(self) -> bool {
        self >= Edition::E2024
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A byte range in one file. Offsets index the file's full text (BOM and shebang included).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: u32, end: u32) -> Span {
        Span {
            file,
            start,
            end: end.max(start),
        }
    }

    pub fn len(&self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both (same file assumed; otherwise `self`).
    pub fn to(self, other: Span) -> Span {
        if self.file != other.file {
            return self;
        }
        Span::new(
            self.file,
            self.start.min(other.start),
            self.end.max(other.end),
        )
    }
}

/// A 1-based line and 1-based column counted in characters, as rustc reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// One source file of the analyzed code.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub id: FileId,
    /// Display path: relative to the workspace root where possible, `/`-separated.
    pub path: String,
    /// The full text as read (lossily decoded when it was not UTF-8; see `decode_error`).
    pub text: String,
    /// The crate this file belongs to (`my_driver`, with `-` replaced by `_`).
    pub crate_name: String,
    /// Module path inside the crate, without the crate name (`["net", "tcp"]`).
    pub module_path: Vec<String>,
    pub edition: Edition,
    /// Set when the bytes were not valid UTF-8: the byte offset of the first bad byte.
    pub decode_error: Option<usize>,
    /// Whether this file is only part of test/bench/example targets.
    pub test_only: bool,
    /// Part of a dependency: analyzed for what its code does, its findings never reported.
    pub dependency: bool,
    /// The names the crate gives its dependencies other than their crate names, as rustc's
    /// `--extern` does: `mysync = { package = "k-sync" }` in the manifest makes `mysync` stand
    /// for the crate `ksync` (extern name → crate name; empty for most crates).
    pub extern_names: Vec<(String, String)>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(id: FileId, path: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = compute_line_starts(&text);
        SourceFile {
            id,
            path: path.into(),
            text,
            crate_name: "crate".to_string(),
            module_path: Vec::new(),
            edition: Edition::E2021,
            decode_error: None,
            test_only: false,
            dependency: false,
            extern_names: Vec::new(),
            line_starts,
        }
    }

    pub fn with_crate(
        mut self,
        crate_name: &str,
        module_path: Vec<String>,
        edition: Edition,
    ) -> Self {
        self.crate_name = crate_name.replace('-', "_");
        self.module_path = module_path;
        self.edition = edition;
        self
    }

    /// Decode raw bytes; invalid UTF-8 is replaced and remembered in `decode_error`.
    pub fn from_bytes(id: FileId, path: impl Into<String>, bytes: &[u8]) -> SourceFile {
        match std::str::from_utf8(bytes) {
            Ok(s) => SourceFile::new(id, path, s),
            Err(e) => {
                let mut f = SourceFile::new(id, path, String::from_utf8_lossy(bytes).into_owned());
                f.decode_error = Some(e.valid_up_to());
                f
            }
        }
    }

    /// `crate::a::b` spelled with the crate's own name: `my_driver::a::b`.
    pub fn module_name(&self) -> String {
        let mut s = self.crate_name.clone();
        for m in &self.module_path {
            s.push_str("::");
            s.push_str(m);
        }
        s
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: u32) -> LineCol {
        let offset = offset.min(self.text.len() as u32);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let end = floor_char_boundary(&self.text, offset as usize);
        let col = self.text[start..end.max(start)].chars().count() as u32 + 1;
        LineCol {
            line: line as u32 + 1,
            col,
        }
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: u32) -> u32 {
        let i = (line.max(1) - 1) as usize;
        self.line_starts
            .get(i)
            .copied()
            .unwrap_or(self.text.len() as u32)
    }

    /// The text of a 1-based line, without its line terminator.
    pub fn line_text(&self, line: u32) -> &str {
        let i = (line.max(1) - 1) as usize;
        let Some(&start) = self.line_starts.get(i) else {
            return "";
        };
        let end = self
            .line_starts
            .get(i + 1)
            .map(|&e| e as usize)
            .unwrap_or(self.text.len());
        self.text[start as usize..end].trim_end_matches(['\n', '\r'])
    }

    /// The source text under a span (empty when out of range).
    pub fn snippet(&self, span: Span) -> &str {
        let s = floor_char_boundary(&self.text, span.start as usize);
        let e = floor_char_boundary(&self.text, span.end as usize);
        self.text.get(s..e.max(s)).unwrap_or("")
    }
}

fn compute_line_starts(text: &str) -> Vec<u32> {
    let mut v = vec![0u32];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            v.push(i as u32 + 1);
        }
    }
    v
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// All files of one analysis run.
#[derive(Clone, Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
}

impl SourceDb {
    pub fn new() -> SourceDb {
        SourceDb::default()
    }

    /// Add a file; its id is assigned here.
    pub fn add(&mut self, mut file: SourceFile) -> FileId {
        let id = FileId(self.files.len() as u32);
        file.id = id;
        self.files.push(file);
        id
    }

    pub fn next_id(&self) -> FileId {
        FileId(self.files.len() as u32)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn snippet(&self, span: Span) -> &str {
        self.get(span.file).snippet(span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        let f = SourceFile::new(FileId(0), "a.rs", "ab\nçd x\n");
        assert_eq!(f.line_col(0), LineCol { line: 1, col: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, col: 1 });
        // 'ç' is two bytes: "d" starts at byte 5, column 2.
        assert_eq!(f.line_col(5), LineCol { line: 2, col: 2 });
        assert_eq!(f.line_text(2), "çd x");
    }

    #[test]
    fn bad_utf8_is_remembered() {
        let f = SourceFile::from_bytes(FileId(0), "a.rs", b"fn a() {}\xff\n");
        assert_eq!(f.decode_error, Some(9));
    }
}
