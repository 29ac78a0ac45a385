//! Forgetting the CNI attachments whose namespace is gone: the runtime
//! deleted it without a DEL (`ctr run -d --cni`, then `ctr task kill` and
//! `ctr container rm`; a reboot). Their veths went with the namespace;
//! their elements, addresses and host ports are freed like a DEL's.
//!
//! They are reaped in batches, one operation ([`OpKind::CniReap`]) each:
//! one record of the intent, one nftables transaction for every element
//! of the batch, one transaction forgetting the records — not one of each
//! per attachment, so reaping costs the same per attachment whatever the
//! store holds (issue 13, goal 5). A crash is rolled forward like a DEL's.

use super::{teardown_plan, AttachmentLock, CniResult};
use crate::engine::run::Intent;
use crate::engine::Engine;
use crate::model::{Container, Endpoint, Network};
use crate::plan::{OpKind, Plan, Step};
use std::collections::BTreeSet;

/// Attachments reaped per operation: bounds the plan recorded and the
/// attachment locks (open files) held at once.
pub(crate) const BATCH: usize = 256;

/// A dead attachment's records, as read under its lock.
type Record = (Container, Vec<Endpoint>, Vec<Network>);

impl Engine {
    /// Forgets the CNI attachments among `all` whose namespace is gone (see
    /// the module docs), and a network another program manages that they
    /// leave without containers. The record names forgotten.
    pub(crate) fn cni_reap(&mut self, all: &[Container]) -> CniResult<Vec<String>> {
        let dead: Vec<&Container> = all
            .iter()
            .filter(|c| c.cni.as_ref().is_some_and(|a| !a.docker) && !self.running(c))
            .collect();
        let mut names = Vec::new();
        let mut networks = BTreeSet::new();
        for batch in dead.chunks(BATCH) {
            for c in self.reap_batch(batch)? {
                networks.extend(c.cni.as_ref().map(|a| a.network.clone()));
                names.push(c.name);
            }
        }
        for n in networks {
            self.release_owned_network(&n)?;
        }
        Ok(names)
    }

    /// Reaps the attachments of `batch` that are still recorded and dead
    /// under their locks; those whose lock another process holds (a DEL
    /// of it) are left to it. The containers forgotten.
    fn reap_batch(&mut self, batch: &[&Container]) -> CniResult<Vec<Container>> {
        let mut locks = Vec::new();
        for c in batch {
            let Some(a) = &c.cni else { continue };
            if let Some(lock) = AttachmentLock::try_take(&self.paths, &a.container_id, &a.ifname)? {
                locks.push((c.id.clone(), lock));
            }
        }
        // Looked at again under the locks: a DEL (and an ADD) may have been
        // faster.
        let records: Vec<Record> = self.store.read(|tx| {
            let mut v = Vec::new();
            for (id, _) in &locks {
                if let Some(c) = tx.container(id)?.filter(|c| c.id == *id) {
                    let (eps, nets) = tx.container_attachments(id)?;
                    v.push((c, eps, nets));
                }
            }
            Ok(v)
        })?;
        let records: Vec<Record> = records
            .into_iter()
            .filter(|(c, _, _)| !self.running(c))
            .collect();
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = records.iter().map(|(c, _, _)| c.id.clone()).collect();
        let plan = reap_plan(&records);
        self.run_op(
            OpKind::CniReap,
            |_| {
                Ok(Intent {
                    subject: ids.join(" "),
                    plan,
                    value: (),
                })
            },
            |_, _| Ok(()),
            |tx, _, _| ids.iter().try_for_each(|id| tx.delete_container(id)),
        )?;
        // The locks go (with their files) once everything is committed.
        drop(locks);
        Ok(records.into_iter().map(|(c, _, _)| c).collect())
    }
}

/// The plan detaching every attachment of `records`: their teardown plans
/// with the elements of all of them taken out in one step (one nftables
/// transaction), first, as a DEL takes them out first.
fn reap_plan(records: &[Record]) -> Plan {
    let mut remove = Vec::new();
    let mut rest = Vec::new();
    for (c, eps, nets) in records {
        for step in teardown_plan(c, eps, nets).steps {
            match step {
                Step::Elements { remove: r, add } if add.is_empty() => remove.extend(r),
                other => rest.push(other),
            }
        }
    }
    let mut steps = Vec::new();
    if !remove.is_empty() {
        steps.push(Step::Elements {
            remove,
            add: Vec::new(),
        });
    }
    steps.extend(rest);
    Plan { steps }
}
