//! Overlay networks across hosts sharing an etcd cluster store: three
//! host labs joined by an underlay bridge, etcd in its own lab on the
//! underlay, `berth agent` on every host.

mod cluster;
mod common;

use cluster::Cluster;
use std::collections::BTreeSet;

const NET: &str = "--subnet 198.18.0.0/24 ov";

#[test]
fn overlay_spans_three_hosts() {
    let c = Cluster::new("ov3", 3);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    for (i, h) in c.hosts.iter().enumerate() {
        h.ok(&format!(
            "run -d --name c{i} --network ov busybox sleep 600"
        ));
    }
    let ips: Vec<String> = (0..3).map(|i| c.h(i).ip(&format!("c{i}"), "ov")).collect();
    assert_eq!(ips.iter().collect::<BTreeSet<_>>().len(), 3, "{ips:?}");
    for (i, h) in c.hosts.iter().enumerate() {
        for (j, ip) in ips.iter().enumerate().filter(|(j, _)| *j != i) {
            assert!(
                h.eventually(&format!("c{i}"), &format!("busybox ping -c1 -W1 {ip}"), 10),
                "c{i} -> c{j} ({ip}) across hosts\n{}",
                h.agent_log()
            );
        }
    }
    // By name too: each host's embedded DNS knows the other hosts' containers.
    assert!(
        c.h(0).eventually("c0", "busybox ping -c1 -W1 c2", 10),
        "c0 -> c2 by name\n{}",
        c.h(0).agent_log()
    );
    assert!(c.h(2).eventually("c2", "busybox ping -c1 -W1 c1", 10));
    // The overlay MTU leaves room for VXLAN (50 bytes under the underlay's
    // 1500): a full-size packet with DF set crosses; one byte more is
    // refused at the sender (EMSGSIZE), never black-holed.
    // (The MTU is not among the network's options: no -o was given.)
    let mtu = c.h(0).ok("exec c0 cat /sys/class/net/eth0/mtu");
    assert_eq!(
        mtu.trim(),
        "1450",
        "the overlay's MTU, as the container sees it"
    );
    assert!(
        c.h(0)
            .exec_ok("c0", &format!("ping -M do -s 1422 -c1 -W2 {}", ips[1])),
        "1450-byte packets cross"
    );
    let big = c
        .h(0)
        .berth(&format!("exec c0 ping -M do -s 1423 -c1 -W1 {}", ips[1]));
    let text = format!(
        "{}{}",
        common::stdout(&big),
        String::from_utf8_lossy(&big.stderr)
    );
    assert!(
        !big.status.success() && text.contains("message too long, mtu=1450"),
        "a 1451-byte packet must be refused at the sender: {big:?}"
    );
    // Containers reach the outside through their own host, and a port
    // published by an overlay container works on its host.
    assert!(c.h(1).exec_ok("c1", "busybox ping -c1 -W2 203.0.113.1"));
    let www = c.h(2).b.lab.root().join("www");
    std::fs::create_dir_all(&www).expect("www");
    std::fs::write(www.join("index.html"), "overlay-web\n").expect("index");
    c.h(2).ok(&format!(
        "run -d --name web --network ov -p 8080:80 -v {w}:{w}:ro busybox httpd -f -p 80 -h {w}",
        w = www.display()
    ));
    let got = c.h(2).b.lab.in_ns(
        "outside",
        "for i in $(seq 30); do curl -sf -m1 http://198.51.100.2:8080/ && exit 0; sleep 0.1; done; exit 1",
    );
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "overlay-web");
    // The overlay agent heals the firewall too: after a flush the
    // published port answers again (polled, generous bound).
    c.h(2).b.sh("nft flush ruleset");
    let healed = c.h(2).b.lab.in_ns(
        "outside",
        "for i in $(seq 100); do curl -sf -m1 http://198.51.100.2:8080/ && exit 0; sleep 0.1; done; exit 1",
    );
    assert_eq!(
        String::from_utf8_lossy(&healed.stdout).trim(),
        "overlay-web",
        "healed after nft flush ruleset\n{}",
        c.h(2).agent_log()
    );
    let web = c.h(2).ip("web", "ov");
    assert!(c
        .h(0)
        .eventually("c0", &format!("curl -sf -m1 http://{web}/"), 5));
    let info = c.h(2).ok("system info --format json");
    let info: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(
        info["Cluster"]["Hosts"].as_array().map(Vec::len),
        Some(3),
        "{info}"
    );
}

/// The addresses allocated in the cluster store (one key per address).
fn addrs(c: &Cluster) -> Vec<String> {
    c.keys("/berth/v1/addrs/")
}

#[test]
fn dead_hosts_expire_and_an_etcd_outage_heals() {
    let mut c = Cluster::new("ovd", 3);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    for (i, h) in c.hosts.iter().enumerate() {
        h.ok(&format!(
            "run -d --name c{i} --network ov busybox sleep 600"
        ));
    }
    let ips: Vec<String> = (0..3).map(|i| c.h(i).ip(&format!("c{i}"), "ov")).collect();
    assert!(c
        .h(0)
        .eventually("c0", &format!("busybox ping -c1 -W1 {}", ips[2]), 10));

    // etcd down: overlay changes fail clearly, running containers keep
    // talking; back up: nothing duplicated, new containers connect.
    c.stop_etcd();
    let e = c
        .h(0)
        .fails("run -d --name x --network ov busybox sleep 600");
    assert!(e.contains("cluster store"), "{e}");
    assert!(c
        .h(0)
        .exec_ok("c0", &format!("busybox ping -c1 -W1 {}", ips[2])));
    c.start_etcd();
    c.h(2)
        .ok("run -d --name late --network ov busybox sleep 600");
    let late = c.h(2).ip("late", "ov");
    assert!(!ips.contains(&late), "{late} is new");
    assert!(
        c.h(0)
            .eventually("c0", &format!("busybox ping -c1 -W1 {late}"), 10),
        "{}",
        c.h(0).agent_log()
    );
    let keys = addrs(&c);
    assert_eq!(keys.len(), 4, "{keys:?}");

    // Host 1 dies: its agent is killed and its lab deleted. Its endpoint
    // expires with its lease and its address can be taken again.
    let mut dead = c.hosts.remove(1);
    dead.kill_agent();
    drop(dead);
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        !addrs(&c).iter().any(|k| k.ends_with(&ips[1]))
    });
    assert!(gone, "the dead host's address expired: {:?}", addrs(&c));
    c.h(0).ok(&format!(
        "run -d --name reuse --network ov --ip {} busybox sleep 600",
        ips[1]
    ));
    assert!(c
        .h(1)
        .eventually("c2", &format!("busybox ping -c1 -W1 {}", ips[1]), 10));
    let info: serde_json::Value =
        serde_json::from_str(&c.h(0).ok("system info --format json")).expect("json");
    assert_eq!(
        info["Cluster"]["Hosts"].as_array().map(Vec::len),
        Some(2),
        "{info}"
    );
}

/// A host whose lease expired while its agent was down (its keys gone
/// with it): its next `run` reserves on a new lease, never the address a
/// container of its own still holds, and publishes that container again.
#[test]
fn a_run_after_the_lease_expired_keeps_the_local_addresses() {
    let mut c = Cluster::new("ovl", 1);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    c.h(0).ok("run -d --name a --network ov busybox sleep 600");
    let a = c.h(0).ip("a", "ov");
    c.hosts[0].kill_agent();
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        addrs(&c).is_empty()
    });
    assert!(gone, "the lease expired: {:?}", addrs(&c));
    c.h(0).ok("run -d --name b --network ov busybox sleep 600");
    let b = c.h(0).ip("b", "ov");
    assert_ne!(a, b, "b was given a's address");
    let keys = addrs(&c);
    for ip in [&a, &b] {
        let want = format!("/{ip}");
        assert!(keys.iter().any(|k| k.ends_with(&want)), "{ip}: {keys:?}");
    }
    assert!(c.h(0).exec_ok("b", &format!("busybox ping -c1 -W2 {a}")));
}

#[test]
fn parallel_attaches_on_three_hosts_get_unique_addresses() {
    let c = Cluster::new("ovp", 3);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    let url = c.url.clone();
    let hosts = &c.hosts;
    std::thread::scope(|s| {
        for h in hosts {
            let url = url.clone();
            s.spawn(move || {
                // Each background run's own status: a bare `wait` is always 0.
                let script = format!(
                    "pids=; for i in $(seq 20); do {} run -d --name p$i --network ov busybox sleep 600 >/dev/null & pids=\"$pids $!\"; done; \
                     rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc",
                    "BERTH_CLUSTER_TTL=6 $BERTH --store $STORE"
                );
                let out = h.b.lab.sh(&format!("BERTH={} STORE={}; {script}", common::BERTH, url));
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            });
        }
    });
    let mut all = BTreeSet::new();
    for h in &c.hosts {
        let names = h.ok("ps -q");
        assert_eq!(names.lines().count(), 20, "{names}");
        for i in 1..=20 {
            assert!(
                all.insert(h.ip(&format!("p{i}"), "ov")),
                "duplicate address {} of p{i}",
                h.ip(&format!("p{i}"), "ov")
            );
        }
    }
    assert_eq!(all.len(), 60);
    assert_eq!(addrs(&c).len(), 60);
}

#[test]
fn overlay_without_a_cluster_store_says_how_to_configure_one() {
    let b = common::B::new("ov-nostore");
    let e = b.fails("network create -d overlay ov");
    assert!(
        e.contains("cluster store") && e.contains("--store etcds://"),
        "{e}"
    );
    assert!(e.contains("berth agent"), "{e}");
    assert_eq!(b.network_names(), vec!["bridge", "host", "none"]);
}

/// A dual-stack overlay network: each container's IPv6 address carries
/// its IPv4 host part (reserved cluster-wide), and the containers of two
/// hosts reach each other over IPv6 through the VXLAN (the device answers
/// their neighbour solicitations from the store's entries).
#[test]
fn dual_stack_overlay_spans_hosts() {
    let c = Cluster::new("o6", 2);
    c.h(0)
        .ok("network create -d overlay --ipv6 --subnet 198.18.0.0/24 --subnet fd00:b::/64 ov");
    c.h(0).ok("run -d --name a --network ov busybox sleep 600");
    c.h(1).ok("run -d --name b --network ov busybox sleep 600");
    let v6 = |h: usize, name: &str| {
        let out = c.h(h).ok(&format!(
            "inspect -f '{{{{(index .NetworkSettings.Networks \"ov\").GlobalIPv6Address}}}}' {name}"
        ));
        out.trim().to_string()
    };
    let (a4, b4) = (c.h(0).ip("a", "ov"), c.h(1).ip("b", "ov"));
    let (a6, b6) = (v6(0, "a"), v6(1, "b"));
    let host = |v4: &str| v4.rsplit('.').next().unwrap_or_default().to_string();
    let hex = |v4: &str| format!("{:x}", host(v4).parse::<u8>().expect("octet"));
    assert_eq!(a6, format!("fd00:b::{}", hex(&a4)), "a: {a4} {a6}");
    assert_eq!(b6, format!("fd00:b::{}", hex(&b4)), "b: {b4} {b6}");
    assert!(
        c.h(1)
            .eventually("b", &format!("busybox ping -6 -c1 -W1 {a6}"), 20),
        "{}",
        c.h(1).agent_log()
    );
    assert!(c
        .h(0)
        .eventually("a", &format!("busybox ping -6 -c1 -W1 {b6}"), 20));
    assert!(c.h(0).exec_ok("a", &format!("busybox ping -c1 -W1 {b4}")));
    // Nobody holds fd00:b::99: no answer (ping exit 1), next to the above.
    let none = c.h(1).berth("exec b busybox ping -6 -c1 -W1 fd00:b::99");
    assert_eq!(none.status.code(), Some(1));
    // The IPv6 address follows the IPv4 one: --ip6 is refused.
    let e = c
        .h(1)
        .fails("run -d --name x --network ov --ip6 fd00:b::50 busybox sleep 600");
    assert!(e.contains("--ip6") && e.contains("--ip"), "{e}");
}
