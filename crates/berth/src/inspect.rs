//! Docker's JSON shapes for `network inspect`, `inspect`, and the list
//! commands' `--format` fields, built from berth's records.

use berth_core::engine::Engine;
use berth_core::ids::short;
use berth_core::model::{Container, Endpoint, Network, NetworkAttach, PortBinding};
use serde_json::{json, Map, Value};

/// `network inspect` of one network.
pub fn network(engine: &mut Engine, n: &Network) -> anyhow::Result<Value> {
    // One statement for every endpoint and its container, not one each.
    let listed = engine.store().read(|tx| tx.network_members(&n.id))?;
    let mut containers = Map::new();
    for (e, c) in listed {
        if !Engine::is_running(&c) {
            continue;
        }
        containers.insert(
            c.id.clone(),
            json!({
                "Name": c.name,
                "EndpointID": e.id,
                "MacAddress": e.mac,
                "IPv4Address": e.ipv4.map(|a| a.to_string()).unwrap_or_default(),
                "IPv6Address": e.ipv6.map(|a| a.to_string()).unwrap_or_default(),
            }),
        );
    }
    let config: Vec<Value> = n
        .ipam
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("Subnet".into(), json!(c.subnet.to_string()));
            if let Some(r) = c.ip_range {
                m.insert("IPRange".into(), json!(r.to_string()));
            }
            m.insert("Gateway".into(), json!(c.gateway.to_string()));
            if !c.aux.is_empty() {
                m.insert(
                    "AuxiliaryAddresses".into(),
                    json!(c
                        .aux
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect::<std::collections::BTreeMap<_, _>>()),
                );
            }
            Value::Object(m)
        })
        .collect();
    let mut options = n.options.clone();
    if let Some(b) = &n.bridge {
        options
            .entry("com.docker.network.bridge.name".into())
            .or_insert_with(|| b.clone());
    }
    let mut v = json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver.as_str(),
        "EnableIPv4": true,
        "EnableIPv6": n.ipv6,
        "IPAM": {"Driver": "default", "Options": {}, "Config": config},
        "Internal": n.internal,
        "Attachable": !n.builtin,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels,
    });
    // berth's own: who manages the network, when another program does.
    if let (Some(o), Value::Object(m)) = (&n.owner, &mut v) {
        m.insert("Owner".into(), json!(o));
    }
    Ok(v)
}

/// `NetworkSettings.Ports` in Docker's shape.
pub fn ports(bindings: &[PortBinding]) -> Value {
    let mut m = Map::new();
    for b in bindings {
        for i in 0..b.count {
            let key = format!("{}/{}", b.container_port + i, b.proto.as_str());
            let port = (b.host_port + i).to_string();
            let hosts: Vec<Value> = match b.host_ip {
                Some(ip) => vec![json!({"HostIp": ip.to_string(), "HostPort": port})],
                None => vec![
                    json!({"HostIp": "0.0.0.0", "HostPort": port}),
                    json!({"HostIp": "::", "HostPort": port}),
                ],
            };
            if let Value::Array(a) = m.entry(key).or_insert_with(|| json!([])) {
                a.extend(hosts);
            }
        }
    }
    Value::Object(m)
}

/// The `0.0.0.0:8081->80/tcp` form used by `ps`.
pub fn ports_short(bindings: &[PortBinding]) -> String {
    bindings
        .iter()
        .map(|b| {
            let host = b.host_ip.map_or("0.0.0.0".to_string(), |i| {
                if i.is_ipv6() {
                    format!("[{i}]")
                } else {
                    i.to_string()
                }
            });
            let range = |a: u16| {
                if b.count > 1 {
                    format!("{a}-{}", a + b.count - 1)
                } else {
                    a.to_string()
                }
            };
            format!(
                "{host}:{}->{}/{}",
                range(b.host_port),
                range(b.container_port),
                b.proto.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Docker's `null` for an empty list.
fn strings_or_null(v: &[String]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

/// Docker 28's settings of one network of a container: what was asked
/// (`IPAMConfig` for `--ip`/`--ip6`, `Aliases`), then, while it runs, the
/// endpoint's addresses; `DNSNames` on user networks (name, aliases,
/// short id, hostname: moby's `buildEndpointDNSNames`).
fn endpoint_json(c: &Container, a: &NetworkAttach, e: Option<&Endpoint>, n: &Network) -> Value {
    let gw = |v6: bool| {
        n.ipam
            .iter()
            .find(|c| c.subnet.addr().is_ipv6() == v6)
            .filter(|_| n.has_gateway(v6))
            .map(|c| c.gateway.to_string())
            .unwrap_or_default()
    };
    let ipam = match (a.ip, a.ip6) {
        (None, None) => Value::Null,
        (v4, v6) => {
            let mut m = Map::new();
            if let Some(ip) = v4 {
                m.insert("IPv4Address".into(), json!(ip.to_string()));
            }
            if let Some(ip) = v6 {
                m.insert("IPv6Address".into(), json!(ip.to_string()));
            }
            Value::Object(m)
        }
    };
    let dns_names = if n.builtin {
        Value::Null
    } else {
        let hostname = if c.config.hostname.is_empty() {
            short(&c.id)
        } else {
            &c.config.hostname
        };
        let mut names: Vec<String> = Vec::new();
        let all = std::iter::once(c.name.as_str())
            .chain(a.aliases.iter().map(String::as_str))
            .chain([short(&c.id), hostname]);
        for name in all {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        json!(names)
    };
    let v4 = e.and_then(|e| e.ipv4);
    let v6 = e.and_then(|e| e.ipv6);
    json!({
        "IPAMConfig": ipam,
        "Links": Value::Null,
        "Aliases": strings_or_null(&a.aliases),
        "MacAddress": e.map(|e| e.mac.as_str()).unwrap_or_default(),
        "DriverOpts": if a.driver_opts.is_empty() { Value::Null } else { json!(a.driver_opts) },
        "GwPriority": a.gw_priority,
        "NetworkID": n.id,
        "EndpointID": e.map(|e| e.id.as_str()).unwrap_or_default(),
        "Gateway": if v4.is_some() { gw(false) } else { String::new() },
        "IPAddress": v4.map(|a| a.addr().to_string()).unwrap_or_default(),
        "IPPrefixLen": v4.map_or(0, |a| a.prefix_len()),
        "IPv6Gateway": if v6.is_some() { gw(true) } else { String::new() },
        "GlobalIPv6Address": v6.map(|a| a.addr().to_string()).unwrap_or_default(),
        "GlobalIPv6PrefixLen": v6.map_or(0, |a| a.prefix_len()),
        "DNSNames": dns_names,
    })
}

/// `inspect` of one container.
pub fn container(engine: &mut Engine, c: &Container) -> anyhow::Result<Value> {
    let running = Engine::is_running(c);
    let eps = engine.endpoints(&c.id)?;
    let nets = engine.networks()?;
    let mut networks = Map::new();
    let mut top = json!({"Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPv6Gateway": ""});
    for a in &c.config.networks {
        let Some(n) = nets
            .iter()
            .find(|n| n.name == a.network || n.id == a.network || n.id.starts_with(&a.network))
        else {
            continue;
        };
        let ep = eps
            .iter()
            .find(|e| e.network_id == n.id)
            .filter(|_| running);
        let v = endpoint_json(c, a, ep, n);
        if n.name == "bridge" && running {
            for k in [
                "Gateway",
                "IPAddress",
                "IPPrefixLen",
                "MacAddress",
                "GlobalIPv6Address",
                "GlobalIPv6PrefixLen",
                "IPv6Gateway",
            ] {
                top[k] = v[k].clone();
            }
        }
        networks.insert(n.name.clone(), v);
    }
    let mut settings = json!({
        "SandboxKey": if running { engine.netns_path(c).display().to_string() } else { String::new() },
        "Ports": if running { ports(&c.ports) } else { json!({}) },
        "Networks": networks,
    });
    if let (Value::Object(s), Value::Object(t)) = (&mut settings, top) {
        s.extend(t);
    }
    let status = if running { "running" } else { c.state.as_str() };
    let status = if status == "running" && !running {
        "exited"
    } else {
        status
    };
    Ok(json!({
        "Id": c.id,
        "Created": c.created,
        "Path": c.config.argv.first().cloned().unwrap_or_default(),
        "Args": c.config.argv.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": running,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": false,
            "Dead": false,
            "Pid": if running { c.pid.unwrap_or(0) } else { 0 },
            "ExitCode": c.exit_code.unwrap_or(0),
            "Error": "",
            "StartedAt": c.started_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            "FinishedAt": c.finished_at.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        },
        "Name": format!("/{}", c.name),
        "HostConfig": host_config(c),
        "Mounts": mounts(c),
        "Config": {
            "Hostname": if c.config.hostname.is_empty() { short(&c.id) } else { &c.config.hostname },
            "Domainname": c.config.domainname,
            "ExposedPorts": exposed_ports(c),
            "Env": c.config.env,
            "Labels": c.config.labels,
            "Cmd": c.config.argv,
            "Tty": c.config.tty,
            "OpenStdin": c.config.interactive,
        },
        "NetworkSettings": settings,
    }))
}

/// Docker's `null` for an empty list.
fn list_or_null<T: serde::Serialize>(v: &[T]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

/// Docker's `HostConfig`: network mode, `--rm` and the confinement flags.
fn host_config(c: &Container) -> Value {
    let sec = &c.config.security;
    let binds: Vec<String> = sec.binds.iter().map(|b| b.to_docker()).collect();
    json!({
        "NetworkMode": match &c.config.net_container {
            Some(id) => format!("container:{id}"),
            None => c.config.networks.first().map(|a| a.network.clone()).unwrap_or_default(),
        },
        "AutoRemove": c.config.auto_remove,
        "Binds": list_or_null(&binds),
        "CapAdd": list_or_null(&sec.cap_add),
        "CapDrop": list_or_null(&sec.cap_drop),
        "Privileged": sec.privileged,
        "ReadonlyRootfs": sec.read_only,
        "SecurityOpt": list_or_null(&sec.security_opt),
        "PublishAllPorts": c.config.publish_all,
        "Sysctls": if c.config.sysctls.is_empty() { Value::Null } else { json!(c.config.sysctls) },
    })
}

/// Docker's `Config.ExposedPorts`: `{"80/tcp": {}}` for each port of
/// `--expose` and `-p` (`null` without any).
fn exposed_ports(c: &Container) -> Value {
    let mut m = Map::new();
    for e in c.config.exposed_ports() {
        for p in e.first..=e.last {
            m.insert(format!("{p}/{}", e.proto.as_str()), json!({}));
        }
    }
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
}

/// Docker's top-level `Mounts` (bind mounts only).
fn mounts(c: &Container) -> Value {
    let m: Vec<Value> = c
        .config
        .security
        .binds
        .iter()
        .map(|b| {
            json!({
                "Type": "bind",
                "Source": b.source,
                "Destination": b.target,
                "Mode": if b.read_only { "ro" } else { "" },
                "RW": !b.read_only,
                "Propagation": "rprivate",
            })
        })
        .collect();
    json!(m)
}

/// Docker's human status: "Up 3 minutes", "Exited (0) 5 seconds ago",
/// "Created".
pub fn status_text(c: &Container, running: bool) -> String {
    if running {
        let since = c.started_at.as_deref().unwrap_or(&c.created);
        return format!("Up {}", crate::times::since(since));
    }
    match (c.exit_code, c.finished_at.as_deref()) {
        (Some(code), Some(t)) => format!("Exited ({code}) {} ago", crate::times::since(t)),
        (Some(code), None) => format!("Exited ({code})"),
        (None, _) if c.started_at.is_some() => "Exited (0)".into(),
        (None, _) => "Created".into(),
    }
}
