//! Finishing or undoing the operations of berth processes that died
//! mid-way (see `reconcile.rs`): creations are rolled back, removals rolled
//! forward, and a record that cannot be read is kept and reported.

use super::attach::forget_endpoint;
use super::docker::unpublished;
use super::lifecycle::record_exit;
use super::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::model::ContainerState;
use crate::plan::{OpKind, Recovery};
use crate::store::Op;

impl Engine {
    /// Finishes or undoes operations whose berth process died. An operation
    /// that cannot be (its record is corrupt, the kernel refuses) keeps its
    /// record and the others go on. With `strict` (`system reconcile`) the
    /// failures are returned, one message each; otherwise (any other
    /// command) they are warnings, so that one operation that cannot be
    /// recovered does not stop every berth command.
    pub(crate) fn recover_stale_ops(&mut self, strict: bool) -> Result<(Vec<String>, Vec<String>)> {
        let ops = self.store.read(|tx| tx.ops())?;
        let mut done = Vec::new();
        let mut failed = Vec::new();
        if !self.kernel.is_root() {
            return Ok((done, failed));
        }
        let stale: Vec<&Op> = ops
            .iter()
            .filter(|o| !self.kernel.alive(o.owner_pid, Some(o.owner_start)))
            .collect();
        for op in stale {
            let what = format!("{} {}", op.kind, ids::short(&op.subject));
            match self.recover_op(op) {
                Ok(()) => done.push(what),
                Err(e) if strict => failed.push(e.to_string()),
                Err(e) => tracing::warn!("cannot finish or undo the interrupted {what}: {e} (see 'berth system reconcile')"
                ),
            }
        }
        // Names may have come or gone with what was undone or finished.
        if !done.is_empty() && self.paths.dns_dir().exists() {
            if let Err(e) = self.publish_dns() {
                tracing::warn!("embedded DNS: {e}");
            }
        }
        Ok((done, failed))
    }

    /// Deletes the record of operation `id`, which must be corrupt (its plan
    /// does not parse): `berth system reconcile --forget-op ID`, once the
    /// user has dealt with what it made (see `berth doctor`). A readable
    /// record is refused: reconcile finishes or undoes it.
    pub fn forget_corrupt_op(&mut self, id: i64) -> Result<()> {
        self.require_root()?;
        self.store.write(|tx| {
            let op = tx
                .ops()?
                .into_iter()
                .find(|o| o.id == id)
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "no recorded operation {id} (see 'berth doctor')"
                    ))
                })?;
            if op.decode().is_ok() {
                return Err(Error::invalid(format!(
                    "operation {id} ({} {}) has a readable record: 'berth system reconcile' finishes or undoes it; only a corrupt record can be forgotten",
                    op.kind,
                    ids::short(&op.subject)
                )));
            }
            tx.delete_op(id)
        })
    }

    /// Finishes or undoes recorded operation `op` by its kind: a
    /// creation's plan is undone and its records forgotten, a removal's
    /// plan applied again and its records forgotten (see `run.rs`). A
    /// record whose kind or plan this berth cannot read is kept.
    pub(super) fn recover_op(&mut self, op: &Op) -> Result<()> {
        let (kind, plan) = op.decode().map_err(|e| corrupt(op, &e))?;
        let steps = match kind.recovery() {
            Recovery::RollBack => plan.undo(),
            Recovery::RollForward => plan,
        };
        for e in self.apply_best_effort(&steps) {
            tracing::warn!("recovering {} {}: {e}", op.kind, ids::short(&op.subject));
        }
        self.forget_recovered(kind, &op.subject)?;
        let id = op.id;
        self.store.write(|tx| tx.delete_op(id))?;
        self.finish_in_background(&steps);
        Ok(())
    }

    /// The records of recovered operation `kind` on `subject`, settled as
    /// its recovery leaves them: what a creation made is forgotten, what a
    /// removal was removing is forgotten too.
    fn forget_recovered(&mut self, kind: OpKind, subject: &str) -> Result<()> {
        match kind {
            OpKind::CreateContainer
            | OpKind::RemoveContainer
            | OpKind::CniAdd
            | OpKind::CniDel
            | OpKind::DockerDelete => {
                let _ = std::fs::remove_dir_all(self.paths.container_dir(subject));
                self.store.write(|tx| tx.delete_container(subject))
            }
            OpKind::CniReap => {
                let ids: Vec<&str> = subject.split_whitespace().collect();
                for id in &ids {
                    let _ = std::fs::remove_dir_all(self.paths.container_dir(id));
                }
                self.store
                    .write(|tx| ids.iter().try_for_each(|id| tx.delete_container(id)))
            }
            OpKind::CreateNetwork | OpKind::OverlayAttach => {
                self.store.write(|tx| tx.delete_network(subject))
            }
            OpKind::RemoveNetwork | OpKind::OverlayDetach => {
                if let Some(n) = self.store.read(|tx| tx.network(subject))? {
                    self.revoke_forward(&n)?;
                }
                self.store.write(|tx| tx.delete_network(subject))
            }
            OpKind::Connect | OpKind::Disconnect => {
                let cid = self.store.write(|tx| forget_endpoint(tx, subject))?;
                if let Some(c) = cid.and_then(|id| self.container(&id).ok()) {
                    self.write_etc_files(&c)?;
                }
                Ok(())
            }
            // A stop that died before recording the exit status: unknown,
            // 255 as for any lost container.
            OpKind::StopContainer => self.store.write(|tx| record_exit(tx, subject, None)),
            // A Join undone: the endpoint is as CreateEndpoint left it.
            OpKind::DockerJoin => self.store.write(|tx| {
                if let Some(mut c) = tx.container(subject)? {
                    c.state = ContainerState::Created;
                    if let Some(a) = c.cni.as_mut() {
                        a.netns = Default::default();
                    }
                    tx.update_container(&c)?;
                }
                Ok(())
            }),
            OpKind::DockerPublish => self.store.write(|tx| unpublished(tx, subject)),
            // Its records were changed with the intent.
            OpKind::DockerUnpublish => Ok(()),
            OpKind::StartContainer => self.store.write(|tx| {
                if let Some(mut c) = tx.container(subject)? {
                    c.state = ContainerState::Exited;
                    c.pid = None;
                    tx.update_container(&c)?;
                }
                Ok(())
            }),
        }
    }
}

/// The error for operation `op` whose recorded plan does not parse.
fn corrupt(op: &Op, e: &Error) -> Error {
    Error::new(
        crate::ErrorKind::Store,
        format!(
            "the record of operation {} ({} {}) is corrupt: {}; berth cannot tell what it made, so it keeps the record and touches nothing (see 'berth doctor')",
            op.id,
            op.kind,
            ids::short(&op.subject),
            e.message()
        ),
    )
}
