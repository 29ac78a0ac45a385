//! `berth network ...`.

use super::{network_list, open};
use crate::cli::{ConnectArgs, NetworkCmd, NetworkCreateArgs};
use crate::format;
use crate::inspect;
use anyhow::{anyhow, Result};
use berth_core::model::{NetworkAttach, NetworkCreate};
use std::path::Path;

/// Runs a `network` subcommand.
pub fn run(root: Option<&Path>, cmd: NetworkCmd) -> Result<i32> {
    match cmd {
        NetworkCmd::Ls {
            quiet,
            format,
            no_trunc,
            filter,
        } => network_list::ls(
            root,
            &network_list::LsOptions {
                quiet,
                format: format.as_deref(),
                no_trunc,
                filter: &filter,
            },
        ),
        NetworkCmd::Create(a) => create(root, a),
        NetworkCmd::Inspect { names, format } => inspect(root, &names, format.as_deref()),
        NetworkCmd::Rm { names } => {
            let mut engine = open(root)?;
            let mut code = 0;
            for n in names {
                match engine.remove_network(&n) {
                    Ok(_) => println!("{n}"),
                    Err(e) => {
                        eprintln!("berth: {e}");
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
        NetworkCmd::Prune { filter, .. } => network_list::prune(root, &filter),
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
    // The host's routes, which the new subnets are checked against, are
    // read while the store opens (IPv6 ones when an IPv6 subnet may be
    // planned; the engine reads what is missing).
    let mut config = crate::config::engine(root)?;
    config.routes_early = Some(req.ipv6 || req.subnets.iter().any(|s| s.contains(':')));
    let net = berth_core::engine::Engine::open(&config)?.create_network(&req)?;
    println!("{}", net.id);
    Ok(0)
}

/// Prints items as Docker's `inspect` does: an indented JSON array, a
/// compact one for `--format json` (Docker 28), or one template rendering
/// per item.
pub fn print_inspect(items: &[serde_json::Value], fmt: Option<&str>) -> Result<()> {
    match fmt {
        None | Some("") => {
            // Docker indents with four spaces.
            let mut out = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            serde::Serialize::serialize(
                items,
                &mut serde_json::Serializer::with_formatter(&mut out, fmt),
            )?;
            println!("{}", String::from_utf8_lossy(&out));
        }
        Some("json") => println!("{}", serde_json::to_string(items)?),
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
                eprintln!("berth: {e}");
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
        driver_opts: berth_core::model::network::parse_kv(&a.driver_opt, "--driver-opt", true)?,
        gw_priority: a.gw_priority.unwrap_or(0),
    };
    attach.validate()?;
    open(root)?.connect(&a.container, attach)?;
    Ok(0)
}
