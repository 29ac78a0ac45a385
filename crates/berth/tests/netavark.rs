//! berth's netavark mode driven directly, as Podman drives it (options on
//! stdin, one process per call), for what a real Podman rarely shows: a
//! setup that fails half-way leaves nothing, a berth network of the same
//! name is not taken over, the caller's own namespace is refused, and
//! teardown is idempotent. (Podman itself: tests/podman.rs.)

mod common;

use common::{B, BERTH};
use serde_json::{json, Value};

/// Network options for container `cid` on networks (name, subnet, bridge,
/// address).
fn options(cid: &str, nets: &[(&str, &str, &str, &str)]) -> Value {
    let mut networks = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    for (name, subnet, bridge, ip) in nets {
        let gw = subnet.replace(".0/26", ".1").replace(".64/26", ".65");
        networks.insert(
            name.to_string(),
            json!({"interface_name": format!("eth{}", networks.len()), "static_ips": [ip]}),
        );
        info.insert(
            name.to_string(),
            json!({"name": name, "id": format!("{name}-id"), "driver": "bridge", "network_interface": bridge,
                   "subnets": [{"subnet": subnet, "gateway": gw}], "ipv6_enabled": false,
                   "internal": false, "dns_enabled": true, "ipam_options": {"driver": "host-local"}}),
        );
    }
    json!({"container_id": cid, "container_name": cid, "networks": networks, "network_info": info})
}

/// `berth netavark CMD NETNS` with `opts` on stdin: (exit status, stdout).
fn netavark(b: &B, cmd: &str, netns: &str, opts: &Value) -> (i32, String) {
    let file = b.lab.root().join(format!("opts-{}.json", rand_suffix()));
    std::fs::write(&file, opts.to_string()).unwrap();
    let out = b.lab.sh(&format!(
        "{BERTH} netavark --config /run/containers/networks --rootless=false --aardvark-binary= {cmd} {netns} < {}",
        file.display()
    ));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// No berth network but the built-in ones, no bridge or veth of Podman's.
fn nothing_left(b: &B) {
    let nets = b.ok("network ls --format '{{.Name}}'");
    assert_eq!(nets.split_whitespace().count(), 3, "{nets}");
    assert_eq!(b.ok("ps -aq").trim(), "");
    assert!(
        b.try_sh("! ip -o link | grep -E 'pm[0-9]|veth'"),
        "{}",
        b.sh("ip -o link")
    );
}

#[test]
fn setup_and_teardown_as_podman_calls_them() {
    let b = B::new("netavark");
    b.lab.add_netns("c1").unwrap();
    b.lab.add_netns("c2").unwrap();
    let version: Value = serde_json::from_str(&b.ok("netavark version")).unwrap();
    assert!(version["commit"].as_str().unwrap().starts_with("berth"));

    // The second network's address is outside its subnet: the error names
    // it, and the first network's attachment and bridge are undone.
    let bad = options(
        "c1",
        &[
            ("a", "192.0.2.0/26", "pm1", "192.0.2.10"),
            ("b", "192.0.2.64/26", "pm2", "192.0.2.10"),
        ],
    );
    let (code, out) = netavark(&b, "setup", "/run/netns/c1", &bad);
    assert_eq!(code, 1, "{out}");
    let err: Value = serde_json::from_str(&out).unwrap();
    assert!(
        err["error"].as_str().unwrap().contains("192.0.2.10"),
        "{out}"
    );
    nothing_left(&b);

    // The caller's own namespace is never configured.
    let good = options("c1", &[("a", "192.0.2.0/26", "pm1", "192.0.2.10")]);
    let (code, out) = netavark(&b, "setup", "/proc/self/ns/net", &good);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("own network namespace"), "{out}");
    nothing_left(&b);

    // A berth network of that name is berth's: not taken over.
    b.ok("network create --subnet 192.0.2.0/26 a");
    let (code, out) = netavark(&b, "setup", "/run/netns/c1", &good);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("berth's own network"), "{out}");
    b.ok("network rm a");

    // Two containers; the status block has the address, the gateway as
    // name server; the network goes with the last one, and teardown is
    // idempotent.
    let (code, out) = netavark(&b, "setup", "/run/netns/c1", &good);
    assert_eq!(code, 0, "{out}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        status["a"]["interfaces"]["eth0"]["subnets"][0]["ipnet"],
        "192.0.2.10/26"
    );
    assert_eq!(status["a"]["dns_server_ips"], json!(["192.0.2.1"]));
    let second = options("c2", &[("a", "192.0.2.0/26", "pm1", "192.0.2.11")]);
    assert_eq!(netavark(&b, "setup", "/run/netns/c2", &second).0, 0);
    assert!(b
        .lab
        .in_ns("c2", "ping -c1 -W2 192.0.2.10")
        .status
        .success());
    for _ in 0..2 {
        let (code, out) = netavark(&b, "teardown", "/run/netns/c1", &good);
        assert_eq!((code, out.as_str()), (0, ""));
    }
    assert!(b.ok("network ls").contains(" a "), "c2 still uses it");
    assert_eq!(netavark(&b, "teardown", "/run/netns/c2", &second).0, 0);
    nothing_left(&b);
}
