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
    // The overlay MTU leaves room for VXLAN: a full-size packet with DF set
    // crosses; one byte more is refused at the sender, never black-holed.
    let mtu = c
        .h(0)
        .ok("network inspect -f '{{index .Options \"com.docker.network.driver.mtu\"}}' ov");
    let _ = mtu;
    assert!(
        c.h(0)
            .exec_ok("c0", &format!("ping -M do -s 1422 -c1 -W2 {}", ips[1])),
        "1450-byte packets cross"
    );
    assert!(!c
        .h(0)
        .exec_ok("c0", &format!("ping -M do -s 1423 -c1 -W1 {}", ips[1])));
    // Containers reach the outside through their own host.
    assert!(c.h(1).exec_ok("c1", "busybox ping -c1 -W2 203.0.113.1"));
    let info = c.h(2).ok("system info --format json");
    let info: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(
        info["Cluster"]["Hosts"].as_array().map(Vec::len),
        Some(3),
        "{info}"
    );
}
