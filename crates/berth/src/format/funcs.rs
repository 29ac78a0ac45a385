//! Docker's template functions (docker/cli `templates/templates.go`):
//! `json`, `split`, `join`, `title`, `lower`, `upper`, `pad`, `truncate`,
//! and the header variants a `table` format renders its header row with
//! (they give the column name back untouched, except `pad`).
//!
//! gotmpl brings Go's own builtins (`index`, `len`, `printf`, `eq`, ...);
//! these are the few lines Docker adds on top, written here to Docker's
//! definitions.

use gotmpl::{FuncMap, TemplateError, Value};
use std::sync::Arc;

/// Converts a template value to JSON the way Go's encoder prints a value
/// decoded from JSON (map keys sorted).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil | Value::Function(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Uint(u) => J::from(*u),
        Value::Float(f) => J::from(*f),
        Value::String(s) => J::String(s.to_string()),
        Value::List(a) => J::Array(a.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

/// Converts JSON to a template value (objects become sorted maps, so
/// `range` walks them in key order as Go does).
pub fn from_json(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Int(i),
            (_, Some(u), _) => Value::Uint(u),
            (_, _, Some(f)) => Value::Float(f),
            _ => Value::Nil,
        },
        J::String(s) => Value::String(s.as_str().into()),
        J::Array(a) => Value::List(a.iter().map(from_json).collect()),
        J::Object(o) => Value::Map(Arc::new(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), from_json(v)))
                .collect(),
        )),
    }
}

fn err(msg: String) -> TemplateError {
    TemplateError::Exec(msg)
}

/// Checks the argument count of `name`.
fn arity(name: &str, args: &[Value], want: usize) -> gotmpl::Result<()> {
    if args.len() == want {
        return Ok(());
    }
    Err(TemplateError::ArgCount {
        name: name.to_string(),
        expected: want,
        got: args.len(),
    })
}

/// Argument `i` of `name` as a string (Go refuses other types).
fn string_arg<'a>(name: &str, args: &'a [Value], i: usize) -> gotmpl::Result<&'a str> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(err(format!(
            "wrong type for value in {name}; expected string; got {}",
            v.type_name()
        ))),
        None => Err(err(format!("{name}: missing argument {}", i + 1))),
    }
}

/// Argument `i` of `name` as an int.
fn int_arg(name: &str, args: &[Value], i: usize) -> gotmpl::Result<i64> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Uint(n)) => {
            i64::try_from(*n).map_err(|_| err(format!("{name}: {n} is too large")))
        }
        Some(v) => Err(err(format!(
            "wrong type for value in {name}; expected int; got {}",
            v.type_name()
        ))),
        None => Err(err(format!("{name}: missing argument {}", i + 1))),
    }
}

/// `json`: the value as compact JSON, HTML characters not escaped.
fn json(args: &[Value]) -> gotmpl::Result<Value> {
    arity("json", args, 1)?;
    let text = serde_json::to_string(&to_json(&args[0])).map_err(|e| err(e.to_string()))?;
    Ok(Value::String(text.into()))
}

/// `split S SEP`: Go's `strings.Split` (an empty separator splits into
/// characters).
fn split(args: &[Value]) -> gotmpl::Result<Value> {
    arity("split", args, 2)?;
    let (s, sep) = (string_arg("split", args, 0)?, string_arg("split", args, 1)?);
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars()
            .map(|c| Value::String(c.to_string().into()))
            .collect()
    } else {
        s.split(sep).map(|p| Value::String(p.into())).collect()
    };
    Ok(Value::List(parts.into()))
}

/// `join LIST SEP`: a list's items printed and joined; a map's values,
/// sorted, joined; nil gives "" (Docker 28's `joinElements`).
fn join(args: &[Value]) -> gotmpl::Result<Value> {
    arity("join", args, 2)?;
    let sep = string_arg("join", args, 1)?;
    let out = match &args[0] {
        Value::Nil => String::new(),
        Value::List(items) => items
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(sep),
        Value::Map(m) => {
            let mut vals: Vec<String> = m.values().map(|v| v.to_string()).collect();
            vals.sort();
            vals.join(sep)
        }
        v => return Err(err(format!("expected slice, got {}", v.type_name()))),
    };
    Ok(Value::String(out.into()))
}

/// Go's `strings.Title`: the first letter of every word in upper case
/// (a word starts after anything but a letter, digit, `_` or `'`).
fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

/// A function of one string argument giving a string.
fn string_fn(name: &'static str, f: fn(&str) -> String) -> gotmpl::ValueFunc {
    Arc::new(move |args: &[Value]| {
        arity(name, args, 1)?;
        Ok(Value::String(f(string_arg(name, args, 0)?).into()))
    })
}

/// `pad S PREFIX SUFFIX`: spaces around a non-empty string.
fn pad(args: &[Value]) -> gotmpl::Result<Value> {
    arity("pad", args, 3)?;
    let s = string_arg("pad", args, 0)?;
    if s.is_empty() {
        return Ok(Value::String("".into()));
    }
    let n = |i| int_arg("pad", args, i).map(|n| " ".repeat(n.max(0) as usize));
    Ok(Value::String(format!("{}{s}{}", n(1)?, n(2)?).into()))
}

/// `truncate S N`: the first N bytes of S (never cutting a character).
fn truncate(args: &[Value]) -> gotmpl::Result<Value> {
    arity("truncate", args, 2)?;
    let s = string_arg("truncate", args, 0)?;
    let n = int_arg("truncate", args, 1)?.max(0) as usize;
    if s.len() < n {
        return Ok(args[0].clone());
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Ok(Value::String(s[..end].into()))
}

/// `.Label "KEY"` of a list row (rewritten to `berthLabel $ "KEY"`): the
/// value of that label, "" when the row has no such label.
fn label(args: &[Value]) -> gotmpl::Result<Value> {
    arity("Label", args, 2)?;
    let key = string_arg("Label", args, 1)?;
    match args[0].field("Label") {
        Some(Value::Map(m)) => Ok(m.get(key).cloned().unwrap_or(Value::String("".into()))),
        _ => Err(err("can't give argument to non-function .Label".into())),
    }
}

/// `.Label "KEY"` in a header row: the column is named after the key's
/// last dot-separated part, `-` and `_` as spaces (docker/cli
/// `SubHeaderContext.Label`).
fn label_header(args: &[Value]) -> gotmpl::Result<Value> {
    arity("Label", args, 2)?;
    let key = string_arg("Label", args, 1)?;
    let last = key.rsplit('.').next().unwrap_or(key);
    Ok(Value::String(last.replace(['-', '_'], " ").into()))
}

/// Docker's functions for rows (and `inspect`).
pub fn basic() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert("json".into(), Arc::new(json));
    m.insert("split".into(), Arc::new(split));
    m.insert("join".into(), Arc::new(join));
    m.insert("title".into(), string_fn("title", title_case));
    m.insert("lower".into(), string_fn("lower", str::to_lowercase));
    m.insert("upper".into(), string_fn("upper", str::to_uppercase));
    m.insert("pad".into(), Arc::new(pad));
    m.insert("truncate".into(), Arc::new(truncate));
    m.insert("berthLabel".into(), Arc::new(label));
    m
}

/// Docker's functions for a table's header row: the column name stays as
/// it is (`pad` is kept so the header lines up with its column).
pub fn header() -> FuncMap {
    let mut m = basic();
    for (name, n) in [
        ("json", 1),
        ("split", 2),
        ("join", 2),
        ("title", 1),
        ("lower", 1),
        ("upper", 1),
        ("truncate", 2),
    ] {
        m.insert(
            name.into(),
            Arc::new(move |args: &[Value]| {
                arity(name, args, n)?;
                Ok(args[0].clone())
            }),
        );
    }
    m.insert("berthLabel".into(), Arc::new(label_header));
    m
}
