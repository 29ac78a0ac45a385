//! Network drivers (pure planning), one module each: [`bridge`],
//! [`macvlan`], [`ipvlan`] and [`overlay`] (one network across hosts
//! sharing a cluster store). Each is a [`Driver`]: what differs between
//! them — the options a network takes, its kernel objects on this host, a
//! container's interface on it — and nothing else; the engine runs the
//! same operations for all (`engine/run.rs`). `host` and `none` have no
//! driver: no kernel objects, no endpoints.

pub mod bridge;
pub mod ipvlan;
pub mod macvlan;
pub mod overlay;
pub mod overlay_records;
pub mod overlay_remote;

use crate::error::{Error, Result};
use crate::model::{Driver as ModelDriver, Endpoint, Network};
use crate::plan::{Plan, Step};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// Driver option names (`-o KEY=VALUE`) and internal option keys.
pub mod opts {
    /// Parent link of macvlan/ipvlan networks.
    pub const PARENT: &str = "parent";
    /// macvlan mode: bridge, private, vepa, passthru.
    pub const MACVLAN_MODE: &str = "macvlan_mode";
    /// ipvlan mode: l2, l3, l3s.
    pub const IPVLAN_MODE: &str = "ipvlan_mode";
    /// A macvlan of the host on the parent, so the host reaches its containers.
    pub const HOST_SHIM: &str = "host_shim";
    /// MTU.
    pub const MTU: &str = crate::model::network::opt::MTU;
    /// Set by berth when it created the parent's VLAN sub-interface (and so
    /// removes it with the network).
    pub const VLAN_CREATED: &str = "berth.vlan_created";
    /// The VXLAN id of an overlay network (Docker's key).
    pub const VNI: &str = "com.docker.network.driver.overlay.vxlanid_list";
}

/// What differs between network drivers.
pub trait Driver: Sync {
    /// Checks a network's options (`-o KEY=VALUE`): names the first one
    /// the driver does not know.
    fn validate(&self, options: &BTreeMap<String, String>) -> Result<()>;

    /// The kernel objects of network `net` on this host, in apply order
    /// (its undo takes them down).
    fn network_plan(&self, net: &Network) -> Plan;

    /// The step giving endpoint `e` its interface in namespace `ns`, with
    /// default routes via `gateways`.
    fn join_step(&self, ns: &Path, e: &Endpoint, net: &Network, gateways: &[IpAddr]) -> Step;

    /// The step taking endpoint `e`'s interface out of a running container
    /// (namespace `ns`).
    fn leave_step(&self, ns: &Path, e: &Endpoint) -> Step;
}

/// The driver of networks of kind `kind`; `None` for `host` and `none`.
pub fn of(kind: ModelDriver) -> Option<&'static dyn Driver> {
    match kind {
        ModelDriver::Bridge => Some(&bridge::Bridge),
        ModelDriver::Macvlan => Some(&macvlan::Macvlan),
        ModelDriver::Ipvlan => Some(&ipvlan::Ipvlan),
        ModelDriver::Overlay => Some(&overlay::Overlay),
        ModelDriver::Host | ModelDriver::Null => None,
    }
}

/// The kernel objects of network `net` (none for `host` and `none`).
pub fn network_plan(net: &Network) -> Plan {
    of(net.driver).map_or_else(Plan::default, |d| d.network_plan(net))
}

/// Endpoint `e`'s interface on `net` in namespace `ns`.
pub fn join_step(ns: &Path, e: &Endpoint, net: &Network, gateways: &[IpAddr]) -> Step {
    of(net.driver)
        .unwrap_or(&bridge::Bridge)
        .join_step(ns, e, net, gateways)
}

/// Taking endpoint `e`'s interface on `net` out of namespace `ns`.
pub fn leave_step(ns: &Path, e: &Endpoint, net: &Network) -> Step {
    of(net.driver).unwrap_or(&bridge::Bridge).leave_step(ns, e)
}

/// Refuses published ports on macvlan and ipvlan networks: their
/// containers are on the LAN at their own address, with nothing to forward.
pub fn check_publish(nets: &[Network]) -> Result<()> {
    match nets
        .iter()
        .find(|n| matches!(n.driver, ModelDriver::Macvlan | ModelDriver::Ipvlan))
    {
        Some(n) => Err(Error::invalid(format!(
            "cannot publish ports on {} network {}: its containers have their own address on the parent's LAN, reachable directly at any port; drop -p",
            n.driver.as_str(),
            n.name
        ))),
        None => Ok(()),
    }
}
