//! From what the engine did to the ADD result (pure, but for reading a
//! `resolvConf` file): berth's interfaces and addresses appended to
//! `prevResult`, as the spec asks of a chained plugin.

use berth_cni::result::ResultRoute;
use berth_cni::{CniResult, Dns, Interface, IpConfig, Ipam, PluginConfig};
use berth_core::engine::CniAdded;
use ipnet::IpNet;

/// The result of an ADD.
pub fn add_result(config: &PluginConfig, netns: &str, added: &CniAdded) -> CniResult {
    let mut r = config.prev_result.clone().unwrap_or_default();
    let net = &added.network;
    let ep = &added.endpoint;
    r.interfaces.push(Interface {
        name: net.bridge.clone().unwrap_or_default(),
        mac: added.bridge_mac.clone(),
        ..Default::default()
    });
    r.interfaces.push(Interface {
        name: ep.host_veth.clone(),
        mac: added.host_mac.clone(),
        ..Default::default()
    });
    r.interfaces.push(Interface {
        name: ep.ifname.clone(),
        mac: Some(ep.mac.clone()),
        mtu: Some(u64::from(net.mtu)),
        sandbox: Some(netns.to_string()),
        ..Default::default()
    });
    let index = (r.interfaces.len() - 1) as u64;
    for addr in [ep.ipv4, ep.ipv6].into_iter().flatten() {
        match r.ips.iter_mut().find(|ip| ip.address == addr) {
            Some(ip) => ip.interface = Some(index),
            None => r.ips.push(IpConfig {
                address: addr,
                gateway: gateway(added, addr),
                interface: Some(index),
            }),
        }
    }
    for (dst, gw) in &added.routes {
        if !r.routes.iter().any(|x| x.dst == *dst) {
            r.routes.push(ResultRoute {
                dst: *dst,
                gw: Some(*gw),
                extra: Default::default(),
            });
        }
    }
    if let Some(dns) = dns(config) {
        r.dns = dns;
    }
    r
}

/// The network's gateway for address `addr`.
fn gateway(added: &CniAdded, addr: IpNet) -> Option<std::net::IpAddr> {
    added
        .network
        .ipam
        .iter()
        .find(|c| c.subnet.contains(&addr.addr()))
        .map(|c| c.gateway)
}

/// The result's DNS: the runtime's (`runtimeConfig.dns`), else the
/// configuration's `dns`, else host-local's `resolvConf` file.
fn dns(config: &PluginConfig) -> Option<Dns> {
    if let Some(d) = &config.runtime.dns {
        return Some(Dns {
            nameservers: d.servers.clone(),
            domain: None,
            search: d.searches.clone(),
            options: d.options.clone(),
        });
    }
    if let Some(d) = &config.dns {
        return Some(d.clone());
    }
    let Ipam::HostLocal(h) = &config.ipam else {
        return None;
    };
    let text = std::fs::read_to_string(h.resolv_conf.as_ref()?).ok()?;
    Some(parse_resolv_conf(&text))
}

/// `nameserver`, `domain`, `search` and `options` lines of a resolv.conf.
fn parse_resolv_conf(text: &str) -> Dns {
    let mut dns = Dns::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let rest = |w: std::str::SplitWhitespace| w.map(String::from).collect::<Vec<_>>();
        match words.next() {
            Some("nameserver") => dns.nameservers.extend(rest(words)),
            Some("domain") => dns.domain = words.next().map(String::from),
            Some("search") => dns.search = rest(words),
            Some("options") => dns.options.extend(rest(words)),
            _ => {}
        }
    }
    dns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_lines() {
        let d = parse_resolv_conf(
            "# c\nnameserver 192.0.2.53\nsearch a b\noptions ndots:2\ndomain x\n",
        );
        assert_eq!(d.nameservers, ["192.0.2.53"]);
        assert_eq!(d.search, ["a", "b"]);
        assert_eq!(d.options, ["ndots:2"]);
        assert_eq!(d.domain.as_deref(), Some("x"));
    }
}
