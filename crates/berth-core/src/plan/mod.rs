//! Plans: the kernel changes one operation needs, as plain data.
//!
//! A [`Plan`] is computed purely from the request, the store and the host
//! facts; it is recorded in the store (the intent) before anything is
//! applied. Every [`Step`] has an idempotent undo, so a failed or crashed
//! operation is rolled back by undoing its whole plan in reverse — whether
//! the failure happened in this process or the process was killed and a
//! later `berth` finds the record (see `engine::reconcile`). The steps are
//! applied by the kernel layer (`kernel::apply`), in the order and with
//! the rollback the engine's runner decides (`engine/run.rs`).

use crate::error::Result;
use crate::firewall::Element;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::PathBuf;

mod driver;
mod names;
mod op;
pub use driver::DriverStep;
pub use names::NameOwner;
pub use op::{OpKind, Recovery};

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
        /// The endpoint's id, written as the host end's alias
        /// ([`veth_alias`]): a link of that name is deleted only when it
        /// carries this alias (empty in plans recorded before aliases).
        #[serde(default)]
        owner: String,
    },
    /// Set and map elements of berth's tables: `remove` taken out
    /// (whether there or not), then `add` put in, in one transaction.
    /// Undo: the opposite change. Elements of retired sets, in plans
    /// recorded by earlier versions, are dropped when the plan is read.
    Elements {
        /// Removed first.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            deserialize_with = "crate::firewall::current_elements"
        )]
        remove: Vec<Element>,
        /// Then added.
        #[serde(
            default,
            skip_serializing_if = "Vec::is_empty",
            deserialize_with = "crate::firewall::current_elements"
        )]
        add: Vec<Element>,
    },
    /// An nftables transaction as `nft -f` text: the form of element
    /// changes in plans recorded before elements were typed (applied
    /// through libnftables). Undo: the `undo` transaction.
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
    /// Delete the host end `name` of an endpoint's veth (the peer goes with
    /// it), only if it is that endpoint's: its alias is
    /// [`veth_alias`]`(owner)`, or it has no alias (made by a berth from
    /// before aliases, or by one killed before it set it) and its peer is
    /// in `netns`. Anything else of that name is left alone (an error).
    /// Missing is fine. Undo: none.
    DeleteVeth {
        /// Link name.
        name: String,
        /// The endpoint's id.
        owner: String,
        /// The namespace the peer is in (the container's).
        netns: PathBuf,
    },
    /// Take the host end `name` of an endpoint's veth out of service at
    /// once, leaving its deletion to a reaper (`kernel::retire`): the
    /// container end is set down and renamed out of the way of a new
    /// interface of its name (unless `keep_peer`), the host end is set
    /// down, taken off its bridge and put in berth's retired link group.
    /// The reaper deletes every retired link in one batch, which waits for
    /// the kernel's grace period once instead of once per veth. Same
    /// ownership rule as [`Step::DeleteVeth`]; missing is fine. Undo: none.
    RetireVeth {
        /// Link name.
        name: String,
        /// The endpoint's id.
        owner: String,
        /// The namespace the peer is in (the container's).
        netns: PathBuf,
        /// The container end is left as it is until the reaper deletes the
        /// pair: it carries nothing once the host end is down (its carrier
        /// is off), and a veth creation that finds its name taken by it
        /// frees the name then (`kernel::apply::veth`). For namespaces
        /// only berth adds interfaces to (`network disconnect`); a
        /// runtime's (CNI DEL) gets its interface name back at once.
        /// Absent in plans recorded before it: the container end renamed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_peer: bool,
    },
    /// Unpin a namespace (teardown), first ending every process still in
    /// it (`kernel::netns::end_processes`). Undo: none.
    RemoveNetns {
        /// The pin file.
        path: PathBuf,
    },
    /// Unpin the namespace of a container whose namespace other running
    /// containers share (`--network container:NAME`): their processes stay
    /// in it (Docker's behaviour); its own interfaces were deleted by the
    /// steps before. Undo: none.
    UnpinNetns {
        /// The pin file.
        path: PathBuf,
    },
    /// Write sysctls inside a container's network namespace (`--sysctl`,
    /// an endpoint's `com.docker.network.endpoint.sysctls`), from berth's
    /// process (the container's own `/proc/sys` is read-only). Every key
    /// must exist there. Undo: none (they go with the namespace or the
    /// interface).
    NetnsSysctls {
        /// The container's namespace pin file.
        netns: PathBuf,
        /// Keys and values, in order.
        settings: Vec<(String, String)>,
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
        owner: NameOwner,
    },
    /// Remove a namespace name made by [`Step::NameNetns`] (only if `owner`
    /// owns it). Undo: none.
    UnnameNetns {
        /// The entry.
        link: PathBuf,
        /// Who the entry belongs to.
        owner: NameOwner,
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
        /// With a metric the routes are added beside existing routes to the
        /// same destinations (Podman's default routes, one per network);
        /// without, they replace them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metric: Option<u32>,
    },
    /// Bring `lo` up in a runtime's namespace (netavark does; a CNI runtime
    /// runs the `loopback` plugin instead). Undo: none.
    LoopbackUp {
        /// The runtime's namespace.
        netns: PathBuf,
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
    /// True for a change of berth's set and map elements.
    pub fn is_firewall(&self) -> bool {
        matches!(self, Step::Elements { .. } | Step::Nft { .. })
    }

    /// The step's kind, for traces and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::CreateBridge { .. } => "create_bridge",
            Step::Sysctl { .. } => "sysctl",
            Step::CreateNetns { .. } => "create_netns",
            Step::CreateVeth { .. } => "create_veth",
            Step::Elements { .. } => "elements",
            Step::Nft { .. } => "nft",
            Step::DeleteLink { .. } => "delete_link",
            Step::DeleteVeth { .. } => "delete_veth",
            Step::RetireVeth { .. } => "retire_veth",
            Step::RemoveNetns { .. } => "remove_netns",
            Step::UnpinNetns { .. } => "unpin_netns",
            Step::NetnsSysctls { .. } => "netns_sysctls",
            Step::AttachPort { .. } => "attach_port",
            Step::DefaultRoutes { .. } => "default_routes",
            Step::Routes { .. } => "routes",
            Step::LoopbackUp { .. } => "loopback_up",
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

    /// Parses a recorded plan. A record that does not parse (damaged, or
    /// written by a newer berth with steps this one does not know) is an
    /// error, never an empty plan: recovering "nothing" and forgetting the
    /// record would leak whatever the operation made.
    pub fn from_json(s: &str) -> Result<Plan> {
        serde_json::from_str(s).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::Store,
                format!("the recorded plan does not parse ({e})"),
            )
        })
    }

    /// Whether the plan retires veths (a reaper must then delete them,
    /// see `kernel::retire`).
    pub fn retires(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::RetireVeth { .. }))
    }

    /// Whether the plan takes firewall elements out (the kernel frees them
    /// after a grace period, which the netfilter socket's last close waits
    /// for).
    pub fn removes_elements(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Elements { remove, .. } if !remove.is_empty()))
    }

    /// Whether the plan removes a namespace (its release waits for the
    /// kernel when its descriptor closes, see `kernel::apply`).
    pub fn removes_netns(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::RemoveNetns { .. }))
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
                Step::CreateVeth { host, owner, .. } if owner.is_empty() => {
                    Some(Step::DeleteLink { name: host.clone() })
                }
                Step::CreateVeth {
                    host, owner, netns, ..
                } => Some(Step::DeleteVeth {
                    name: host.clone(),
                    owner: owner.clone(),
                    netns: netns.clone(),
                }),
                Step::Shape { host, shaping } if shaping.egress.0 > 0 => Some(Step::DeleteLink {
                    name: ifb_name(host),
                }),
                Step::NameNetns { link, owner, .. } => Some(Step::UnnameNetns {
                    link: link.clone(),
                    owner: owner.clone(),
                }),
                Step::Elements { remove, add } if !(remove.is_empty() && add.is_empty()) => {
                    Some(Step::Elements {
                        remove: add.clone(),
                        add: remove.clone(),
                    })
                }
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

/// The ifb device carrying the traffic out of a container whose veth's
/// host end is `host` (CNI `bandwidth`, see `kernel::tc`): `bwb` and the
/// host end's suffix.
pub fn ifb_name(host: &str) -> String {
    format!("bwb{}", host.strip_prefix("veth").unwrap_or(host))
}

/// The alias berth gives the host end of endpoint `owner`'s veth
/// (`ip -d link` shows it): how a link is recognised as that endpoint's
/// before berth deletes it.
pub fn veth_alias(owner: &str) -> String {
    format!("berth:{owner}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_that_does_not_parse_is_an_error_not_an_empty_plan() {
        let plan = Plan {
            steps: vec![Step::RemoveNetns {
                path: "/run/berth/netns/x".into(),
            }],
        };
        assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
        for bad in [
            "",
            "{\"steps\": [",
            "{\"steps\": [{\"step\": \"teleport\"}]}",
            "\u{0}\u{1}garbage",
        ] {
            let e = Plan::from_json(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Store, "{bad:?}");
            assert!(e.to_string().contains("does not parse"), "{e}");
        }
        // Plans recorded before aliases (no `owner`) still parse.
        let old = r#"{"steps":[{"step":"create_veth","host":"veth1234567","peer":"eth0","netns":"/x","bridge":"berth0","mtu":1500,"mac":"02:42:ac:11:00:02","addrs":["172.17.0.2/16"],"gateways":["172.17.0.1"]}]}"#;
        let p = Plan::from_json(old).unwrap();
        assert!(matches!(&p.steps[0], Step::CreateVeth { owner, .. } if owner.is_empty()));
        assert!(matches!(&p.undo().steps[0], Step::DeleteLink { name } if name == "veth1234567"));
    }

    #[test]
    fn a_retirement_recorded_before_keep_peer_renames_the_container_end() {
        let old =
            r#"{"steps":[{"step":"retire_veth","name":"veth1234567","owner":"e1","netns":"/x"}]}"#;
        let p = Plan::from_json(old).unwrap();
        assert!(matches!(
            &p.steps[0],
            Step::RetireVeth {
                keep_peer: false,
                ..
            }
        ));
        // Recorded as before when false (an older berth reads it the same).
        assert_eq!(p.to_json(), old);
        let kept = Plan {
            steps: vec![Step::RetireVeth {
                name: "veth1234567".into(),
                owner: "e1".into(),
                netns: "/x".into(),
                keep_peer: true,
            }],
        };
        assert!(kept.to_json().contains(r#""keep_peer":true"#));
        assert_eq!(Plan::from_json(&kept.to_json()).unwrap(), kept);
    }
}
