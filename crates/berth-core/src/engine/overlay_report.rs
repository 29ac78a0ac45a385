//! What the last synchronisation with the cluster store found wrong, kept
//! where `berth doctor` reads it (`RUN/cluster/report.json`) and told in
//! the agent's log when it changes:
//!
//! - records of the store that were skipped, and why (`drivers::
//!   overlay_records`, `overlay_remote`): never applied, always reported;
//! - address conflicts: an address of a container of this host that the
//!   store gives to another host (this host was cut off from the store
//!   longer than its lease, and the address was handed out again). The
//!   other host's claim is the valid one: this host's claim came later and
//!   is refused, and its container is cut off from the network (the host
//!   end of its veth down) so that the address is never live twice, until
//!   the operator removes it or gives it a new address — or the other
//!   holder goes and this host takes the address back by compare-and-swap.

use super::Engine;
use crate::drivers::overlay_records::Rejected;
use crate::error::{Error, Result};
use crate::plan::{DriverStep, Step};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The report of one synchronisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterReport {
    /// When (Unix seconds).
    pub time: u64,
    /// The cluster store's URL.
    pub store: String,
    /// What is unsafe about the store's configuration (plain etcd://).
    #[serde(default)]
    pub warning: Option<String>,
    /// Records skipped.
    #[serde(default)]
    pub rejected: Vec<Rejected>,
    /// Addresses of this host's containers that another host holds.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

/// An address of a container here that the cluster store gives to another host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Conflict {
    /// Network name.
    pub network: String,
    /// The address.
    pub address: IpAddr,
    /// The container here (name).
    pub container: String,
    /// Its veth's host end (down while the conflict lasts).
    pub veth: String,
    /// The host that holds the address (its tunnel endpoint).
    pub holder: String,
}

impl Conflict {
    /// What to do, as `berth doctor` and the agent say it.
    pub fn fix(&self) -> String {
        format!(
            "berth rm -f {c} (or give it a new address: berth network disconnect {n} {c} && berth network connect {n} {c})",
            c = self.container,
            n = self.network
        )
    }
}

impl Engine {
    fn report_path(&self) -> std::path::PathBuf {
        self.paths.run.join("cluster").join("report.json")
    }

    /// The report of the last synchronisation, if any.
    pub fn cluster_report(&self) -> Option<ClusterReport> {
        let text = std::fs::read_to_string(self.report_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Records `new`: cuts off the containers of new conflicts, reconnects
    /// those of resolved ones, and logs what changed since the last report.
    pub(crate) fn write_report(&mut self, new: &ClusterReport) -> Result<()> {
        let old = self.cluster_report().unwrap_or_default();
        for r in new.rejected.iter().filter(|r| !old.rejected.contains(r)) {
            tracing::warn!(
                "cluster store: skipped {}: {} (not applied; see berth doctor)",
                r.key,
                r.why
            );
        }
        for c in &new.conflicts {
            self.cut_off(&c.veth, true);
            if !old.conflicts.contains(c) {
                tracing::error!(
                    "address {} of container {} on network {} is held by host {} in the cluster store (this host was cut off longer than its lease): {} is cut off from the network; {}",
                    c.address, c.container, c.network, c.holder, c.container, c.fix()
                );
            }
        }
        for c in old
            .conflicts
            .iter()
            .filter(|c| !new.conflicts.iter().any(|n| n.veth == c.veth))
        {
            self.cut_off(&c.veth, false);
            tracing::warn!(
                "address {} of container {} on network {}: conflict over, reconnected",
                c.address,
                c.container,
                c.network
            );
        }
        let path = self.report_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_string(new).map_err(|e| Error::internal(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)?;
        Ok(())
    }

    /// Takes the host end of a veth down (`off`) or up again; a veth that
    /// is gone (its container was removed) is fine.
    fn cut_off(&mut self, veth: &str, off: bool) {
        let step = Step::Driver(DriverStep::LinkState {
            name: veth.to_string(),
            up: !off,
        });
        if let Err(e) = self.kernel.apply(&step) {
            tracing::warn!("{veth}: {e}");
        }
    }
}
