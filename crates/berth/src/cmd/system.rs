//! `berth system reconcile | info | reset`.

use super::open;
use crate::cli::SystemCmd;
use anyhow::{anyhow, Result};
use berth_core::engine::Engine;
use berth_core::kernel::{sysctl, Nft};
use std::path::Path;

/// Runs a `system` subcommand.
pub fn run(root: Option<&Path>, cmd: SystemCmd) -> Result<i32> {
    match cmd {
        SystemCmd::Reconcile { forget_op } => {
            let mut engine = open(root)?;
            for id in forget_op {
                engine.forget_corrupt_op(id)?;
                println!("forgot the corrupt record of operation {id}");
            }
            let report = engine.reconcile()?;
            for op in &report.operations {
                println!("finished or undone: {op}");
            }
            for c in &report.exited {
                println!("container {c} had exited: network taken down");
            }
            for b in &report.bridges {
                println!("recreated bridge {b}");
            }
            for n in &report.netns_names {
                println!("/run/netns: {n}");
            }
            if report.retired > 0 {
                println!("deleted {} retired veth(s)", report.retired);
            }
            println!(
                "ruleset re-applied ({} published-port elements)",
                report.ports
            );
            Ok(0)
        }
        SystemCmd::Info { format } => info(root, format.as_deref()),
        SystemCmd::KeepForwarding => {
            let forgot = open(root)?.keep_forwarding()?;
            if forgot.is_empty() {
                println!("berth turned no forwarding on: nothing to keep, nothing was dropped");
            }
            for key in forgot {
                println!("{key}=1 is now the host's: berth no longer drops forwarding between the host's own interfaces, and 'system reset' leaves it on");
            }
            Ok(0)
        }
        SystemCmd::Reset { force } => {
            if !force {
                return Err(anyhow!(
                    "this removes every berth container and network, berth's firewall tables and its state: run 'berth system reset --force'"
                ));
            }
            open(root)?.reset()?;
            println!("berth state removed");
            Ok(0)
        }
    }
}

fn info(root: Option<&Path>, format: Option<&str>) -> Result<i32> {
    let mut engine = open(root)?;
    let containers = engine.containers()?;
    let running = containers.iter().filter(|c| Engine::is_running(c)).count();
    let networks = engine.networks()?;
    let ops = engine.store().read(|tx| tx.ops())?.len();
    let schema = engine.store().schema_version()?;
    let info = serde_json::json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "StateRoot": engine.paths.state.display().to_string(),
        "RuntimeDir": engine.paths.run.display().to_string(),
        "Containers": containers.len(),
        "ContainersRunning": running,
        "Networks": networks.len(),
        "PendingOperations": ops,
        "StoreSchema": schema,
        "IPv4Forwarding": sysctl::read("net.ipv4.ip_forward").unwrap_or_default() == "1",
        "NftablesInProcess": Nft::new().in_process(),
        "DNS": engine.dns_status()?,
        "Drivers": ["bridge", "macvlan", "ipvlan", "overlay", "host", "null"],
        "Cluster": engine.cluster_info(),
        "Failpoints": berth_core::failpoint::enabled(),
    });
    if format == Some("json") {
        println!("{info}");
        return Ok(0);
    }
    if let Some(obj) = info.as_object() {
        for (k, v) in obj {
            println!("{k}: {}", v.as_str().map_or(v.to_string(), String::from));
        }
    }
    Ok(0)
}
