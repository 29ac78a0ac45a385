//! From a CNI configuration and environment to the engine's request (pure).

use berth_cni::{code, CniError, Env, Ipam, PluginConfig};
use berth_core::model::cni::{
    CniAdd, CniAddresses, CniAttachment, CniNetwork, CniRoute, CniSubnet, Shaping,
};
use berth_core::model::{PortSpec, Proto};
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::PathBuf;

/// The attachment of this invocation.
pub fn attachment(env: &Env, config: &PluginConfig) -> CniAttachment {
    CniAttachment {
        network: config.name.clone(),
        container_id: env.container_id.clone(),
        ifname: env.ifname.clone(),
        netns: PathBuf::from(env.netns.clone().unwrap_or_default()),
        shaping: None,
        docker: false,
    }
}

/// The network the configuration describes.
pub fn network(config: &PluginConfig) -> CniNetwork {
    let b = &config.bridge;
    let subnets = match &config.ipam {
        Ipam::HostLocal(h) => h
            .ranges
            .iter()
            .map(|r| CniSubnet {
                subnet: r.subnet,
                gateway: r.gateway,
                range_start: r.range_start,
                range_end: r.range_end,
            })
            .collect(),
        Ipam::Network | Ipam::PrevResult => Vec::new(),
    };
    CniNetwork {
        name: config.name.clone(),
        bridge: b.bridge.clone(),
        subnets,
        mtu: b.mtu,
        masquerade: b.ip_masq,
        icc: b.port_isolation.map(|p| !p),
        internal: b.internal,
        owner: None,
    }
}

/// The ADD request.
pub fn add(env: &Env, config: &PluginConfig) -> Result<CniAdd, CniError> {
    let rt = &config.runtime;
    if let Some(m) = env.arg("MAC") {
        if berth_core::kernel::msg::parse_mac(m).is_none() {
            return Err(CniError::new(
                code::INVALID_ENV,
                "invalid CNI_ARGS",
                format!("CNI_ARGS MAC={m}: not a MAC address like 02:42:ac:11:00:02"),
            ));
        }
    }
    Ok(CniAdd {
        network: network(config),
        attachment: attachment(env, config),
        addresses: addresses(env, config)?,
        mac: rt
            .mac
            .clone()
            .or_else(|| config.args_mac.clone())
            .or_else(|| env.arg("MAC").map(String::from)),
        ports: rt
            .port_mappings
            .iter()
            .map(|p| PortSpec {
                host_ip: p.host_ip,
                host_ports: Some((p.host_port, p.host_port)),
                container_ports: (p.container_port, p.container_port),
                proto: if p.protocol == "udp" {
                    Proto::Udp
                } else {
                    Proto::Tcp
                },
            })
            .collect(),
        aliases: rt.aliases.clone(),
        routes: routes(config),
        shaping: rt.bandwidth.filter(|b| !b.is_zero()).map(|b| Shaping {
            ingress: (b.ingress_rate, b.ingress_burst),
            egress: (b.egress_rate, b.egress_burst),
        }),
        loopback: false,
        default_route_metric: None,
    })
}

/// Addresses: prevResult's with `"ipam": {}`, else the requested ones
/// (`runtimeConfig.ips`, else `args.cni.ips`, else `CNI_ARGS` `IP`).
fn addresses(env: &Env, config: &PluginConfig) -> Result<CniAddresses, CniError> {
    if config.ipam == Ipam::PrevResult {
        let given: Vec<(IpNet, Option<IpAddr>)> = config
            .prev_result
            .iter()
            .flat_map(|r| &r.ips)
            .map(|ip| (ip.address, ip.gateway))
            .collect();
        if given.is_empty() {
            return Err(CniError::new(
                code::INVALID_CONFIG,
                "no addresses for \"ipam\": {}",
                "\"ipam\": {} takes the addresses of prevResult, and there is no prevResult with ips: put berth after the plugin that chooses them, or give host-local ranges; nothing was changed",
            ));
        }
        return Ok(CniAddresses::Given(given));
    }
    let rt = &config.runtime;
    let requested = if !rt.ips.is_empty() {
        rt.ips.clone()
    } else if !config.args_ips.is_empty() {
        config.args_ips.clone()
    } else {
        env_ips(env)?
    };
    Ok(CniAddresses::Allocate(requested))
}

/// `CNI_ARGS` `IP=a[,b]` (with or without prefix lengths).
fn env_ips(env: &Env) -> Result<Vec<IpAddr>, CniError> {
    let Some(list) = env.arg("IP") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let ip = s.split_once('/').map_or(s, |(ip, _)| ip);
            ip.parse().map_err(|_| {
                CniError::new(
                    code::INVALID_ENV,
                    "invalid CNI_ARGS",
                    format!("CNI_ARGS IP={s}: not an IP address"),
                )
            })
        })
        .collect()
}

/// Routes in the container: default routes unless `isDefaultGateway` is
/// false, then host-local's `routes`, then (with `"ipam": {}`) those of
/// prevResult, whose next hop defaults to prevResult's gateway.
fn routes(config: &PluginConfig) -> Vec<CniRoute> {
    let mut out = Vec::new();
    if config.bridge.is_default_gateway != Some(false) {
        for dst in ["0.0.0.0/0", "::/0"] {
            if let Ok(dst) = dst.parse() {
                out.push(CniRoute { dst, gw: None });
            }
        }
    }
    match (&config.ipam, &config.prev_result) {
        (Ipam::HostLocal(h), _) => out.extend(h.routes.iter().map(|r| CniRoute {
            dst: r.dst,
            gw: r.gw,
        })),
        (Ipam::PrevResult, Some(prev)) => out.extend(prev.routes.iter().map(|r| {
            let family_gw = prev
                .ips
                .iter()
                .find(|ip| ip.address.addr().is_ipv4() == r.dst.addr().is_ipv4())
                .and_then(|ip| ip.gateway);
            CniRoute {
                dst: r.dst,
                gw: r.gw.or(family_gw),
            }
        })),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_cni::Command;

    fn env() -> Env {
        Env {
            command: Command::Add,
            container_id: "c1".into(),
            netns: Some("/run/netns/c1".into()),
            ifname: "eth0".into(),
            args: vec![("IP".into(), "10.88.0.9".into())],
        }
    }

    fn config(json: serde_json::Value) -> PluginConfig {
        berth_cni::config::parse(json.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn drop_in_config_maps_to_a_request() {
        let c = config(serde_json::json!({
            "cniVersion": "1.0.0", "name": "podnet", "type": "berth",
            "bridge": "cni-podnet", "ipMasq": false, "portIsolation": true,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16", "rangeStart": "10.88.0.10"}]],
                     "routes": [{"dst": "192.0.2.0/24", "gw": "10.88.0.254"}]},
            "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "udp"}],
                              "bandwidth": {"egressRate": 1000, "egressBurst": 800}}
        }));
        let r = add(&env(), &c).unwrap();
        assert_eq!(r.network.bridge.as_deref(), Some("cni-podnet"));
        assert_eq!(r.network.masquerade, Some(false));
        assert_eq!(r.network.icc, Some(false));
        assert_eq!(
            r.network.subnets[0].range_start,
            Some("10.88.0.10".parse().unwrap())
        );
        assert_eq!(
            r.addresses,
            CniAddresses::Allocate(vec!["10.88.0.9".parse().unwrap()])
        );
        assert_eq!(r.ports[0].proto, Proto::Udp);
        assert_eq!(r.routes.len(), 3, "two default routes and one given");
        assert_eq!(r.shaping.unwrap().egress, (1000, 800));
        assert_eq!(r.attachment.record_name(), "podnet:c1:eth0");
    }

    #[test]
    fn ipam_empty_takes_prev_result() {
        let c = config(serde_json::json!({
            "cniVersion": "1.1.0", "name": "n", "type": "berth", "ipam": {}, "isDefaultGateway": false,
            "prevResult": {"ips": [{"address": "10.9.0.5/24", "gateway": "10.9.0.1"}],
                           "routes": [{"dst": "0.0.0.0/0"}]}
        }));
        let r = add(&env(), &c).unwrap();
        let want = (
            "10.9.0.5/24".parse().unwrap(),
            Some("10.9.0.1".parse().unwrap()),
        );
        assert_eq!(r.addresses, CniAddresses::Given(vec![want]));
        assert_eq!(
            r.routes,
            vec![CniRoute {
                dst: "0.0.0.0/0".parse().unwrap(),
                gw: want.1
            }]
        );
        let bare = config(serde_json::json!({"cniVersion": "1.1.0", "name": "n", "ipam": {}}));
        assert_eq!(add(&env(), &bare).unwrap_err().code, code::INVALID_CONFIG);
    }

    #[test]
    fn bad_cni_args_are_environment_errors() {
        let c = config(serde_json::json!({"cniVersion": "1.1.0", "name": "n", "type": "berth"}));
        for (k, v) in [
            ("MAC", "02:42:zz:11:00:02"),
            ("MAC", "x\ny"),
            ("IP", "10.88.0.999"),
        ] {
            let mut e = env();
            e.args = vec![(k.into(), v.into())];
            let err = add(&e, &c).unwrap_err();
            assert_eq!(err.code, code::INVALID_ENV, "{k}={v}");
            assert!(err.to_string().contains(v), "{err}");
        }
        let mut e = env();
        e.args = vec![("MAC".into(), "02:42:ac:11:00:02".into())];
        assert_eq!(
            add(&e, &c).unwrap().mac.as_deref(),
            Some("02:42:ac:11:00:02")
        );
    }
}
