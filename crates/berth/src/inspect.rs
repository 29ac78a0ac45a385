//! Docker's JSON shapes for `network inspect`, `inspect`, and the list
//! commands' `--format` fields, built from berth's records.

use berth_core::engine::Engine;
use berth_core::ids::short;
use berth_core::model::{Container, Endpoint, Network, PortBinding};
use serde_json::{json, Map, Value};

/// `network inspect` of one network.
pub fn network(engine: &mut Engine, n: &Network) -> anyhow::Result<Value> {
    let eps = engine.store().read(|tx| tx.network_endpoints(&n.id))?;
    let mut containers = Map::new();
    for e in eps {
        let c = engine.container(&e.container_id)?;
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

fn endpoint_json(e: &Endpoint, n: &Network) -> Value {
    let gw = |v6: bool| {
        n.ipam
            .iter()
            .find(|c| c.subnet.addr().is_ipv6() == v6)
            .map(|c| c.gateway.to_string())
            .unwrap_or_default()
    };
    json!({
        "Aliases": e.aliases,
        "NetworkID": n.id,
        "EndpointID": e.id,
        "Gateway": if e.ipv4.is_some() { gw(false) } else { String::new() },
        "IPAddress": e.ipv4.map(|a| a.addr().to_string()).unwrap_or_default(),
        "IPPrefixLen": e.ipv4.map_or(0, |a| a.prefix_len()),
        "IPv6Gateway": if e.ipv6.is_some() { gw(true) } else { String::new() },
        "GlobalIPv6Address": e.ipv6.map(|a| a.addr().to_string()).unwrap_or_default(),
        "GlobalIPv6PrefixLen": e.ipv6.map_or(0, |a| a.prefix_len()),
        "MacAddress": e.mac,
        "DNSNames": [],
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
        let v = match eps.iter().find(|e| e.network_id == n.id) {
            Some(e) if running => endpoint_json(e, n),
            _ => {
                json!({"Aliases": a.aliases, "NetworkID": n.id, "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "", "DNSNames": []})
            }
        };
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
            "Hostname": c.config.hostname,
            "Env": c.config.env,
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
        "NetworkMode": c.config.networks.first().map(|a| a.network.clone()).unwrap_or_default(),
        "AutoRemove": c.config.auto_remove,
        "Binds": list_or_null(&binds),
        "CapAdd": list_or_null(&sec.cap_add),
        "CapDrop": list_or_null(&sec.cap_drop),
        "Privileged": sec.privileged,
        "ReadonlyRootfs": sec.read_only,
        "SecurityOpt": list_or_null(&sec.security_opt),
    })
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

/// The `ps --format` fields of a container.
pub fn ps_row(c: &Container, running: bool, net_names: &[String]) -> Value {
    json!({
        "ID": short(&c.id),
        "Names": c.name,
        "Command": format!("\"{}\"", c.config.argv.join(" ")),
        "CreatedAt": c.created,
        "State": if running { "running" } else if c.state.as_str() == "created" { "created" } else { "exited" },
        "Status": status_text(c, running),
        "Ports": if running { ports_short(&c.ports) } else { String::new() },
        "Networks": net_names.join(","),
    })
}

/// Docker's human status column.
pub fn status_text(c: &Container, running: bool) -> String {
    if running {
        return "Up".into();
    }
    match c.exit_code {
        Some(code) => format!("Exited ({code})"),
        None => "Created".into(),
    }
}
