//! Which published-port map element a packet matches, among the elements
//! of berth's port maps read from the kernel (pure): the element that
//! decided a DNAT.

use berth_core::firewall::{Element, Field};
use std::net::IpAddr;

/// The element of `ports4`/`ports4_keep` (or the IPv6 maps) matching a
/// packet to `dst:port` over `proto`, as `map: element`.
pub fn element_for(elements: &[Element], proto: &str, dst: IpAddr, port: u16) -> Option<String> {
    elements
        .iter()
        .filter(|e| e.set.is_ports())
        .find(|e| {
            let [host, Field::Proto(p), Field::Ports(lo, hi)] = e.key.as_slice() else {
                return false;
            };
            let host = match host {
                Field::Addr(a) => *a == dst,
                Field::Prefix(net) => net.contains(&dst),
                _ => false,
            };
            host && p.as_str() == proto && (*lo..=*hi).contains(&port)
        })
        .map(|e| format!("{}: {e}", e.set.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::firewall::{PortRule, PortTarget};
    use berth_core::model::Proto;

    fn rule(host: Option<&str>, proto: Proto, ports: (u16, u16), addr: &str, port: u16) -> Element {
        PortRule {
            host_ip: host.map(|h| h.parse().unwrap()),
            proto,
            host_ports: ports,
            target: PortTarget {
                addr: addr.parse().unwrap(),
                port,
            },
        }
        .element()
    }

    #[test]
    fn finds_the_element_by_address_protocol_and_port() {
        let table = [
            rule(None, Proto::Tcp, (8080, 8080), "172.18.0.2", 80),
            rule(
                Some("127.0.0.1"),
                Proto::Tcp,
                (8081, 8081),
                "172.18.0.3",
                80,
            ),
            rule(None, Proto::Udp, (9000, 9010), "172.18.0.4", 9000),
        ];
        let lab: IpAddr = "198.51.100.2".parse().unwrap();
        assert_eq!(
            element_for(&table, "tcp", lab, 8080).as_deref(),
            Some("ports4: 0.0.0.0/0 . tcp . 8080 : 172.18.0.2 . 80")
        );
        assert_eq!(element_for(&table, "tcp", lab, 8081), None);
        assert!(element_for(&table, "tcp", "127.0.0.1".parse().unwrap(), 8081).is_some());
        assert_eq!(
            element_for(&table, "udp", lab, 9005).as_deref(),
            Some("ports4_keep: 0.0.0.0/0 . udp . 9000-9010 : 172.18.0.4")
        );
    }
}
