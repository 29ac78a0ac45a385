//! `berth port NAME [PRIVATE_PORT[/PROTO]]`: a container's published ports
//! as `docker port` prints them.

use super::open;
use anyhow::{anyhow, Result};
use berth_core::engine::Engine;
use berth_core::model::{PortBinding, Proto};
use std::path::Path;

/// Every published (container port, proto, `host:port`) of `bindings`, one
/// per host address (all addresses: `0.0.0.0` and `[::]`, as Docker).
fn mappings(bindings: &[PortBinding]) -> Vec<(u16, Proto, String)> {
    let mut v = Vec::new();
    for b in bindings {
        let hosts: Vec<String> = match b.host_ip {
            Some(ip) if ip.is_ipv6() => vec![format!("[{ip}]")],
            Some(ip) => vec![ip.to_string()],
            None => vec!["0.0.0.0".into(), "[::]".into()],
        };
        for i in 0..b.count {
            for h in &hosts {
                v.push((
                    b.container_port + i,
                    b.proto,
                    format!("{h}:{}", b.host_port + i),
                ));
            }
        }
    }
    v.sort_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
    v
}

/// Parses `PORT[/PROTO]` (tcp when no protocol is given).
fn private_port(s: &str) -> Result<(u16, Proto)> {
    let (p, proto) = match s.split_once('/') {
        Some((p, pr)) => (p, Proto::parse(pr)?),
        None => (s, Proto::Tcp),
    };
    let port =
        p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            anyhow!("invalid port {s:?}: expected PORT[/tcp|udp], e.g. 80 or 53/udp")
        })?;
    Ok((port, proto))
}

/// `berth port`.
pub fn port(root: Option<&Path>, container: &str, which: Option<&str>) -> Result<i32> {
    let want = which.map(private_port).transpose()?;
    let mut engine = open(root)?;
    let c = engine.container(container)?;
    let bindings = if Engine::is_running(&c) {
        mappings(&c.ports)
    } else {
        Vec::new()
    };
    match want {
        None => {
            for (p, proto, host) in bindings {
                println!("{p}/{} -> {host}", proto.as_str());
            }
        }
        Some((port, proto)) => {
            let hosts: Vec<String> = bindings
                .into_iter()
                .filter(|(p, pr, _)| *p == port && *pr == proto)
                .map(|(_, _, h)| h)
                .collect();
            if hosts.is_empty() {
                return Err(anyhow!(
                    "No public port '{port}/{}' published for {}",
                    proto.as_str(),
                    c.name
                ));
            }
            hosts.iter().for_each(|h| println!("{h}"));
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_s_lines_in_port_order() {
        let b = |host_ip: Option<&str>, host_port, container_port, count, proto| PortBinding {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port,
            container_port,
            count,
            proto,
        };
        let m = mappings(&[
            b(None, 32768, 80, 1, Proto::Tcp),
            b(Some("127.0.0.1"), 5353, 53, 1, Proto::Udp),
            b(Some("::1"), 9000, 90, 2, Proto::Tcp),
        ]);
        let lines: Vec<String> = m
            .iter()
            .map(|(p, pr, h)| format!("{p}/{} -> {h}", pr.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                "53/udp -> 127.0.0.1:5353",
                "80/tcp -> 0.0.0.0:32768",
                "80/tcp -> [::]:32768",
                "90/tcp -> [::1]:9000",
                "91/tcp -> [::1]:9001",
            ]
        );
        assert_eq!(private_port("53/udp").unwrap(), (53, Proto::Udp));
        assert_eq!(private_port("80").unwrap(), (80, Proto::Tcp));
        assert!(private_port("http").is_err());
        assert!(private_port("80/sctp").is_err());
    }
}
