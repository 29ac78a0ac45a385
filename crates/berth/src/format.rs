//! Output formats: Docker-like tables, `--format json`, and Docker's Go
//! templates (rendered by gtmpl, Go's text/template for Rust, with Docker's
//! extra `json` function).

use anyhow::{anyhow, Result};
use gtmpl::{Context, Template, Value};
use std::collections::HashMap;

/// Converts JSON to a template value.
fn to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            (_, Some(u), _) => Value::from(u),
            (_, _, Some(f)) => Value::from(f),
            _ => Value::Nil,
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// Converts a template value back to JSON (keys sorted).
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => n
            .as_i64()
            .map(serde_json::Value::from)
            .or_else(|| n.as_u64().map(serde_json::Value::from))
            .or_else(|| n.as_f64().map(serde_json::Value::from))
            .unwrap_or(serde_json::Value::Null),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Object(m) | Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// Docker's `json` template function.
fn json_fn(args: &[Value]) -> Result<Value, gtmpl::FuncError> {
    let v = args.first().map(to_json).unwrap_or(serde_json::Value::Null);
    Ok(Value::String(serde_json::to_string(&v).unwrap_or_default()))
}

/// Renders a Go template against `data`.
pub fn template(text: &str, data: &serde_json::Value) -> Result<String> {
    let mut t = Template::default();
    t.add_func("json", json_fn);
    t.parse(text)
        .map_err(|e| anyhow!("invalid --format template {text:?}: {e}"))?;
    t.render(&Context::from(to_value(data)))
        .map_err(|e| anyhow!("template {text:?} failed: {e}"))
}

/// How to print a list.
pub enum Format {
    /// Docker's default table.
    Table,
    /// One JSON object per line.
    Json,
    /// A Go template per item (`table TEMPLATE` prints a header too).
    Template {
        /// The template text.
        text: String,
        /// With a header row.
        table: bool,
    },
}

impl Format {
    /// Parses a `--format` value.
    pub fn parse(f: Option<&str>) -> Format {
        match f {
            None | Some("table") | Some("") => Format::Table,
            Some("json") => Format::Json,
            Some(t) => match t.strip_prefix("table ") {
                Some(rest) => Format::Template {
                    text: rest.to_string(),
                    table: true,
                },
                None => Format::Template {
                    text: t.to_string(),
                    table: false,
                },
            },
        }
    }
}

/// Prints rows under headers, columns padded like Docker's tabwriter.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| -> String {
        let n = cells.len();
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                s.push_str(&c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.clone()));
        out.push('\n');
    }
    out
}

/// Prints `items` (JSON objects with Docker's list field names) in `format`,
/// falling back to `default_table` for the table form.
pub fn list(
    format: &Format,
    items: &[serde_json::Value],
    default_table: impl Fn() -> String,
) -> Result<String> {
    match format {
        Format::Table => Ok(default_table()),
        Format::Json => Ok(items.iter().map(|i| format!("{i}\n")).collect()),
        Format::Template {
            text,
            table: header,
        } => {
            let mut out = String::new();
            if *header {
                out.push_str(&text.replace("{{.", "").replace("}}", "").to_uppercase());
                out.push('\n');
            }
            for i in items {
                out.push_str(&template(text, i)?);
                out.push('\n');
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn docker_templates() {
        let d = json!({"NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}, "Ports": {"80/tcp": [{"HostPort": "8081"}]}}, "Name": "/web"});
        assert_eq!(template("{{.Name}}", &d).unwrap(), "/web");
        assert_eq!(
            template(
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &d
            )
            .unwrap(),
            "172.17.0.2"
        );
        assert_eq!(
            template(
                "{{(index .NetworkSettings.Networks \"bridge\").IPAddress}}",
                &d
            )
            .unwrap(),
            "172.17.0.2"
        );
        assert_eq!(
            template("{{json .NetworkSettings.Ports}}", &d).unwrap(),
            r#"{"80/tcp":[{"HostPort":"8081"}]}"#
        );
        assert!(template("{{.Name", &d).is_err());
    }

    #[test]
    fn tables_align() {
        let t = table(&["A", "LONG"], &[vec!["xx".into(), "y".into()]]);
        assert_eq!(t, "A    LONG\nxx   y\n");
    }
}
