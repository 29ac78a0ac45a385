//! Coexistence with a FORWARD policy of DROP set by another tool (Docker).
//!
//! An nftables `accept` only ends the chain it is in: every base chain on the
//! forward hook must accept a packet for it to pass. When Docker (through
//! iptables-nft) has set `ip filter FORWARD` to policy DROP — which, with
//! br_netfilter, even drops traffic between two containers on one bridge —
//! berth's own table cannot override it. So this is the one place berth
//! writes outside its table: three accept rules per berth bridge in Docker's
//! `DOCKER-USER` chain (or at the top of `FORWARD` when there is no
//! DOCKER-USER), tagged with a `berth:<bridge>` comment, recorded in the
//! store, and removed with the network. The policy itself is never changed;
//! berth's own forward chain still decides isolation.
//!
//! Traffic from a berth bridge towards Docker's bridges (`docker0`, `br-*`)
//! is not accepted there: an accept in DOCKER-USER skips Docker's own
//! rules, which would open every Docker container, published or not, to
//! berth's containers. That traffic goes on through Docker's chains, which
//! let it reach published ports only. (berth's own `br-*` bridges are
//! isolated from each other anyway; traffic into a berth bridge is judged
//! by berth's forward chain.)

use super::Engine;
use crate::error::Result;
use crate::model::Network;

const FAMILIES: [&str; 2] = ["ip", "ip6"];

/// Where berth's accept rules must go in a family's `filter` table, if anywhere.
fn target_chain(listing: &serde_json::Value) -> Option<String> {
    let items = listing.get("nftables")?.as_array()?;
    let chains: Vec<&serde_json::Value> = items.iter().filter_map(|i| i.get("chain")).collect();
    if chains
        .iter()
        .any(|c| c.get("name").and_then(|n| n.as_str()) == Some("DOCKER-USER"))
    {
        return Some("DOCKER-USER".into());
    }
    let drop_forward = chains.iter().any(|c| {
        c.get("hook").and_then(|h| h.as_str()) == Some("forward")
            && c.get("policy").and_then(|p| p.as_str()) == Some("drop")
    });
    drop_forward
        .then(|| {
            chains
                .iter()
                .find(|c| c.get("hook").and_then(|h| h.as_str()) == Some("forward"))
        })
        .flatten()?
        .get("name")?
        .as_str()
        .map(String::from)
}

/// How many accept rules [`accept_rules`] inserts.
const ACCEPT_RULES: usize = 3;

/// The accept rules for `bridge` in `family filter chain` (pure): traffic
/// inside the bridge, from it to anything but Docker's bridges, and into
/// it (berth's forward chain drops what is unsolicited).
fn accept_rules(family: &str, chain: &str, bridge: &str) -> String {
    let c = format!("counter accept comment \"berth:{bridge}\"");
    [
        format!("oifname \"{bridge}\" {c}"),
        format!("iifname \"{bridge}\" oifname != \"docker0\" oifname != \"br-*\" {c}"),
        format!("iifname \"{bridge}\" oifname \"{bridge}\" {c}"),
    ]
    .iter()
    .map(|r| format!("insert rule {family} filter {chain} {r}\n"))
    .collect()
}

/// Handles of rules tagged `comment` in `chain`.
fn tagged_rules(listing: &serde_json::Value, chain: &str, comment: &str) -> Vec<u64> {
    let Some(items) = listing.get("nftables").and_then(|v| v.as_array()) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| i.get("rule"))
        .filter(|r| {
            r.get("chain").and_then(|c| c.as_str()) == Some(chain)
                && r.get("comment").and_then(|c| c.as_str()) == Some(comment)
        })
        .filter_map(|r| r.get("handle").and_then(|h| h.as_u64()))
        .collect()
}

impl Engine {
    fn filter_listing(&mut self, family: &str) -> Result<Option<serde_json::Value>> {
        match self
            .kernel
            .nft_list_json(&format!("list table {family} filter"))
        {
            Ok(text) => Ok(serde_json::from_str(&text).ok()),
            Err(_) => Ok(None), // no such table: nothing drops our traffic there
        }
    }

    /// Adds accept rules for `net`'s bridge where a DROP policy would eat its
    /// forwarded traffic. Idempotent.
    pub(crate) fn allow_forward(&mut self, net: &Network) -> Result<()> {
        let Some(bridge) = net.bridge.clone() else {
            return Ok(());
        };
        let comment = format!("berth:{bridge}");
        for family in FAMILIES {
            let Some(listing) = self.filter_listing(family)? else {
                continue;
            };
            let Some(chain) = target_chain(&listing) else {
                continue;
            };
            let handles = tagged_rules(&listing, &chain, &comment);
            if handles.len() == ACCEPT_RULES {
                continue;
            }
            // Replace a partial or outdated set in one transaction.
            let mut text: String = handles
                .iter()
                .map(|h| format!("delete rule {family} filter {chain} handle {h}\n"))
                .collect();
            text.push_str(&accept_rules(family, &chain, &bridge));
            self.kernel.nft(&text)?;
            let key = format!("forward:{family}:{chain}:{bridge}");
            self.store.write(|tx| tx.set_host_change(&key, &comment))?;
        }
        Ok(())
    }

    /// Removes the accept rules added for `net` by [`Engine::allow_forward`].
    pub(crate) fn revoke_forward(&mut self, net: &Network) -> Result<()> {
        let Some(bridge) = net.bridge.clone() else {
            return Ok(());
        };
        let comment = format!("berth:{bridge}");
        let recorded = self.store.read(|tx| tx.host_changes())?;
        for (key, _) in recorded
            .iter()
            .filter(|(k, v)| k.starts_with("forward:") && *v == comment)
        {
            let parts: Vec<&str> = key.splitn(4, ':').collect();
            let [_, family, chain, _] = parts.as_slice() else {
                continue;
            };
            if let Some(listing) = self.filter_listing(family)? {
                let text: String = tagged_rules(&listing, chain, &comment)
                    .iter()
                    .map(|h| format!("delete rule {family} filter {chain} handle {h}\n"))
                    .collect();
                if !text.is_empty() {
                    self.kernel.nft(&text)?;
                }
            }
            self.store.write(|tx| tx.delete_host_change(key))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_docker_user_or_drop_forward() {
        let docker: serde_json::Value = serde_json::json!({"nftables": [
            {"chain": {"name": "FORWARD", "hook": "forward", "policy": "drop"}},
            {"chain": {"name": "DOCKER-USER"}},
            {"rule": {"chain": "DOCKER-USER", "handle": 7, "comment": "berth:br0"}}
        ]});
        assert_eq!(target_chain(&docker).as_deref(), Some("DOCKER-USER"));
        assert_eq!(tagged_rules(&docker, "DOCKER-USER", "berth:br0"), vec![7]);
        let plain_drop = serde_json::json!({"nftables": [{"chain": {"name": "FORWARD", "hook": "forward", "policy": "drop"}}]});
        assert_eq!(target_chain(&plain_drop).as_deref(), Some("FORWARD"));
        let accept = serde_json::json!({"nftables": [{"chain": {"name": "FORWARD", "hook": "forward", "policy": "accept"}}]});
        assert_eq!(target_chain(&accept), None);
    }

    #[test]
    fn accept_rules_leave_docker_bridges_to_docker() {
        let text = accept_rules("ip", "DOCKER-USER", "berth0");
        assert_eq!(text.lines().count(), ACCEPT_RULES);
        assert!(text
            .lines()
            .all(|l| l.ends_with("accept comment \"berth:berth0\"")));
        let from = text
            .lines()
            .find(|l| l.contains("iifname \"berth0\" oifname !="))
            .unwrap();
        assert!(
            from.contains("!= \"docker0\"") && from.contains("!= \"br-*\""),
            "{from}"
        );
    }
}
