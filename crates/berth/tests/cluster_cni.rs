//! CNI pods on an overlay network: berth's CNI front-end, run as a runtime
//! runs it on three hosts of one cluster, with a configuration that names
//! the overlay network and the cluster store (no `--store`, no
//! environment). Pods get cluster-unique addresses, reach the pods of the
//! other hosts by address and by name (their `aliases`), and DEL gives the address back to the cluster at once.

mod cluster;
mod cniutil;
mod common;
mod peers;

use cluster::{Cluster, TTL};
use cniutil::Att;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The configuration a runtime would pass for overlay network `ov`.
fn conf(c: &Cluster, alias: &str) -> Value {
    json!({
        "cniVersion": "1.1.0",
        "name": "ov",
        "type": "berth",
        "store": c.url,
        "runtimeConfig": {"aliases": [alias]}
    })
}

fn add(c: &Cluster, h: usize, att: &Att, alias: &str) -> cniutil::Reply {
    let extra = format!("BERTH_CLUSTER_TTL={TTL}");
    cniutil::call(
        &c.h(h).b,
        common::BERTH,
        "ADD",
        Some(att),
        &extra,
        &conf(c, alias),
    )
}

/// The pod's IPv4 address in an ADD result.
fn address(r: &cniutil::Reply) -> String {
    let a = r.result()["ips"][0]["address"]
        .as_str()
        .expect("an address");
    a.split('/').next().unwrap_or_default().to_string()
}

/// `ping` from pod `att` of host `h` to `ip`, retried while the agents
/// program the other hosts' entries (up to 20 s); true when it answered.
fn reaches(c: &Cluster, h: usize, att: &Att, ip: &str) -> bool {
    let cmd = format!("ip netns exec {} ping -c1 -W1 {ip}", att.cid);
    (0..40).any(|_| {
        let ok = c.h(h).b.lab.sh(&cmd).status.success();
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        ok
    })
}

#[test]
fn pods_on_three_hosts_share_an_overlay_network() {
    let c = Cluster::new("cc", 3);
    c.h(0)
        .ok("network create -d overlay --ipv6 --subnet 198.18.0.0/24 --subnet fd00:c::/64 ov");
    let pods: Vec<Att> = (0..3)
        .map(|h| Att::new(&c.h(h).b, &format!("pod{h}")))
        .collect();
    let mut ip6s = Vec::new();
    let ips: Vec<String> = (0..3)
        .map(|h| {
            let r = add(&c, h, &pods[h], &format!("pod{h}"));
            assert!(r.ok, "ADD on host {h}: {} {}", r.json, r.stderr);
            // Dual stack: the IPv6 address carries the IPv4 host part.
            let v4 = address(&r);
            let v6 = r.result()["ips"][1]["address"].as_str().unwrap_or_default();
            let host: u8 = v4
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .parse()
                .unwrap_or(0);
            assert_eq!(v6, format!("fd00:c::{host:x}/64"), "{}", r.json);
            ip6s.push(v6.trim_end_matches("/64").to_string());
            v4
        })
        .collect();
    let unique: BTreeSet<&String> = ips.iter().collect();
    assert_eq!(unique.len(), 3, "cluster-unique addresses: {ips:?}");
    // Each address is reserved in the cluster store.
    let keys = c.keys("/berth/v1/addrs/");
    for ip in &ips {
        assert!(
            keys.iter().any(|k| k.ends_with(&format!("/{ip}"))),
            "{keys:?}"
        );
    }
    // Every pod reaches the pods of the other hosts through the VXLAN.
    for (h, pod) in pods.iter().enumerate() {
        for (o, ip) in ips.iter().enumerate().filter(|(o, _)| *o != h) {
            assert!(
                reaches(&c, h, pod, ip),
                "pod{h} (host {h}) cannot reach pod{o} at {ip}\n{}",
                c.h(h).agent_log()
            );
        }
    }
    let ping6 = format!("ip netns exec pod0 ping -6 -c1 -W1 {}", ip6s[2]);
    let ok6 = (0..40).any(|_| {
        let ok = c.h(0).b.lab.sh(&ping6).status.success();
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        ok
    });
    assert!(ok6, "pod0 cannot reach pod2 over IPv6 at {}", ip6s[2]);
    // By name: the embedded DNS on each host's gateway serves the other
    // hosts' pods by their alias (the `aliases` capability).
    let lookup = |name: &str| {
        c.h(0).b.lab.sh(&format!(
            "ip netns exec pod0 busybox nslookup {name} 198.18.0.1"
        ))
    };
    let found = lookup("pod2");
    let text = String::from_utf8_lossy(&found.stdout);
    assert!(
        found.status.success() && text.contains(&format!("Address: {}", ips[2])),
        "{text}"
    );
    // DEL on host 1: its address leaves the cluster store at once and
    // pod0 no longer reaches it; the others still talk.
    let del = cniutil::berth(&c.h(1).b, "DEL", &pods[1], &conf(&c, "pod1"));
    assert!(del.ok, "DEL: {} {}", del.json, del.stderr);
    assert!(!c
        .keys("/berth/v1/addrs/")
        .iter()
        .any(|k| k.ends_with(&format!("/{}", ips[1]))));
    let gone = format!("ip netns exec pod0 ping -c1 -W1 {}", ips[1]);
    assert_eq!(c.h(0).b.lab.sh(&gone).status.code(), Some(1));
    assert!(reaches(&c, 0, &pods[0], &ips[2]));
    // A configuration whose addresses come from a previous plugin is
    // refused on an overlay network (they would not be cluster-wide).
    let mut given = conf(&c, "x");
    given["ipam"] = json!({});
    given["prevResult"] = json!({"cniVersion": "1.1.0",
        "ips": [{"address": "198.18.0.77/24"}]});
    let att = Att::new(&c.h(2).b, "podx");
    let r = cniutil::berth(&c.h(2).b, "ADD", &att, &given);
    assert!(!r.ok);
    assert!(r.message().contains("overlay network"), "{}", r.message());
}

/// Debian's containerd on each of three hosts (its own root, state and
/// socket, started in the host's lab), `ctr run --cni` with a configuration
/// list naming the overlay network and the store: the containers get
/// cluster-unique addresses and reach each other across the hosts.
#[test]
fn containerd_on_three_hosts_puts_its_containers_on_the_overlay() {
    let c = Cluster::new("cd", 3);
    c.h(0)
        .ok("network create -d overlay --subnet 198.18.0.0/24 ov");
    let conflist = json!({"cniVersion": "1.0.0", "name": "ov",
        "plugins": [{"type": "berth", "store": c.url}]})
    .to_string();
    let mut ips = Vec::new();
    let mut ctrs = Vec::new();
    for h in 0..3 {
        let b = &c.h(h).b;
        let (dir, cg) = peers::prepare(b, &format!("ctrd{h}"), "unused");
        b.sh(&peers::oci_archive(&dir));
        peers::start_containerd(b, &dir, &conflist, &format!("BERTH_CLUSTER_TTL={TTL}"));
        let ctr = format!("ctr -a {dir}/containerd.sock -n berth");
        b.sh(&format!("{ctr} image import {dir}/busybox-oci.tar"));
        b.sh(&format!(
            "{ctr} run -d --cni --cgroup {cg}/p{h} localhost/busybox:latest p{h} sleep 600"
        ));
        let out = b.sh(&format!(
            "{ctr} task exec --exec-id a p{h} ip -4 -o addr show eth0"
        ));
        let ip = out.split_whitespace().nth(3).unwrap_or_default();
        assert!(
            ip.starts_with("198.18.0.") && ip.ends_with("/24"),
            "p{h}: {out}"
        );
        ips.push(ip.trim_end_matches("/24").to_string());
        ctrs.push(ctr);
    }
    let unique: BTreeSet<&String> = ips.iter().collect();
    assert_eq!(unique.len(), 3, "cluster-unique addresses: {ips:?}");
    for (h, ctr) in ctrs.iter().enumerate() {
        for (o, ip) in ips.iter().enumerate().filter(|(o, _)| *o != h) {
            let ok = (0..40).any(|n| {
                // An exec id is taken until its process is reaped: one per try.
                let ping = format!("{ctr} task exec --exec-id p{o}-{n} p{h} ping -c1 -W1 {ip}");
                let ok = c.h(h).b.lab.sh(&ping).status.success();
                if !ok {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
                ok
            });
            let dbg = "ip -d link show; ip neigh; bridge fdb show | grep -v 33:33; nft list set inet berth vxlan_vteps; nft list set inet berth vxlan_vnis";
            assert!(
                ok,
                "p{h} (host {h}) cannot reach p{o} at {ip}\n{}\nh: {}\no: {}\nps h: {}\nps o: {}",
                c.h(h).agent_log(),
                c.h(h).b.sh(dbg),
                c.h(o).b.sh(dbg),
                c.h(h).ok("ps -a"),
                c.h(o).ok("ps -a")
            );
        }
    }
    // Next to it, an address nobody holds does not answer.
    let none = format!(
        "{} task exec --exec-id n p0 ping -c1 -W1 198.18.0.200",
        ctrs[0]
    );
    assert_eq!(c.h(0).b.lab.sh(&none).status.code(), Some(1));
}
