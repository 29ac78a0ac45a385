//! Other tables' forward chains: a policy of drop (Docker's `ip filter
//! FORWARD`) eats berth's traffic unless berth's accept rules are there
//! (decision 0001), and br_netfilter makes even same-bridge traffic cross
//! those chains.

use super::facts::Facts;
use super::Finding;
use serde_json::Value;

/// A base chain on the forward hook with policy drop, outside berth's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropChain {
    /// `ip`, `ip6` or `inet`.
    pub family: String,
    /// Table name.
    pub table: String,
    /// Chain name.
    pub chain: String,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn items<'a>(ruleset: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    ruleset
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(move |i| i.get(kind))
}

/// Forward chains with policy drop in tables other than berth's.
pub fn drop_chains(ruleset: &Value) -> Vec<DropChain> {
    items(ruleset, "chain")
        .filter(|c| {
            s(c, "hook") == "forward"
                && s(c, "policy") == "drop"
                && s(c, "table") != "berth"
                && matches!(s(c, "family"), "ip" | "ip6" | "inet")
        })
        .map(|c| DropChain {
            family: s(c, "family").into(),
            table: s(c, "table").into(),
            chain: s(c, "name").into(),
        })
        .collect()
}

/// Where berth puts its accept rules for `d` (`None`: it puts none there):
/// Docker's DOCKER-USER when the table has it, else the chain itself; only
/// in `ip filter` and `ip6 filter`.
pub fn accept_chain(ruleset: &Value, d: &DropChain) -> Option<String> {
    if d.table != "filter" || d.family == "inet" {
        return None;
    }
    let docker_user = items(ruleset, "chain").any(|c| {
        s(c, "family") == d.family && s(c, "table") == d.table && s(c, "name") == "DOCKER-USER"
    });
    Some(if docker_user {
        "DOCKER-USER".into()
    } else {
        d.chain.clone()
    })
}

/// How many rules tagged `berth:<bridge>` are in `family filter chain`.
fn tagged(ruleset: &Value, family: &str, chain: &str, bridge: &str) -> usize {
    let tag = format!("berth:{bridge}");
    items(ruleset, "rule")
        .filter(|r| {
            s(r, "family") == family
                && s(r, "table") == "filter"
                && s(r, "chain") == chain
                && s(r, "comment") == tag
        })
        .count()
}

/// Berth bridges whose three accept rules are not all in the chain that
/// needs them: `(family, chain, bridge, network)`.
pub fn missing_accepts(f: &Facts) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for d in drop_chains(&f.ruleset) {
        let Some(chain) = accept_chain(&f.ruleset, &d) else {
            continue;
        };
        for (n, bridge) in f.bridges() {
            if tagged(&f.ruleset, &d.family, &chain, bridge) < 3 {
                out.push((
                    d.family.clone(),
                    chain.clone(),
                    bridge.to_string(),
                    n.name.clone(),
                ));
            }
        }
    }
    out
}

/// Forward chains with policy drop and berth's accept rules.
pub fn forward_policy(f: &Facts) -> Vec<Finding> {
    let drops = drop_chains(&f.ruleset);
    if drops.is_empty() {
        return vec![Finding::ok(
            "forward-policy",
            "no forward chain with policy drop outside berth's tables",
        )];
    }
    let mut out = Vec::new();
    for (family, chain, bridge, net) in missing_accepts(f) {
        out.push(Finding::fail(
            "forward-policy",
            format!("{family} filter has a forward policy of drop (Docker's) and berth's accept rules for bridge {bridge} (network {net}) are missing from {family} filter {chain}: its containers' forwarded traffic is dropped"),
            "berth system reconcile (re-adds them; they are also added when a network is created)",
        ));
    }
    for d in &drops {
        if accept_chain(&f.ruleset, d).is_some() {
            continue;
        }
        let rules: Vec<String> = f
            .bridges()
            .flat_map(|(_, b)| {
                [
                    format!(
                        "nft insert rule {} {} {} iifname \"{b}\" accept",
                        d.family, d.table, d.chain
                    ),
                    format!(
                        "nft insert rule {} {} {} oifname \"{b}\" accept",
                        d.family, d.table, d.chain
                    ),
                ]
            })
            .collect();
        out.push(Finding::warn(
            "forward-policy",
            format!("{} {} chain {} has a forward policy of drop and berth adds no accept rules there: forwarded container traffic is dropped unless a rule of that table accepts it (see berth trace CONTAINER 203.0.113.1)", d.family, d.table, d.chain),
            format!("accept berth's bridges in that table's configuration, e.g. {}", rules.join("; ")),
        ));
    }
    if out.is_empty() {
        let names: Vec<String> = drops
            .iter()
            .map(|d| format!("{} {} {}", d.family, d.table, d.chain))
            .collect();
        out.push(Finding::ok(
            "forward-policy",
            format!(
                "policy drop in {}; berth's accept rules are in place for every bridge",
                names.join(", ")
            ),
        ));
    }
    out
}

/// br_netfilter: with `bridge-nf-call-ip{,6}tables=1` even traffic between
/// two containers of one bridge crosses the IP forward chains.
pub fn br_netfilter(f: &Facts) -> Vec<Finding> {
    let Some(v4) = f.sysctls.nf_call_iptables.as_deref() else {
        return vec![Finding::ok(
            "br-netfilter",
            "br_netfilter is not loaded: traffic inside a bridge skips the IP firewall (berth's bridge table enforces enable_icc=false)",
        )];
    };
    let v6 = f.sysctls.nf_call_ip6tables.as_deref().unwrap_or("0");
    let missing = missing_accepts(f);
    let mut out = Vec::new();
    for (family, key, value) in [
        ("ip", "bridge-nf-call-iptables", v4),
        ("ip6", "bridge-nf-call-ip6tables", v6),
    ] {
        if value != "1" {
            out.push(Finding::ok(
                "br-netfilter",
                format!("{key}={value}: traffic inside a bridge skips the {family} firewall"),
            ));
            continue;
        }
        let broken: Vec<&str> = missing
            .iter()
            .filter(|m| m.0 == family)
            .map(|m| m.3.as_str())
            .collect();
        if broken.is_empty() {
            out.push(Finding::ok(
                "br-netfilter",
                format!("{key}=1: traffic between containers of one bridge crosses the {family} forward chains too; nothing there drops berth's"),
            ));
        } else {
            out.push(Finding::fail(
                "br-netfilter",
                format!("{key}=1 with a forward policy of drop and no berth accept rules: even containers on the same network cannot reach each other (networks {})", broken.join(", ")),
                format!("berth system reconcile (or, if nothing else needs it, sysctl -w net.bridge.{key}=0)"),
            ));
        }
    }
    out
}
