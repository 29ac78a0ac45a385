//! The subnets and gateways of a new network (pure): the requested ones,
//! checked against the other networks and the host's routes, or picked
//! from the default pools.

use crate::error::{Error, Result};
use crate::ipam;
use crate::kernel::HostFacts;
use crate::model::{IpamConfig, Network, NetworkCreate, SubnetRequest};
use ipnet::IpNet;
use std::collections::BTreeMap;

/// The address ranges where network `id`'s subnets, as `req` and
/// `subnets` ask, will be (pure): the requested subnets, Docker's default
/// pools when no IPv4 subnet is requested, the network's unique-local
/// /64 when IPv6 is asked without a subnet. Only networks overlapping
/// these can clash with it ([`plan_ipam`] checks against them).
pub(crate) fn ipam_ranges(req: &NetworkCreate, id: &str, subnets: &[SubnetRequest]) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = subnets.iter().filter_map(|s| s.subnet).collect();
    if !out.iter().any(|n| n.addr().is_ipv4()) {
        out.extend(ipam::default_pools());
    }
    if req.ipv6 && !out.iter().any(|n| n.addr().is_ipv6()) {
        out.push(ipam::ula_subnet(id));
    }
    out
}

/// The IPAM configuration of network `id` requested by `req` with
/// `subnets`, checked against `existing` networks and the host's routes.
pub(crate) fn plan_ipam(
    req: &NetworkCreate,
    id: &str,
    subnets: &[SubnetRequest],
    existing: &[Network],
    facts: &HostFacts,
) -> Result<Vec<IpamConfig>> {
    let taken_by_nets: Vec<(IpNet, &str)> = existing
        .iter()
        .flat_map(|n| n.ipam.iter().map(move |c| (c.subnet, n.name.as_str())))
        .collect();
    let check = |net: &IpNet| -> Result<()> {
        if let Some((o, name)) = taken_by_nets.iter().find(|(o, _)| ipam::overlaps(o, net)) {
            return Err(Error::conflict(format!(
                "subnet {net} overlaps {o} of network {name}: choose another --subnet"
            )));
        }
        if let Some(r) = facts.routes.iter().find(|r| ipam::overlaps(r, net)) {
            return Err(Error::conflict(format!(
                "subnet {net} overlaps {r}, which is already routed on this host (a VPN, a LAN or another bridge): choose another --subnet"
            )));
        }
        Ok(())
    };
    let mut out = Vec::new();
    for s in subnets {
        let Some(subnet) = s.subnet else { continue };
        check(&subnet)?;
        let gateway = s.gateway.unwrap_or_else(|| ipam::first_host(&subnet));
        if gateway == subnet.network() || (subnet.addr().is_ipv4() && gateway == subnet.broadcast())
        {
            return Err(Error::invalid(format!(
                "invalid --gateway {gateway}: it is the network or broadcast address of {subnet}"
            )));
        }
        out.push(IpamConfig {
            subnet,
            gateway,
            ip_range: s.ip_range,
            aux: s.aux.clone(),
            range_start: None,
            range_end: None,
        });
    }
    if !out.iter().any(|c| c.subnet.addr().is_ipv4()) {
        let mut taken: Vec<IpNet> = taken_by_nets.iter().map(|(n, _)| *n).collect();
        taken.extend(facts.routes.iter().copied());
        let subnet = ipam::pick_subnet(&taken).ok_or_else(|| {
            Error::conflict("every default address pool (172.17-31.0.0/16, 192.168.0.0/16) is in use or routed: give --subnet")
        })?;
        out.insert(
            0,
            IpamConfig {
                subnet,
                gateway: ipam::first_host(&subnet),
                ip_range: None,
                aux: BTreeMap::new(),
                range_start: None,
                range_end: None,
            },
        );
    }
    if req.ipv6 && !out.iter().any(|c| c.subnet.addr().is_ipv6()) {
        let subnet = ipam::ula_subnet(id);
        check(&subnet)?;
        out.push(IpamConfig {
            subnet,
            gateway: ipam::first_host(&subnet),
            ip_range: None,
            aux: BTreeMap::new(),
            range_start: None,
            range_end: None,
        });
    }
    Ok(out)
}
