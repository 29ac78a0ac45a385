//! A container's endpoint on a network: its id, host veth name, addresses
//! (requested and checked, or allocated) and MAC, recorded in the store.

use crate::error::{Error, Result};
use crate::ids;
use crate::ipam;
use crate::model::{Endpoint, Network, NetworkAttach};
use crate::store::Tx;
use ipnet::IpNet;
use std::net::IpAddr;

/// Allocates one endpoint on a bridge network (inside the transaction).
pub(crate) fn new_endpoint(
    tx: &Tx,
    cid: &str,
    net: &Network,
    a: &NetworkAttach,
    position: u32,
    ifname: &str,
) -> Result<Endpoint> {
    let id = super::veth_names::endpoint_id(tx)?;
    let addr = |v6: bool, want: Option<IpAddr>| -> Result<Option<IpNet>> {
        let Some(cfg) = net.ipam.iter().find(|c| c.subnet.addr().is_ipv6() == v6) else {
            return match want {
                Some(w) => Err(Error::invalid(format!(
                    "network {} has no {} subnet for address {w}",
                    net.name,
                    if v6 { "IPv6" } else { "IPv4" }
                ))),
                None => Ok(None),
            };
        };
        let ip = match want {
            Some(w) => {
                if !ipam::assignable(cfg, &w) {
                    return Err(Error::invalid(format!(
                        "address {w} cannot be assigned on network {}: it must be inside {} and not its gateway, network, broadcast or an aux address",
                        net.name, cfg.subnet
                    )));
                }
                if tx.addr_in_use(&net.id, &w)? {
                    return Err(Error::conflict(format!(
                        "address {w} is already in use on network {}: choose another --ip",
                        net.name
                    )));
                }
                w
            }
            None => {
                let key = format!("cursor:{}:{}", net.id, if v6 { 6 } else { 4 });
                let after = tx.meta(&key)?.and_then(|s| s.parse().ok());
                let ip = ipam::allocate_after(cfg, after, |ip| tx.addr_in_use(&net.id, ip))?
                    .ok_or_else(|| {
                        Error::conflict(format!(
                            "no free address left in {} on network {}",
                            cfg.subnet, net.name
                        ))
                    })?;
                tx.set_meta(&key, &ip.to_string())?;
                ip
            }
        };
        Ok(IpNet::new(ip, cfg.subnet.prefix_len()).ok())
    };
    let ipv4 = addr(false, a.ip.map(IpAddr::V4))?;
    let ipv6 = if net.ipv6 {
        addr(true, a.ip6.map(IpAddr::V6))?
    } else {
        None
    };
    let mac = match (&a.mac, ipv4) {
        (Some(m), _) => {
            crate::kernel::msg::parse_mac(m).ok_or_else(|| {
                Error::invalid(format!(
                    "invalid --mac-address {m:?}: expected six hex pairs like 02:42:ac:11:00:02"
                ))
            })?;
            m.to_lowercase()
        }
        (None, Some(IpNet::V4(v4))) => ipam::mac_for_ipv4(v4.addr()),
        _ => ipam::random_mac(),
    };
    let ep = Endpoint {
        host_veth: ids::host_veth_name(&id),
        id,
        container_id: cid.to_string(),
        network_id: net.id.clone(),
        ifname: ifname.to_string(),
        gw_priority: a.gw_priority,
        ipv4,
        ipv6,
        mac,
        aliases: a.aliases.clone(),
        position,
    };
    tx.insert_endpoint(&ep)?;
    Ok(ep)
}

/// The name of a container's interface on `net` when it already has
/// `taken`: the endpoint's `com.docker.network.endpoint.ifname` option, or
/// the network's prefix (`eth` by default) and the first number no
/// interface of that prefix has (Docker counts per prefix too).
pub(crate) fn ifname_for(net: &Network, a: &NetworkAttach, taken: &[String]) -> Result<String> {
    if let Some(name) = a.driver_opts.get(crate::model::netopt::ENDPOINT_IFNAME) {
        if taken.iter().any(|t| t == name) || name == "lo" {
            return Err(Error::conflict(format!(
                "interface name {name} is already used in the container: choose another {}",
                crate::model::netopt::ENDPOINT_IFNAME
            )));
        }
        return Ok(name.clone());
    }
    let prefix = net
        .options
        .get(crate::model::network::opt::IFACE_PREFIX)
        .map_or("eth", String::as_str);
    (0..1000)
        .map(|i| format!("{prefix}{i}"))
        .find(|n| !taken.contains(n))
        .ok_or_else(|| Error::conflict("no free interface name left in the container"))
}
