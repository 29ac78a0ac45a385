//! Reading what the checks look at. Nothing here changes the host or the
//! store: the store is opened without bootstrap or recovery, the kernel is
//! only asked (netlink dumps, nft listings, /proc and /sys reads), and the
//! ruleset berth expects is rendered by nftables in a throwaway namespace.

use super::dns::{self, DnsFacts};
use anyhow::{Context, Result};
use berth_core::engine::{pid_alive, Engine};
use berth_core::firewall::{Element, Set};
use berth_core::kernel::{netns, sysctl, Netlink, Nft};
use berth_core::model::{Container, Endpoint, Network};
use berth_core::observe::route_get::{main_routes, TableRoute};
use berth_core::observe::scratch;
use berth_core::observe::{self, Link, NsView};
use std::path::{Path, PathBuf};

/// A container with what the checks need about it.
#[derive(Debug, Clone)]
pub struct ContainerFacts {
    /// The record.
    pub container: Container,
    /// Its endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Its process is alive.
    pub running: bool,
    /// Its supervisor is alive.
    pub supervised: bool,
    /// Its namespace pin exists and is a namespace.
    pub pinned: bool,
}

/// A recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpFacts {
    /// Row id (what `berth system reconcile --forget-op` takes).
    pub id: i64,
    /// Why its recorded plan does not parse, when it does not.
    pub corrupt: Option<String>,
    /// Kind (`create`, `remove_network`, ...).
    pub kind: String,
    /// Subject id.
    pub subject: String,
    /// The berth process doing it is alive.
    pub owner_alive: bool,
}

/// The sysctls that matter.
#[derive(Debug, Clone, Default)]
pub struct Sysctls {
    /// `net.ipv4.ip_forward`.
    pub ip_forward: Option<String>,
    /// `net.ipv6.conf.all.forwarding`.
    pub ipv6_forward: Option<String>,
    /// `net.bridge.bridge-nf-call-iptables` (`None`: br_netfilter not loaded).
    pub nf_call_iptables: Option<String>,
    /// `net.bridge.bridge-nf-call-ip6tables`.
    pub nf_call_ip6tables: Option<String>,
}

/// Everything the checks look at.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The runtime dir (namespace pins live in `netns/` under it).
    pub run_dir: PathBuf,
    /// Every network.
    pub networks: Vec<Network>,
    /// Every container.
    pub containers: Vec<ContainerFacts>,
    /// Names of the files under `RUN/netns`, with whether each is pinned.
    pub pins: Vec<(String, bool)>,
    /// Recorded operations.
    pub ops: Vec<OpFacts>,
    /// Sysctls.
    pub sysctls: Sysctls,
    /// The host's links.
    pub links: Vec<Link>,
    /// The main routing table.
    pub routes: Vec<TableRoute>,
    /// `nft -j list ruleset` (every table, berth's and others').
    pub ruleset: serde_json::Value,
    /// The JSON listings of `inet berth` and `bridge berth` as the store
    /// says they must be (rendered in a scratch namespace): their chains,
    /// rules and set declarations.
    pub expected: Vec<serde_json::Value>,
    /// The set and map elements the store says berth's tables must hold.
    pub expected_elements: Vec<Element>,
    /// The elements they hold (read over netlink).
    pub elements: Vec<Element>,
    /// The embedded DNS.
    pub dns: DnsFacts,
    /// The forwarding sysctls berth turned on, with their old values: the
    /// families whose routing guard is armed.
    pub forwarding_changes: Vec<(String, String)>,
}

impl Facts {
    /// The link with this index.
    pub fn link(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// The link with this name.
    pub fn link_named(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The bridge networks (those with a Linux bridge).
    pub fn bridges(&self) -> impl Iterator<Item = (&Network, &str)> {
        self.networks
            .iter()
            .filter_map(|n| n.bridge.as_deref().map(|b| (n, b)))
    }
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// Reads the store, the kernel and the firewall (needs root).
pub fn gather(root: Option<&Path>) -> Result<Facts> {
    berth_core::engine::require_root()?;
    let mut engine = Engine::open_store_only(&crate::config::engine(root)?)?;
    let networks = engine.networks()?;
    let mut containers = Vec::new();
    for c in engine.containers()? {
        containers.push(ContainerFacts {
            endpoints: engine.endpoints(&c.id)?,
            running: Engine::is_running(&c),
            supervised: c.supervisor_pid.is_some_and(|p| pid_alive(p, None)),
            pinned: netns::is_pinned(&engine.netns_path(&c)),
            container: c,
        });
    }
    let ops = engine
        .store()
        .read(|tx| tx.ops())?
        .into_iter()
        .map(|o| OpFacts {
            id: o.id,
            corrupt: o.decode().err().map(|e| e.to_string()),
            owner_alive: pid_alive(o.owner_pid, Some(o.owner_start)),
            kind: o.kind,
            subject: o.subject,
        })
        .collect();
    let mut nl = Netlink::open()?;
    let view = NsView::read(&mut nl)?;
    let mut nft = Nft::new();
    let ruleset = parse_json(
        &nft.list_json("list ruleset")
            .context("listing the ruleset")?,
    );
    let expected_elements = engine.expected_elements()?;
    let expected_text = engine.expected_ruleset()?;
    let elements = observe::elements(&mut nft, &Set::ALL);
    let forwarding_changes = engine.forwarding_changes()?;
    let expected = scratch::render(&expected_text, &["inet berth", "bridge berth"])
        .context("rendering the expected ruleset")?
        .iter()
        .map(|t| parse_json(t))
        .collect();
    let read = |k: &str| sysctl::read(k).ok();
    Ok(Facts {
        run_dir: engine.paths.run.clone(),
        pins: pins(&engine.paths.run.join("netns")),
        sysctls: Sysctls {
            ip_forward: read("net.ipv4.ip_forward"),
            ipv6_forward: read("net.ipv6.conf.all.forwarding"),
            nf_call_iptables: read("net.bridge.bridge-nf-call-iptables"),
            nf_call_ip6tables: read("net.bridge.bridge-nf-call-ip6tables"),
        },
        routes: main_routes(&mut nl)?,
        links: view.links,
        dns: dns::gather(&mut engine),
        networks,
        containers,
        ops,
        ruleset,
        expected,
        expected_elements,
        elements,
        forwarding_changes,
    })
}

/// The namespace pin files under `dir`, with whether each is pinned.
fn pins(dir: &Path) -> Vec<(String, bool)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, bool)> = entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, netns::is_pinned(&e.path()))
        })
        .collect();
    out.sort();
    out
}
