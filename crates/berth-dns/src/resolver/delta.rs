//! Bringing a [`Resolver`] up to date with one container's change (a
//! journal [`Delta`]) in the time of that container's own records, not the
//! whole snapshot's: its old endpoints leave the index, its new ones enter
//! it. The result answers every question as [`Resolver::new`] would from
//! the snapshot with the delta applied (the tests compare the two), given
//! what the engine guarantees: an address belongs to one endpoint of a
//! network. A delta that changes a network (a new one, new gateways, a
//! renamed one) is not applied here: the caller rebuilds the whole index,
//! which happens once per network, not per container.

use super::{endpoint_addrs, endpoint_keys, target, Resolver};
use crate::journal::Delta;
use crate::snapshot::{EndpointRec, NetworkRec};

impl Resolver {
    /// Applies `d` to this index, built from a snapshot whose networks are
    /// `networks` and where container `d.container_id` had the endpoints
    /// `old`. Returns `false`, having changed nothing, when `d` cannot be
    /// applied on its own (it changes a network, or carries another
    /// container's endpoints): rebuild with [`Resolver::new`] then.
    pub fn apply_delta(&mut self, networks: &[NetworkRec], old: &[EndpointRec], d: &Delta) -> bool {
        let unchanged = |n: &NetworkRec| networks.iter().find(|m| m.id == n.id) == Some(n);
        if !d.networks.iter().all(unchanged)
            || d.endpoints.iter().any(|e| e.container_id != d.container_id)
        {
            return false;
        }
        for (i, ep) in self.served(old) {
            self.unindex_endpoint(i, ep);
        }
        let eps = self.served(&d.endpoints);
        if eps.is_empty() {
            self.containers.remove(&d.container_id);
        }
        for &(i, ep) in &eps {
            self.index_endpoint(i, ep);
        }
        self.index_askers(&eps);
        self.generation = d.generation;
        true
    }

    /// Removes endpoint `ep`'s names, reverse entries and asker from
    /// network `i` (what [`Resolver::index_endpoint`] and
    /// [`Resolver::index_askers`] added for it).
    fn unindex_endpoint(&mut self, i: usize, ep: &EndpointRec) {
        let target = target(ep);
        let net = &mut self.nets[i];
        for key in endpoint_keys(ep) {
            if let Some(targets) = net.names.get_mut(&key) {
                targets.retain(|t| *t != target);
                if targets.is_empty() {
                    net.names.remove(&key);
                }
            }
        }
        let ptr_name = format!("{}.{}.", ep.name.trim_end_matches('.'), net.name);
        for addr in endpoint_addrs(ep) {
            if net.ptr.get(&addr) == Some(&ptr_name) {
                net.ptr.remove(&addr);
            }
            let key = (i, addr);
            if self
                .askers
                .get(&key)
                .is_some_and(|a| a.container == ep.container_id)
            {
                self.askers.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests;
