//! berth's own tables against the store: the live `inet berth` and
//! `bridge berth` compared with the skeleton plus the elements the store
//! asks for. Chains, rules and set declarations are compared as nftables
//! lists them (the expected side is rendered by nftables in a scratch
//! namespace, so the forms match exactly); elements as typed elements, the
//! store's against those read back over netlink. A firewall reload or
//! `nft flush ruleset` shows as a missing table; an edit as a missing or
//! changed chain or rule; a lost update as missing elements.

use super::facts::Facts;
use super::Finding;
use berth_core::firewall::Element;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One of berth's tables as comparable parts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Chain name → its header (type, hook, priority, policy).
    pub chains: BTreeMap<String, String>,
    /// Chain name → its rules (expressions and comment), in order.
    pub rules: BTreeMap<String, Vec<(String, Option<String>)>>,
    /// Set or map name → its declaration (type, flags).
    pub sets: BTreeMap<String, String>,
    /// Set or map name → its elements in nft's words (filled from typed
    /// elements, [`Table::with_elements`]).
    pub elems: BTreeMap<String, BTreeSet<String>>,
}

fn st<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

impl Table {
    /// The table with the elements among `elements` of its family in its
    /// declared sets, as nft lists them.
    pub fn with_elements(mut self, family: &str, elements: &[Element]) -> Table {
        for name in self.sets.keys() {
            let mine = elements
                .iter()
                .filter(|e| e.set.family().as_str() == family && e.set.name() == name)
                .map(|e| e.to_string());
            self.elems.insert(name.clone(), mine.collect());
        }
        self
    }
}

/// Extracts `family berth` from a listing (`nft -j list ruleset` or
/// `list table`); `None` when the table is not there.
pub fn table(listing: &Value, family: &str) -> Option<Table> {
    let items = listing.get("nftables")?.as_array()?;
    let mine = |o: &Value| st(o, "family") == family && st(o, "table") == "berth";
    let mut t = Table::default();
    let mut found = false;
    for item in items {
        if let Some(tb) = item.get("table") {
            found |= st(tb, "family") == family && st(tb, "name") == "berth";
        } else if let Some(c) = item.get("chain").filter(|c| mine(c)) {
            let header = ["type", "hook", "prio", "policy"]
                .map(|k| c.get(k).map(Value::to_string).unwrap_or_default());
            t.chains.insert(st(c, "name").into(), header.join(" "));
        } else if let Some(r) = item.get("rule").filter(|r| mine(r)) {
            let comment = r.get("comment").and_then(Value::as_str).map(String::from);
            t.rules
                .entry(st(r, "chain").into())
                .or_default()
                .push((r["expr"].to_string(), comment));
        } else if let Some(s) = item
            .get("set")
            .or_else(|| item.get("map"))
            .filter(|s| mine(s))
        {
            let name = st(s, "name").to_string();
            let decl = ["type", "map", "flags"]
                .map(|k| s.get(k).map(Value::to_string).unwrap_or_default());
            t.sets.insert(name, decl.join(" "));
        }
    }
    found.then_some(t)
}

/// What differs: (is it a loss, description).
pub fn diff(family: &str, want: &Table, have: &Table) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for (name, header) in &want.chains {
        match have.chains.get(name) {
            None => out.push((true, format!("chain {family} berth {name} is missing"))),
            Some(h) if h != header => out.push((
                true,
                format!("chain {family} berth {name} has another type, hook, priority or policy"),
            )),
            Some(_) => {}
        }
    }
    out.extend(diff_rules(family, want, have));
    out.extend(diff_sets(family, want, have));
    out
}

/// Rules, summed up per table: which chains lost how many, naming a few
/// by their comments.
fn diff_rules(family: &str, want: &Table, have: &Table) -> Vec<(bool, String)> {
    let (mut lost, mut named, mut extra) = (Vec::new(), Vec::new(), 0);
    for (chain, rules) in &want.rules {
        let got = have.rules.get(chain).map(Vec::as_slice).unwrap_or_default();
        if !have.chains.contains_key(chain) || got == rules.as_slice() {
            continue;
        }
        let missing: Vec<_> = rules.iter().filter(|r| !got.contains(r)).collect();
        if !missing.is_empty() {
            lost.push(format!("{chain} {} of {}", missing.len(), rules.len()));
            named.extend(missing.iter().filter_map(|r| r.1.clone()));
        }
        extra += got.iter().filter(|r| !rules.contains(r)).count();
    }
    let mut out = Vec::new();
    if !lost.is_empty() {
        let eg: Vec<String> = named.iter().take(3).map(|c| format!("\"{c}\"")).collect();
        let eg = if eg.is_empty() {
            String::new()
        } else {
            format!(", e.g. {}", eg.join(", "))
        };
        out.push((
            true,
            format!(
                "{family} berth: rules missing or changed in chains {}{eg}",
                lost.join(", ")
            ),
        ));
    }
    if extra > 0 {
        out.push((
            false,
            format!("{family} berth: {extra} rule(s) that berth did not write"),
        ));
    }
    out
}

/// Sets and maps: declarations and elements.
fn diff_sets(family: &str, want: &Table, have: &Table) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let none = BTreeSet::new();
    for (name, decl) in &want.sets {
        if have.sets.get(name) != Some(decl) {
            out.push((
                true,
                format!("set {family} berth {name} is missing or declared differently"),
            ));
            continue;
        }
        let w = want.elems.get(name).unwrap_or(&none);
        let h = have.elems.get(name).unwrap_or(&none);
        let missing: Vec<&String> = w.difference(h).collect();
        let extra: Vec<&String> = h.difference(w).collect();
        if !missing.is_empty() {
            let (n, l) = (plural(missing.len()), list(&missing));
            out.push((true, format!("{family} berth {name} lacks {n}: {l}")));
        }
        if !extra.is_empty() {
            let (n, l) = (plural(extra.len()), list(&extra));
            out.push((
                false,
                format!("{family} berth {name} has {n} the store does not know: {l}"),
            ));
        }
    }
    out
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 element".into()
    } else {
        format!("{n} elements")
    }
}

fn list(items: &[&String]) -> String {
    let shown: Vec<&str> = items.iter().take(3).map(|s| s.as_str()).collect();
    let more = items.len().saturating_sub(3);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{}{tail}", shown.join(", "))
}

/// The `ruleset` check.
pub fn check(f: &Facts) -> Vec<Finding> {
    let fix =
        "berth system reconcile (re-renders berth's tables from the store in one transaction)";
    let mut out = Vec::new();
    for (family, expected) in ["inet", "bridge"].iter().zip(&f.expected) {
        let want = table(expected, family).map(|t| t.with_elements(family, &f.expected_elements));
        let Some(want) = want else {
            out.push(Finding::warn(
                "ruleset",
                format!("cannot render the expected {family} berth table"),
                "report this as a bug",
            ));
            continue;
        };
        let have = table(&f.ruleset, family).map(|t| t.with_elements(family, &f.elements));
        let Some(have) = have else {
            let off = if *family == "inet" {
                "published ports, NAT and isolation are off"
            } else {
                "containers can spoof addresses and send router advertisements, and enable_icc=false is not enforced where br_netfilter is not loaded"
            };
            out.push(Finding::fail("ruleset", format!("table {family} berth is missing (a firewall reload or 'nft flush ruleset'?): {off}"), fix));
            continue;
        };
        for (loss, what) in diff(family, &want, &have) {
            out.push(if loss {
                Finding::fail("ruleset", what, fix)
            } else {
                Finding::warn("ruleset", what, fix)
            });
        }
    }
    if out.is_empty() {
        let elems: usize = f
            .expected
            .iter()
            .zip(["inet", "bridge"])
            .filter_map(|(e, fam)| {
                table(e, fam).map(|t| t.with_elements(fam, &f.expected_elements))
            })
            .map(|t| t.elems.values().map(BTreeSet::len).sum::<usize>())
            .sum();
        out.push(Finding::ok(
            "ruleset",
            format!("berth's tables match the store ({elems} set and map elements)"),
        ));
    }
    out
}
