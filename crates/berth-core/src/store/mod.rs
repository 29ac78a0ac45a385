//! berth's state store: an embedded SQLite database.
//!
//! Every change is one IMMEDIATE transaction ([`Store::write`]): the closure
//! reads what it needs through [`Tx`] and writes its result, and SQLite
//! serialises concurrent berth processes, so two `berth run` started at the
//! same instant never get the same address or host port. The engine only
//! uses [`Tx`]'s methods, each a read or a conditional write of whole
//! records; that is the interface a distributed store (etcd, with its
//! compare-and-swap transactions) can implement later.

mod schema;
mod tx;

pub use tx::{Op, Tx};

use crate::error::{Error, Result};
use crate::paths::Paths;
use rusqlite::{Connection, TransactionBehavior};
use std::time::Duration;

/// An open state store.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database under `paths`.
    pub fn open(paths: &Paths) -> Result<Store> {
        std::fs::create_dir_all(&paths.state).map_err(|e| {
            Error::internal(format!(
                "cannot create state dir {}: {e}",
                paths.state.display()
            ))
        })?;
        let conn = Connection::open(paths.db())?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&conn)?;
        Ok(Store { conn })
    }

    /// Runs `f` in one IMMEDIATE (write-locked) transaction; commits when it
    /// returns Ok, rolls back otherwise.
    pub fn write<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let t = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Tx::new(&t))?;
        t.commit()?;
        Ok(out)
    }

    /// Runs `f` on a consistent read snapshot.
    pub fn read<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let t = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&Tx::new(&t))?;
        t.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
