//! The macvlan and ipvlan drivers, each test in its own lab: containers on
//! the parent's LAN at their own address, reachable from a neighbour
//! directly; networks on different parents isolated; the host shim; `-p`
//! refused; ipvlan and VLAN parents refused with a clear message on a
//! kernel without them (their lab tests run where the kernel has them).

mod common;
mod netutil;

use common::{Kernel, B};
use netutil::{ping_in, pings, Ping, OUTSIDE};

/// A lab with a neighbour on the LAN (198.51.100.3) and a macvlan network
/// `lan` on the lab's uplink, containers in 198.51.100.64/27.
fn lan_lab(name: &str, extra: &str) -> B {
    let b = B::new(name);
    b.lab
        .add_host("nb", &["198.51.100.3/24"])
        .expect("neighbour");
    b.ok(&format!(
        "network create -d macvlan --subnet 198.51.100.0/24 --gateway {OUTSIDE} --ip-range 198.51.100.64/27 -o parent=uplink {extra} lan"
    ));
    b
}

/// Asserts that the lab's links, addresses and routes are as in `clean`
/// (waiting a little: namespaces are freed asynchronously).
fn assert_links_as(b: &B, clean: &Kernel, context: &str) {
    for _ in 0..50 {
        let now = Kernel::read(b);
        if (&now.links, &now.addrs, &now.routes) == (&clean.links, &clean.addrs, &clean.routes) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{context}: {}", clean.diff(&Kernel::read(b)));
}

/// True when the kernel has `kind` links (ipvlan, vlan): asked in a
/// scratch namespace of the lab.
fn kernel_has(b: &B, kind: &str) -> bool {
    let probe = match kind {
        "vlan" => "ip link add link lo name probe0 type vlan id 9",
        _ => "ip link add link lo name probe0 type ipvlan",
    };
    b.try_sh(&format!("unshare -n sh -c '{probe}'"))
}

#[test]
fn macvlan_containers_are_on_the_lan() {
    let b = lan_lab("mv-lan", "");
    b.sleeper("m1", "--network lan");
    b.sleeper("m2", "--network lan");
    let (m1, m2) = (b.ip("m1", "lan"), b.ip("m2", "lan"));
    assert!(m1.starts_with("198.51.100.6"), "{m1} in the --ip-range");
    // The neighbour reaches the container at its own address, and back,
    // with no NAT: the container sees the neighbour's address.
    assert!(b
        .lab
        .in_ns("nb", &format!("busybox ping -c1 -W2 {m1}"))
        .status
        .success());
    assert!(pings(&b, "m1", "198.51.100.3"), "container -> neighbour");
    assert!(pings(&b, "m1", &m2), "containers on one macvlan network");
    assert!(pings(&b, "m2", "203.0.113.1"), "through the LAN's gateway");
    let seen = b.lab.in_ns_ok("nb", &format!("ip neigh show {m1}"));
    assert!(
        seen.contains("02:42:c6:33:64"),
        "the container's own MAC on the LAN: {seen}"
    );
    // The kernel refuses host <-> own macvlan container traffic.
    assert_eq!(ping_in(&b, None, &m1), Ping::Dropped);
    let mac = b.ok("inspect -f '{{(index .NetworkSettings.Networks \"lan\").MacAddress}}' m1");
    assert!(mac.trim().starts_with("02:42:c6:33:64"), "{mac}");
}

#[test]
fn host_shim_lets_the_host_reach_its_containers() {
    let b = B::new("mv-shim");
    b.lab
        .add_host("nb", &["198.51.100.3/24"])
        .expect("neighbour");
    b.ok("network ls");
    let clean = Kernel::read(&b);
    b.ok("network create -d macvlan --subnet 198.51.100.0/24 --gateway 198.51.100.1 --ip-range 198.51.100.64/27 -o parent=uplink -o host_shim=true lan");
    b.sleeper("m1", "--network lan");
    let m1 = b.ip("m1", "lan");
    assert!(
        b.try_sh(&format!("busybox ping -c1 -W2 {m1}")),
        "host -> container through the shim"
    );
    assert!(
        pings(&b, "m1", "198.51.100.254"),
        "container -> the shim's address"
    );
    // A shim deleted by hand (or gone with a reboot) comes back with reconcile.
    let id = b.ok("network inspect -f '{{.Id}}' lan");
    b.sh(&format!("ip link del bsh-{}", &id.trim()[..10]));
    assert_eq!(ping_in(&b, None, &m1), Ping::Dropped);
    b.ok("system reconcile");
    assert!(
        b.try_sh(&format!("busybox ping -c1 -W2 {m1}")),
        "shim restored"
    );
    assert!(b
        .lab
        .in_ns("nb", &format!("busybox ping -c1 -W2 {m1}"))
        .status
        .success());
    b.ok("rm -f m1");
    b.ok("network rm lan");
    assert_links_as(
        &b,
        &clean,
        "after removing the macvlan network with its shim",
    );
}

#[test]
fn macvlan_networks_on_two_parents_are_isolated() {
    let b = lan_lab("mv-two", "");
    // A second LAN, 192.0.2.0/24, behind a second uplink of the lab.
    b.lab.add_netns("lan2").expect("lan2");
    b.sh(
        "ip link add uplink2 type veth peer name eth0 netns lan2 && ip link set uplink2 up \
          && ip -n lan2 addr add 192.0.2.1/24 dev eth0 && ip -n lan2 link set eth0 up",
    );
    b.ok("network create -d macvlan --subnet 192.0.2.0/24 --ip-range 192.0.2.64/27 -o parent=uplink2 lan2");
    b.sleeper("a", "--network lan");
    b.sleeper("z", "--network lan2");
    let (a, z) = (b.ip("a", "lan"), b.ip("z", "lan2"));
    assert!(
        pings(&b, "z", "192.0.2.1"),
        "lan2's container on its own LAN"
    );
    assert!(!pings(&b, "a", &z), "lan -> lan2 must not cross");
    assert!(!pings(&b, "z", &a), "lan2 -> lan must not cross");
    let e = b.fails("network create -d macvlan --subnet 198.51.100.0/25 -o parent=uplink2 again");
    assert!(e.contains("overlaps"), "{e}");
    let e = b.fails("network create -d macvlan --subnet 203.0.113.0/24 -o parent=uplink other");
    assert!(e.contains("already uses parent link uplink"), "{e}");
}

#[test]
fn publishing_on_macvlan_is_refused_and_disconnect_removes_the_link() {
    let b = lan_lab("mv-p", "");
    let e = b.fails("run -d --name web --network lan -p 8080:80 busybox sleep 60");
    assert!(
        e.contains("cannot publish ports") && e.contains("drop -p"),
        "{e}"
    );
    assert!(
        b.container_names().is_empty(),
        "nothing left: {:?}",
        b.container_names()
    );
    b.sleeper("c", "");
    b.ok("network connect lan c");
    assert!(b.exec_ok("c", "ip link show eth1"));
    assert!(pings(&b, "c", "198.51.100.3"));
    b.ok("network disconnect lan c");
    assert!(!b.exec_ok("c", "ip link show eth1"));
}

#[test]
fn ipvlan_and_vlan_parents_need_kernel_support() {
    let b = B::new("mv-caps");
    b.ok("network ls");
    let clean = Kernel::read(&b);
    let ipvlan =
        "network create -d ipvlan --subnet 198.51.100.0/24 -o parent=uplink -o ipvlan_mode=l2 ipv";
    let vlan = "network create -d macvlan --subnet 192.0.2.0/24 -o parent=uplink.10 v10";
    if kernel_has(&b, "ipvlan") {
        b.ok(ipvlan);
        b.sleeper("i1", "--network ipv");
        assert!(pings(&b, "i1", OUTSIDE));
        b.ok("rm -f i1");
        b.ok("network rm ipv");
    } else {
        let e = b.fails(ipvlan);
        assert!(
            e.contains("CONFIG_IPVLAN") && e.contains("nothing was created"),
            "{e}"
        );
        eprintln!("skipped: no ipvlan in this kernel (refusal checked)");
    }
    if kernel_has(&b, "vlan") {
        b.ok(vlan);
        assert!(b.try_sh("ip link show uplink.10"));
        b.ok("network rm v10");
        assert!(
            !b.try_sh("ip link show uplink.10"),
            "berth removes the VLAN link it made"
        );
    } else {
        let e = b.fails(vlan);
        assert!(e.contains("CONFIG_VLAN_8021Q"), "{e}");
        eprintln!("skipped: no 802.1Q in this kernel (refusal checked)");
    }
    assert_eq!(b.network_names(), vec!["bridge", "host", "none"]);
    assert_links_as(&b, &clean, "after refused or removed ipvlan/VLAN networks");
}
