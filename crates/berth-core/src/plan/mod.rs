//! Plans: the kernel changes one operation needs, as plain data, and the
//! executor that applies them.
//!
//! A [`Plan`] is computed purely from the request, the store and the host
//! facts; it is recorded in the store (the intent) before anything is
//! applied. Every [`Step`] has an idempotent undo, so a failed or crashed
//! operation is rolled back by undoing its whole plan in reverse — whether
//! the failure happened in this process or the process was killed and a
//! later `berth` finds the record (see `engine::reconcile`).

use crate::error::Result;
use crate::kernel::{msg, netns, netns_names, Netlink};
use crate::{failpoint, kernel};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;

mod apply;
mod apply_driver;
mod driver;
pub use apply::Applier;
pub use driver::DriverStep;

/// One kernel change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Create a bridge with addresses, up. Undo: delete it.
    CreateBridge {
        /// Bridge name.
        name: String,
        /// MTU.
        mtu: u32,
        /// Gateway addresses with prefix.
        addrs: Vec<IpNet>,
    },
    /// Set a sysctl of the host namespace (an IPv6 one only where the host
    /// has IPv6). Undo: none (recorded separately).
    Sysctl {
        /// Key, e.g. `net.ipv4.ip_forward`.
        key: String,
        /// Value.
        value: String,
    },
    /// Create a pinned network namespace. Undo: unpin and remove.
    CreateNetns {
        /// The pin file.
        path: PathBuf,
    },
    /// Create a veth pair: host end on `bridge`, peer `peer` inside `netns`,
    /// configured with `addrs` and default routes via `gateways`.
    /// Undo: delete the host end (the peer goes with it).
    CreateVeth {
        /// Host end name.
        host: String,
        /// Name inside the container.
        peer: String,
        /// The container's namespace pin file.
        netns: PathBuf,
        /// Bridge to attach to.
        bridge: String,
        /// MTU.
        mtu: u32,
        /// MAC of the container end.
        mac: String,
        /// Container addresses with prefix.
        addrs: Vec<IpNet>,
        /// Default gateways (empty when this is not the default route network).
        gateways: Vec<IpAddr>,
    },
    /// An nftables transaction. Undo: the `undo` transaction.
    Nft {
        /// Commands to apply.
        apply: String,
        /// Commands that revert them (idempotent).
        undo: String,
    },
    /// Delete a link (teardown). Undo: none.
    DeleteLink {
        /// Link name.
        name: String,
    },
    /// Unpin a namespace (teardown). Undo: none.
    RemoveNetns {
        /// The pin file.
        path: PathBuf,
    },
    /// Make existing veth `host` a port of `bridge` again, in berth's port
    /// group, up, hairpin on (after a deleted bridge was recreated: its
    /// ports were released; or a veth older than the port group). Undo:
    /// none.
    AttachPort {
        /// Host end of the veth.
        host: String,
        /// The bridge.
        bridge: String,
    },
    /// Name a container's namespace for `ip netns` (a bind mount of its pin
    /// at `link`, see `kernel::netns_names`); a name taken by anything else
    /// is left alone with a warning. Undo: [`Step::UnnameNetns`].
    NameNetns {
        /// The container's namespace pin file.
        pin: PathBuf,
        /// The entry, `/run/netns/<container name>`.
        link: PathBuf,
        /// Who the entry belongs to.
        owner: netns_names::Owner,
    },
    /// Remove a namespace name made by [`Step::NameNetns`] (only if `owner`
    /// owns it). Undo: none.
    UnnameNetns {
        /// The entry.
        link: PathBuf,
        /// Who the entry belongs to.
        owner: netns_names::Owner,
    },
    /// Route a container's default traffic through its interface `ifname`
    /// (the network that carried it was disconnected). Undo: none.
    DefaultRoutes {
        /// The container's namespace pin file.
        netns: PathBuf,
        /// Interface inside the container.
        ifname: String,
        /// Gateways on that interface's network.
        gateways: Vec<IpAddr>,
    },
    /// Routes (other than default routes) through a container interface
    /// (a CNI configuration's `routes`). Undo: none (they go with the veth).
    Routes {
        /// The container's namespace.
        netns: PathBuf,
        /// Interface inside the container.
        ifname: String,
        /// Destination and next hop of each route.
        routes: Vec<(IpNet, IpAddr)>,
    },
    /// Limit the traffic of a veth with `tc` (CNI `bandwidth`): into the
    /// container on the host end's egress, out of it through an ifb device
    /// (see `kernel::tc`). Undo: delete the ifb (the qdiscs on the veth go
    /// with it).
    Shape {
        /// Host end of the veth.
        host: String,
        /// The limits.
        shaping: crate::model::cni::Shaping,
    },
    /// A step of the macvlan, ipvlan or overlay driver (see [`DriverStep`]).
    Driver(DriverStep),
}

impl Step {
    /// The step's kind, for traces and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::CreateBridge { .. } => "create_bridge",
            Step::Sysctl { .. } => "sysctl",
            Step::CreateNetns { .. } => "create_netns",
            Step::CreateVeth { .. } => "create_veth",
            Step::Nft { .. } => "nft",
            Step::DeleteLink { .. } => "delete_link",
            Step::RemoveNetns { .. } => "remove_netns",
            Step::AttachPort { .. } => "attach_port",
            Step::DefaultRoutes { .. } => "default_routes",
            Step::Routes { .. } => "routes",
            Step::Shape { .. } => "shape",
            Step::NameNetns { .. } => "name_netns",
            Step::UnnameNetns { .. } => "unname_netns",
            Step::Driver(d) => d.kind(),
        }
    }
}

/// An ordered list of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Steps in apply order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// The plan as JSON, as recorded in the store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a recorded plan.
    pub fn from_json(s: &str) -> Plan {
        serde_json::from_str(s).unwrap_or_default()
    }

    /// The plan that reverts this one: each step's undo, in reverse order.
    pub fn undo(&self) -> Plan {
        let steps = self
            .steps
            .iter()
            .rev()
            .filter_map(|s| match s {
                Step::CreateBridge { name, .. } => Some(Step::DeleteLink { name: name.clone() }),
                Step::CreateNetns { path } => Some(Step::RemoveNetns { path: path.clone() }),
                Step::CreateVeth { host, .. } => Some(Step::DeleteLink { name: host.clone() }),
                Step::Shape { host, shaping } if shaping.egress.0 > 0 => Some(Step::DeleteLink {
                    name: kernel::tc::ifb_name(host),
                }),
                Step::NameNetns { link, owner, .. } => Some(Step::UnnameNetns {
                    link: link.clone(),
                    owner: owner.clone(),
                }),
                Step::Nft { undo, .. } if !undo.is_empty() => Some(Step::Nft {
                    apply: undo.clone(),
                    undo: String::new(),
                }),
                Step::Driver(d) => d.undo(),
                _ => None,
            })
            .collect();
        Plan { steps }
    }
}

/// Handles to namespaces opened while applying, and which of them this
/// applier created (their IPv6 defaults are berth's, see `netns::create`).
#[derive(Default)]
pub(crate) struct NsCache {
    map: HashMap<PathBuf, (File, Netlink)>,
    made: std::collections::HashSet<PathBuf>,
}

impl NsCache {
    pub(crate) fn get(&mut self, path: &PathBuf) -> Result<&mut (File, Netlink)> {
        if !self.map.contains_key(path) {
            let f = netns::open(path)?;
            let nl = Netlink::open_in(&f)?;
            self.map.insert(path.clone(), (f, nl));
        }
        self.map
            .get_mut(path)
            .ok_or_else(|| crate::Error::internal("namespace cache"))
    }

    pub(crate) fn insert(&mut self, path: PathBuf, file: File, nl: Netlink) {
        self.made.insert(path.clone());
        self.map.insert(path, (file, nl));
    }

    /// True when the namespace at `path` was created by this applier.
    pub(crate) fn made(&self, path: &PathBuf) -> bool {
        self.made.contains(path)
    }

    pub(crate) fn forget(&mut self, path: &PathBuf) {
        self.made.remove(path);
        self.map.remove(path);
    }
}

/// Passes the failpoint after step `i` of operation `op`.
pub(crate) fn after_step(op: &str, i: usize) {
    failpoint::hit(&format!("{op}:{i}"));
}

/// Used by `apply`: builds the requests configuring a container interface.
pub(crate) fn container_if_requests(
    index: u32,
    name: &str,
    addrs: &[IpNet],
    gateways: &[IpAddr],
) -> Vec<kernel::Request> {
    let mut reqs: Vec<kernel::Request> = addrs
        .iter()
        .map(|a| msg::add_address(index, *a, name))
        .collect();
    if addrs.iter().any(|a| a.addr().is_ipv6()) {
        reqs.push(msg::ipv6_link_local_from_mac(name));
    } else {
        reqs.push(msg::no_ipv6_link_local(name));
    }
    reqs.push(msg::link_up(name));
    reqs.extend(gateways.iter().map(|g| msg::default_route(*g, index)));
    reqs
}
