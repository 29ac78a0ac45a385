//! Reading a JSON object key by key with the spec's error codes: a value of
//! the wrong type is a decoding failure (6), a bad value an invalid
//! configuration (7), a key nobody reads an unsupported field (2, naming
//! the key and its value).

use crate::error::{code, CniError};
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// An object whose keys are read one by one; [`Fields::finish`] rejects
/// the keys nobody read.
pub(crate) struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
    seen: Vec<&'a str>,
}

/// Error 6 for `key` holding something other than `expected`.
pub(crate) fn wrong_type(key: &str, expected: &str, got: &Value) -> CniError {
    CniError::new(
        code::DECODE,
        format!("cannot decode {key}"),
        format!("{key} must be {expected}, not {}", short(got)),
    )
}

/// Error 7 for an invalid value of `key`.
pub(crate) fn invalid(key: &str, why: impl std::fmt::Display) -> CniError {
    CniError::new(
        code::INVALID_CONFIG,
        format!("invalid {key}"),
        format!("{why}; nothing was changed"),
    )
}

/// A value shortened for messages.
pub(crate) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let cut = (0..=77).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        format!("{}...", &s[..cut])
    } else {
        s
    }
}

impl<'a> Fields<'a> {
    /// Reads `v` (at `path`, e.g. `ipam`) as an object.
    pub(crate) fn of(v: &'a Value, path: &str) -> Result<Fields<'a>, CniError> {
        let map = v
            .as_object()
            .ok_or_else(|| wrong_type(path, "an object", v))?;
        Ok(Fields {
            path: path.to_string(),
            map,
            seen: Vec::new(),
        })
    }

    /// The full name of `key` for messages (`ipam.ranges`).
    pub(crate) fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// True when the object has no keys at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `key` (a JSON `null` counts as absent), marked as read.
    pub(crate) fn get(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.seen.push(k.as_str());
        (!v.is_null()).then_some(v)
    }

    /// Marks `keys` as read without looking at them.
    pub(crate) fn ignore(&mut self, keys: &[&str]) {
        for key in keys {
            let _ = self.get(key);
        }
    }

    /// A boolean.
    pub(crate) fn bool(&mut self, key: &str) -> Result<Option<bool>, CniError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(wrong_type(&self.name(key), "true or false", v)),
        }
    }

    /// A string.
    pub(crate) fn str(&mut self, key: &str) -> Result<Option<&'a str>, CniError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(wrong_type(&self.name(key), "a string", v)),
        }
    }

    /// A non-negative integer.
    pub(crate) fn u64(&mut self, key: &str) -> Result<Option<u64>, CniError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong_type(&self.name(key), "a non-negative integer", v)),
        }
    }

    /// An array (absent = empty).
    pub(crate) fn array(&mut self, key: &str) -> Result<&'a [Value], CniError> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a.as_slice()),
            Some(v) => Err(wrong_type(&self.name(key), "an array", v)),
        }
    }

    /// An array of strings (absent = empty).
    pub(crate) fn strings(&mut self, key: &str) -> Result<Vec<&'a str>, CniError> {
        let name = self.name(key);
        self.array(key)?
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| wrong_type(&name, "an array of strings", v))
            })
            .collect()
    }

    /// An IP address (`null` and `""` count as absent).
    pub(crate) fn ip(&mut self, key: &str) -> Result<Option<IpAddr>, CniError> {
        let name = self.name(key);
        match self.str(key)? {
            None | Some("") => Ok(None),
            Some(s) => parse_ip(s, &name).map(Some),
        }
    }

    /// Rejects any key that was not read: error 2 naming it and its value.
    /// `allowed` keys are accepted unread (e.g. reserved `cni.dev/` keys).
    pub(crate) fn finish(self, allowed: impl Fn(&str) -> bool) -> Result<(), CniError> {
        match self
            .map
            .iter()
            .find(|(k, _)| !self.seen.contains(&k.as_str()) && !allowed(k))
        {
            None => Ok(()),
            Some((k, v)) => Err(CniError::new(
                code::UNSUPPORTED_FIELD,
                format!("unsupported field {}", self.name(k)),
                format!(
                    "{} = {} is not a key berth understands (see docs/cni.md); nothing was changed",
                    self.name(k),
                    short(v)
                ),
            )),
        }
    }
}

/// Parses an IP address for `key` (error 7).
pub(crate) fn parse_ip(s: &str, key: &str) -> Result<IpAddr, CniError> {
    s.parse()
        .map_err(|_| invalid(key, format!("{key} {s:?} is not an IP address")))
}

/// Parses a CIDR (`10.1.0.0/24`) for `key` (error 7).
pub(crate) fn parse_net(s: &str, key: &str) -> Result<IpNet, CniError> {
    s.parse().map_err(|_| {
        invalid(
            key,
            format!("{key} {s:?} is not in CIDR notation (like 10.1.0.0/24)"),
        )
    })
}

/// An address with or without a prefix (`10.1.0.5` or `10.1.0.5/24`).
pub(crate) fn parse_ip_maybe_prefix(s: &str, key: &str) -> Result<IpAddr, CniError> {
    match s.split_once('/') {
        Some(_) => parse_net(s, key).map(|n| n.addr()),
        None => parse_ip(s, key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_per_failure() {
        let v = json!({"a": true, "b": "x", "c": 3, "d": null, "zz": [1]});
        let mut f = Fields::of(&v, "").unwrap();
        assert_eq!(f.bool("a").unwrap(), Some(true));
        assert_eq!(f.str("d").unwrap(), None);
        assert_eq!(f.bool("b").unwrap_err().code, code::DECODE);
        assert_eq!(f.u64("c").unwrap(), Some(3));
        let e = f.finish(|_| false).unwrap_err();
        assert_eq!(e.code, code::UNSUPPORTED_FIELD);
        assert!(e.msg.contains("zz") && e.details.contains("[1]"), "{e}");
        assert_eq!(
            parse_ip("1.2.3", "x").unwrap_err().code,
            code::INVALID_CONFIG
        );
        assert_eq!(
            parse_ip_maybe_prefix("10.0.0.5/24", "ips")
                .unwrap()
                .to_string(),
            "10.0.0.5"
        );
        assert_eq!(short(&json!("é".repeat(100))).len(), 80);
    }
}
