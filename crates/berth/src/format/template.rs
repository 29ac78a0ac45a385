//! Go templates as Docker renders them: gotmpl (a port of Go's
//! text/template whose maps are sorted, so `range` over a map walks its
//! keys in order as Go does) with Docker's functions.

use super::funcs;
use anyhow::{anyhow, Result};
use gotmpl::{FuncMap, MissingKey, Template, Value};

/// A parsed template.
pub struct Compiled {
    text: String,
    t: Template,
}

/// Rewrites Docker's `.Label "KEY"` (a method of its list rows, which a
/// map of data cannot have) into `berthLabel $ "KEY"`: list rows carry
/// their labels as the map `Label` (see [`funcs::label`]).
fn label_method(text: &str) -> String {
    use std::sync::LazyLock;
    static LABEL: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#"([\s({|])\.Label\s"#).expect("a constant, valid regex")
    });
    LABEL.replace_all(text, "${1}berthLabel $$ ").into_owned()
}

impl Compiled {
    /// Parses `text` with `funcs`; a key missing from a map is an error when
    /// `strict` (Docker's list rows have fixed fields), else `<no value>`.
    pub fn new(text: &str, funcs: FuncMap, strict: bool) -> Result<Compiled> {
        let missing = if strict {
            MissingKey::Error
        } else {
            MissingKey::Invalid
        };
        let t = Template::new("")
            .funcs(funcs)
            .missing_key(missing)
            .parse(&label_method(text))
            .map_err(|e| {
                anyhow!("invalid --format template {text:?}: {e} (see https://pkg.go.dev/text/template)")
            })?;
        Ok(Compiled {
            text: text.to_string(),
            t,
        })
    }

    /// Renders against `data`.
    pub fn render(&self, data: &Value) -> Result<String> {
        self.t
            .execute_to_string(data)
            .map_err(|e| anyhow!("template {:?} failed: {e}", self.text))
    }

    /// Renders against `data`, keeping what was written before an error
    /// (Docker ignores errors in a table's header row).
    pub fn render_partial(&self, data: &Value) -> String {
        let mut out = String::new();
        let _ = self.t.execute_fmt(&mut out, data);
        out
    }
}

/// Renders a Go template against `data` (`inspect -f`).
pub fn template(text: &str, data: &serde_json::Value) -> Result<String> {
    Compiled::new(text, funcs::basic(), false)?.render(&funcs::from_json(data))
}
