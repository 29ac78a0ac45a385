//! `berth network ls` and `network prune`, with Docker's filters and
//! formats.

use super::open;
use crate::filter::Filters;
use crate::format::{self, ListSpec};
use crate::times;
use anyhow::{bail, Result};
use berth_core::engine::Engine;
use berth_core::ids::short;
use berth_core::model::Network;
use std::cmp::Ordering;
use std::path::Path;

/// `network ls` flags.
pub struct LsOptions<'a> {
    /// `-q`.
    pub quiet: bool,
    /// `--format`.
    pub format: Option<&'a str>,
    /// `--no-trunc`.
    pub no_trunc: bool,
    /// `--filter`.
    pub filter: &'a [String],
}

/// `network ls`'s columns (docker/cli `network/formatter.go`, and berth's
/// `Owner`).
const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
    ("Owner", "OWNER"),
];

/// Docker's default table, with an OWNER column when another program
/// (Podman, Docker) manages some of the networks listed.
fn spec(owned: bool) -> ListSpec<'static> {
    ListSpec {
        default: if owned {
            "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Owner}}"
        } else {
            "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
        },
        headers: HEADERS,
        extra: &["Owner"],
    }
}

/// Who manages a network: `berth`, or the other program (`podman`,
/// `docker` through `berth docker-plugin`).
fn owner(n: &Network) -> &'static str {
    match (&n.owner, &n.docker) {
        (Some(berth_core::model::NetworkOwner::Podman(_)), _) => "podman",
        (None, Some(_)) => "docker",
        (None, None) => "berth",
    }
}

/// The filters `network ls` takes (moby's `daemon/network/filter.go`).
const LS_FILTERS: &[&str] = &[
    "dangling", "driver", "id", "label", "label!", "name", "scope", "type",
];

/// Docker's name order (`sortorder.NaturalLess`): runs of digits compare
/// as numbers, so `net2` comes before `net10`.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        let run = |s: &str, digits: bool| {
            s.find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(s.len())
        };
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, nb) = (run(a, true), run(b, true));
                let (da, db) = (
                    a[..na].trim_start_matches('0'),
                    b[..nb].trim_start_matches('0'),
                );
                let o = da
                    .len()
                    .cmp(&db.len())
                    .then_with(|| da.cmp(db))
                    .then_with(|| na.cmp(&nb));
                if o != Ordering::Equal {
                    return o;
                }
                (a, b) = (&a[na..], &b[nb..]);
            }
            _ => {
                let (na, nb) = (run(a, false), run(b, false));
                let o = a[..na].cmp(&b[..nb]);
                if o != Ordering::Equal {
                    return o;
                }
                (a, b) = (&a[na..], &b[nb..]);
            }
        }
    }
}

/// Whether `n` has endpoints (Docker's `HasContainerAttachments`).
fn in_use(engine: &mut Engine, n: &Network) -> Result<bool> {
    Ok(!engine
        .store()
        .read(|tx| tx.network_endpoints(&n.id))?
        .is_empty())
}

/// Checks the values Docker checks before listing.
fn check_values(f: &Filters) -> Result<Option<bool>> {
    for t in f.get("type") {
        if t != "builtin" && t != "custom" {
            bail!("invalid filter: 'type'='{t}': use type=custom or type=builtin");
        }
    }
    match f.get("dangling").as_slice() {
        [] => Ok(None),
        ["1" | "true"] => Ok(Some(true)),
        ["0" | "false"] => Ok(Some(false)),
        [_] => bail!(
            r#"invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")"#
        ),
        _ => bail!(r#"got more than one value for filter key "dangling""#),
    }
}

/// Whether `n` passes the filters (moby's `Filter.Matches`), `dangling`
/// aside.
fn matches(f: &Filters, n: &Network) -> bool {
    let types = f.get("type");
    f.exact("driver", n.driver.as_str())
        && f.matches("name", &n.name)
        && f.matches("id", &n.id)
        && f.labels("label", &n.labels)
        && (!f.contains("label!") || !f.labels("label!", &n.labels))
        && f.exact("scope", "local")
        // Docker looks at the first value only.
        && types.first().is_none_or(|t| (*t == "builtin") == n.builtin)
}

/// The `--format` fields of a network.
fn row(n: &Network, no_trunc: bool) -> serde_json::Value {
    serde_json::json!({
        "ID": if no_trunc { n.id.as_str() } else { short(&n.id) },
        "Name": n.name,
        "Driver": n.driver.as_str(),
        "Scope": "local",
        "IPv4": "true",
        "IPv6": n.ipv6.to_string(),
        "Internal": n.internal.to_string(),
        "Labels": n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "Label": n.labels,
        "CreatedAt": times::go_time_string(&n.created, false),
        "Owner": owner(n),
    })
}

/// `network ls`.
pub fn ls(root: Option<&Path>, o: &LsOptions) -> Result<i32> {
    let f = Filters::parse(o.filter, LS_FILTERS)?;
    let dangling = check_values(&f)?;
    let mut engine = open(root)?;
    let mut nets = Vec::new();
    for n in engine.networks()? {
        if !matches(&f, &n) {
            continue;
        }
        if let Some(want) = dangling {
            let dangles = !n.builtin && !in_use(&mut engine, &n)?;
            if dangles != want {
                continue;
            }
        }
        nets.push(n);
    }
    nets.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let format = if o.quiet { Some("{{.ID}}") } else { o.format };
    let items: Vec<_> = nets.iter().map(|n| row(n, o.no_trunc)).collect();
    let owned = nets.iter().any(|n| owner(n) != "berth");
    print!("{}", format::list(format, &items, &spec(owned))?);
    Ok(0)
}

/// `network prune [--filter until=...|label=...|label!=...]`: removes the
/// user networks no container uses that match: berth's own, and Podman's
/// (released as Podman's last container would; its next container builds
/// the network again); Docker's are Docker's to remove.
pub fn prune(root: Option<&Path>, filter: &[String]) -> Result<i32> {
    let f = Filters::parse(filter, &["label", "label!", "until"])?;
    let until = match f.single("until")? {
        Some(v) => Some(times::parse_until(v, times::now())?),
        None => None,
    };
    let mut engine = open(root)?;
    let mut removed = Vec::new();
    for n in engine.networks()? {
        if n.builtin || n.docker.is_some() || !matches(&f, &n) {
            continue;
        }
        let created = times::parse_rfc3339(&n.created).unwrap_or(0.0);
        if until.is_some_and(|u| created > u) || in_use(&mut engine, &n)? {
            continue;
        }
        // A container may have joined since: its error names it.
        let done = if n.owner.is_some() {
            engine.release_owned_network(&n.name)
        } else {
            engine.remove_network(&n.id).map(|_| true)
        };
        match done {
            Ok(true) => removed.push(n.name),
            Ok(false) => {}
            Err(e) => eprintln!("berth: network {} not removed: {e}", n.name),
        }
    }
    if !removed.is_empty() {
        println!("Deleted Networks:");
        for r in removed {
            println!("{r}");
        }
        println!();
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn natural_order() {
        let mut v = vec!["net10", "net2", "bridge", "Net1", "net02", "a"];
        v.sort_by(|a, b| super::natural_cmp(a, b));
        assert_eq!(v, ["Net1", "a", "bridge", "net2", "net02", "net10"]);
    }
}
