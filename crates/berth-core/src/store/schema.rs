//! The database schema. Records are JSON documents with their lookup and
//! uniqueness keys in columns; UNIQUE constraints are the last line of
//! defence against duplicate names, addresses and host ports.

use rusqlite::{Connection, Transaction, TransactionBehavior};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS endpoints (
    id TEXT PRIMARY KEY,
    container_id TEXT NOT NULL REFERENCES containers(id),
    network_id TEXT NOT NULL REFERENCES networks(id),
    ipv4 TEXT,
    ipv6 TEXT,
    data TEXT NOT NULL,
    UNIQUE (container_id, network_id),
    UNIQUE (network_id, ipv4),
    UNIQUE (network_id, ipv6)
);
CREATE INDEX IF NOT EXISTS endpoints_by_network ON endpoints(network_id);
CREATE TABLE IF NOT EXISTS ports (
    proto TEXT NOT NULL,
    host_ip TEXT NOT NULL,
    port INTEGER NOT NULL,
    container_id TEXT NOT NULL REFERENCES containers(id),
    PRIMARY KEY (proto, host_ip, port)
);
CREATE INDEX IF NOT EXISTS ports_by_port ON ports(proto, port);
CREATE INDEX IF NOT EXISTS ports_by_container ON ports(container_id);
CREATE TABLE IF NOT EXISTS ops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_start INTEGER NOT NULL,
    plan TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS host_changes (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#;

/// The schema's version, kept in SQLite's `user_version` header field.
const VERSION: i64 = 1;

/// Creates the tables if they do not exist. A database already at
/// [`VERSION`] costs one header read instead of parsing every statement
/// (~0.1 ms on every short-lived berth process, e.g. each CNI ADD).
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == VERSION {
        return Ok(());
    }
    // Rolled back when dropped on an error, so a retry starts clean.
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> i64 {
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(-1)
    }

    #[test]
    fn creates_once_then_only_reads_the_version() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        migrate(&conn)?;
        assert_eq!(tables(&conn), 7);
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, VERSION);
        // At the current version nothing is executed: a dropped table stays dropped.
        conn.execute_batch("DROP TABLE host_changes")?;
        migrate(&conn)?;
        assert_eq!(tables(&conn), 6);
        Ok(())
    }

    #[test]
    fn a_database_from_before_versioning_is_completed() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL)")?;
        migrate(&conn)?;
        assert_eq!(tables(&conn), 7);
        Ok(())
    }
}
