//! Docker's IPAM driver: address pools and addresses, kept in berth's store
//! (`docker_pools`). Pools chosen by berth come from Docker's default
//! pools, avoiding berth's networks, other pools and the host's routes;
//! pools never overlap each other or a network of berth's own.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ipam;
use crate::model::docker::DockerPool;
use crate::model::IpamConfig;
use crate::store::Tx;
use ipnet::IpNet;
use std::net::IpAddr;

impl Engine {
    /// RequestPool: `pool` (or one berth chooses, IPv6 if `v6`), handing
    /// out addresses from `range` only when given.
    pub fn docker_request_pool(
        &mut self,
        pool: Option<IpNet>,
        range: Option<IpNet>,
        v6: bool,
    ) -> Result<DockerPool> {
        self.require_root()?;
        if let Some(r) = range {
            match pool {
                Some(p) if p.contains(&r) => {}
                Some(p) => {
                    return Err(Error::invalid(format!(
                        "address range {r} is not inside pool {p}"
                    )))
                }
                None => {
                    return Err(Error::invalid(format!(
                        "address range {r} given without a pool: give --subnet too"
                    )))
                }
            }
        }
        let routes = self.kernel.host_facts(&[], true)?.routes;
        self.store.write(|tx| {
            let taken = taken(tx)?;
            let subnet = match pool {
                Some(p) => {
                    if let Some((t, owner)) = taken.iter().find(|(t, _)| ipam::overlaps(t, &p)) {
                        return Err(Error::conflict(format!(
                            "pool {p} overlaps {t} of {owner}: choose another --subnet"
                        )));
                    }
                    p
                }
                None if v6 => ipam::ula_subnet(&crate::ids::new_id()?),
                None => {
                    let mut all: Vec<IpNet> = taken.iter().map(|(t, _)| *t).collect();
                    all.extend(routes.iter().copied());
                    ipam::pick_subnet(&all).ok_or_else(|| {
                        Error::conflict("no free address pool left: give --subnet")
                    })?
                }
            };
            let p = DockerPool {
                subnet,
                range,
                gateway: None,
                leases: Default::default(),
            };
            tx.put_docker_pool(&p)?;
            Ok(p)
        })
    }

    /// ReleasePool.
    pub fn docker_release_pool(&mut self, id: &str) -> Result<()> {
        self.store.write(|tx| {
            pool(tx, id)?;
            tx.delete_docker_pool(id)
        })
    }

    /// RequestAddress: `want` (or the next free address) from pool `id`;
    /// `gateway` reserves the network's gateway (the pool's first address
    /// unless `want` is given). Returns it with the pool's prefix.
    pub fn docker_request_address(
        &mut self,
        id: &str,
        want: Option<IpAddr>,
        gateway: bool,
    ) -> Result<IpNet> {
        self.store.write(|tx| {
            let mut p = pool(tx, id)?;
            let cfg = IpamConfig {
                subnet: p.subnet,
                gateway: p.gateway.unwrap_or_else(|| ipam::first_host(&p.subnet)),
                ip_range: p.range,
                aux: Default::default(),
                range_start: None,
                range_end: None,
            };
            let ip = match want {
                Some(ip) => {
                    check_free(&p, ip)?;
                    ip
                }
                None if gateway => cfg.gateway,
                None => {
                    let mut used = p.leases.clone();
                    used.extend(p.gateway);
                    ipam::allocate(&cfg, &used).ok_or_else(|| {
                        Error::conflict(format!("no free address left in pool {}", p.subnet))
                    })?
                }
            };
            if gateway {
                p.gateway = Some(ip);
            } else {
                p.leases.insert(ip);
            }
            tx.put_docker_pool(&p)?;
            IpNet::new(ip, p.subnet.prefix_len())
                .map_err(|e| Error::internal(format!("address {ip}: {e}")))
        })
    }

    /// ReleaseAddress (releasing an address that is free already is fine).
    pub fn docker_release_address(&mut self, id: &str, ip: IpAddr) -> Result<()> {
        self.store.write(|tx| {
            let mut p = pool(tx, id)?;
            if p.gateway == Some(ip) {
                p.gateway = None;
            } else {
                p.leases.remove(&ip);
            }
            tx.put_docker_pool(&p)
        })
    }
}

/// Pool `id`, or the protocol's error for an unknown one.
fn pool(tx: &Tx, id: &str) -> Result<DockerPool> {
    tx.docker_pool(id)?.ok_or_else(|| {
        Error::not_found(format!(
            "address pool {id:?} is not known to berth (no RequestPool for it reached this plugin, or it was released)"
        ))
    })
}

/// Subnets in use: pools, and berth's networks other than Docker's (a
/// Docker network's subnet is its pool, or was chosen by Docker's own IPAM).
fn taken(tx: &Tx) -> Result<Vec<(IpNet, String)>> {
    let mut out: Vec<(IpNet, String)> = tx
        .docker_pools()?
        .into_iter()
        .map(|p| (p.subnet, "a pool Docker requested".to_string()))
        .collect();
    for n in tx.networks()?.into_iter().filter(|n| n.docker.is_none()) {
        out.extend(
            n.ipam
                .iter()
                .map(|c| (c.subnet, format!("berth network {}", n.name))),
        );
    }
    Ok(out)
}

/// Checks that `ip` may be handed out from pool `p`.
fn check_free(p: &DockerPool, ip: IpAddr) -> Result<()> {
    let v4_edge = match p.subnet {
        IpNet::V4(n) => ip == IpAddr::V4(n.broadcast()),
        IpNet::V6(_) => false,
    };
    if !p.subnet.contains(&ip) || ip == p.subnet.network() || v4_edge {
        return Err(Error::invalid(format!(
            "address {ip} cannot be handed out from pool {}: it is outside it, or its network or broadcast address",
            p.subnet
        )));
    }
    if p.leases.contains(&ip) || p.gateway == Some(ip) {
        return Err(Error::conflict(format!(
            "address {ip} is already in use in pool {}",
            p.subnet
        )));
    }
    Ok(())
}
