//! `berth topology`: the live picture of berth's networks, read from the
//! kernel and the store together.
//!
//! - [`collect`] reads: the store's networks and containers, netlink dumps
//!   of the host's and every running container's namespace (links,
//!   addresses, MACs, veth peers, counters, default routes), berth's
//!   published-port map elements and namespace pins. It cross-checks them:
//!   objects only the kernel has (a leaked veth on a berth bridge, a bridge
//!   named like berth's with no network, a pin without a container, a port
//!   element nobody publishes) and objects only the store has (a missing
//!   namespace, veth, bridge or port element) become [`Problem`]s.
//! - [`Topology`] is plain data; [`text`], [`dot`] and [`svg`] render it
//!   (pure, golden-tested in `tests.rs`: `BERTH_BLESS=1 cargo test -p berth
//!   topology` regenerates the golden files), JSON is its serde form.
//!
//! The `ifindex@peer` pairing the article reads by hand is kept as the
//! kernel reports it: the host end of a veth is `vethXXXXXXX@ifN` where N is
//! the index of the container's `eth0` in its namespace, and the container
//! end is `eth0@ifM` where M is the host end's index.

pub mod collect;
pub mod dot;
mod problems;
pub mod svg;
#[cfg(test)]
mod tests;
pub mod text;

use anyhow::{anyhow, Result};
use berth_core::observe::Counters;
use serde::Serialize;
use std::path::Path;

/// Everything `berth topology` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Topology {
    /// The host's side: uplink and forwarding.
    pub host: Host,
    /// berth's networks (bridge driver), in the store's order.
    pub networks: Vec<Net>,
    /// Containers, in the store's order.
    pub containers: Vec<Ctr>,
    /// What the kernel and the store disagree on.
    pub problems: Vec<Problem>,
}

/// The host.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Host {
    /// The interface of the default route.
    pub uplink: Option<Iface>,
    /// The default gateway.
    pub gateway: Option<String>,
    /// `net.ipv4.ip_forward` is on.
    pub forwarding: bool,
}

/// One interface as the kernel reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Iface {
    /// Name.
    pub name: String,
    /// Interface index in its namespace.
    pub index: u32,
    /// MAC address.
    pub mac: Option<String>,
    /// Addresses with prefix (IPv6 link-local left out).
    pub addrs: Vec<String>,
    /// Administratively up.
    pub up: bool,
    /// For a veth: the index of the other end (`@ifN`).
    pub peer: Option<u32>,
    /// rx/tx counters.
    pub counters: Counters,
}

impl Net {
    /// How the network is built: `bridge NAME MAC`, `bridge NAME MISSING`
    /// or `macvlan on PARENT`.
    pub fn fabric(&self) -> String {
        match (&self.bridge, self.bridge_name.is_empty()) {
            (Some(b), _) => format!("bridge {} {}", b.name, b.mac.as_deref().unwrap_or(""))
                .trim_end()
                .to_string(),
            (None, false) => format!("bridge {} MISSING", self.bridge_name),
            (None, true) => format!(
                "{} on {}",
                self.driver,
                self.parent.as_deref().unwrap_or("?")
            ),
        }
    }

    /// True when the network's bridge should exist and does not.
    pub fn bridge_missing(&self) -> bool {
        self.bridge.is_none() && !self.bridge_name.is_empty()
    }
}

impl Iface {
    /// `name@ifN` for a veth, `name` otherwise (as `ip link` prints it).
    pub fn label(&self) -> String {
        match self.peer {
            Some(p) => format!("{}@if{p}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A berth network.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Net {
    /// Name.
    pub name: String,
    /// Short id.
    pub id: String,
    /// Driver: `bridge`, `overlay`, `macvlan`, `ipvlan`.
    pub driver: String,
    /// The parent link of a macvlan or ipvlan network.
    pub parent: Option<String>,
    /// The Linux bridge's name (empty for macvlan and ipvlan).
    pub bridge_name: String,
    /// The bridge as the kernel reports it (`None`: missing).
    pub bridge: Option<Iface>,
    /// Gateway addresses with prefix, from the store.
    pub gateways: Vec<String>,
    /// `--internal`: no traffic in or out.
    pub internal: bool,
    /// Outbound traffic is masqueraded (NAT) through the uplink.
    pub masquerade: bool,
    /// Containers on it may talk to each other.
    pub icc: bool,
}

/// A container.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ctr {
    /// Name.
    pub name: String,
    /// Short id.
    pub id: String,
    /// `running`, `exited`, `created`.
    pub state: String,
    /// PID of its process while running.
    pub pid: Option<i32>,
    /// berth's pin of its namespace (`None`: no namespace).
    pub netns: Option<String>,
    /// Its `ip netns` name, when `/run/netns/<name>` is its namespace.
    pub ip_netns: Option<String>,
    /// One per network it is attached to.
    pub links: Vec<Attachment>,
    /// Published ports.
    pub ports: Vec<Port>,
}

/// A container's attachment to a network: the two ends of its veth.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Attachment {
    /// Network name.
    pub network: String,
    /// Bridge name (empty when the network has none: no veth pair).
    pub bridge: String,
    /// Interface name inside the container, from the store.
    pub ifname: String,
    /// Host end name, from the store.
    pub host_veth: String,
    /// Addresses from the store.
    pub addrs: Vec<String>,
    /// MAC from the store.
    pub mac: String,
    /// DNS names on this network: the container's name and its aliases.
    pub dns: Vec<String>,
    /// The container end in the kernel (`None`: missing or not running).
    pub inside: Option<Iface>,
    /// The host end in the kernel (`None`: missing or not running).
    pub outside: Option<Iface>,
}

/// A published port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Port {
    /// `0.0.0.0:8080->80/tcp`.
    pub spec: String,
    /// Whether the kernel has its map elements (false when not running).
    pub in_kernel: bool,
}

/// What the kernel and the store disagree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind of disagreement.
    pub kind: ProblemKind,
    /// The object: an interface, bridge, pin path, container or port.
    pub subject: String,
    /// The bridge it hangs on, for kernel-only veths.
    pub bridge: Option<String>,
    /// One sentence for a human.
    pub detail: String,
}

/// Kinds of [`Problem`]: the first four exist in the kernel only, the
/// others in the store only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A veth on a berth bridge that no running container has.
    LeakedVeth,
    /// A bridge named like berth's (`berth0`, `br-<12 hex>`) with no network.
    OrphanBridge,
    /// A namespace pin without a container.
    OrphanNetns,
    /// A published-port map element no running container needs.
    LeakedPort,
    /// A running container whose namespace is not pinned.
    MissingNetns,
    /// A running container's veth end that the kernel does not have.
    MissingVeth,
    /// A network whose bridge the kernel does not have.
    MissingBridge,
    /// A published port whose map element the kernel does not have.
    MissingPort,
    /// `/run/netns/<name>` is someone else's namespace.
    NameTaken,
}

impl ProblemKind {
    /// The kebab-case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::LeakedVeth => "leaked-veth",
            ProblemKind::OrphanBridge => "orphan-bridge",
            ProblemKind::OrphanNetns => "orphan-netns",
            ProblemKind::LeakedPort => "leaked-port",
            ProblemKind::MissingNetns => "missing-netns",
            ProblemKind::MissingVeth => "missing-veth",
            ProblemKind::MissingBridge => "missing-bridge",
            ProblemKind::MissingPort => "missing-port",
            ProblemKind::NameTaken => "name-taken",
        }
    }
}

/// Renders `t` in `format`: `text`, `json`, `dot` or `svg`.
pub fn render(t: &Topology, format: &str) -> Result<String> {
    match format {
        "text" => Ok(text::render(t)),
        "json" => Ok(serde_json::to_string_pretty(t)? + "\n"),
        "dot" => Ok(dot::render(t)),
        "svg" => svg::render(&dot::render(t)),
        other => Err(anyhow!(
            "unknown --format {other:?}: use text, json, dot or svg"
        )),
    }
}

/// `berth topology [NETWORK...] [--format F]`.
pub fn run(root: Option<&Path>, networks: &[String], format: &str) -> Result<i32> {
    // Without root, other namespaces and nftables cannot be read, and
    // everything would look missing.
    berth_core::engine::require_root()?;
    let mut engine = crate::config::open(root)?;
    let t = collect::collect(&mut engine, networks)?;
    print!("{}", render(&t, format)?);
    Ok(0)
}
