//! The embedded DNS resolver: is it up where containers need it?
//!
//! The engine writes the resolver's snapshot (DNS-enabled networks and the
//! endpoints on them) and starts the resolver once a container needs it;
//! the resolver listens on those networks' gateways, port 53, and answers
//! `ping` on its control socket. [`gather`] reads the snapshot, the
//! engine's view of the resolver ([`Engine::dns_status`]) and the host's
//! UDP sockets into [`DnsFacts`]; the check itself is pure. With no
//! container on a DNS-enabled network it is "not applicable".

use super::Finding;
use berth_core::engine::Engine;
use berth_core::kernel::facts::listeners;
use berth_core::model::Proto;
use berth_dns::{journal, Snapshot};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// What the check needs to know about the resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsFacts {
    /// Networks the resolver must serve (those with containers): name and
    /// gateways.
    pub networks: Vec<(String, Vec<IpAddr>)>,
    /// Generation of the snapshot written for it.
    pub snapshot_generation: Option<u64>,
    /// The control socket.
    pub control: PathBuf,
    /// What `ping` answered: the generation served, or why it failed.
    pub ping: Result<u64, String>,
    /// Gateways with a UDP socket bound on port 53 (or on every address).
    pub listening: Vec<IpAddr>,
}

impl Default for DnsFacts {
    fn default() -> Self {
        DnsFacts {
            networks: Vec::new(),
            snapshot_generation: None,
            control: PathBuf::new(),
            ping: Err("not asked".into()),
            listening: Vec::new(),
        }
    }
}

/// Reads the resolver's state (read-only).
pub fn gather(engine: &mut Engine) -> DnsFacts {
    let control = engine.dns_control_path();
    let json: serde_json::Value = live_snapshot(&engine.dns_snapshot_path())
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or_default();
    let served = |id: &serde_json::Value| {
        json["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| &e["network_id"] == id)
    };
    let networks: Vec<(String, Vec<IpAddr>)> = json["networks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["dns"].as_bool() == Some(true) && served(&n["id"]))
        .map(|n| {
            let gws = n["gateways"].as_array().into_iter().flatten();
            let gws = gws.filter_map(|g| g.as_str()?.parse().ok()).collect();
            (n["name"].as_str().unwrap_or_default().to_string(), gws)
        })
        .collect();
    if networks.is_empty() {
        return DnsFacts {
            control,
            ..Default::default()
        };
    }
    let ping = match engine.dns_status() {
        Ok(s) => s.generation.ok_or_else(|| "no answer".to_string()),
        Err(e) => Err(e.to_string()),
    };
    let bound: Vec<IpAddr> = listeners()
        .into_iter()
        .filter(|l| l.proto == Proto::Udp && l.port == 53)
        .map(|l| l.addr)
        .collect();
    let listening = networks
        .iter()
        .flat_map(|(_, g)| g.iter().copied())
        .filter(|g| bound.iter().any(|b| b == g || b.is_unspecified()))
        .collect();
    DnsFacts {
        snapshot_generation: json["generation"].as_u64(),
        ping,
        control,
        listening,
        networks,
    }
}

/// The names the resolver should serve: the snapshot file and then the
/// complete lines of its journal, as a resolver that starts reads them.
fn live_snapshot(path: &Path) -> Option<Snapshot> {
    let mut snapshot = Snapshot::load(path).ok()?;
    let (deltas, _) = journal::read_from(&journal::journal_path(path), 0).ok()?;
    for d in &deltas {
        snapshot.apply(d);
    }
    Some(snapshot)
}

/// The `dns` check.
pub fn check(d: &DnsFacts) -> Vec<Finding> {
    if d.networks.is_empty() {
        return vec![Finding::ok(
            "dns",
            "not applicable: no container is on a network that uses berth's embedded DNS",
        )];
    }
    let names: Vec<&str> = d.networks.iter().map(|(n, _)| n.as_str()).collect();
    let fix = "berth system reconcile (starts the resolver and reloads its snapshot)";
    let served = match &d.ping {
        Err(e) => {
            return vec![Finding::fail(
                "dns",
                format!("the DNS resolver does not answer on {} ({e}): containers of {} cannot resolve names", d.control.display(), names.join(", ")),
                fix,
            )]
        }
        Ok(g) => *g,
    };
    let mut out = Vec::new();
    if d.snapshot_generation.is_some_and(|g| g != served) {
        out.push(Finding::warn(
            "dns",
            format!("the resolver serves snapshot {served}, not the latest one written: recent containers may not resolve"),
            fix,
        ));
    }
    for (name, gws) in &d.networks {
        for gw in gws.iter().filter(|g| !d.listening.contains(g)) {
            out.push(Finding::fail(
                "dns",
                format!(
                    "nothing listens on {gw} port 53 (UDP), the resolver address of network {name}"
                ),
                fix,
            ));
        }
    }
    if out.is_empty() {
        out.push(Finding::ok(
            "dns",
            format!(
                "the resolver answers (snapshot {served}) and listens for {}",
                names.join(", ")
            ),
        ));
    }
    out
}
