//! Published ports the kernel cannot forward: a TCP port on `[::1]` (IPv6
//! has no `route_localnet`: DNAT from the loopback never reaches a bridge),
//! and one on an IPv6 host address of a container without an IPv6
//! address (nftables does not translate between families). Docker serves
//! both with its userland proxy; berth's container supervisor does the
//! same for exactly these bindings (`berth __supervise`: listening sockets
//! bound before the container's process starts, closed when it ends).

use super::Engine;
use crate::error::Result;
use crate::model::{Container, PortBinding, Proto};
use std::net::{IpAddr, SocketAddr};

/// One port the supervisor forwards in userland.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserlandForward {
    /// Where it listens on the host.
    pub listen: SocketAddr,
    /// The container's address and port it connects to.
    pub target: SocketAddr,
}

/// Whether binding `b` needs the userland forwarder for a container whose
/// published ports go to `ipv6` (its primary endpoint's IPv6 address).
pub fn needs_userland(b: &PortBinding, ipv6: Option<IpAddr>) -> bool {
    b.host_ip
        .is_some_and(|ip| ip.is_ipv6() && (ip.is_loopback() || ipv6.is_none()))
}

/// The forwards of `bindings` for a container with `ipv4` and `ipv6` on
/// its primary endpoint (TCP only: the reservation refuses the others).
pub fn forwards(
    bindings: &[PortBinding],
    ipv4: Option<IpAddr>,
    ipv6: Option<IpAddr>,
) -> Vec<UserlandForward> {
    let mut v = Vec::new();
    for b in bindings.iter().filter(|b| needs_userland(b, ipv6)) {
        let (Some(host), Some(target)) = (b.host_ip, ipv4.or(ipv6)) else {
            continue;
        };
        if b.proto != Proto::Tcp {
            continue;
        }
        for i in 0..b.count {
            v.push(UserlandForward {
                listen: SocketAddr::new(host, b.host_port + i),
                target: SocketAddr::new(target, b.container_port + i),
            });
        }
    }
    v
}

impl Engine {
    /// The ports of container `c` its supervisor forwards in userland.
    pub fn userland_forwards(&mut self, c: &Container) -> Result<Vec<UserlandForward>> {
        let (eps, nets) = self.store.read(|tx| tx.container_attachments(&c.id))?;
        let Some(p) = super::container::primary(&eps, &nets) else {
            return Ok(Vec::new());
        };
        let ipv4 = p.ipv4.map(|n| n.addr());
        let ipv6 = p.ipv6.map(|n| n.addr());
        Ok(forwards(&c.ports, ipv4, ipv6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(host: &str, host_port: u16, count: u16, proto: Proto) -> PortBinding {
        PortBinding {
            host_ip: Some(host.parse().unwrap()),
            host_port,
            container_port: 80,
            count,
            proto,
        }
    }

    #[test]
    fn only_what_the_kernel_cannot_forward() {
        let v4: IpAddr = "172.17.0.2".parse().unwrap();
        let v6: IpAddr = "fd00::2".parse().unwrap();
        let bindings = [
            b("::1", 8080, 1, Proto::Tcp),
            b("2001:db8::2", 8081, 2, Proto::Tcp),
            b("127.0.0.1", 8082, 1, Proto::Tcp),
            b("::1", 5353, 1, Proto::Udp),
        ];
        let f = forwards(&bindings, Some(v4), None);
        let shown: Vec<String> = f
            .iter()
            .map(|f| format!("{} {}", f.listen, f.target))
            .collect();
        assert_eq!(
            shown,
            [
                "[::1]:8080 172.17.0.2:80",
                "[2001:db8::2]:8081 172.17.0.2:80",
                "[2001:db8::2]:8082 172.17.0.2:81"
            ]
        );
        // With an IPv6 address, only the loopback needs it (to IPv4 first,
        // as Docker's proxy).
        let f = forwards(&bindings, Some(v4), Some(v6));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].listen.to_string(), "[::1]:8080");
        // Without any binding to an IPv6 address: nothing.
        assert!(forwards(&bindings[2..3], Some(v4), None).is_empty());
    }
}
