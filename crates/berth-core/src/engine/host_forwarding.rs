//! IP forwarding, which berth turns on for its bridges, and the guard that
//! keeps the host from becoming a router because of it.
//!
//! When berth finds forwarding off and turns it on, it records the old
//! value (a host change, restored by `system reset`) and arms the routing
//! guard for that family first: an element of `inet berth routing_guard`,
//! whose chain drops forwarded packets that involve no bridge (see
//! `firewall::defence`). Without it a LAN on one of the host's interfaces
//! would reach a management network on another the moment berth created
//! its first network. When forwarding was already on, the host routes by
//! its administrator's choice: nothing is recorded and nothing dropped.
//! `berth system keep-forwarding` makes berth's forwarding the
//! administrator's: the records and the guard go, forwarding stays.

use super::Engine;
use crate::error::Result;
use crate::firewall::{Element, RoutingGuard};
use crate::model::Network;
use crate::plan::Step;

/// The forwarding sysctls network `net` needs.
fn forwarding_keys(net: &Network) -> Vec<&'static str> {
    let mut keys = vec!["net.ipv4.ip_forward"];
    if net.ipv6 {
        keys.push("net.ipv6.conf.all.forwarding");
    }
    keys
}

/// The host change recording that berth turned `key` on.
fn record_key(key: &str) -> String {
    format!("sysctl:{key}")
}

impl Engine {
    /// Turns on IP forwarding (v6 too for IPv6 networks) where it is off:
    /// records the old value (so `system reset` can restore it), arms the
    /// routing guard of that family, then writes the sysctl — forwarding
    /// that berth turned on never runs unguarded. Needs berth's tables.
    pub(crate) fn ensure_forwarding(&mut self, net: &Network) -> Result<()> {
        for key in forwarding_keys(net) {
            let old = self.kernel.sysctl(key)?;
            if old == "1" {
                continue;
            }
            let rec = record_key(key);
            self.store.write(|tx| match tx.host_change(&rec)? {
                Some(_) => Ok(()),
                None => tx.set_host_change(&rec, &old),
            })?;
            if let Some(guard) = RoutingGuard::for_sysctl(key) {
                self.kernel.apply(&Step::Elements {
                    remove: Vec::new(),
                    add: guard.elements(),
                })?;
            }
            self.kernel.set_sysctl(key, "1")?;
        }
        Ok(())
    }

    /// The routing guard's elements: one per family whose forwarding berth
    /// turned on (a recorded host change), for a whole-ruleset render.
    pub(crate) fn routing_guard_elements(&mut self) -> Result<Vec<Element>> {
        let mut v = Vec::new();
        for (key, _) in self.store.read(|tx| tx.host_changes())? {
            let guard = key
                .strip_prefix("sysctl:")
                .and_then(RoutingGuard::for_sysctl);
            if let Some(g) = guard {
                v.extend(g.elements());
            }
        }
        Ok(v)
    }

    /// The forwarding sysctls berth turned on, with the value each had
    /// before (what `system reset` restores).
    pub fn forwarding_changes(&mut self) -> Result<Vec<(String, String)>> {
        let changes = self.store.read(|tx| tx.host_changes())?;
        Ok(changes
            .into_iter()
            .filter_map(|(k, old)| {
                let key = k.strip_prefix("sysctl:")?;
                RoutingGuard::for_sysctl(key).map(|_| (key.to_string(), old))
            })
            .collect())
    }

    /// `berth system keep-forwarding`: this host routes by choice. Forgets
    /// that berth turned forwarding on (reset leaves it on) and disarms the
    /// routing guard. Returns the sysctls it forgot.
    pub fn keep_forwarding(&mut self) -> Result<Vec<String>> {
        self.require_root()?;
        let _lock = self.lock()?;
        let mut forgot = Vec::new();
        for (key, _) in self.forwarding_changes()? {
            // The record first: once it is gone, every later render of the
            // tables (reconcile) leaves the guard out, even if removing the
            // element now fails (tables flushed meanwhile).
            let rec = record_key(&key);
            self.store.write(|tx| tx.delete_host_change(&rec))?;
            if let Some(guard) = RoutingGuard::for_sysctl(&key) {
                let disarm = Step::Elements {
                    remove: guard.elements(),
                    add: Vec::new(),
                };
                if let Err(e) = self.kernel.apply(&disarm) {
                    tracing::warn!("disarming the routing guard for {key}: {e} (berth system reconcile finishes it)");
                }
            }
            forgot.push(key);
        }
        Ok(forgot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_networks_need_both_families() {
        let req = crate::model::NetworkCreate {
            name: "n".into(),
            ..Default::default()
        };
        let facts = crate::kernel::HostFacts {
            routes: vec![],
            links: vec![],
        };
        let subnets = req.subnet_requests().unwrap();
        let mut net = crate::engine::network::plan_bridge_network(
            &req,
            &"ab".repeat(32),
            &subnets,
            &[],
            &facts,
            false,
        )
        .unwrap();
        assert_eq!(forwarding_keys(&net), ["net.ipv4.ip_forward"]);
        net.ipv6 = true;
        assert_eq!(
            forwarding_keys(&net),
            ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"]
        );
        for k in forwarding_keys(&net) {
            assert!(RoutingGuard::for_sysctl(k).is_some(), "{k} has a guard");
        }
        assert_eq!(
            record_key("net.ipv4.ip_forward"),
            "sysctl:net.ipv4.ip_forward"
        );
    }
}
