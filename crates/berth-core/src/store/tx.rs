//! Reads and writes inside one store transaction.

use crate::error::{Error, Result};
use crate::model::{Container, Endpoint, Network, Proto};
use rusqlite::{params, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Access to the store inside a transaction.
pub struct Tx<'a> {
    pub(super) t: &'a Transaction<'a>,
}

pub(super) fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("cannot encode record: {e}")))
}

pub(super) fn parse<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s)
        .map_err(|e| Error::internal(format!("corrupt record in the state store: {e}")))
}

impl<'a> Tx<'a> {
    pub(super) fn new(t: &'a Transaction<'a>) -> Tx<'a> {
        Tx { t }
    }

    fn all<T: DeserializeOwned>(&self, sql: &str, arg: Option<&str>) -> Result<Vec<T>> {
        let mut st = self.t.prepare_cached(sql)?;
        let rows: Vec<String> = match arg {
            Some(a) => st.query_map([a], |r| r.get(0))?.collect::<Result<_, _>>()?,
            None => st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?,
        };
        rows.iter().map(|s| parse(s)).collect()
    }

    /// Finds a row's data by exact name, exact id, then unique id prefix.
    fn lookup(&self, table: &str, key: &str) -> Result<Option<String>> {
        let exact = format!(
            "SELECT data FROM {table} WHERE name = ?1 OR id = ?1 ORDER BY name = ?1 DESC LIMIT 1"
        );
        // Cached: `network inspect` and every attach look up many rows.
        let mut st = self.t.prepare_cached(&exact)?;
        if let Some(d) = st.query_row([key], |r| r.get(0)).optional()? {
            return Ok(Some(d));
        }
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        // Ids are lowercase hex: those starting with `key` are the ones in
        // [key, key + "g"), a range the primary key's index finds (a LIKE
        // with a computed pattern reads the whole table).
        let key = key.to_ascii_lowercase();
        let range = format!("SELECT data FROM {table} WHERE id >= ?1 AND id < ?2 LIMIT 2");
        let mut st = self.t.prepare_cached(&range)?;
        let rows: Vec<String> = st
            .query_map([key.as_str(), &format!("{key}g")], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        match rows.len() {
            1 => Ok(rows.into_iter().next()),
            0 => Ok(None),
            _ => Err(Error::invalid(format!(
                "id prefix {key:?} is ambiguous: give more characters"
            ))),
        }
    }

    /// Every network, oldest first.
    pub fn networks(&self) -> Result<Vec<Network>> {
        self.all("SELECT data FROM networks ORDER BY rowid", None)
    }

    /// The network called exactly `name` (CNI and netavark name networks:
    /// a name there is never an id, nor an id prefix that could be
    /// ambiguous or point at another network).
    pub fn network_by_name(&self, name: &str) -> Result<Option<Network>> {
        self.t
            .query_row("SELECT data FROM networks WHERE name = ?1", [name], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|d| parse(&d))
            .transpose()
    }

    /// A network by name, id or id prefix.
    pub fn network(&self, key: &str) -> Result<Option<Network>> {
        self.lookup("networks", key)?.map(|d| parse(&d)).transpose()
    }

    /// The network Docker knows as `docker_id` (`berth docker-plugin`).
    pub fn docker_network(&self, docker_id: &str) -> Result<Option<Network>> {
        let mut st = self.t.prepare_cached(
            "SELECT data FROM networks WHERE json_extract(data, '$.docker') = ?1 LIMIT 1",
        )?;
        let data: Option<String> = st.query_row([docker_id], |r| r.get(0)).optional()?;
        data.map(|d| parse(&d)).transpose()
    }

    /// Stores a new network; its name must be free.
    pub fn insert_network(&self, n: &Network) -> Result<()> {
        self.t
            .execute(
                "INSERT INTO networks (id, name, data) VALUES (?1, ?2, ?3)",
                params![n.id, n.name, json(n)?],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Error::conflict(format!(
                        "network with name {:?} already exists: choose another name",
                        n.name
                    ))
                }
                e => e.into(),
            })?;
        self.insert_subnets(n)
    }

    /// Removes a network record (and its rows in the subnets index).
    pub fn delete_network(&self, id: &str) -> Result<()> {
        self.delete_subnets(id)?;
        self.t.execute("DELETE FROM networks WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Every container, oldest first.
    pub fn containers(&self) -> Result<Vec<Container>> {
        self.all("SELECT data FROM containers ORDER BY rowid", None)
    }

    /// The containers sharing container `id`'s network namespace
    /// (`--network container:NAME`).
    pub fn containers_joining(&self, id: &str) -> Result<Vec<Container>> {
        self.all(
            "SELECT data FROM containers WHERE json_extract(data, '$.config.net_container') = ?1",
            Some(id),
        )
    }

    /// A container by name, id or id prefix.
    pub fn container(&self, key: &str) -> Result<Option<Container>> {
        self.lookup("containers", key)?
            .map(|d| parse(&d))
            .transpose()
    }

    /// Stores a new container; its name must be free.
    pub fn insert_container(&self, c: &Container) -> Result<()> {
        self.t
            .execute("INSERT INTO containers (id, name, data) VALUES (?1, ?2, ?3)", params![c.id, c.name, json(c)?])
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => Error::conflict(format!(
                    "the container name {:?} is already in use: remove that container (berth rm -f {0}) or choose another name",
                    c.name
                )),
                e => e.into(),
            })?;
        Ok(())
    }

    /// Rewrites a container record.
    pub fn update_container(&self, c: &Container) -> Result<()> {
        self.t.execute(
            "UPDATE containers SET data = ?2 WHERE id = ?1",
            params![c.id, json(c)?],
        )?;
        Ok(())
    }

    /// Removes a container with its endpoints and ports.
    pub fn delete_container(&self, id: &str) -> Result<()> {
        self.t
            .execute("DELETE FROM ports WHERE container_id = ?1", [id])?;
        self.t
            .execute("DELETE FROM endpoints WHERE container_id = ?1", [id])?;
        self.t
            .execute("DELETE FROM containers WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Endpoints of a container, in attachment order.
    pub fn container_endpoints(&self, cid: &str) -> Result<Vec<Endpoint>> {
        let mut v: Vec<Endpoint> = self.all(
            "SELECT data FROM endpoints WHERE container_id = ?1",
            Some(cid),
        )?;
        v.sort_by_key(|e| e.position);
        Ok(v)
    }

    /// A container's endpoints (in attachment order) and the networks they
    /// are on (in the same order).
    pub fn container_attachments(&self, cid: &str) -> Result<(Vec<Endpoint>, Vec<Network>)> {
        let eps = self.container_endpoints(cid)?;
        let mut nets = Vec::new();
        for e in &eps {
            nets.extend(self.network(&e.network_id)?);
        }
        Ok((eps, nets))
    }

    /// Endpoints on a network.
    pub fn network_endpoints(&self, nid: &str) -> Result<Vec<Endpoint>> {
        self.all(
            "SELECT data FROM endpoints WHERE network_id = ?1 ORDER BY rowid",
            Some(nid),
        )
    }

    /// The endpoints on network `nid` (oldest first) with their containers,
    /// read by one statement (`network inspect` lists them all).
    pub fn network_members(&self, nid: &str) -> Result<Vec<(Endpoint, Container)>> {
        let mut st = self.t.prepare_cached(
            "SELECT e.data, c.data FROM endpoints e JOIN containers c ON c.id = e.container_id WHERE e.network_id = ?1 ORDER BY e.rowid",
        )?;
        let rows: Vec<(String, String)> = st
            .query_map([nid], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.iter()
            .map(|(e, c)| Ok((parse(e)?, parse(c)?)))
            .collect()
    }

    /// An endpoint by id.
    pub fn endpoint(&self, id: &str) -> Result<Option<Endpoint>> {
        let mut st = self
            .t
            .prepare_cached("SELECT data FROM endpoints WHERE id = ?1")?;
        let data: Option<String> = st.query_row([id], |r| r.get(0)).optional()?;
        data.map(|d| parse(&d)).transpose()
    }

    /// Every endpoint.
    pub fn endpoints(&self) -> Result<Vec<Endpoint>> {
        self.all("SELECT data FROM endpoints ORDER BY rowid", None)
    }

    /// Addresses in use on a network.
    pub fn used_addrs(&self, nid: &str) -> Result<BTreeSet<IpAddr>> {
        let mut st = self
            .t
            .prepare_cached("SELECT ipv4, ipv6 FROM endpoints WHERE network_id = ?1")?;
        let mut set = BTreeSet::new();
        let rows = st.query_map([nid], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
            ))
        })?;
        for row in rows {
            let (a, b) = row?;
            set.extend(
                [a, b]
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.parse::<IpAddr>().ok()),
            );
        }
        Ok(set)
    }

    /// True when `ip` is assigned to an endpoint on network `nid`.
    pub fn addr_in_use(&self, nid: &str, ip: &IpAddr) -> Result<bool> {
        let col = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
        let sql = format!("SELECT 1 FROM endpoints WHERE network_id = ?1 AND {col} = ?2");
        Ok(self
            .t
            .query_row(&sql, [nid, &ip.to_string()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// A small named value (allocation cursors and the like).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .t
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a named value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.t.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            [key, value],
        )?;
        Ok(())
    }

    /// Stores an endpoint; its addresses must be free on its network.
    pub fn insert_endpoint(&self, e: &Endpoint) -> Result<()> {
        let v4 = e.ipv4.map(|n| n.addr().to_string());
        let v6 = e.ipv6.map(|n| n.addr().to_string());
        let veth = (!e.host_veth.is_empty()).then_some(&e.host_veth);
        self.t
            .execute(
                "INSERT INTO endpoints (id, container_id, network_id, ipv4, ipv6, host_veth, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![e.id, e.container_id, e.network_id, v4, v6, veth, json(e)?],
            )
            .map_err(|err| match err {
                rusqlite::Error::SqliteFailure(f, Some(m)) if f.code == rusqlite::ErrorCode::ConstraintViolation && m.contains("host_veth") => Error::conflict(format!(
                    "veth name {} is already recorded for another endpoint; nothing was changed, try again",
                    e.host_veth
                )),
                rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => Error::conflict(format!(
                    "address {} is already in use on this network (or the container is already attached): choose another --ip",
                    v4.or(v6).unwrap_or_default()
                )),
                e => e.into(),
            })?;
        Ok(())
    }

    /// True when an endpoint records host veth name `name`.
    pub fn veth_in_use(&self, name: &str) -> Result<bool> {
        let mut st = self
            .t
            .prepare_cached("SELECT 1 FROM endpoints WHERE host_veth = ?1")?;
        Ok(st.exists([name])?)
    }

    /// Removes an endpoint.
    pub fn delete_endpoint(&self, id: &str) -> Result<()> {
        self.t
            .execute("DELETE FROM endpoints WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Host bindings of `proto`/`port`: (host address or "" for all, owner).
    pub fn port_owners(&self, proto: Proto, port: u16) -> Result<Vec<(String, String)>> {
        let mut st = self.t.prepare_cached(
            "SELECT host_ip, container_id FROM ports WHERE proto = ?1 AND port = ?2",
        )?;
        let rows = st.query_map(params![proto.as_str(), port], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Reserves a host port for a container.
    pub fn insert_port(&self, proto: Proto, host_ip: &str, port: u16, cid: &str) -> Result<()> {
        self.t.execute(
            "INSERT INTO ports (proto, host_ip, port, container_id) VALUES (?1, ?2, ?3, ?4)",
            params![proto.as_str(), host_ip, port, cid],
        )?;
        Ok(())
    }

    /// A recorded change berth made to the host (a sysctl, a rule in another
    /// table) and the value needed to undo it.
    pub fn host_change(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .t
            .query_row(
                "SELECT value FROM host_changes WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records a host change.
    pub fn set_host_change(&self, key: &str, value: &str) -> Result<()> {
        self.t.execute(
            "INSERT OR REPLACE INTO host_changes (key, value) VALUES (?1, ?2)",
            [key, value],
        )?;
        Ok(())
    }

    /// Forgets a host change.
    pub fn delete_host_change(&self, key: &str) -> Result<()> {
        self.t
            .execute("DELETE FROM host_changes WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Every recorded host change.
    pub fn host_changes(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .t
            .prepare_cached("SELECT key, value FROM host_changes ORDER BY key")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

mod ops;
mod subnets;
pub use ops::{Op, Owner};
pub(super) use subnets::subnet_key;
