//! What the kernel should hold according to the store: berth's set and
//! map elements, for `berth system reconcile` (which puts them back whole)
//! and the read-only checks of `berth doctor`.

use super::container::elements;
use super::network::network_rules;
use super::Engine;
use crate::drivers::overlay;
use crate::error::Result;
use crate::firewall::{tables_with, Element};

impl Engine {
    /// The elements berth's tables must hold as the store says: every
    /// network's, the routing guard's (one per family whose forwarding
    /// berth turned on), the VXLAN guard's and those of every running container whose
    /// namespace is pinned.
    pub fn expected_elements(&mut self) -> Result<Vec<Element>> {
        let nets = self.networks()?;
        let mut v: Vec<Element> = nets
            .iter()
            .filter_map(network_rules)
            .flat_map(|r| r.elements())
            .collect();
        v.extend(self.routing_guard_elements()?);
        // Each overlay network's VNI (its plan puts it in the guard before
        // its VXLAN device), and the guard as last synchronised.
        let mut guard = self.vxlan_guard().unwrap_or_default();
        guard.vnis.extend(nets.iter().filter_map(overlay::vni));
        v.extend(guard.elements());
        for c in self.containers()? {
            if !self.running(&c) || !self.kernel.pinned(&self.netns_path(&c)) {
                continue;
            }
            let eps = self.endpoints(&c.id)?;
            v.extend(elements(&c, &eps, &nets));
        }
        Ok(v)
    }

    /// The nft text of berth's tables as the store says they must be: the
    /// skeleton and [`Engine::expected_elements`] — what `berth system
    /// reconcile` would apply.
    pub fn expected_ruleset(&mut self) -> Result<String> {
        Ok(tables_with(&self.expected_elements()?).text())
    }
}
