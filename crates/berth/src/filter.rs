//! `--filter KEY=VALUE` as Docker parses and matches it (docker/cli
//! `opts.FilterOpt`, moby's `filters.Args`): values of one key are
//! alternatives (any may match), different keys must all match; `name`
//! and `id` match as unanchored regular expressions (or exactly); `label`
//! wants every given `KEY` or `KEY=VALUE` among the object's labels.

use anyhow::{bail, Result};
use std::collections::{BTreeMap, BTreeSet};

/// Parsed `--filter` values.
#[derive(Debug, Default)]
pub struct Filters {
    fields: BTreeMap<String, BTreeSet<String>>,
}

impl Filters {
    /// Parses `--filter` values, refusing a key not in `accepted` (the
    /// command's filters, named in the error).
    pub fn parse(items: &[String], accepted: &[&str]) -> Result<Filters> {
        let mut f = Filters::default();
        for item in items.iter().filter(|i| !i.is_empty()) {
            let Some((k, v)) = item.split_once('=') else {
                bail!("bad format of filter {item:?} (expected name=value)");
            };
            let k = k.trim().to_lowercase();
            if !accepted.contains(&k.as_str()) {
                bail!(
                    "invalid filter '{k}': this command filters by {}",
                    accepted.join(", ")
                );
            }
            f.fields.entry(k).or_default().insert(v.trim().to_string());
        }
        Ok(f)
    }

    /// Whether `key` was given.
    pub fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// The values of `key`.
    pub fn get(&self, key: &str) -> Vec<&str> {
        self.fields
            .get(key)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The single value of `key` (an error if given twice).
    pub fn single(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key).as_slice() {
            [] => Ok(None),
            [v] => Ok(Some(v)),
            _ => bail!("more than one {key} filter given: give it once"),
        }
    }

    /// `source` equals one of the values of `key` (true without `key`).
    pub fn exact(&self, key: &str, source: &str) -> bool {
        self.fields.get(key).is_none_or(|v| v.contains(source))
    }

    /// `source` equals, or contains a match of the regular expression, one
    /// of the values of `key` (true without `key`; a value that is not a
    /// valid regular expression matches only exactly, as in Docker).
    pub fn matches(&self, key: &str, source: &str) -> bool {
        let Some(values) = self.fields.get(key) else {
            return true;
        };
        values.contains(source)
            || values
                .iter()
                .any(|v| regex::Regex::new(v).is_ok_and(|r| r.is_match(source)))
    }

    /// Every value of `key` (`K` or `K=V`) is among `labels` (true without
    /// `key`).
    pub fn labels(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        let Some(values) = self.fields.get(key) else {
            return true;
        };
        values.iter().all(|want| match want.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(want),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(items: &[&str]) -> Filters {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        Filters::parse(&items, &["name", "label", "driver"]).unwrap()
    }

    #[test]
    fn parses_and_matches_like_docker() {
        let e = Filters::parse(&["name".into()], &["name"]).unwrap_err();
        assert!(e.to_string().contains("expected name=value"), "{e}");
        let e = Filters::parse(&["colour=red".into()], &["name", "label"]).unwrap_err();
        assert!(e.to_string().contains("invalid filter 'colour'"), "{e}");
        let n = f(&["name=fr", "NAME=^back$"]);
        assert!(n.matches("name", "front") && n.matches("name", "back"));
        assert!(!n.matches("name", "backup") && !n.matches("name", "mgmt"));
        assert!(f(&["name=a("]).matches("name", "a(") && !f(&["name=a("]).matches("name", "a(b"));
        assert!(f(&[]).matches("name", "x") && f(&[]).exact("driver", "x"));
        let d = f(&["driver=bridge", "driver=macvlan"]);
        assert!(d.exact("driver", "macvlan") && !d.exact("driver", "bridg"));
        let labels: BTreeMap<String, String> =
            [("env".into(), "prod".into()), ("tier".into(), "".into())].into();
        assert!(f(&["label=env"]).labels("label", &labels));
        assert!(f(&["label=env=prod", "label=tier"]).labels("label", &labels));
        assert!(!f(&["label=env=dev"]).labels("label", &labels));
        assert!(!f(&["label=env", "label=other"]).labels("label", &labels));
    }
}
