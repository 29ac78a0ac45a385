//! What a removal leaves to a background process (see `kernel::retire`
//! and `kernel::reaper`): deleting the veths it retired, and holding the
//! netfilter socket until the kernel has freed the elements it took out.
//! Both wait for an RCU grace period (~20 ms here); the command returns
//! without waiting, and one reaper serves a burst of removals.

use super::Engine;
use crate::kernel::retire::Reaper;
use crate::plan::Plan;

impl Engine {
    /// After removal `plan` was applied: when the plan retired veths,
    /// took elements out (the netfilter socket's last close then waits) or
    /// removed a namespace (its release waits too), wakes the waiting
    /// reaper and hands it those descriptors, or starts one through the
    /// engine's launcher (see `kernel::reaper`). Without a launcher, or
    /// when it fails, retired veths are deleted now, waiting.
    pub(crate) fn finish_in_background(&mut self, plan: &Plan) {
        let retires = plan.retires();
        let released = plan.removes_netns() && self.kernel.released_namespaces() > 0;
        if !retires && !plan.removes_elements() && !released {
            return;
        }
        let Some(launch) = self.config.reaper.clone() else {
            if retires {
                self.reap_now();
            }
            return;
        };
        let lingering = self.kernel.lingering_fds();
        match Reaper::new(&self.paths.run).hand_over(&lingering) {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => tracing::warn!("retired veths: {e}"),
        }
        if let Err(e) = launch(&self.paths.state, &lingering) {
            tracing::warn!("cannot start a reaper of retired veths ({e}): deleting them now");
            if retires {
                self.reap_now();
            }
        }
    }

    /// Deletes the retired veths now, waiting for the kernel; how many
    /// there were. Failures are warnings (the next reaper tries again).
    pub fn reap_now(&mut self) -> usize {
        match self.kernel.reap_retired() {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("cannot delete the retired veths: {e}");
                0
            }
        }
    }
}
