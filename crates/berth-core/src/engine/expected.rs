//! What the kernel should hold according to the store, for read-only
//! checks (`berth doctor`): nothing here changes state.

use super::container::ports_step;
use super::network::network_rules;
use super::Engine;
use crate::error::Result;
use crate::firewall::full_ruleset;
use crate::plan::Step;

impl Engine {
    /// The nft text of berth's tables as the store says they must be: the
    /// skeleton, every network's elements, the routing guard's (one per
    /// family whose forwarding berth turned on) and the elements of every
    /// running container whose namespace is pinned — what `berth system
    /// reconcile` would apply.
    pub fn expected_ruleset(&mut self) -> Result<String> {
        let nets = self.networks()?;
        let rules: Vec<_> = nets.iter().filter_map(network_rules).collect();
        let mut text = full_ruleset(&rules, &[]).text();
        text.push_str(&self.routing_guard_elements()?.text());
        for c in self.containers()? {
            if !self.running(&c) || !self.kernel.pinned(&self.netns_path(&c)) {
                continue;
            }
            let eps = self.endpoints(&c.id)?;
            if let Some(Step::Nft { apply, .. }) = ports_step(&c, &eps, &nets) {
                text.push_str(&apply);
            }
        }
        Ok(text)
    }
}
