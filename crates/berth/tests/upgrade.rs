//! State roots written by the previous version of berth (commit 117e4db
//! and its neighbours: store schema version 1, containers without
//! confinement or log options, veths without aliases) are opened and
//! managed by this one, as after an upgrade and a reboot (the runtime dir
//! is gone).
//!
//! - `fixtures/state-v1`: `network create --subnet 192.0.2.0/24 appnet`,
//!   `run -d --name web --network appnet busybox sleep 3600` and `run
//!   --name done busybox sh -c 'echo bye'`: the containers get Docker's
//!   default confinement.
//! - `fixtures/v1-root`: network `appnet` (192.0.2.0/24), container `c1` on
//!   it publishing 8080 -> 80 (busybox httpd) and `c2` on the default
//!   bridge, both running: the store is migrated to schema 2 (unique veth
//!   names) and the containers' veths get berth's alias when they start.
//! - `fixtures/v5-root` (written by 799badc, store schema 5): networks
//!   `appnet` (192.0.2.0/25) and `six` (192.0.2.128/26 and 2001:db8:5::/64,
//!   bridge `br-six`) beside the default `bridge` (172.17.0.0/16): schema 6
//!   indexes the old networks' subnets and bridges, which a new network is
//!   checked against.
//! - `fixtures/ruleset-84c610c.nft`: the `inet berth` table of 84c610c,
//!   whose hairpin rule matched the interval sets `subnets4/6`, loaded over
//!   a lab's tables as a host keeps them across an upgrade without a reboot.

mod common;
mod netutil;
use common::B;
use netutil::{curl_from, curl_ready, httpd, www, LAB};
use std::path::Path;

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

#[test]
fn a_state_root_of_the_previous_version_is_managed() {
    let b = B::new("upgrade-v1");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1");
    copy_tree(&fixture, b.lab.root());
    let ps = b.ok("ps -a --format '{{.Names}} {{.State}}'");
    let mut rows: Vec<&str> = ps.lines().collect();
    rows.sort();
    assert_eq!(rows, ["done exited", "web exited"], "{ps}");
    let host = b.ok("inspect -f '{{json .HostConfig}}' web");
    let host: serde_json::Value = serde_json::from_str(&host).unwrap();
    assert_eq!(host["Privileged"], false, "{host}");
    assert_eq!(host["CapAdd"], serde_json::Value::Null, "{host}");
    assert_eq!(host["Binds"], serde_json::Value::Null, "{host}");
    assert_eq!(b.ok("start web"), "web\n");
    let status = b.ok("exec web grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/1/status");
    assert_eq!(
        status,
        "CapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n"
    );
    assert!(b
        .ok("inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' web")
        .starts_with("192.0.2."));
    b.ok("stop -t 1 web");
    assert_eq!(b.ok("rm web done"), "web\ndone\n");
    b.ok("network rm appnet");
    assert_eq!(b.ok("ps -aq"), "");
}

/// Copies the fixture into the lab's (still unused) state root.
fn with_v1_state(b: &B) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1-root");
    b.sh(&format!("cp -a {fixture}/. \"$BERTH_ROOT\"/"));
}

fn info(b: &B) -> serde_json::Value {
    serde_json::from_str(&b.ok("system info --format json")).unwrap()
}

/// Host veth names and aliases, as `ip -j -d link` shows them.
fn veths(b: &B) -> Vec<(String, String)> {
    let links: serde_json::Value = serde_json::from_str(&b.sh("ip -j -d link")).unwrap();
    let mut v: Vec<(String, String)> = links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["ifname"].as_str().is_some_and(|n| n.starts_with("veth")))
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or("").to_string();
            (s("ifname"), s("ifalias"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_version_1_state_root_is_migrated_and_managed() {
    let b = B::new("upgrade-root");
    with_v1_state(&b);
    let ps = common::undated(&b.ok("ps -a --format '{{.Names}} {{.Status}}'"));
    let mut lines: Vec<&str> = ps.lines().collect();
    lines.sort();
    assert_eq!(lines, ["c1 Exited (255)", "c2 Exited (255)"], "{ps}");
    assert_eq!(info(&b)["StoreSchema"], 6);
    // The old records are managed: started with their old addresses, the
    // published port answers, names resolve on the user network.
    b.ok("start c1 c2");
    assert_eq!(b.ip("c1", "appnet"), "192.0.2.2");
    assert!(common::crash::serves(&b), "c1's published port");
    assert!(b.exec_ok("c2", "busybox ping -c1 -W2 203.0.113.1"));
    // Their veths keep their recorded names and now carry berth's alias.
    let eps: Vec<String> = ["c1", "c2"]
        .iter()
        .map(|c| {
            b.ok(&format!(
                "inspect -f '{{{{range .NetworkSettings.Networks}}}}{{{{.EndpointID}}}}{{{{end}}}}' {c}"
            ))
            .trim()
            .to_string()
        })
        .collect();
    let found = veths(&b);
    assert_eq!(found.len(), 2, "{found:?}");
    for ep in &eps {
        assert!(
            found
                .iter()
                .any(|(name, alias)| ep.starts_with(&name[4..]) && *alias == format!("berth:{ep}")),
            "{ep}: {found:?}"
        );
    }
    // New containers get names unique among the old ones; stop/start again.
    b.sleeper("c3", "--network appnet");
    b.ok("stop -t 0 c1");
    b.ok("start c1");
    assert!(common::crash::serves(&b));
    b.ok("rm -f c1 c2 c3");
    b.ok("network rm appnet");
    // The retired host ends go with the reaper, which gathers a burst's
    // first (decision 17): wait for it, up to 10 s.
    let mut left = veths(&b);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = veths(&b);
    }
    assert!(
        left.is_empty(),
        "veths left 10 s after rm -f and network rm: {left:?}"
    );
    assert_eq!(info(&b)["Containers"], 0);
}

#[test]
fn a_version_5_store_gets_its_networks_subnets_indexed() {
    let b = B::new("upgrade-v5");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v5-root");
    b.sh(&format!("cp -a {fixture}/. \"$BERTH_ROOT\"/"));
    assert_eq!(info(&b)["StoreSchema"], 6);
    // Overlaps with the old networks are found through the new index:
    // a subnet inside one, one containing one, an IPv6 one inside one.
    for (subnet, clash) in [
        ("192.0.2.64/26", "192.0.2.0/25 of network appnet"),
        ("192.0.2.160/27", "192.0.2.128/26 of network six"),
        ("192.0.2.0/24", "192.0.2."),
        (
            "2001:db8:5:0:1::/80 --subnet 10.99.0.0/24",
            "2001:db8:5::/64 of network six",
        ),
    ] {
        let e = b.fails(&format!("network create --subnet {subnet} x"));
        assert!(e.contains(&format!("overlaps {clash}")), "{subnet}: {e}");
    }
    let e =
        b.fails("network create --subnet 10.98.0.0/24 -o com.docker.network.bridge.name=br-six y");
    assert!(
        e.contains("bridge name \"br-six\" is already in use"),
        "{e}"
    );
    let e = b.fails("network create --subnet 10.97.0.0/24 appnet");
    assert!(
        e.contains("network with name \"appnet\" already exists"),
        "{e}"
    );
    // Next to them, in the same state: the free quarter, and a network
    // from the default pools, which skips the old default bridge's.
    b.ok("network create --subnet 192.0.2.192/26 free");
    b.ok("network create auto");
    assert_eq!(
        b.ok("network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' auto")
            .trim(),
        "172.18.0.0/16"
    );
    // A removed network's subnets are free again.
    b.ok("network rm appnet six");
    b.ok("network create --subnet 192.0.2.0/25 again");
    b.ok("network rm again free auto");
}

#[test]
fn tables_of_the_previous_skeleton_are_upgraded_and_hairpin_works() {
    let b = B::new("upgrade-skel");
    b.ok("network create --subnet 192.0.2.0/25 -o com.docker.network.bridge.name=br-app appnet");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ruleset-84c610c.nft"
    );
    b.sh(&format!("nft -f {fixture}"));
    // The runtime dir of the previous version knew its own skeleton only.
    b.sh("rm \"$BERTH_ROOT\"/run/ruleset-*");
    assert!(
        b.try_sh("nft list set inet berth subnets4"),
        "the old table"
    );
    // The next command re-renders the tables from the store.
    b.ok("network ls");
    assert!(
        !b.try_sh("nft list set inet berth subnets4"),
        "the old set is gone"
    );
    let chain = b.sh("nft list chain inet berth postrouting");
    assert!(
        chain.contains("ct status dnat iifname @bridges masquerade"),
        "{chain}"
    );
    let bridges = b.sh("nft list set inet berth bridges");
    assert!(bridges.contains("br-app"), "{bridges}");
    // On a network made after the upgrade (the old table would not have
    // known its subnet), a container reaches a published port through the
    // host, from its own bridge and from itself, bridged by br_netfilter
    // and routed.
    b.ok("network create --subnet 192.0.2.128/25 late");
    let dir = www(&b, "www", "upgraded", &[]);
    b.ok(&format!(
        "run -d --name web --network late -p 8087:80 {}",
        httpd(&dir, 80)
    ));
    b.sleeper("peer", "--network late");
    let url = format!("http://{LAB}:8087/");
    assert_eq!(curl_ready(&b, None, &url).as_deref(), Ok("upgraded"));
    for routed in [false, true] {
        if routed {
            b.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=0");
        }
        for from in ["peer", "web"] {
            let got = curl_from(&b, from, &url, 2);
            assert_eq!(got.as_deref(), Ok("upgraded"), "{from}, routed: {routed}");
        }
    }
}
