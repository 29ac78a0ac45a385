//! Scenarios of the networks of other drivers: an overlay network of the
//! cluster attached to and detached from this host (the cluster store
//! itself is not involved: these are the local operations), and a macvlan
//! network on a VLAN sub-interface.

use super::harness::{Scenario, World};
use crate::drivers::overlay;
use crate::kernel::vxlan::Underlay;
use crate::model::{IpamConfig, NetworkCreate};
use crate::plan::OpKind;
use crate::Result;

/// Realises overlay network `ov` (10.77.0.0/24) on this host.
fn attach(w: &mut World) -> Result<()> {
    let req = NetworkCreate {
        name: "ov".into(),
        driver: "overlay".into(),
        ..Default::default()
    };
    let subnet = "10.77.0.0/24".parse().expect("subnet");
    let ipam = vec![IpamConfig {
        subnet,
        gateway: crate::ipam::first_host(&subnet),
        ip_range: None,
        aux: Default::default(),
        range_start: None,
        range_end: None,
    }];
    let id = crate::ids::new_id()?;
    let net = overlay::plan_network(&req, &id, overlay::FIRST_VNI, ipam, 1500)?;
    let under = Underlay {
        addr: "192.0.2.10".parse().expect("ip"),
        link: "eth0".into(),
        mtu: 1500,
    };
    w.engine.realize_overlay(&net, &under).map(drop)
}

/// Takes overlay network `ov` down here (it left the cluster).
fn detach(w: &mut World) -> Result<()> {
    let net = w.engine.network("ov")?;
    w.engine.remove_network_op(OpKind::OverlayDetach, &net)
}

fn nothing(_: &mut World) {}

/// The scenarios.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "overlay attach",
            kind: OpKind::OverlayAttach,
            prelude: nothing,
            setup: nothing,
            run: attach,
            steps: &[
                "create_bridge",
                "sysctl",
                "sysctl",
                "sysctl",
                "create_vxlan",
                "elements",
            ],
        },
        Scenario {
            name: "overlay detach",
            kind: OpKind::OverlayDetach,
            prelude: nothing,
            setup: |w| attach(w).expect("attach"),
            run: detach,
            steps: &["elements", "delete_link", "delete_link"],
        },
        Scenario {
            name: "network create -d macvlan (VLAN parent)",
            kind: OpKind::CreateNetwork,
            prelude: nothing,
            setup: nothing,
            run: |w| {
                let req = NetworkCreate {
                    name: "lan".into(),
                    driver: "macvlan".into(),
                    subnets: vec!["198.51.100.0/24".into()],
                    options: vec!["parent=eth0.10".into()],
                    ..Default::default()
                };
                w.engine.create_network(&req).map(drop)
            },
            steps: &["create_vlan"],
        },
    ]
}
