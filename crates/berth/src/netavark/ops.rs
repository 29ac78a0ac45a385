//! `setup` and `teardown`: the engine calls, and the status blocks.

use super::proto::{NetAddress, NetInterface, NetworkOptions, StatusBlock};
use super::request::{self, Attach};
use berth_core::engine::{CniAdded, CniFailure, Engine};
use std::collections::BTreeMap;
use std::path::Path;

fn open(root: Option<&Path>) -> Result<Engine, String> {
    crate::config::engine(root)
        .and_then(|c| Engine::open(&c))
        .map_err(|e| format!("cannot open berth's state: {e}"))
}

fn failure(what: &str, e: CniFailure) -> String {
    format!("{what}: {e}")
}

/// Attaches `netns` to every network of `o` (building Podman's networks on
/// first use); on failure detaches what it attached and removes networks
/// it left without containers. The status blocks as JSON.
pub fn setup(o: &NetworkOptions, netns: &Path, root: Option<&Path>) -> Result<String, String> {
    let mut trace = crate::cni::Trace::new();
    let attaches = request::setup(o, netns)?;
    let mut engine = open(root)?;
    trace.phase("netavark open");
    let mut done: Vec<(&Attach, CniAdded)> = Vec::new();
    for a in &attaches {
        match engine.cni_add(&a.add) {
            Ok(added) => done.push((a, added)),
            Err(e) => {
                let msg = failure(&format!("network {}", a.add.network.name), e);
                let made: Vec<&Attach> = done.iter().map(|(a, _)| *a).collect();
                undo(&mut engine, &made, &attaches);
                return Err(msg);
            }
        }
    }
    trace.phase("netavark attach");
    if attaches.iter().any(|a| a.dns) {
        if let Err(e) = engine.publish_dns() {
            eprintln!("berth: warning: embedded DNS: {e}");
        }
        trace.phase("netavark dns");
    }
    let blocks: BTreeMap<String, StatusBlock> = done
        .iter()
        .map(|(a, added)| (a.add.network.name.clone(), status(o, a, added)))
        .collect();
    leave(engine);
    serde_json::to_string(&blocks).map_err(|e| e.to_string())
}

/// Detaches `netns` from every network of `o`: idempotent (an attachment
/// that is gone already succeeds), best effort (keeps going, reports the
/// first failure); a Podman network left without containers is removed.
pub fn teardown(o: &NetworkOptions, root: Option<&Path>) -> Result<(), String> {
    let list = request::teardown(o)?;
    let mut engine = open(root)?;
    let mut first = None;
    let mut dns = false;
    for (network, cid, ifname, has_dns) in &list {
        dns |= *has_dns;
        if let Err(e) = engine.cni_del(network, cid, ifname) {
            first.get_or_insert(failure(&format!("network {network}"), e));
        }
        if let Err(e) = engine.release_owned_network(network) {
            first.get_or_insert(format!("network {network}: {e}"));
        }
    }
    if dns {
        if let Err(e) = engine.publish_dns() {
            eprintln!("berth: warning: embedded DNS: {e}");
        }
    }
    leave(engine);
    first.map_or(Ok(()), Err)
}

/// Takes down what a failed setup made: the attachments `made` (the one
/// that failed rolled itself back), then every network of the request
/// that is left without containers.
fn undo(engine: &mut Engine, made: &[&Attach], all: &[Attach]) {
    for a in made {
        let at = &a.add.attachment;
        if let Err(e) = engine.cni_del(&at.network, &at.container_id, &at.ifname) {
            eprintln!("berth: warning: undoing {}: {e}", at.record_name());
        }
    }
    for a in all {
        let name = &a.add.attachment.network;
        if let Err(e) = engine.release_owned_network(name) {
            eprintln!("berth: warning: undoing network {name}: {e}");
        }
    }
}

/// Ends the engine without closing it, as the CNI plugin does: the process
/// exits right after and every change is committed.
fn leave(engine: Engine) {
    std::mem::forget(engine);
}

/// The status block of one network: the interface with its MAC and
/// addresses, and berth's resolver on the gateways when DNS is on.
fn status(o: &NetworkOptions, a: &Attach, added: &CniAdded) -> StatusBlock {
    let ep = &added.endpoint;
    let gateway = |addr: ipnet::IpNet| {
        added
            .network
            .ipam
            .iter()
            .find(|c| c.subnet.contains(&addr.addr()))
            .map(|c| c.gateway)
    };
    let subnets = [ep.ipv4, ep.ipv6]
        .into_iter()
        .flatten()
        .map(|ipnet| NetAddress {
            gateway: gateway(ipnet),
            ipnet,
        })
        .collect();
    let mut block = StatusBlock::default();
    block.interfaces.insert(
        ep.ifname.clone(),
        NetInterface {
            mac_address: ep.mac.clone(),
            subnets,
        },
    );
    if a.dns {
        block.dns_server_ips = added.network.ipam.iter().map(|c| c.gateway).collect();
        block.dns_search_domains = vec![request::SEARCH_DOMAIN.to_string()];
    } else if let Some(servers) = &o.dns_servers {
        // As netavark: without DNS on the network, the container's own
        // servers go to its resolv.conf.
        block.dns_server_ips = servers.clone();
    }
    block
}
