//! The drivers besides `bridge` (pure planning): [`macvlan`] (and ipvlan),
//! and [`overlay`] (one network across hosts sharing a cluster store).
//!
//! The engine asks this module, through a few hooks, for what differs from
//! a bridge network: the host-side objects of a network
//! ([`network_steps`]), a container's interface on it ([`join_step`],
//! [`leave_step`]) and whether ports may be published ([`check_publish`]).

pub mod macvlan;
pub mod overlay;
pub mod overlay_remote;

use crate::error::{Error, Result};
use crate::model::{Driver, Endpoint, Network};
use crate::plan::{DriverStep, Step};
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

/// Host-side objects of a network of a driver other than bridge, or the
/// steps an overlay network adds to its bridge: in apply order.
pub fn network_steps(net: &Network) -> Vec<Step> {
    match net.driver {
        Driver::Macvlan | Driver::Ipvlan => macvlan::network_steps(net),
        Driver::Overlay => overlay::network_steps(net),
        _ => Vec::new(),
    }
}

/// The interface of endpoint `e` on `net` in namespace `ns`, when the
/// driver does not use a veth on a bridge.
pub fn join_step(ns: &Path, e: &Endpoint, net: &Network, gateways: &[IpAddr]) -> Option<Step> {
    matches!(net.driver, Driver::Macvlan | Driver::Ipvlan)
        .then(|| macvlan::join_step(ns, e, net, gateways.to_vec()))
}

/// Removes endpoint `e`'s interface from a running container (disconnect),
/// when the driver does not use a veth on a bridge.
pub fn leave_step(ns: &Path, e: &Endpoint, net: &Network) -> Option<Step> {
    matches!(net.driver, Driver::Macvlan | Driver::Ipvlan).then(|| {
        Step::Driver(DriverStep::DeleteSubLink {
            name: e.ifname.clone(),
            netns: Some(ns.to_path_buf()),
        })
    })
}

/// Refuses published ports on macvlan and ipvlan networks: their
/// containers are on the LAN at their own address, with nothing to forward.
pub fn check_publish(nets: &[Network]) -> Result<()> {
    match nets
        .iter()
        .find(|n| matches!(n.driver, Driver::Macvlan | Driver::Ipvlan))
    {
        Some(n) => Err(Error::invalid(format!(
            "cannot publish ports on {} network {}: its containers have their own address on the parent's LAN, reachable directly at any port; drop -p",
            n.driver.as_str(),
            n.name
        ))),
        None => Ok(()),
    }
}
