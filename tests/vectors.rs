//! Loading test vectors from `tests/data/`: one vector a line, `|`-separated fields, `#`
//! comments. Each vector carries its name so a failure says which one.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One line of a vector file.
pub struct Vector {
    pub name: String,
    pub fields: Vec<String>,
}

impl Vector {
    /// Field `i` (after the name) as text.
    pub fn text(&self, i: usize) -> &str {
        self.fields
            .get(i)
            .unwrap_or_else(|| panic!("vector {}: no field {i}", self.name))
    }

    /// Field `i` decoded from base64.
    pub fn base64(&self, i: usize) -> Vec<u8> {
        STANDARD
            .decode(self.text(i))
            .unwrap_or_else(|e| panic!("vector {}: field {i} is not base64: {e}", self.name))
    }
}

/// The vectors in `tests/data/<file>`.
pub fn load(file: &str) -> Vec<Vector> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let vectors: Vec<Vector> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split('|').map(str::to_owned);
            let name = fields.next().unwrap_or_default();
            Vector {
                name,
                fields: fields.collect(),
            }
        })
        .collect();
    assert!(!vectors.is_empty(), "no vectors in {}", path.display());
    vectors
}
