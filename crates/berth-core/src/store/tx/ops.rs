//! The intent journal: operations recorded before they touch the kernel
//! and forgotten once they are done (see `engine/run.rs`).

use super::Tx;
use crate::error::{Error, Result};
use crate::plan::OpKind;
use rusqlite::{params, OptionalExtension};

/// A recorded intent: an operation that was started and not yet finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// Row id.
    pub id: i64,
    /// What kind of operation, as recorded ([`OpKind::as_str`]; a kind
    /// this berth does not know is kept as it is, see [`Op::kind`]).
    pub kind: String,
    /// The object it is about (container or network id).
    pub subject: String,
    /// PID of the berth process doing it.
    pub owner_pid: i32,
    /// That process's start time, to tell a live owner from a reused PID.
    pub owner_start: u64,
    /// The plan being applied (JSON).
    pub plan: String,
}

impl Op {
    /// The kind of the operation; `None` when the record names a kind this
    /// berth does not know (written by a newer one).
    pub fn kind(&self) -> Option<OpKind> {
        OpKind::parse(&self.kind)
    }

    /// The operation's kind and plan, or why the record cannot be read
    /// (an unknown kind or a plan that does not parse: written by a newer
    /// berth, or damaged). Such a record is kept, never guessed at.
    pub fn decode(&self) -> Result<(OpKind, crate::plan::Plan)> {
        let kind = self.kind().ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Store,
                format!(
                    "unknown operation kind {:?} (written by a newer berth?)",
                    self.kind
                ),
            )
        })?;
        Ok((kind, crate::plan::Plan::from_json(&self.plan)?))
    }
}

/// The process that records an operation: its PID and start time (clock
/// ticks since boot), so that a later berth tells a live owner from a dead
/// one whose PID was reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: i32,
    /// Start time (0 when unknown).
    pub start: u64,
}

impl Tx<'_> {
    /// Records operation `kind` on `subject` by `owner`, about to apply
    /// `plan` (JSON); returns its id.
    pub fn insert_op(&self, kind: OpKind, subject: &str, plan: &str, owner: Owner) -> Result<i64> {
        self.t.execute(
            "INSERT INTO ops (kind, subject, owner_pid, owner_start, plan, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                kind.as_str(),
                subject,
                owner.pid,
                owner.start as i64,
                plan,
                crate::model::now_rfc3339()
            ],
        )?;
        Ok(self.t.last_insert_rowid())
    }

    /// Marks an operation finished.
    pub fn delete_op(&self, id: i64) -> Result<()> {
        self.t.execute("DELETE FROM ops WHERE id = ?1", [id])?;
        Ok(())
    }

    /// True when an operation `kind` on `subject` is recorded and unfinished
    /// (e.g. a network being removed, which must not get new endpoints).
    pub fn has_op(&self, kind: OpKind, subject: &str) -> Result<bool> {
        Ok(self
            .t
            .query_row(
                "SELECT 1 FROM ops WHERE kind = ?1 AND subject = ?2 LIMIT 1",
                [kind.as_str(), subject],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The kind of a recorded, unfinished operation creating or removing
    /// network `id` ([`OpKind::changes_network`]), if there is one: such a
    /// network takes no new endpoints.
    pub fn network_op(&self, id: &str) -> Result<Option<OpKind>> {
        let mut st = self
            .t
            .prepare_cached("SELECT kind FROM ops WHERE subject = ?1 ORDER BY id")?;
        let kinds = st.query_map([id], |r| r.get::<_, String>(0))?;
        for kind in kinds {
            if let Some(k) = OpKind::parse(&kind?).filter(|k| k.changes_network()) {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    /// Every unfinished operation.
    pub fn ops(&self) -> Result<Vec<Op>> {
        let mut st = self.t.prepare_cached(
            "SELECT id, kind, subject, owner_pid, owner_start, plan FROM ops ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Op {
                id: r.get(0)?,
                kind: r.get(1)?,
                subject: r.get(2)?,
                owner_pid: r.get(3)?,
                owner_start: r.get::<_, i64>(4)? as u64,
                plan: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
