//! berth's state store: an embedded SQLite database.
//!
//! Every change is one IMMEDIATE transaction ([`Store::write`]): the closure
//! reads what it needs through [`Tx`] and writes its result, and SQLite
//! serialises concurrent berth processes, so two `berth run` started at the
//! same instant never get the same address or host port. The engine only
//! uses [`Tx`]'s methods, each a read or a conditional write of whole
//! records. Overlay networks share what must be cluster-wide through etcd
//! beside this store ([`etcd`], [`cluster`]; decision 11), not behind
//! [`Tx`]: every host keeps its own state here. Tests open the store in
//! memory ([`Store::open_in_memory`]).

pub mod cluster;
mod docker;
pub mod etcd;
pub mod etcd_config;
#[cfg(feature = "etcd")]
mod etcd_failover;
#[cfg(feature = "etcd")]
mod etcd_watch;
mod schema;
mod tx;

pub use tx::{Op, Owner, Tx};

use crate::error::{Error, Result};
use crate::paths::Paths;
use rusqlite::{Connection, TransactionBehavior};
use std::time::{Duration, Instant};

/// How long a berth process waits for another one to release the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `f` until it does not fail with SQLITE_BUSY, for up to
/// [`BUSY_TIMEOUT`]. Needed where SQLite reports "database is locked"
/// without calling the busy handler: switching a fresh database to WAL
/// while other berth processes open it for the first time too.
fn retry_busy(mut f: impl FnMut() -> rusqlite::Result<()>) -> Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return Ok(other?),
        }
    }
}

/// Whether the database file's header says WAL (file format versions 2
/// at offsets 18 and 19, written when the database switched to WAL and
/// kept until it leaves it). Anything else (a new empty file, an older
/// mode, a read error) is "no": the caller then asks SQLite to switch.
fn header_says_wal(db: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 20];
    std::fs::File::open(db)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head.starts_with(b"SQLite format 3\0") && head[18] == 2 && head[19] == 2)
}

/// An open state store.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database under `paths`.
    pub fn open(paths: &Paths) -> Result<Store> {
        paths.secure().map_err(|e| {
            Error::internal(format!(
                "cannot create or secure the state dir {}: {e}",
                paths.state.display()
            ))
        })?;
        let conn = Connection::open(paths.db())?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL is persistent (the database header says it): only a new
        // database needs the switch, which takes the write lock.
        if !header_says_wal(&paths.db()) {
            retry_busy(|| {
                let mode: String =
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(())
                } else {
                    // Another process holds the database in a mode we cannot
                    // leave right now: treat it as busy.
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some(format!("journal mode is {mode}")),
                    ))
                }
            })?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Closing the last connection would checkpoint the WAL into the
        // database and delete it: ~1-2 ms on every short-lived berth
        // command. Checkpoints happen anyway as the WAL grows (every 1000
        // pages, by the committing command).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        // ...but the next command's first read of the database rebuilds
        // its WAL index from the WAL's valid frames: keep them few (a
        // berth command writes ~15 pages) so that opening stays ~0.1 ms
        // instead of growing to ~1 ms as the WAL fills up to 1000 pages.
        // Through the C API: a pragma is a statement to parse, and every
        // berth process pays for each one it runs.
        // SAFETY: the handle is this open connection's, used on this
        // thread only, and the call takes no pointers.
        let rc = unsafe { rusqlite::ffi::sqlite3_wal_autocheckpoint(conn.handle(), 128) };
        if rc != rusqlite::ffi::SQLITE_OK {
            return Err(Error::internal(format!(
                "cannot set the WAL checkpoint interval (SQLite error {rc})"
            )));
        }
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY,
            true,
        )?;
        retry_busy(|| schema::migrate(&conn))?;
        Ok(Store { conn })
    }

    /// A store in memory, gone when it is dropped: for tests of the engine
    /// (see `kernel::fake`).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
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

    /// The database's schema version (SQLite's `user_version`), for
    /// `berth system info`.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Calls `f` with the text of every statement this connection runs
    /// (once it has finished), for the tests of query plans and statement
    /// counts (`engine/tests/query_plans.rs`).
    #[cfg(test)]
    pub(crate) fn trace(&mut self, mut f: impl FnMut(&str) + Send + 'static) -> Result<()> {
        use rusqlite::trace::{TraceEvent, TraceEventCodes};
        self.conn.trace_v2(
            TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(move |e: TraceEvent<'_>| {
                if let TraceEvent::Profile(s, _) = e {
                    f(&s.sql());
                }
            }),
        )?;
        Ok(())
    }

    /// SQLite's plan for `sql` (the `detail` column of `EXPLAIN QUERY
    /// PLAN`, one line per step), for tests.
    #[cfg(test)]
    pub(crate) fn query_plan(&self, sql: &str) -> Result<Vec<String>> {
        let mut st = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        // Parameters left unbound (NULL): the plan does not depend on them.
        let mut rows = st.raw_query();
        let mut plan = Vec::new();
        while let Some(r) = rows.next()? {
            plan.push(r.get::<_, String>(3)?);
        }
        Ok(plan)
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
