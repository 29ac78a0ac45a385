//! `berth network ...`.

use super::open;
use crate::cli::{ConnectArgs, NetworkCmd, NetworkCreateArgs};
use crate::format::{self, Format};
use crate::inspect;
use anyhow::{anyhow, Result};
use berth_core::ids::short;
use berth_core::model::{NetworkAttach, NetworkCreate};
use std::path::Path;

/// Runs a `network` subcommand.
pub fn run(root: Option<&Path>, cmd: NetworkCmd) -> Result<i32> {
    match cmd {
        NetworkCmd::Ls {
            quiet,
            format,
            no_trunc,
        } => ls(root, quiet, format.as_deref(), no_trunc),
        NetworkCmd::Create(a) => create(root, a),
        NetworkCmd::Inspect { names, format } => inspect(root, &names, format.as_deref()),
        NetworkCmd::Rm { names } => {
            let mut engine = open(root)?;
            let mut code = 0;
            for n in names {
                match engine.remove_network(&n) {
                    Ok(_) => println!("{n}"),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        code = 1;
                    }
                }
            }
            Ok(code)
        }
        NetworkCmd::Connect(a) => connect(root, a),
        NetworkCmd::Disconnect {
            network, container, ..
        } => {
            open(root)?.disconnect(&container, &network)?;
            Ok(0)
        }
        NetworkCmd::Prune { .. } => {
            let removed = open(root)?.prune_networks()?;
            if !removed.is_empty() {
                println!("Deleted Networks:");
                for r in removed {
                    println!("{r}");
                }
            }
            Ok(0)
        }
    }
}

fn ls(root: Option<&Path>, quiet: bool, fmt: Option<&str>, no_trunc: bool) -> Result<i32> {
    let nets = open(root)?.networks()?;
    let id = |i: &str| {
        if no_trunc {
            i.to_string()
        } else {
            short(i).to_string()
        }
    };
    if quiet {
        for n in &nets {
            println!("{}", id(&n.id));
        }
        return Ok(0);
    }
    let items: Vec<serde_json::Value> = nets
        .iter()
        .map(|n| {
            serde_json::json!({
                "ID": id(&n.id), "Name": n.name, "Driver": n.driver.as_str(), "Scope": "local",
                "IPv6": n.ipv6.to_string(), "Internal": n.internal.to_string(), "CreatedAt": n.created,
                "Labels": n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                "Owner": owner(n),
            })
        })
        .collect();
    // An OWNER column only when another program (Podman, Docker) manages some.
    let owned = nets.iter().any(|n| owner(n) != "berth");
    let out = format::list(&Format::parse(fmt), &items, || {
        let rows: Vec<Vec<String>> = nets
            .iter()
            .map(|n| {
                let mut row = vec![
                    id(&n.id),
                    n.name.clone(),
                    n.driver.as_str().into(),
                    "local".into(),
                ];
                if owned {
                    row.push(owner(n).into());
                }
                row
            })
            .collect();
        let mut head = vec!["NETWORK ID", "NAME", "DRIVER", "SCOPE"];
        if owned {
            head.push("OWNER");
        }
        format::table(&head, &rows)
    })?;
    print!("{out}");
    Ok(0)
}

/// Who manages a network: `berth`, or the other program (`podman`,
/// `docker` through `berth docker-plugin`).
fn owner(n: &berth_core::model::Network) -> &'static str {
    match (&n.owner, &n.docker) {
        (Some(berth_core::model::NetworkOwner::Podman(_)), _) => "podman",
        (None, Some(_)) => "docker",
        (None, None) => "berth",
    }
}

fn create(root: Option<&Path>, a: NetworkCreateArgs) -> Result<i32> {
    let req = NetworkCreate {
        name: a.name,
        driver: a.driver,
        subnets: a.subnet,
        gateways: a.gateway,
        ip_ranges: a.ip_range,
        aux_addresses: a.aux_address,
        ipv6: a.ipv6,
        internal: a.internal,
        labels: a.label,
        options: a.opt,
    };
    let net = open(root)?.create_network(&req)?;
    println!("{}", net.id);
    Ok(0)
}

/// Prints items as a JSON array, or one template rendering per item.
pub fn print_inspect(items: &[serde_json::Value], fmt: Option<&str>) -> Result<()> {
    match fmt {
        None | Some("") => println!("{}", serde_json::to_string_pretty(items)?),
        Some("json") => {
            for i in items {
                println!("{i}");
            }
        }
        Some(t) => {
            for i in items {
                println!("{}", format::template(t, i)?);
            }
        }
    }
    Ok(())
}

fn inspect(root: Option<&Path>, names: &[String], fmt: Option<&str>) -> Result<i32> {
    let mut engine = open(root)?;
    let mut items = Vec::new();
    let mut code = 0;
    for n in names {
        match engine.network(n) {
            Ok(net) => items.push(inspect::network(&mut engine, &net)?),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    print_inspect(&items, fmt)?;
    Ok(code)
}

fn connect(root: Option<&Path>, a: ConnectArgs) -> Result<i32> {
    let attach = NetworkAttach {
        network: a.network,
        ip: a
            .ip
            .map(|s| {
                s.parse()
                    .map_err(|_| anyhow!("invalid --ip {s:?}: expected an IPv4 address"))
            })
            .transpose()?,
        ip6: a
            .ip6
            .map(|s| {
                s.parse()
                    .map_err(|_| anyhow!("invalid --ip6 {s:?}: expected an IPv6 address"))
            })
            .transpose()?,
        aliases: a.alias,
        mac: None,
    };
    open(root)?.connect(&a.container, attach)?;
    Ok(0)
}
