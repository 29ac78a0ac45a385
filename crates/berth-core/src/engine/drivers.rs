//! Creating macvlan and ipvlan networks (the planning is in
//! `drivers::macvlan`; overlay networks are in `overlay.rs`).

use super::network::{bridge_plan, ensure_name_free, plan_ipam};
use super::Engine;
use crate::drivers::macvlan;
use crate::error::Result;
use crate::ids;
use crate::kernel::HostFacts;
use crate::model::{Driver, Network, NetworkCreate};
use crate::plan::{DriverStep, OpKind, Plan, Step};

impl Engine {
    /// `network create -d macvlan|ipvlan`: probes the kernel for the link
    /// kinds the network needs before recording anything, then records the
    /// network with its plan (the VLAN sub-interface, the host shim) and
    /// applies it; a failure leaves nothing behind.
    pub(crate) fn create_sublink_network(
        &mut self,
        req: &NetworkCreate,
        driver: Driver,
    ) -> Result<Network> {
        let subnets = req.subnet_requests()?;
        let kinds = self.kernel.link_kinds()?;
        let _lock = self.lock()?;
        let links = macvlan::links_to_check(req);
        let links: Vec<&str> = links.iter().map(String::as_str).collect();
        let facts = self.kernel.host_facts(&links, true)?;
        let id = ids::new_id()?;
        self.create_network_op(OpKind::CreateNetwork, |tx| {
            let existing = tx.networks()?;
            ensure_name_free(&existing, &req.name)?;
            // The parent's LAN is routed on the host: that is the point.
            // Overlaps with other berth networks are still refused.
            let lan = HostFacts {
                routes: Vec::new(),
                ..facts.clone()
            };
            let ipam = plan_ipam(req, &id, &subnets, &existing, &lan)?;
            macvlan::plan_network(req, driver, &id, ipam, &existing, &facts, kinds)
        })
    }

    /// Recreates the host-side links of macvlan and ipvlan networks that
    /// are missing (after a reboot, or deleted by hand): the VLAN
    /// sub-interface berth made and the host shim with its route.
    pub(crate) fn ensure_sublink_networks(&mut self, nets: &[Network], links: &[String]) {
        for n in nets
            .iter()
            .filter(|n| matches!(n.driver, Driver::Macvlan | Driver::Ipvlan))
        {
            let steps = missing_links(&bridge_plan(n).steps, links);
            for e in self.apply_best_effort(&Plan { steps }) {
                tracing::warn!("network {}: {e}", n.name);
            }
        }
    }
}

/// The steps of `steps` whose link is not in `links`, with the routes of
/// the links recreated (pure).
fn missing_links(steps: &[Step], links: &[String]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for s in steps {
        let keep = match s {
            Step::Driver(DriverStep::CreateVlan { name, .. })
            | Step::Driver(DriverStep::CreateSubLink { name, .. }) => !links.contains(name),
            Step::Driver(DriverStep::AddRoute { dev, .. }) => out.iter().any(|o| {
                matches!(o, Step::Driver(DriverStep::CreateSubLink { name, .. }) if name == dev)
            }),
            _ => false,
        };
        if keep {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_missing_links_are_recreated() {
        let shim = Step::Driver(DriverStep::CreateSubLink {
            kind: "macvlan".into(),
            mode: "bridge".into(),
            parent: "eth0.10".into(),
            name: "bsh-0123456789".into(),
            netns: None,
            mtu: None,
            mac: None,
            addrs: vec![],
            gateways: vec![],
        });
        let route = Step::Driver(DriverStep::AddRoute {
            dst: "192.0.2.64/27".parse().expect("net"),
            dev: "bsh-0123456789".into(),
            src: None,
        });
        let vlan = Step::Driver(DriverStep::CreateVlan {
            parent: "eth0".into(),
            name: "eth0.10".into(),
            id: 10,
        });
        let steps = vec![vlan.clone(), shim.clone(), route.clone()];
        assert!(missing_links(&steps, &["eth0.10".into(), "bsh-0123456789".into()]).is_empty());
        assert_eq!(
            missing_links(&steps, &["eth0.10".into()]),
            vec![shim, route]
        );
        assert_eq!(missing_links(&steps, &[]).len(), 3);
    }
}
