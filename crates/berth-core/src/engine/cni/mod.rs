//! berth as a CNI plugin: the engine's side of ADD, DEL, CHECK, GC and
//! STATUS (the protocol is the `berth-cni` crate's, the process glue the
//! `berth` binary's `cni` module).
//!
//! An attachment is an ordinary berth container record (see
//! [`CniAttachment`]): named `NETWORK:CONTAINERID:IFNAME`, with one
//! endpoint, its published ports in the shared `ports` table, no process of
//! berth's, and the runtime's namespace instead of one pinned by berth. So
//! `berth network inspect` and `berth ps` list it, addresses and host ports
//! are allocated from the same store as `berth run`'s, and the same
//! isolation, NAT and published-port elements apply. berth never creates or
//! deletes the runtime's namespace: ADD creates the veth with its peer
//! directly inside it, DEL deletes the host end (the peer goes with it).
//!
//! The operations follow the engine's usual shape: plan (pure), record the
//! plan as an op (`create` for ADD, `remove` for DEL and GC, so a crashed
//! plugin is rolled back or forward by the next berth command like any
//! other), apply, commit.

mod add;
mod check;
mod lock;
mod network;
mod overlay;
mod reap;

#[cfg(test)]
pub(crate) use reap::BATCH as REAP_BATCH;

/// Takes attachment (`container_id`, `ifname`)'s lock, as a DEL does: for
/// tests of what waits for it.
#[cfg(test)]
pub(crate) fn lock_for_tests(
    paths: &crate::paths::Paths,
    container_id: &str,
    ifname: &str,
) -> AttachmentLock {
    AttachmentLock::take(paths, container_id, ifname).expect("lock")
}
mod remove;

pub use check::Status;
pub(crate) use lock::AttachmentLock;

use super::Engine;
use crate::error::Error;
use crate::firewall::PortRule;
use crate::model::{Container, Endpoint, Network};
use crate::plan::{Plan, Step};
use std::path::{Path, PathBuf};

/// Why a CNI operation failed, in the terms the protocol's error codes need.
#[derive(Debug, thiserror::Error)]
pub enum CniFailure {
    /// Anything the engine reports (its kind says invalid input, conflict...).
    #[error(transparent)]
    Engine(#[from] Error),
    /// `CNI_NETNS` is not a network namespace berth may use.
    #[error("{0}")]
    BadNetns(String),
    /// CHECK: the attachment or its namespace does not exist.
    #[error("{0}")]
    UnknownContainer(String),
    /// CHECK: the attachment differs from what ADD made.
    #[error("{0}")]
    Drift(String),
    /// The network exists with settings other than the configuration's.
    #[error("{0}")]
    Settings(String),
    /// A transient condition (the network is being created or removed).
    #[error("{0}")]
    TryAgain(String),
    /// STATUS: berth cannot serve ADD.
    #[error("{0}")]
    NotAvailable(String),
    /// STATUS: not available, and attached containers may be cut off.
    #[error("{0}")]
    LimitedConnectivity(String),
}

/// Result of a CNI operation.
pub type CniResult<T> = std::result::Result<T, CniFailure>;

/// What ADD made, for the result the runtime gets.
#[derive(Debug, Clone)]
pub struct CniAdded {
    /// The network.
    pub network: Network,
    /// The container record.
    pub container: Container,
    /// Its endpoint (addresses, MAC, host veth).
    pub endpoint: Endpoint,
    /// Routes made in the container: destination and next hop.
    pub routes: Vec<(ipnet::IpNet, std::net::IpAddr)>,
    /// MAC of the bridge.
    pub bridge_mac: Option<String>,
    /// MAC of the host end of the veth.
    pub host_mac: Option<String>,
}

impl Engine {
    /// The network namespace of container `c`: the runtime's for a CNI
    /// attachment, berth's pin otherwise.
    pub fn netns_path(&self, c: &Container) -> PathBuf {
        match &c.cni {
            Some(a) => a.netns.clone(),
            None => self.paths.netns(&c.id),
        }
    }

    /// The container record of attachment (`network`, `container_id`,
    /// `ifname`), if any.
    pub fn cni_record(
        &mut self,
        network: &str,
        container_id: &str,
        ifname: &str,
    ) -> crate::Result<Option<Container>> {
        let name = crate::model::cni::record_name(network, container_id, ifname);
        let c = self.store.read(|tx| tx.container(&name))?;
        Ok(c.filter(|c| c.cni.is_some() && c.name == name))
    }
}

/// Times the phases of a CNI operation (at the `info` level of `tracing`)
/// when `Config::trace_steps` is on (the runner times each step of the
/// plan the same way).
pub(crate) struct Clock {
    on: bool,
    last: std::time::Instant,
    /// What is timed (`cni`, `run`, `overlay`).
    of: &'static str,
}

impl Clock {
    pub(crate) fn new(on: bool) -> Clock {
        Clock::of("cni", on)
    }

    /// A clock of operation `of` (the prefix of what it prints).
    pub(crate) fn of(of: &'static str, on: bool) -> Clock {
        Clock {
            on,
            last: std::time::Instant::now(),
            of,
        }
    }

    /// Prints the time since the previous lap.
    pub(crate) fn lap(&mut self, what: &str) {
        if self.on {
            let now = std::time::Instant::now();
            tracing::info!("{} {what} took {:?}", self.of, now - self.last);
            self.last = now;
        }
    }
}

/// Refuses `what` (start, connect...) on a container attached by a CNI
/// runtime: the runtime owns its lifecycle (ADD and DEL).
pub(crate) fn refuse(c: &Container, what: &str) -> crate::Result<()> {
    match &c.cni {
        None => Ok(()),
        Some(a) if a.docker => Err(Error::invalid(format!(
            "cannot {what} {}: it is Docker's (endpoint {} on network {}, made through 'berth docker-plugin'): use docker's commands ('docker network connect/disconnect', 'docker rm -f')",
            c.name,
            crate::ids::short(&a.container_id),
            a.network
        ))),
        Some(a) => Err(Error::invalid(format!(
            "cannot {what} {}: it was attached by a CNI runtime (container {} on network {}), which adds and deletes it",
            c.name, a.container_id, a.network
        ))),
    }
}

/// The plan detaching a CNI container: its elements leave berth's maps
/// (the port stops forwarding), then the host end of each veth is deleted
/// (the peer in the runtime's namespace goes with it; the namespace stays).
pub(crate) fn teardown_plan(c: &Container, eps: &[Endpoint], nets: &[Network]) -> Plan {
    let mut steps = Vec::new();
    steps.extend(super::container::unports_step(c, eps, nets));
    let netns = c.cni.as_ref().map(|a| a.netns.clone()).unwrap_or_default();
    steps.extend(eps.iter().map(|e| Step::RetireVeth {
        name: e.host_veth.clone(),
        owner: e.id.clone(),
        netns: netns.clone(),
        keep_peer: false,
    }));
    let shaped = c.cni.as_ref().and_then(|a| a.shaping);
    if shaped.is_some_and(|s| s.egress.0 > 0) {
        steps.extend(eps.iter().map(|e| Step::DeleteLink {
            name: crate::kernel::tc::ifb_name(&e.host_veth),
        }));
    }
    Plan { steps }
}

/// The published-port elements of a container, to probe them (CHECK).
pub(crate) fn port_rules(c: &Container, eps: &[Endpoint], nets: &[Network]) -> Vec<PortRule> {
    match super::container::primary(eps, nets) {
        Some(p) => {
            super::ports::rules(&c.ports, p.ipv4.map(|n| n.addr()), p.ipv6.map(|n| n.addr()))
        }
        None => Vec::new(),
    }
}

impl Engine {
    /// Checks that `path` is a network namespace other than the caller's
    /// own (a veth peer, addresses and a default route put in the host's
    /// namespace by mistake would break the host).
    pub(crate) fn check_netns(&self, path: &Path) -> CniResult<()> {
        let bad = |why: String| Err(CniFailure::BadNetns(why));
        if let Err(e) = std::fs::metadata(path) {
            return bad(format!("CNI_NETNS={}: {e}", path.display()));
        }
        if !self.kernel.pinned(path) {
            return bad(format!(
                "CNI_NETNS={} is not a network namespace (expected /run/netns/NAME or /proc/PID/ns/net)",
                path.display()
            ));
        }
        if self.kernel.own_netns(path) {
            return bad(format!(
                "CNI_NETNS={} is the plugin's own network namespace: berth only configures a container's",
                path.display()
            ));
        }
        Ok(())
    }
}
