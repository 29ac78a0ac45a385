//! The one way an operation runs. Every change berth makes to the kernel
//! goes through [`Engine::run_op`], whatever its kind ([`OpKind`]):
//!
//! 1. **Record**, in one transaction: the records the operation makes or
//!    changes (a container, an endpoint, a network...) and the intent — an
//!    `ops` row with its kind, subject, plan and owner process.
//! 2. **Apply** the plan. A creation ([`Recovery::RollBack`]) stops at the
//!    first step that fails and undoes the steps applied so far; a removal
//!    ([`Recovery::RollForward`]) applies every step, a failed one being a
//!    warning (its steps are idempotent and tolerate what is gone).
//! 3. **Finish**: the operation's work outside the plan (a container's
//!    /etc files, accept rules in another tool's chain). When a creation's
//!    finish fails, its plan is undone as if a step had failed; when a
//!    removal's fails, its record stays for the next berth to finish.
//! 4. **Settle**, in one transaction: the intent is forgotten, and the
//!    records are committed (applied) or undone (rolled back).
//!
//! If berth dies anywhere in between, the intent is still recorded and the
//! next berth command recovers it by its kind (`recover.rs`).

use super::Engine;
use crate::error::{Error, Result};
use crate::ids;
use crate::plan::{OpKind, Plan, Recovery};
use crate::store::Tx;

/// What an operation records before it touches the kernel.
pub(crate) struct Intent<T> {
    /// The object it is about: a container, endpoint or network id.
    pub subject: String,
    /// Its kernel changes.
    pub plan: Plan,
    /// What it made in the store, handed to its finish and settle steps
    /// and returned by [`Engine::run_op`].
    pub value: T,
}

/// How an operation ended, for its settle step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The plan was applied (or, for a removal, rolled forward).
    Applied,
    /// A creation failed: its plan was undone.
    RolledBack,
}

impl Engine {
    /// Runs operation `kind` (see the module docs): `record` writes its
    /// records and returns its [`Intent`], `finish` does its work outside
    /// the plan, `settle` commits or undoes its records.
    pub(crate) fn run_op<T>(
        &mut self,
        kind: OpKind,
        record: impl FnOnce(&Tx) -> Result<Intent<T>>,
        finish: impl FnOnce(&mut Engine, &T) -> Result<()>,
        settle: impl FnOnce(&Tx, &T, Outcome) -> Result<()>,
    ) -> Result<T> {
        let owner = self.owner;
        let (op_id, intent) = self.store.write(|tx| {
            let intent = record(tx)?;
            let id = tx.insert_op(kind, &intent.subject, &intent.plan.to_json(), owner)?;
            Ok((id, intent))
        })?;
        if let Some(f) = self.after_intent.take() {
            f();
        }
        let Intent {
            subject,
            plan,
            value,
        } = intent;
        match kind.recovery() {
            Recovery::RollBack => {
                let done = self.apply_all_or_nothing(kind, &plan, |e| finish(e, &value));
                let outcome = match done {
                    Ok(()) => Outcome::Applied,
                    Err(_) => Outcome::RolledBack,
                };
                self.store.write(|tx| {
                    settle(tx, &value, outcome)?;
                    tx.delete_op(op_id)
                })?;
                done.map(|()| value)
            }
            Recovery::RollForward => {
                for e in self.apply_forward(kind, &plan) {
                    tracing::warn!("{kind} {}: {e}", ids::short(&subject));
                }
                finish(self, &value)?;
                self.store.write(|tx| {
                    settle(tx, &value, Outcome::Applied)?;
                    tx.delete_op(op_id)
                })?;
                self.finish_in_background(&plan);
                Ok(value)
            }
        }
    }

    /// Applies `plan` then `finish`; when either fails, what was applied
    /// is undone (the applier undoes a failed plan itself).
    fn apply_all_or_nothing(
        &mut self,
        kind: OpKind,
        plan: &Plan,
        finish: impl FnOnce(&mut Engine) -> Result<()>,
    ) -> Result<()> {
        self.apply_plan(kind, plan)?;
        let Err(e) = finish(self) else {
            return Ok(());
        };
        self.undo(plan);
        Err(e)
    }

    /// Applies `plan` for operation `kind` step by step, passing the
    /// failpoint after each; when a step fails, everything applied so far
    /// (the failing step included: it may have half happened) is undone
    /// before its error returns.
    pub(crate) fn apply_plan(&mut self, kind: OpKind, plan: &Plan) -> Result<()> {
        for (i, step) in plan.steps.iter().enumerate() {
            if let Err(e) = self.timed_step(kind, i, step) {
                self.undo(&Plan {
                    steps: plan.steps[..=i].to_vec(),
                });
                return Err(e);
            }
            self.kernel.after_step(kind, i);
        }
        Ok(())
    }

    /// Applies every step of removal `kind`'s `plan`, going on past
    /// failures and passing the failpoint after each; returns the failures.
    pub(crate) fn apply_forward(&mut self, kind: OpKind, plan: &Plan) -> Vec<Error> {
        let mut errors = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            if let Err(e) = self.timed_step(kind, i, step) {
                errors.push(e);
            }
            self.kernel.after_step(kind, i);
        }
        errors
    }

    /// Applies every step of `plan`, going on past failures (undo plans,
    /// repairs: their steps are idempotent); returns the failures.
    pub(crate) fn apply_best_effort(&mut self, plan: &Plan) -> Vec<Error> {
        plan.steps
            .iter()
            .filter_map(|s| self.kernel.apply(s).err())
            .collect()
    }

    /// Undoes `plan` (best effort: failures are warnings).
    fn undo(&mut self, plan: &Plan) {
        for e in self.apply_best_effort(&plan.undo()) {
            tracing::warn!("rollback: {e}");
        }
    }

    /// Applies step `i` of operation `kind`, printing how long it took
    /// when step tracing is on (`Config::trace_steps`).
    fn timed_step(&mut self, kind: OpKind, i: usize, step: &crate::plan::Step) -> Result<()> {
        let t0 = std::time::Instant::now();
        let res = self.kernel.apply(step);
        if self.config.trace_steps {
            tracing::info!(
                "step {}:{i} {} took {:?}",
                kind.failpoint(),
                step.kind(),
                t0.elapsed()
            );
        }
        res
    }
}
