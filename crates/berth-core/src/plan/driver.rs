//! The steps of the macvlan, ipvlan and overlay drivers (plain data, like
//! every [`super::Step`]): sub-interfaces of a parent link, VLAN
//! sub-interfaces, the host shim's routes, VXLAN devices and the static
//! forwarding and neighbour entries of remote containers. Applied by
//! `apply_driver.rs`.

use super::Step;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

/// One kernel change of a macvlan, ipvlan or overlay network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DriverStep {
    /// Create a macvlan (`kind` "macvlan") or ipvlan ("ipvlan") link `name`
    /// on host link `parent` in `mode`: inside the namespace `netns` (a
    /// container's) or, without one, in the host (the macvlan host shim);
    /// configured with `addrs` and default routes via `gateways`.
    /// Undo: [`DriverStep::DeleteSubLink`].
    CreateSubLink {
        /// "macvlan" or "ipvlan".
        kind: String,
        /// The mode, as Docker spells it (bridge, private, l2, l3, ...).
        mode: String,
        /// Parent link in the host.
        parent: String,
        /// Name of the new link.
        name: String,
        /// Namespace pin of a container; `None` = the host.
        netns: Option<PathBuf>,
        /// MTU (`None`: the parent's).
        mtu: Option<u32>,
        /// MAC address (macvlan only).
        mac: Option<String>,
        /// Addresses with prefix.
        addrs: Vec<IpNet>,
        /// Default gateways.
        gateways: Vec<IpAddr>,
    },
    /// Delete link `name` in `netns` (a container's) or the host. Gone is
    /// fine. Undo: none.
    DeleteSubLink {
        /// Link name.
        name: String,
        /// Namespace pin; `None` = the host.
        netns: Option<PathBuf>,
    },
    /// Create the 802.1Q sub-interface `name` (VLAN `id`) of `parent`, up.
    /// Undo: delete it.
    CreateVlan {
        /// Parent link.
        parent: String,
        /// Sub-interface name (`parent.id`).
        name: String,
        /// VLAN id.
        id: u16,
    },
    /// Route `dst` out of host link `dev` (scope link, source `src`).
    /// Undo: [`DriverStep::DeleteRoute`].
    AddRoute {
        /// Destination.
        dst: IpNet,
        /// Link in the host.
        dev: String,
        /// Preferred source address.
        src: Option<IpAddr>,
    },
    /// Delete the route to `dst` out of `dev`; gone is fine. Undo: none.
    DeleteRoute {
        /// Destination.
        dst: IpNet,
        /// Link in the host.
        dev: String,
    },
    /// Create VXLAN device `name` (VNI `vni`, local tunnel endpoint
    /// `local` on underlay link `underlay`) as a port of `bridge`.
    /// Undo: delete it.
    CreateVxlan {
        /// Device name.
        name: String,
        /// VXLAN network identifier.
        vni: u32,
        /// This host's tunnel endpoint.
        local: std::net::Ipv4Addr,
        /// Underlay link carrying `local`.
        underlay: String,
        /// MTU.
        mtu: u32,
        /// The overlay network's bridge.
        bridge: String,
    },
    /// Add (or with `add` false, delete) the static forwarding entry
    /// `mac` -> tunnel endpoint `vtep` on VXLAN device `dev`, and the
    /// neighbour entry `ip` -> `mac` it answers ARP with. Undo: the opposite.
    Remote {
        /// VXLAN device.
        dev: String,
        /// The remote container's address.
        ip: IpAddr,
        /// Its MAC address.
        mac: String,
        /// Its host's tunnel endpoint.
        vtep: IpAddr,
        /// Add or delete.
        add: bool,
    },
    /// Set host link `name` up (`up`) or down: an overlay endpoint whose
    /// address the cluster store gives to another host is cut off until
    /// the conflict is over. A link that is gone is fine. Undo: none.
    LinkState {
        /// Link in the host.
        name: String,
        /// Up, else down.
        up: bool,
    },
}

impl DriverStep {
    /// The step's kind, for traces and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            DriverStep::CreateSubLink { .. } => "create_sublink",
            DriverStep::DeleteSubLink { .. } => "delete_sublink",
            DriverStep::CreateVlan { .. } => "create_vlan",
            DriverStep::AddRoute { .. } => "add_route",
            DriverStep::DeleteRoute { .. } => "delete_route",
            DriverStep::CreateVxlan { .. } => "create_vxlan",
            DriverStep::Remote { .. } => "remote",
            DriverStep::LinkState { .. } => "link_state",
        }
    }

    /// The step that reverts this one, if any.
    pub fn undo(&self) -> Option<Step> {
        match self {
            DriverStep::CreateSubLink { name, netns, .. } => {
                Some(Step::Driver(DriverStep::DeleteSubLink {
                    name: name.clone(),
                    netns: netns.clone(),
                }))
            }
            DriverStep::CreateVlan { name, .. } | DriverStep::CreateVxlan { name, .. } => {
                Some(Step::DeleteLink { name: name.clone() })
            }
            DriverStep::AddRoute { dst, dev, .. } => Some(Step::Driver(DriverStep::DeleteRoute {
                dst: *dst,
                dev: dev.clone(),
            })),
            DriverStep::Remote {
                dev,
                ip,
                mac,
                vtep,
                add,
            } => Some(Step::Driver(DriverStep::Remote {
                dev: dev.clone(),
                ip: *ip,
                mac: mac.clone(),
                vtep: *vtep,
                add: !add,
            })),
            DriverStep::DeleteSubLink { .. }
            | DriverStep::DeleteRoute { .. }
            | DriverStep::LinkState { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    #[test]
    fn driver_steps_round_trip_and_undo() {
        let plan = Plan {
            steps: vec![
                Step::Driver(DriverStep::CreateVlan {
                    parent: "eth0".into(),
                    name: "eth0.10".into(),
                    id: 10,
                }),
                Step::Driver(DriverStep::CreateSubLink {
                    kind: "macvlan".into(),
                    mode: "bridge".into(),
                    parent: "eth0.10".into(),
                    name: "eth0".into(),
                    netns: Some("/run/berth/netns/x".into()),
                    mtu: None,
                    mac: Some("02:42:c6:33:64:40".into()),
                    addrs: vec!["198.51.100.64/24".parse().expect("net")],
                    gateways: vec!["198.51.100.1".parse().expect("ip")],
                }),
            ],
        };
        let back = Plan::from_json(&plan.to_json()).unwrap();
        assert_eq!(back, plan);
        let undo = plan.undo();
        assert_eq!(
            undo.steps,
            vec![
                Step::Driver(DriverStep::DeleteSubLink {
                    name: "eth0".into(),
                    netns: Some("/run/berth/netns/x".into()),
                }),
                Step::DeleteLink {
                    name: "eth0.10".into()
                },
            ]
        );
    }
}
