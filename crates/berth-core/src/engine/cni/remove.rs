//! CNI DEL and GC: take attachments down and forget them. Both are best
//! effort and idempotent: an attachment that is gone already, a namespace
//! the runtime deleted first, a veth that went with it — all succeed, and
//! whatever remains is freed (elements, veth, address, host ports).

use super::{teardown_plan, AttachmentLock, CniResult};
use crate::engine::run::Intent;
use crate::engine::Engine;
use crate::model::Container;
use crate::plan::OpKind;

impl Engine {
    /// CNI DEL of attachment (`network`, `container_id`, `ifname`). Returns
    /// whether there was anything to remove; when it returns, the ports no
    /// longer forward and the address is free.
    pub fn cni_del(&mut self, network: &str, container_id: &str, ifname: &str) -> CniResult<bool> {
        self.require_root()?;
        let _lock = AttachmentLock::take(&self.paths, container_id, ifname)?;
        let Some(c) = self.cni_record(network, container_id, ifname)? else {
            return Ok(false);
        };
        self.cni_detach(&c)?;
        Ok(true)
    }

    /// CNI GC: detaches every attachment of `network` whose (container id,
    /// interface) is not in `valid`. Returns the names of the records
    /// removed; keeps going past failures and reports the first.
    pub fn cni_gc(&mut self, network: &str, valid: &[(String, String)]) -> CniResult<Vec<String>> {
        self.require_root()?;
        let stale: Vec<Container> = self
            .containers()?
            .into_iter()
            .filter(|c| {
                c.cni.as_ref().is_some_and(|a| {
                    a.network == network
                        && !valid
                            .iter()
                            .any(|(id, ifname)| *id == a.container_id && *ifname == a.ifname)
                })
            })
            .collect();
        let mut removed = Vec::new();
        let mut first_error = None;
        for c in stale {
            let Some(a) = c.cni.clone() else { continue };
            match self.gc_one(&a) {
                Ok(true) => removed.push(c.name),
                Ok(false) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }

    /// Detaches attachment `a` under its lock, if it is still recorded
    /// (a DEL may have been faster); whether it was.
    fn gc_one(&mut self, a: &crate::model::cni::CniAttachment) -> CniResult<bool> {
        let _lock = AttachmentLock::take(&self.paths, &a.container_id, &a.ifname)?;
        let Some(c) = self.cni_record(&a.network, &a.container_id, &a.ifname)? else {
            return Ok(false);
        };
        self.cni_detach(&c)?;
        Ok(true)
    }

    /// Records the teardown of CNI container `c`, applies it (roll forward:
    /// a crash is finished by the next berth command) and forgets it.
    fn cni_detach(&mut self, c: &Container) -> CniResult<()> {
        let mut clock = super::Clock::new(self.config.trace_steps);
        let (eps, nets) = self.store.read(|tx| tx.container_attachments(&c.id))?;
        // Elements first (the port stops forwarding), then the veth: the
        // kernel's wait for the element's grace period overlaps the
        // veth's (see kernel::nftnl::Conn).
        let plan = teardown_plan(c, &eps, &nets);
        self.run_op(
            OpKind::CniDel,
            |_| {
                Ok(Intent {
                    subject: c.id.clone(),
                    plan,
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, _| tx.delete_container(&c.id),
        )?;
        clock.lap("record, apply, commit");
        if nets
            .iter()
            .any(|n| n.driver == crate::model::Driver::Overlay)
        {
            // Its cluster-wide address goes now, not after the grace.
            self.overlay_changed(Some(&c.id));
        }
        Ok(())
    }
}
