//! The store's side of `berth docker-plugin`'s IPAM driver: its pools.

use super::tx::{json, parse};
use super::Tx;
use crate::error::Result;
use crate::model::docker::DockerPool;
use rusqlite::OptionalExtension;

impl Tx<'_> {
    /// Every pool.
    pub fn docker_pools(&self) -> Result<Vec<DockerPool>> {
        let mut st = self.t.prepare_cached("SELECT data FROM docker_pools")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| parse(&r?)).collect()
    }

    /// The pool of id `id` (its subnet), if any.
    pub fn docker_pool(&self, id: &str) -> Result<Option<DockerPool>> {
        let data: Option<String> = self
            .t
            .query_row(
                "SELECT data FROM docker_pools WHERE subnet = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        data.map(|d| parse(&d)).transpose()
    }

    /// Records a pool, or its new state.
    pub fn put_docker_pool(&self, p: &DockerPool) -> Result<()> {
        self.t.execute(
            "INSERT INTO docker_pools (subnet, data) VALUES (?1, ?2) ON CONFLICT(subnet) DO UPDATE SET data = excluded.data",
            [p.id(), json(p)?],
        )?;
        Ok(())
    }

    /// Forgets a pool.
    pub fn delete_docker_pool(&self, id: &str) -> Result<()> {
        self.t
            .execute("DELETE FROM docker_pools WHERE subnet = ?1", [id])?;
        Ok(())
    }

    /// Frees the host ports of container `cid`.
    pub fn delete_ports(&self, cid: &str) -> Result<()> {
        self.t
            .execute("DELETE FROM ports WHERE container_id = ?1", [cid])?;
        Ok(())
    }
}
