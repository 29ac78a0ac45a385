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

/// Version 2, "veth_names": host veth names are unique. They are 28
/// random bits of the endpoint id, so two endpoints could get the same
/// one; the column and its UNIQUE index let allocation retry on a clash
/// and make a duplicate impossible. Names already duplicated in an older
/// database (one of the two veths could never have been created) keep
/// their records but only the first gets the column, so the index builds.
const VETH_NAMES: &str = r#"
ALTER TABLE endpoints ADD COLUMN host_veth TEXT;
UPDATE endpoints SET host_veth = NULLIF(json_extract(data, '$.host_veth'), '');
UPDATE endpoints SET host_veth = NULL WHERE host_veth IS NOT NULL AND rowid NOT IN
    (SELECT min(rowid) FROM endpoints WHERE host_veth IS NOT NULL GROUP BY host_veth);
CREATE UNIQUE INDEX IF NOT EXISTS endpoints_by_veth ON endpoints(host_veth);
"#;

/// Version 3, "docker_pools": the address pools Docker requested from
/// `berth docker-plugin`'s IPAM driver (keyed by subnet: pools never
/// overlap), with their gateway and the addresses handed out, as JSON.
const DOCKER_POOLS: &str = r#"
CREATE TABLE IF NOT EXISTS docker_pools (
    subnet TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
"#;

/// Version 4, "net_container": the containers that share another's
/// network namespace (`--network container:NAME`), found by the one they
/// share without reading every container (stopping it unpins rather than
/// removes the namespace while they run).
const NET_CONTAINER: &str = r#"
CREATE INDEX IF NOT EXISTS containers_by_net_container
    ON containers(json_extract(data, '$.config.net_container'))
    WHERE json_extract(data, '$.config.net_container') IS NOT NULL;
"#;

/// Version 5, "lookup_indexes": every lookup of a hot path finds its row
/// through an index (issue 13; `engine/tests/query_plans.rs` fails on a
/// full scan): Docker's network id, kept in the network's JSON record, is
/// indexed as the expression the lookup uses
/// ([`super::Tx::docker_network`]).
const LOOKUP_INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS networks_by_docker ON networks(json_extract(data, '$.docker'));
"#;

/// Version 6, "subnets": a network's name, bridge and subnets are checked
/// against the other networks' through indexes, not by decoding every
/// network record (issue 13: `network create` at 1,000 networks). A row
/// per subnet of each network, keyed by family (4 or 6) and first address
/// (big-endian bytes: a range of keys is a range of addresses; see
/// `Tx::networks_near`). The rows of networks recorded before this
/// version are filled in by [`fill_subnets`].
const SUBNETS: &str = r#"
CREATE TABLE IF NOT EXISTS subnets (
    network_id TEXT NOT NULL REFERENCES networks(id),
    family INTEGER NOT NULL,
    first BLOB NOT NULL,
    subnet TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subnets_by_first ON subnets(family, first);
CREATE INDEX IF NOT EXISTS subnets_by_network ON subnets(network_id);
CREATE INDEX IF NOT EXISTS networks_by_bridge ON networks(json_extract(data, '$.bridge'));
"#;

/// Fills the `subnets` table from the networks' records (their
/// `ipam[].subnet`), for a database migrated to version 6. A subnet that
/// does not parse is left out (no record berth wrote has one).
fn fill_subnets(tx: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<(String, String)> = tx
        .prepare(
            "SELECT n.id, json_extract(c.value, '$.subnet') FROM networks n, json_each(n.data, '$.ipam') c WHERE json_valid(n.data)",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())))?
        .collect::<rusqlite::Result<_>>()?;
    let mut ins = tx.prepare(
        "INSERT INTO subnets (network_id, family, first, subnet) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (id, subnet) in rows {
        let Ok(net) = subnet.parse::<ipnet::IpNet>() else {
            continue;
        };
        let (family, first) = super::tx::subnet_key(&net);
        ins.execute(rusqlite::params![
            id,
            family,
            first,
            net.trunc().to_string()
        ])?;
    }
    Ok(())
}

/// Changes after version 1, in order: version `2 + i` is reached by
/// `MIGRATIONS[i]`. Each is a named step of its own, so that changes made
/// on separate branches can be put one after the other when they meet.
const MIGRATIONS: &[(&str, &str)] = &[
    ("veth_names", VETH_NAMES),
    ("docker_pools", DOCKER_POOLS),
    ("net_container", NET_CONTAINER),
    ("lookup_indexes", LOOKUP_INDEXES),
    ("subnets", SUBNETS),
];

/// The schema's version, kept in SQLite's `user_version` header field.
const VERSION: i64 = 1 + MIGRATIONS.len() as i64;

/// Creates the tables if they do not exist and applies the migrations the
/// database has not had yet, in one transaction. A database already at
/// [`VERSION`] costs one header read instead of parsing every statement
/// (~0.1 ms on every short-lived berth process, e.g. each CNI ADD). A
/// database newer than this berth is refused (it could not read it).
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == VERSION {
        return Ok(());
    }
    if current > VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "the state database has schema version {current}, newer than this berth's {VERSION}: use the berth that wrote it (or a newer one)"
            )),
        ));
    }
    // Rolled back when dropped on an error, so a retry starts clean.
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    // Another process may have migrated it while we waited for the lock.
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == VERSION {
        return Ok(());
    }
    if current < 1 {
        tx.execute_batch(SCHEMA)?;
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        if current < 2 + i as i64 {
            tx.execute_batch(sql)?;
            if *name == "subnets" {
                fill_subnets(&tx)?;
            }
        }
    }
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
        assert_eq!(tables(&conn), 9);
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, VERSION);
        // At the current version nothing is executed: a dropped table stays dropped.
        conn.execute_batch("DROP TABLE host_changes")?;
        migrate(&conn)?;
        assert_eq!(tables(&conn), 8);
        Ok(())
    }

    /// The schema of version 1, as berth wrote it, with two endpoints
    /// whose veth names clash and one of a driver without a veth.
    fn version_1() -> rusqlite::Result<Connection> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", 1)?;
        conn.execute_batch(
            r#"INSERT INTO networks VALUES ('n', 'net', '{}');
            INSERT INTO containers VALUES ('c1', 'one', '{}'), ('c2', 'two', '{}'), ('c3', 'three', '{}');
            INSERT INTO endpoints (id, container_id, network_id, ipv4, data) VALUES
              ('e1', 'c1', 'n', '192.0.2.2', '{"host_veth": "vethaaaaaaa"}'),
              ('e2', 'c2', 'n', '192.0.2.3', '{"host_veth": "vethaaaaaaa"}'),
              ('e3', 'c3', 'n', '192.0.2.4', '{"host_veth": ""}');"#,
        )?;
        Ok(conn)
    }

    #[test]
    fn version_1_gets_unique_veth_names() -> rusqlite::Result<()> {
        let conn = version_1()?;
        migrate(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, VERSION);
        let veths: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, host_veth FROM endpoints ORDER BY id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(
            veths,
            [
                ("e1".into(), Some("vethaaaaaaa".into())),
                ("e2".into(), None),
                ("e3".into(), None)
            ]
        );
        // The index refuses a second endpoint with a taken name.
        let dup = conn.execute(
            "INSERT INTO endpoints (id, container_id, network_id, host_veth, data) VALUES ('e4', 'c3', 'n', 'vethaaaaaaa', '{}')",
            [],
        );
        assert!(dup.is_err());
        Ok(())
    }

    #[test]
    fn version_2_gets_the_docker_pools_table() -> rusqlite::Result<()> {
        let conn = version_1()?;
        conn.execute_batch(VETH_NAMES)?;
        conn.pragma_update(None, "user_version", 2)?;
        migrate(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, VERSION);
        conn.execute(
            "INSERT INTO docker_pools (subnet, data) VALUES ('192.0.2.0/24', '{}')",
            [],
        )?;
        // Pools are keyed by subnet: the same pool twice is refused.
        assert!(conn
            .execute(
                "INSERT INTO docker_pools (subnet, data) VALUES ('192.0.2.0/24', '{}')",
                []
            )
            .is_err());
        Ok(())
    }

    #[test]
    fn version_3_gets_the_net_container_index() -> rusqlite::Result<()> {
        let conn = version_1()?;
        conn.execute_batch(VETH_NAMES)?;
        conn.execute_batch(DOCKER_POOLS)?;
        conn.pragma_update(None, "user_version", 3)?;
        conn.execute(
            "INSERT INTO containers (id, name, data) VALUES ('b', 'joiner', '{\"config\":{\"net_container\":\"a\"}}'), ('c', 'other', '{\"config\":{}}')",
            [],
        )?;
        migrate(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, VERSION);
        let plan: String = conn.query_row(
            "EXPLAIN QUERY PLAN SELECT name FROM containers WHERE json_extract(data, '$.config.net_container') = 'a'",
            [],
            |r| r.get(3),
        )?;
        assert!(plan.contains("containers_by_net_container"), "{plan}");
        let name: String = conn.query_row(
            "SELECT name FROM containers WHERE json_extract(data, '$.config.net_container') = 'a'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(name, "joiner");
        Ok(())
    }

    #[test]
    fn version_4_gets_the_lookup_indexes() -> rusqlite::Result<()> {
        let conn = version_1()?;
        conn.execute_batch(VETH_NAMES)?;
        conn.execute_batch(DOCKER_POOLS)?;
        conn.execute_batch(NET_CONTAINER)?;
        conn.pragma_update(None, "user_version", 4)?;
        conn.execute(
            "INSERT INTO networks VALUES ('d', 'dnet', '{\"docker\": \"abc\"}')",
            [],
        )?;
        migrate(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, VERSION);
        // The lookup by Docker's id finds the old record through the index.
        let sql = "SELECT id FROM networks WHERE json_extract(data, '$.docker') = ?1";
        let plan: String =
            conn.query_row(&format!("EXPLAIN QUERY PLAN {sql}"), ["abc"], |r| r.get(3))?;
        assert!(plan.contains("USING INDEX networks_by_docker"), "{plan}");
        let id: String = conn.query_row(sql, ["abc"], |r| r.get(0))?;
        assert_eq!(id, "d");
        Ok(())
    }

    #[test]
    fn version_5_gets_the_subnets_index() -> rusqlite::Result<()> {
        let conn = version_1()?;
        for sql in [VETH_NAMES, DOCKER_POOLS, NET_CONTAINER, LOOKUP_INDEXES] {
            conn.execute_batch(sql)?;
        }
        conn.pragma_update(None, "user_version", 5)?;
        conn.execute_batch(
            r#"INSERT INTO networks VALUES ('a', 'appnet', '{"bridge": "br-a", "ipam": [{"subnet": "192.0.2.0/25"}, {"subnet": "2001:db8:5::/64"}]}');
            INSERT INTO networks VALUES ('h', 'host', '{"ipam": []}');"#,
        )?;
        migrate(&conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, VERSION);
        // Every subnet of the old records is in the index, keyed by its
        // family and first address.
        let rows: Vec<(String, i64, Vec<u8>, String)> = conn
            .prepare("SELECT network_id, family, first, subnet FROM subnets ORDER BY family")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut v6 = vec![0x20, 0x01, 0x0d, 0xb8, 0, 5];
        v6.resize(16, 0);
        assert_eq!(
            rows,
            [
                ("a".into(), 4, vec![192, 0, 2, 0], "192.0.2.0/25".into()),
                ("a".into(), 6, v6, "2001:db8:5::/64".into())
            ]
        );
        // The lookups of `network create` find them through indexes.
        for (sql, index) in [
            (
                "SELECT network_id FROM subnets WHERE family = 4 AND first BETWEEN x'c0000200' AND x'c00002ff'",
                "subnets_by_first",
            ),
            (
                "SELECT id FROM networks WHERE json_extract(data, '$.bridge') = 'br-a'",
                "networks_by_bridge",
            ),
        ] {
            let plan: String =
                conn.query_row(&format!("EXPLAIN QUERY PLAN {sql}"), [], |r| r.get(3))?;
            assert!(plan.contains(&format!("USING INDEX {index}")), "{plan}");
            let id: String = conn.query_row(sql, [], |r| r.get(0))?;
            assert_eq!(id, "a");
        }
        Ok(())
    }

    #[test]
    fn a_newer_database_is_refused() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "user_version", VERSION + 1)?;
        let e = migrate(&conn).unwrap_err().to_string();
        assert!(e.contains("newer than this berth"), "{e}");
        Ok(())
    }

    #[test]
    fn a_database_from_before_versioning_is_completed() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL)")?;
        migrate(&conn)?;
        assert_eq!(tables(&conn), 9);
        Ok(())
    }
}
