//! berth's CNI attachments in the kernel: dual-stack addresses, routes and
//! published ports; bandwidth limits on the host end of the veth; an ADD
//! killed at any step rolled back by the next berth command.

mod cniutil;
mod common;

use cniutil::{berth, link_exists, ports4, Att};
use common::{Kernel, B, BERTH};
use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;

fn dual_stack(extra: Value) -> Value {
    let mut c = json!({
        "cniVersion": "1.1.0",
        "name": "dual",
        "type": "berth",
        "ipam": {"type": "host-local", "ranges": [
            [{"subnet": "10.98.0.0/24"}],
            [{"subnet": "fd00:98::/64", "gateway": "fd00:98::1"}]
        ]}
    });
    if let (Some(m), Value::Object(e)) = (c.as_object_mut(), extra) {
        m.extend(e);
    }
    c
}

#[test]
fn dual_stack_addresses_routes_and_ports() {
    let b = B::new("cni-dual");
    let c1 = Att::new(&b, "c1");
    let cfg = dual_stack(
        json!({"runtimeConfig": {"portMappings": [{"hostPort": 8300, "containerPort": 80}]}}),
    );
    let res = berth(&b, "ADD", &c1, &cfg).result().clone();
    let ips: Vec<&str> = res["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["address"].as_str().unwrap())
        .collect();
    assert_eq!(ips, ["10.98.0.2/24", "fd00:98::2/64"]);
    assert_eq!(res["routes"][1], json!({"dst": "::/0", "gw": "fd00:98::1"}));
    assert!(b.sh("ip -n c1 -6 addr show eth0").contains("fd00:98::2/64"));
    assert!(b.sh("ip -n c1 -6 route").contains("default via fd00:98::1"));
    assert!(b.try_sh("ip netns exec c1 busybox ping -c1 -W2 fd00:98::1 >/dev/null"));
    // The attachment's interface ignores router advertisements; the
    // runtime's namespace keeps its own defaults.
    assert_eq!(
        b.sh("ip netns exec c1 sh -c 'cat /proc/sys/net/ipv6/conf/eth0/accept_ra /proc/sys/net/ipv6/conf/eth0/autoconf /proc/sys/net/ipv6/conf/default/accept_ra'"),
        "0\n0\n1\n"
    );
    // The published port answers over IPv6 from outside.
    let www = b.lab.root().join("www6");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "hello-v6\n").unwrap();
    b.sh(&format!(
        "ip netns exec c1 busybox httpd -p 80 -h {} >/dev/null 2>&1 </dev/null",
        www.display()
    ));
    let got = (0..30).find_map(|_| {
        let out = b
            .lab
            .in_ns("outside", "curl -sf -g -m2 'http://[2001:db8:1::2]:8300/'");
        std::thread::sleep(std::time::Duration::from_millis(100));
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    assert_eq!(got.as_deref(), Some("hello-v6"));
    let mut check = cfg.clone();
    check["prevResult"] = res;
    assert!(berth(&b, "CHECK", &c1, &check).ok);
    assert!(berth(&b, "DEL", &c1, &check).ok);
    assert!(!b.sh("nft list map inet berth ports6").contains("8300"));
}

#[test]
fn bandwidth_limits_sit_on_the_host_end() {
    let b = B::new("cni-shape");
    let c1 = Att::new(&b, "c1");
    let cfg = cniutil::conf(
        "shaped",
        "10.99.0.0/24",
        json!({"runtimeConfig": {"bandwidth": {
            "ingressRate": 8000000, "ingressBurst": 800000,
            "egressRate": 4000000, "egressBurst": 400000
        }}}),
    );
    let res = berth(&b, "ADD", &c1, &cfg).result().clone();
    let veth = res["interfaces"][1]["name"].as_str().unwrap().to_string();
    let qdiscs = b.sh(&format!("tc qdisc show dev {veth}"));
    assert!(
        qdiscs.contains("tbf") && qdiscs.contains("rate 8Mbit"),
        "{qdiscs}"
    );
    assert!(qdiscs.contains("ingress"), "{qdiscs}");
    let ifb = format!("bwb{}", &veth[4..]);
    let filters = b.sh(&format!("tc filter show dev {veth} ingress"));
    assert!(
        filters.contains(&format!("Redirect to device {ifb}")),
        "{filters}"
    );
    let shaped = b.sh(&format!("tc qdisc show dev {ifb}"));
    assert!(
        shaped.contains("tbf") && shaped.contains("rate 4Mbit"),
        "{shaped}"
    );
    assert!(b.try_sh("ip netns exec c1 busybox ping -c1 -W2 10.99.0.1 >/dev/null"));
    // CHECK sees the limits, and reports one that is gone.
    let mut check = cfg.clone();
    check["prevResult"] = res;
    assert!(berth(&b, "CHECK", &c1, &check).ok);
    b.sh(&format!("tc qdisc del dev {ifb} root"));
    let r = berth(&b, "CHECK", &c1, &check);
    assert_eq!(r.code(), 102);
    assert!(
        r.message().contains(&ifb) && r.message().contains("bandwidth"),
        "{}",
        r.message()
    );
    assert!(berth(&b, "DEL", &c1, &cfg).ok);
    cniutil::retired_then_gone(&b, &veth);
    assert!(!link_exists(&b, None, &ifb), "DEL deletes the ifb");
}

#[test]
fn an_add_killed_at_any_step_is_rolled_back() {
    let b = B::new("cni-crash");
    let info = b.ok("system info --format json");
    assert!(
        info.contains("\"Failpoints\":true"),
        "{BERTH} was built without the failpoints feature: run the tests with --all-features"
    );
    let cfg = cniutil::with_port(cniutil::conf("crash", "10.100.0.0/24", json!({})), 8400, 80);
    // The network exists before the snapshot: only the attachment is rolled back.
    let c0 = Att::new(&b, "c0");
    assert!(berth(&b, "ADD", &c0, &cfg).ok);
    assert!(berth(&b, "DEL", &c0, &cfg).ok);
    cniutil::reaped(&b);
    let c1 = Att::new(&b, "c1");
    let before = Kernel::read(&b);
    let stdin = b.lab.root().join("crash.json");
    std::fs::write(&stdin, cfg.to_string()).unwrap();
    let mut killed = 0;
    for i in 0..10 {
        let out = b.lab.sh(&format!(
            "BERTH_FAILPOINT=cni_add:{i} CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/c1 CNI_IFNAME=eth0 exec {BERTH} < {}",
            stdin.display()
        ));
        if out.status.signal() != Some(9) {
            assert!(
                out.status.success(),
                "past the last step: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            break;
        }
        killed += 1;
        b.ok("ps -a");
        b.settles_to(
            &before,
            &format!("ADD killed after step {i}, then `berth ps -a`"),
        );
        assert_eq!(cniutil::members(&b, "crash"), "");
    }
    assert_eq!(killed, 2, "a veth and a port element: two steps");
    assert!(ports4(&b).contains("8400"));
    assert!(berth(&b, "DEL", &c1, &cfg).ok);
}

#[test]
fn parallel_adds_share_one_new_network() {
    let b = B::new("cni-parallel");
    let cfg = cniutil::conf("par", "10.101.0.0/24", json!({}));
    let atts: Vec<Att> = (0..12).map(|i| Att::new(&b, &format!("p{i}"))).collect();
    // The runtime attaches containers in parallel; the first ADDs race to
    // create the network.
    let results: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = atts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let cfg = cniutil::with_port(cfg.clone(), 8500 + i as u16, 80);
                let b = &b;
                s.spawn(move || berth(b, "ADD", a, &cfg).result().clone())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ips: Vec<String> = results
        .iter()
        .map(|r| r["ips"][0]["address"].as_str().unwrap().to_string())
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 12, "distinct addresses: {ips:?}");
    assert_eq!(cniutil::members(&b, "par").split(' ').count(), 12);
    let bridges = b.sh("ip -o link show type bridge | grep -c br- || true");
    assert_eq!(bridges.trim(), "1", "one network, one bridge");
}
