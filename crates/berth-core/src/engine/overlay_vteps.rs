//! The VXLAN guard on this host (`firewall::VxlanGuard`): the VNIs of its
//! overlay networks and the tunnel endpoints of the hosts the cluster store
//! lists, refilled by a synchronisation when either changes and kept in
//! `RUN/cluster/vxlan-guard.json`, from which `berth system reconcile`
//! re-renders them with the rest of the ruleset.

use super::Engine;
use crate::drivers::overlay;
use crate::error::{Error, Result};
use crate::firewall::VxlanGuard;
use crate::plan::Step;
use crate::store::cluster::HostRec;
use std::net::IpAddr;

impl Engine {
    fn guard_path(&self) -> std::path::PathBuf {
        self.paths.run.join("cluster").join("vxlan-guard.json")
    }

    /// The guard's elements as last programmed.
    pub(crate) fn vxlan_guard(&self) -> Option<VxlanGuard> {
        let text = std::fs::read_to_string(self.guard_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The guard's sets as the kernel holds them; `None` when they cannot
    /// be listed (no tables, or a kernel that lists nothing).
    fn guard_in_kernel(&mut self) -> Option<VxlanGuard> {
        let mut list = |set: &str| -> Option<Vec<serde_json::Value>> {
            let json = self
                .kernel
                .nft_list_json(&format!("list set inet berth {set}"))
                .ok()?;
            let v: serde_json::Value = serde_json::from_str(&json).ok()?;
            let set = v["nftables"]
                .as_array()?
                .iter()
                .find_map(|i| i.get("set"))?;
            Some(set["elem"].as_array().cloned().unwrap_or_default())
        };
        let vnis = list("vxlan_vnis")?;
        let vteps = list("vxlan_vteps")?;
        Some(VxlanGuard {
            // A raw payload is listed as a number (or as hex text).
            vnis: vnis
                .iter()
                .filter_map(|v| match v {
                    serde_json::Value::String(t) => match t.strip_prefix("0x") {
                        Some(hex) => u64::from_str_radix(hex, 16).ok(),
                        None => t.parse().ok(),
                    },
                    _ => v.as_u64(),
                })
                .filter_map(|v| u32::try_from(v).ok())
                .collect(),
            vteps: vteps
                .iter()
                .filter_map(|v| v.as_str()?.parse().ok())
                .collect(),
        })
    }

    /// Makes the guard's sets hold the VNIs of this host's overlay
    /// networks and the `hosts`' tunnel endpoints (checked records), in one
    /// transaction when the kernel's differ (one listing of the two sets
    /// per synchronisation).
    pub(crate) fn sync_vteps(&mut self, hosts: &[(String, HostRec)]) -> Result<()> {
        // What the kernel holds, not what was last written: a whole
        // re-render of the tables (reconcile, the agent's firewall healing,
        // in another thread) from an older record may have dropped members.
        let have = self.guard_in_kernel();
        // The overlay networks as the store holds them now, read after the
        // kernel's sets: a network realised meanwhile put its VNI in the
        // guard with its own plan (`overlay::network_steps`), after
        // recording itself, so a VNI seen in `have` is never taken out
        // from under its network.
        let vnis = self.networks()?.iter().filter_map(overlay::vni).collect();
        let want = VxlanGuard {
            vnis,
            vteps: hosts
                .iter()
                .filter_map(|(_, h)| match h.vtep {
                    IpAddr::V4(v) => Some(v),
                    IpAddr::V6(_) => None,
                })
                .collect(),
        };
        let recorded = self.vxlan_guard();
        if have.as_ref() == Some(&want) && recorded.as_ref() == Some(&want) {
            return Ok(());
        }
        // The record first: a re-render from now on includes the members.
        let path = self.guard_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string(&want).map_err(|e| Error::internal(e.to_string()))?;
        std::fs::write(path, json)?;
        let old = have.or(recorded).unwrap_or_default();
        let (remove, add) = want.change_from(&old);
        if remove.is_empty() && add.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.kernel.apply(&Step::Elements { remove, add }) {
            // The tables are gone (a firewall reload): reconcile restores
            // them from the record; the next synchronisation checks again.
            tracing::warn!("VXLAN guard: {e} (run berth system reconcile)");
        }
        Ok(())
    }
}
