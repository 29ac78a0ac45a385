//! Output formats of the list commands (`ps`, `network ls`) and of
//! `inspect -f`, as Docker's CLI renders them (docker/cli
//! `cli/command/formatter`): the default is itself a `table` template;
//! `--format json` is `{{json .}}` per row; `--format 'table TEMPLATE'`
//! prints a header row (the template rendered against the column names)
//! and aligns the columns with Go's tabwriter settings (minimum width 10,
//! padding 3); any other text is a Go template rendered once per row.

mod funcs;
mod template;

pub use template::template;

use anyhow::Result;
use std::io::Write;
use template::Compiled;

/// What a list command prints: its default table and its columns' names.
pub struct ListSpec<'a> {
    /// The default format, e.g. `table {{.ID}}\t{{.Name}}`.
    pub default: &'a str,
    /// Header of each field (`("ID", "NETWORK ID")`, ...).
    pub headers: &'a [(&'a str, &'a str)],
    /// berth's fields that Docker's rows lack: templates see them, `--format
    /// json` leaves them out (as it leaves out `Label`).
    pub extra: &'a [&'a str],
}

/// The template text of a `--format` value and whether it is a table
/// (Docker's `Format.templateString` and `IsTable`).
fn template_text<'a>(format: Option<&'a str>, spec: &ListSpec<'a>) -> (String, bool) {
    let f = match format {
        None | Some("") | Some("table") => spec.default,
        Some("json") => "{{json .}}",
        Some(f) => f,
    };
    let table = f.starts_with("table");
    let text = f.strip_prefix("table").unwrap_or(f).trim_matches(' ');
    (text.replace("\\t", "\t").replace("\\n", "\n"), table)
}

/// Go's tabwriter as Docker sets it up (minwidth 10, padding 3): a column
/// is as wide as its widest cell plus 3, and at least 10. The `tabwriter`
/// crate adds the padding after the minimum, hence 10 - 3.
fn tabwriter(text: &str) -> Result<String> {
    let mut tw = tabwriter::TabWriter::new(Vec::new()).minwidth(7).padding(3);
    tw.write_all(text.as_bytes())?;
    let bytes = tw
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot align the table: {e}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Renders `items` (JSON objects with Docker's field names; a `Label` object
/// serves `.Label "KEY"` and is left out of `json`) in `format`.
pub fn list(format: Option<&str>, items: &[serde_json::Value], spec: &ListSpec) -> Result<String> {
    let (text, table) = template_text(format, spec);
    let rows = Compiled::new(&text, funcs::basic(), true)?;
    let json_only = format == Some("json");
    let mut out = String::new();
    for item in items {
        let mut data = item.clone();
        if json_only {
            if let Some(o) = data.as_object_mut() {
                o.remove("Label");
                for k in spec.extra {
                    o.remove(*k);
                }
            }
        }
        out.push_str(&rows.render(&funcs::from_json(&data))?);
        out.push('\n');
    }
    if !table {
        return Ok(out);
    }
    let header: serde_json::Map<String, serde_json::Value> = spec
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let head = Compiled::new(&text, funcs::header(), false)?
        .render_partial(&funcs::from_json(&serde_json::Value::Object(header)));
    tabwriter(&format!("{head}\n{out}"))
}

#[cfg(test)]
mod tests;
