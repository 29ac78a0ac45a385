//! The VXLAN guard on this host (`firewall::VxlanGuard`): the VNIs of its
//! overlay networks and the tunnel endpoints of the hosts the cluster store
//! lists, refilled by a synchronisation when either changes and kept in
//! `RUN/cluster/vxlan-guard.json`, from which `berth system reconcile`
//! re-renders them with the rest of the ruleset.

use super::Engine;
use crate::drivers::overlay;
use crate::error::{Error, Result};
use crate::firewall::{Element, VxlanGuard};
use crate::model::Network;
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

    /// The guard's elements, for a whole render of the tables.
    pub(crate) fn vxlan_guard_elements(&self) -> Vec<Element> {
        self.vxlan_guard().map(|g| g.elements()).unwrap_or_default()
    }

    /// Makes the guard's sets hold `locals`' VNIs and the `hosts`' tunnel
    /// endpoints (checked records), in one transaction when they changed.
    pub(crate) fn sync_vteps(
        &mut self,
        hosts: &[(String, HostRec)],
        locals: &[Network],
    ) -> Result<()> {
        let want = VxlanGuard {
            vnis: locals.iter().filter_map(overlay::vni).collect(),
            vteps: hosts
                .iter()
                .filter_map(|(_, h)| match h.vtep {
                    IpAddr::V4(v) => Some(v),
                    IpAddr::V6(_) => None,
                })
                .collect(),
        };
        let old = self.vxlan_guard().unwrap_or_default();
        if self.vxlan_guard().as_ref() == Some(&want) {
            return Ok(());
        }
        let (remove, add) = want.change_from(&old);
        if let Err(e) = self.kernel.apply(&Step::Elements { remove, add }) {
            // The tables are gone (a firewall reload): reconcile restores
            // them; the next synchronisation tries again.
            tracing::warn!("VXLAN guard: {e} (run berth system reconcile)");
            return Ok(());
        }
        let path = self.guard_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string(&want).map_err(|e| Error::internal(e.to_string()))?;
        std::fs::write(path, json)?;
        Ok(())
    }
}
