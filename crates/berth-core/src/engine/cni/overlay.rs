//! CNI attachments to overlay networks: a pod network across hosts.
//!
//! When the cluster store is configured (the conflist's `store`, or the
//! plugin's environment) and the configuration's `name` is an overlay
//! network of the cluster, ADD realises the network on this host if needed
//! and reserves the pod's address cluster-wide by compare-and-swap before
//! the local record (as `berth run` does), so pods on different hosts
//! never share an address; the reservation carries the pod's first alias
//! as its name (the record's own name, `NETWORK:ID:IFNAME`, is not a DNS
//! name) and its aliases, which the other hosts' resolvers serve. DEL
//! releases the reservation at once.

use crate::engine::overlay::{cluster_network, Owner, Prepared};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::model::cni::{CniAdd, CniAddresses};
use crate::model::{Driver, NetworkAttach};
use crate::store::etcd::Cluster;
use std::net::IpAddr;

impl Engine {
    /// Before ADD records the attachment (container id `id`): the
    /// addresses to take when the network is an overlay network (reserved
    /// in the cluster store) with what the reservation did, `None`
    /// otherwise.
    pub(super) fn cni_overlay_reserve(
        &mut self,
        req: &CniAdd,
        id: &str,
    ) -> Result<Option<(CniAddresses, Prepared)>> {
        if self.config.store.is_none() {
            return Ok(None);
        }
        let name = &req.network.name;
        let local = self.network_named(name)?;
        if local.as_ref().is_some_and(|n| n.driver != Driver::Overlay) {
            return Ok(None);
        }
        let wanted = match &req.addresses {
            CniAddresses::Allocate(ips) => {
                if let Some(v6) = ips.iter().find(|ip| ip.is_ipv6()) {
                    if local.is_some() || self.overlay_exists(name)? {
                        return Err(Error::invalid(format!(
                            "IPv6 address {v6} requested on overlay network {name}: a pod's IPv6 address there follows its IPv4 address (request only the IPv4 one); nothing was changed"
                        )));
                    }
                    return Ok(None);
                }
                ips.iter().find_map(|ip| match ip {
                    IpAddr::V4(v) => Some(*v),
                    IpAddr::V6(_) => None,
                })
            }
            CniAddresses::Given(_) => {
                if local.is_some() || self.overlay_exists(name)? {
                    return Err(given_refused(name));
                }
                return Ok(None);
            }
        };
        let mut attach = NetworkAttach {
            network: name.clone(),
            ip: wanted,
            mac: req.mac.clone(),
            aliases: req.aliases.clone(),
            ..Default::default()
        };
        let pod = req.aliases.first().cloned().unwrap_or_default();
        let owner = Owner {
            id,
            name: &pod,
            hostname: "",
        };
        let prepared = self.overlay_prepare(&owner, std::slice::from_mut(&mut attach))?;
        if !prepared.overlay {
            return Ok(None);
        }
        let ip = attach
            .ip
            .ok_or_else(|| Error::internal("an overlay reservation without an address"))?;
        // On a dual-stack network, the IPv6 address follows the IPv4 one.
        let mut ips = vec![IpAddr::V4(ip)];
        ips.extend(attach.ip6.map(IpAddr::V6));
        Ok(Some((CniAddresses::Allocate(ips), prepared)))
    }

    /// True when the cluster store has an overlay network named `name`.
    fn overlay_exists(&mut self, name: &str) -> Result<bool> {
        let mut c = Cluster::configured(&self.config, "an overlay network")?;
        Ok(cluster_network(&mut c, name)?.is_some())
    }
}

fn given_refused(name: &str) -> Error {
    Error::invalid(format!(
        "network {name} is an overlay network: its addresses are reserved cluster-wide by berth, so \"ipam\": {{}} (addresses from a previous plugin) cannot be used; drop the ipam entry (or give host-local's ranges for runtimeConfig.ips); nothing was changed"
    ))
}
