//! Creating macvlan and ipvlan networks (the planning is in
//! `drivers::macvlan`; overlay networks are in `overlay.rs`).

use super::container::delete_ops;
use super::network::{bridge_plan, plan_ipam};
use super::Engine;
use crate::drivers::macvlan;
use crate::error::{Error, Result};
use crate::ids;
use crate::kernel::caps::LinkKinds;
use crate::kernel::HostFacts;
use crate::model::{Driver, Network, NetworkCreate};
use crate::plan::Plan;

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
        let kinds = LinkKinds::probe()?;
        let _lock = self.lock()?;
        let facts = HostFacts::read(self.applier()?.host())?;
        let id = ids::new_id()?;
        let mut plan = Plan::default();
        let net = self.store.write(|tx| {
            let existing = tx.networks()?;
            if existing.iter().any(|n| n.name == req.name) {
                return Err(Error::conflict(format!(
                    "network with name {:?} already exists: choose another name",
                    req.name
                )));
            }
            // The parent's LAN is routed on the host: that is the point.
            // Overlaps with other berth networks are still refused.
            let lan = HostFacts {
                routes: Vec::new(),
                ..facts.clone()
            };
            let ipam = plan_ipam(req, &id, &subnets, &existing, &lan)?;
            let net = macvlan::plan_network(req, driver, &id, ipam, &existing, &facts, kinds)?;
            plan = bridge_plan(&net);
            tx.insert_network(&net)?;
            tx.insert_op("create_network", &net.id, &plan.to_json())?;
            Ok(net)
        })?;
        let applied = self.applier()?.apply("create_network", &plan);
        self.store.write(|tx| {
            if applied.is_err() {
                tx.delete_network(&net.id)?;
            }
            delete_ops(tx, "create_network", &net.id)
        })?;
        applied?;
        Ok(net)
    }
}
