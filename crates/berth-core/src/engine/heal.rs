//! The firewall that heals itself: what `berth agent` checks after an
//! nftables deletion in berth's tables (see `kernel::nftevents`), and how
//! it puts them back from the store.

use super::Engine;
use crate::error::Result;

/// The number of rules in berth's `inet` and `bridge` tables; `None` when
/// either table is missing. Equal fingerprints before and after a change
/// mean berth's rules are all there (berth's own re-renderings replace a
/// table in one transaction: the count is the same after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirewallFingerprint {
    /// Rules of `inet berth`.
    pub inet_rules: usize,
    /// Rules of `bridge berth`.
    pub bridge_rules: usize,
}

impl Engine {
    /// The rule counts of berth's tables as the kernel holds them now.
    pub fn firewall_fingerprint(&mut self) -> Option<FirewallFingerprint> {
        let mut count = |family: &str| -> Option<usize> {
            let json = self
                .kernel
                .nft_list_json(&format!("list table {family} berth"))
                .ok()?;
            let v: serde_json::Value = serde_json::from_str(&json).ok()?;
            let items = v.get("nftables")?.as_array()?;
            Some(items.iter().filter(|i| i.get("rule").is_some()).count())
        };
        Some(FirewallFingerprint {
            inet_rules: count("inet")?,
            bridge_rules: count("bridge")?,
        })
    }

    /// Puts berth's tables, their elements and its host changes back from
    /// the store (a [`Engine::reconcile`]); returns the new fingerprint.
    pub fn heal_firewall(&mut self) -> Result<Option<FirewallFingerprint>> {
        self.reconcile()?;
        Ok(self.firewall_fingerprint())
    }
}
