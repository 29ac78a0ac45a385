//! containerd 1.6 (Debian's) with berth as its only CNI plugin:
//! `ctr run --cni` reads the first configuration in /etc/cni/net.d and
//! runs plugins from /opt/cni/bin, which the lab covers with tmpfs mounts
//! of its own (nothing is written on the host). containerd runs in the lab
//! with its root, state and socket in the lab's temp dir; the image is an
//! OCI archive of a busybox root filesystem made here.

mod common;
mod peers;

use berth_lab::INTERNET_V4;
use common::BERTH;
use peers::Peer;

#[test]
fn ctr_run_cni_with_berth_as_the_only_plugin() {
    let p = Peer::new("containerd", "served-by-containerd");
    let (b, dir, cg) = (&p.b, p.dir.as_str(), p.cgroup.as_str());
    b.sh(&peers::oci_archive(dir));
    peers::start_containerd(
        b,
        dir,
        r#"{"cniVersion": "1.0.0", "name": "ctrnet", "plugins": [{"type": "berth", "bridge": "cni-ctr",
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "192.0.2.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}"#,
        "",
    );
    let ctr = format!("ctr -a {dir}/containerd.sock -n berth");
    b.sh(&format!("{ctr} image import {dir}/busybox-oci.tar"));
    for (name, cmd) in [("c1", "httpd -f -p 80 -h /www"), ("c2", "sleep 600")] {
        b.sh(&format!(
            "{ctr} run -d --cni --cgroup {cg}/{name} localhost/busybox:latest {name} {cmd}"
        ));
    }
    let addr = |name: &str| {
        let out = b.sh(&format!(
            "{ctr} task exec --exec-id a-{name} {name} ip -4 -o addr show eth0"
        ));
        let ip = out
            .split_whitespace()
            .nth(3)
            .unwrap_or_default()
            .to_string();
        assert!(
            ip.starts_with("192.0.2.") && ip.ends_with("/24"),
            "{name}: {out}"
        );
        ip.trim_end_matches("/24").to_string()
    };
    let (ip1, ip2) = (addr("c1"), addr("c2"));
    assert_ne!(ip1, ip2);
    // They reach each other, and the outside (masqueraded).
    let page = b.sh(&format!(
        "{ctr} task exec --exec-id w c2 wget -qO- http://{ip1}/index.html"
    ));
    assert_eq!(page.trim(), "served-by-containerd");
    b.sh(&format!(
        "{ctr} task exec --exec-id p c1 ping -c1 -W2 {INTERNET_V4}"
    ));
    assert_eq!(b.ok("ps -q").lines().count(), 2);

    // ctr never runs the DEL of a detached container: its namespace goes
    // with the task, and berth forgets the attachment (the next berth
    // command that looks) — nothing of it is left. c2 keeps running.
    b.sh(&format!(
        "{ctr} task kill -s KILL c1; for i in $(seq 50); do {ctr} task ls | grep -q 'c1.*STOPPED' && break; sleep 0.1; done; {ctr} container rm c1"
    ));
    let ps = b.ok("ps -a");
    assert!(!ps.contains("berth-c1") && ps.contains("berth-c2"), "{ps}");
    let ping = b.lab.sh(&format!(
        "{ctr} task exec --exec-id w2 c2 ping -c1 -W1 {ip1}"
    ));
    assert_eq!(ping.status.code(), Some(1), "c1 is gone");
    let page = b.sh(&format!(
        "{ctr} task exec --exec-id w3 c2 wget -qO- http://{ip2}:1 2>&1; true"
    ));
    assert!(page.contains("refused"), "c2 still answers: {page}");

    b.sh(&format!(
        "{ctr} task kill -s KILL c2; for i in $(seq 50); do {ctr} task ls | grep -q 'c2.*STOPPED' && break; sleep 0.1; done; {ctr} container rm c2"
    ));
    assert_eq!(b.ok("ps -aq").trim(), "", "every attachment is forgotten");
    let left = b.sh(&format!(
        "ip -o link | grep veth || true; {BERTH} network inspect -f '{{{{json .Containers}}}}' ctrnet"
    ));
    assert_eq!(left.trim(), "{}", "no veth, no endpoint: {left}");
}
