//! Keeping `/run/netns` in step with berth's containers, so that `ip netns
//! ls` lists running containers by name and `ip netns exec NAME …` enters
//! them (see `kernel::netns_names` for the mechanism and ownership rules).
//!
//! Naming is part of the container's network plan ([`Step::NameNetns`]
//! right after the namespace is created, [`Step::UnnameNetns`] right before
//! it is unpinned), so a crash at any point is rolled back or forward with
//! the rest of the plan. [`Engine::sync_netns_names`] (on the first command
//! after a boot or a lost runtime dir, and in `berth system reconcile`)
//! removes entries whose container is gone or not running and names running
//! containers whose entry is missing.

use super::Engine;
use crate::error::Result;
use crate::kernel::netns_names::{self, Owner};
use crate::kernel::NetnsName;
use crate::model::Container;
use crate::paths::Paths;
use crate::plan::Step;

/// The owner marker of container `id` of the berth instance at `paths`.
pub(crate) fn owner(paths: &Paths, id: &str) -> Owner {
    Owner {
        root: paths.state.display().to_string(),
        container: id.to_string(),
    }
}

/// The step naming container `c`'s namespace `/run/netns/<name>`.
pub(crate) fn name_step(paths: &Paths, c: &Container) -> Step {
    Step::NameNetns {
        pin: paths.netns(&c.id),
        link: netns_names::entry(&c.name),
        owner: owner(paths, &c.id),
    }
}

/// The step removing that name (before the namespace is unpinned).
pub(crate) fn unname_step(paths: &Paths, c: &Container) -> Step {
    Step::UnnameNetns {
        link: netns_names::entry(&c.name),
        owner: owner(paths, &c.id),
    }
}

impl Engine {
    /// Brings `/run/netns` in line with the store: removes this instance's
    /// entries whose container is missing, renamed or not running (its
    /// namespace is not pinned) and names running containers that have no
    /// entry. Returns what it changed, e.g. `removed web`.
    pub fn sync_netns_names(&mut self) -> Result<Vec<String>> {
        if !self.kernel.is_root() {
            return Ok(Vec::new());
        }
        let root = self.paths.state.display().to_string();
        let mut running = Vec::new();
        for c in self.containers()? {
            if self.running(&c) {
                running.push(NetnsName {
                    name: c.name.clone(),
                    pin: self.paths.netns(&c.id),
                    owner: owner(&self.paths, &c.id),
                });
            }
        }
        self.kernel.sync_netns_names(&root, &running)
    }
}
