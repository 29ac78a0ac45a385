//! Overlay networks that trust nothing on the wire: a cluster store over
//! TLS with client certificates and an etcd user; records forged in the
//! store skipped and reported, never applied; VXLAN accepted only from the
//! tunnel endpoints the store lists; `-o encrypted` refused clearly.

mod cluster;
mod common;

use berth_lab::Lab;
use cluster::Cluster;
use common::BERTH;
use std::time::{Duration, Instant};

const NET: &str = "--subnet 198.18.0.0/24 ov";

/// Polls `f` for up to `secs` seconds.
fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn a_tls_store_with_client_certificates_and_a_user() {
    let c = Cluster::with("cs", 2, 1, true);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    c.h(0).ok("run -d --name a --network ov busybox sleep 600");
    c.h(1).ok("run -d --name b --network ov busybox sleep 600");
    let b = c.h(1).ip("b", "ov");
    assert!(
        c.h(0)
            .eventually("a", &format!("busybox ping -c1 -W1 {b}"), 20),
        "{}",
        c.h(0).agent_log()
    );
    assert!(!c.h(0).agent_log().contains("plain etcd://"));
    let doctor = common::stdout(&c.h(0).berth("doctor"));
    assert!(
        doctor.contains("cluster-store") && doctor.contains("(TLS)"),
        "{doctor}"
    );

    // Without the right credentials, nothing gets through and nothing is
    // created; each refusal says what failed.
    let t = c.tls.as_ref().expect("tls");
    let f = |n: &str| t.dir.join(n).display().to_string();
    let ca = format!("--store-ca {}", f("ca.pem"));
    let cert = format!(
        "--store-cert {} --store-key {}",
        f("client.pem"),
        f("client.key")
    );
    let auth = format!("--store-auth {}", f("auth"));
    let url = &c.url;
    let plain = url.replace("etcds://", "etcd://");
    for (what, flags, want) in [
        (
            "no client certificate",
            format!("--store {url} {ca} {auth}"),
            "cluster store",
        ),
        (
            "a wrong password",
            format!("--store {url} {ca} {cert} --store-auth {}", f("wrong-auth")),
            "authentication failed",
        ),
        (
            "another CA",
            format!(
                "--store {url} --store-ca {} {cert} {auth}",
                f("other-ca.pem")
            ),
            "cluster store",
        ),
        (
            "plain gRPC to a TLS member",
            format!("--store {plain} {auth}"),
            "cluster store",
        ),
        (
            "TLS files with etcd://",
            format!("--store {plain} {ca}"),
            "etcds://",
        ),
    ] {
        let out = c.h(0).b.lab.sh(&format!(
            "{BERTH} {flags} network create -d overlay --subnet 198.19.0.0/24 nope"
        ));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(want), "{what}: {err}");
    }
    assert!(!c.h(0).ok("network ls").contains("nope"));
    assert!(!c
        .keys("/berth/v1/names/")
        .iter()
        .any(|k| k.ends_with("/nope")));
}

/// The id and VNI of network `net` on host `h`.
fn id_and_vni(c: &Cluster, h: usize, net: &str) -> (String, String) {
    let out = c.h(h).ok(&format!(
        "network inspect -f '{{{{.Id}}}} {{{{index .Options \"com.docker.network.driver.overlay.vxlanid_list\"}}}}' {net}"
    ));
    let mut w = out.split_whitespace();
    (
        w.next().expect("id").to_string(),
        w.next().expect("vni").to_string(),
    )
}

#[test]
fn forged_records_are_skipped_and_reported() {
    let c = Cluster::new("cr", 2);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    c.h(0).ok("run -d --name a --network ov busybox sleep 600");
    c.h(1).ok("run -d --name b --network ov busybox sleep 600");
    let b = c.h(1).ip("b", "ov");
    assert!(c
        .h(0)
        .eventually("a", &format!("busybox ping -c1 -W1 {b}"), 20));
    let (id, _) = id_and_vni(&c, 0, "ov");
    let evil = "e".repeat(64);
    let addr = |vtep: &str, mac: &str| {
        format!(
            r#"{{"host":"{evil}","vtep":"{vtep}","mac":"{mac}","container_id":"","name":"x","hostname":"","aliases":[],"reserved_at":1}}"#
        )
    };
    let forged = [
        (
            format!("/berth/v1/addrs/{id}/198.18.0.77"),
            addr("224.0.0.1", "02:42:00:00:00:77"),
        ),
        (
            format!("/berth/v1/addrs/{id}/198.18.0.1"),
            addr("192.0.2.12", "02:42:00:00:00:01"),
        ),
        (
            format!("/berth/v1/addrs/{id}/198.18.0.78"),
            addr("192.0.2.12", "01:00:5e:00:00:01"),
        ),
        (
            format!("/berth/v1/hosts/{evil}"),
            r#"{"name":"evil","vtep":"0.0.0.0","underlay":"eth0","mtu":1500}"#.to_string(),
        ),
        (
            format!("/berth/v1/networks/{evil}"),
            format!(
                r#"{{"id":"{evil}","name":"evil","driver":"overlay","created":"","ipv6":false,"internal":false,"ipam":[{{"subnet":"127.0.0.0/8","gateway":"127.0.0.1","ip_range":null,"aux":{{}}}}],"options":{{"com.docker.network.driver.overlay.vxlanid_list":"5000"}},"labels":{{}},"bridge":"eth0","mtu":1450,"icc":true,"masquerade":true,"host_binding_ipv4":null,"builtin":false}}"#
            ),
        ),
        ("/berth/v1/names/evil".to_string(), evil.clone()),
    ];
    for (k, v) in &forged {
        c.etcdctl(&format!("put {k} '{v}'"));
    }
    // Reported in the agent's log and by berth doctor.
    let skipped = |k: &str| c.h(0).agent_log().contains(&format!("skipped {k}"));
    assert!(
        until(20, || forged[..5].iter().all(|(k, _)| skipped(k))),
        "{}",
        c.h(0).agent_log()
    );
    let doctor = common::stdout(&c.h(0).berth("doctor"));
    assert!(
        doctor.contains("cluster-records") && doctor.contains("198.18.0.77"),
        "{doctor}"
    );
    assert!(doctor.contains("plain etcd://"), "{doctor}");
    // Never applied: no forwarding or neighbour entry for them, while the
    // real remote container's are there.
    let vx = format!("vx-{}", &id[..12]);
    let fdb = c
        .h(0)
        .b
        .sh(&format!("bridge fdb show dev {vx}; ip neigh show dev {vx}"));
    assert!(fdb.contains(&b), "{fdb}");
    for bad in [
        "198.18.0.77",
        "198.18.0.78",
        "02:42:00:00:00:77",
        "01:00:5e:00:00:01",
        "198.18.0.1 ",
    ] {
        assert!(!fdb.contains(bad), "{bad} reached the kernel: {fdb}");
    }
    let e = c
        .h(0)
        .fails("run -d --name x --network evil busybox sleep 600");
    assert!(e.contains("refused") && e.contains("127.0.0.0/8"), "{e}");
    assert!(!c.h(0).b.sh("ip -br link").contains("bo-eeeeeeeeeeee"));
    // The guard's sets hold only the real members.
    let vteps = c.h(0).b.sh("nft list set inet berth vxlan_vteps");
    assert!(
        vteps.contains("192.0.2.11") && vteps.contains("192.0.2.12"),
        "{vteps}"
    );
    assert!(!vteps.contains("0.0.0.0"), "{vteps}");

    // -o encrypted: refused on this kernel, naming the missing module.
    let e = c
        .h(0)
        .fails("network create -d overlay -o encrypted --subnet 198.19.0.0/24 sec");
    assert!(e.contains("WireGuard") || e.contains("not encrypt"), "{e}");
    assert!(!c.h(0).ok("network ls").contains("sec"));
}

#[test]
fn vxlan_is_accepted_only_from_the_members() {
    let c = Cluster::new("cv", 2);
    c.h(0).ok(&format!("network create -d overlay {NET}"));
    c.h(0).ok("run -d --name a --network ov busybox sleep 600");
    c.h(1).ok("run -d --name b --network ov busybox sleep 600");
    let a = c.h(0).ip("a", "ov");
    assert!(c
        .h(1)
        .eventually("b", &format!("busybox ping -c1 -W1 {a}"), 20));
    let (_, vni) = id_and_vni(&c, 0, "ov");
    let mac = c.h(0).ok("exec a cat /sys/class/net/eth0/address");
    // A machine of the underlay that is not a member, with a VXLAN device
    // of the overlay's VNI pointed at host 0 and a static entry for `a`.
    let x = Lab::bare("cv-x").expect("intruder lab");
    x.link_to(&c.under, "ul0", "ulx", Some("under"))
        .expect("link");
    x.sh_ok(&format!(
        "ip addr add 192.0.2.99/24 dev ul0 && ip link add vx type vxlan id {vni} local 192.0.2.99 remote {h0} dstport 4789 dev ul0 nolearning && \
         ip addr add 198.18.0.250/24 dev vx && ip link set vx up && ip neigh replace {a} lladdr {mac} dev vx nud permanent",
        h0 = c.h(0).ip,
        mac = mac.trim()
    ));
    let rx = || -> u64 {
        c.h(0)
            .ok("exec a cat /sys/class/net/eth0/statistics/rx_packets")
            .trim()
            .parse()
            .expect("rx_packets")
    };
    let inject = || {
        let r0 = rx();
        x.sh(&format!("ping -c 10 -i 0.05 -W 1 {a}"));
        rx() - r0
    };
    assert!(
        inject() < 10,
        "frames from a non-member reached the container"
    );
    // Listed as a member (a host record on a lease, as an agent writes it):
    // the agents refill the guard and its frames get through.
    let lease = c.etcdctl("lease grant 120");
    let lease = lease.split_whitespace().nth(1).expect("lease id");
    let key = format!("/berth/v1/hosts/{}", "a".repeat(64));
    c.etcdctl(&format!(
        r#"put --lease={lease} {key} '{{"name":"x","vtep":"192.0.2.99","underlay":"ul0","mtu":1500}}'"#
    ));
    let listed = |yes: bool| {
        until(20, || {
            c.h(0)
                .b
                .sh("nft list set inet berth vxlan_vteps")
                .contains("192.0.2.99")
                == yes
        })
    };
    assert!(listed(true), "{}", c.h(0).agent_log());
    assert!(inject() >= 10, "a member's frames get through");
    // The guard is part of berth's tables: a whole re-render keeps it, and
    // doctor finds the kernel's sets equal to what the host last learnt.
    c.h(0).ok("system reconcile");
    assert!(c
        .h(0)
        .b
        .sh("nft list set inet berth vxlan_vteps")
        .contains("192.0.2.99"));
    let doctor = common::stdout(&c.h(0).berth("doctor"));
    assert!(
        doctor.contains("berth's tables match the store"),
        "{doctor}"
    );
    c.etcdctl(&format!("del {key}"));
    assert!(listed(false));
    assert!(inject() < 10, "no longer a member");
}
