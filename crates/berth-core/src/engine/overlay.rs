//! Overlay networks: one network across every host sharing a cluster store.

use super::Engine;
use crate::error::{Error, Result};
use crate::model::{Network, NetworkCreate};

impl Engine {
    /// `network create -d overlay` (the cluster store comes next).
    pub(crate) fn create_overlay_network(&mut self, req: &NetworkCreate) -> Result<Network> {
        Err(Error::invalid(format!(
            "cannot create overlay network {}: overlay networks need a cluster store, which this build of berth does not have yet",
            req.name
        )))
    }
}
