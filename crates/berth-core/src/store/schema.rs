//! The database schema. Records are JSON documents with their lookup and
//! uniqueness keys in columns; UNIQUE constraints are the last line of
//! defence against duplicate names, addresses and host ports.

use rusqlite::Connection;

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

/// Creates the tables if they do not exist.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}
