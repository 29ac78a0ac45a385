//! berth as a CNI plugin, driven as a runtime drives it (environment +
//! stdin, ADD / CHECK / DEL), each test in its own lab with the runtime's
//! namespaces made by `ip netns add`: connectivity, published ports,
//! masquerade, records shared with berth's own containers, DEL and GC
//! freeing everything, CHECK reporting drift.

mod cniutil;
mod common;
mod netutil;

use cniutil::{berth, conf, host_veth, link_exists, members, pings, ports4, with_port, Att};
use common::B;
use netutil::{curl_ready, LAB};
use serde_json::{json, Value};

/// Serves `body` on port 80 inside namespace `ns` (a background process of
/// the lab, ended with it).
fn serve(b: &B, ns: &str, body: &str) {
    let dir = netutil::www(b, &format!("www-{ns}"), body, &[]);
    b.sh(&format!(
        "ip netns exec {ns} busybox httpd -p 80 -h {dir} >/dev/null 2>&1 </dev/null"
    ));
}

#[test]
fn add_connects_publishes_and_del_frees_everything() {
    let b = B::new("cni-life");
    let c1 = Att::new(&b, "c1");
    let cfg = with_port(
        conf("podnet", "10.88.0.0/24", json!({"bridge": "cni-podnet"})),
        8080,
        80,
    );
    let r = berth(&b, "ADD", &c1, &cfg);
    let res = r.result().clone();
    assert_eq!(res["cniVersion"], "1.1.0");
    assert_eq!(res["interfaces"][0]["name"], "cni-podnet");
    assert_eq!(
        res["interfaces"][2],
        json!({"name": "eth0", "mac": "02:42:0a:58:00:02", "mtu": 1500, "sandbox": "/run/netns/c1"})
    );
    assert_eq!(
        res["ips"],
        json!([{"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 2}])
    );
    assert_eq!(
        res["routes"],
        json!([{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}])
    );
    // The container can send and receive, and is masqueraded outside.
    assert!(pings(&b, "c1", "10.88.0.1"));
    assert!(pings(&b, "c1", "203.0.113.1"), "masquerade to the outside");
    // Its published port answers from outside.
    serve(&b, "c1", "hello-cni");
    let url = format!("http://{LAB}:8080/");
    assert_eq!(
        curl_ready(&b, Some("outside"), &url).as_deref(),
        Ok("hello-cni")
    );
    // berth knows it: network inspect lists it, CHECK passes.
    let listed =
        b.ok("network inspect podnet -f '{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}'");
    assert_eq!(listed.trim(), "podnet:c1:eth0=10.88.0.2/24");
    let mut check = cfg.clone();
    check["prevResult"] = res.clone();
    assert!(berth(&b, "CHECK", &c1, &check).ok);
    assert!(berth(&b, "DEL", &c1, &check).ok);
    del_left_nothing(&b, &res, &url);
    // The address is free again: another container can ask for it.
    let c2 = Att::new(&b, "c2");
    let mut again = cfg.clone();
    again["runtimeConfig"] =
        json!({"ips": ["10.88.0.2"], "portMappings": [{"hostPort": 8080, "containerPort": 80}]});
    assert_eq!(
        berth(&b, "ADD", &c2, &again).result()["ips"][0]["address"],
        "10.88.0.2/24"
    );
    // DEL is idempotent, and fine once the namespace is gone.
    assert!(berth(&b, "DEL", &c1, &check).ok);
    b.sh("ip netns del c2");
    assert!(berth(&b, "DEL", &c2, &again).ok);
    assert!(!ports4(&b).contains("8080"));
    assert_eq!(members(&b, "podnet"), "");
}

/// After DEL: veth, element and record gone, the port closed; the
/// runtime's namespace stays.
fn del_left_nothing(b: &B, res: &Value, url: &str) {
    cniutil::retired_then_gone(b, &host_veth(res));
    assert!(!link_exists(b, Some("c1"), "eth0"));
    assert!(b.try_sh("test -e /run/netns/c1"));
    assert!(!ports4(b).contains("8080"), "{}", ports4(b));
    assert!(curl_ready_fails(b, url));
    assert_eq!(members(b, "podnet"), "");
}

/// A port that no longer forwards: the connection is refused or times out.
fn curl_ready_fails(b: &B, url: &str) -> bool {
    netutil::curl_in(b, Some("outside"), url, 1).is_err()
}

#[test]
fn cni_and_berth_containers_share_a_network() {
    let b = B::new("cni-shared");
    b.ok("network create --subnet 10.89.0.0/24 shared");
    b.sleeper("web", "--network shared -p 8081:80");
    let web = b.ip("web", "shared");
    let c1 = Att::new(&b, "c1");
    // No ipam: the berth network's subnet.
    let cfg = json!({"cniVersion": "1.0.0", "name": "shared", "type": "berth"});
    let res = berth(&b, "ADD", &c1, &cfg).result().clone();
    let ip = res["ips"][0]["address"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(ip.starts_with("10.89.0.") && ip != web, "{ip} vs {web}");
    assert!(pings(&b, "c1", &web));
    assert!(b.exec_ok("web", &format!("busybox ping -c1 -W2 {ip}")));
    // Host ports are one table: a CNI ADD cannot take berth's, nor the reverse.
    let c2 = Att::new(&b, "c2");
    let taken = berth(&b, "ADD", &c2, &with_port(cfg.clone(), 8081, 80));
    assert_eq!(taken.code(), 101, "{}", taken.message());
    assert!(
        taken.message().contains("8081") && taken.message().contains("web"),
        "{}",
        taken.message()
    );
    assert!(berth(&b, "ADD", &c2, &with_port(cfg.clone(), 8082, 80)).ok);
    let e = b.fails("run -d --name web2 --network shared -p 8082:80 busybox sleep 1");
    assert!(e.contains("8082") && e.contains("shared:c2:eth0"), "{e}");
    // berth's lifecycle commands know they do not own it.
    let e = b.fails("start shared:c2:eth0");
    assert!(e.contains("CNI"), "{e}");
    assert!(b.ok("ps --format '{{.Names}}'").contains("shared:c2:eth0"));
    // The same settings and another subnet are not the same network.
    let other = conf("shared", "10.99.0.0/24", json!({}));
    let c3 = Att::new(&b, "c3");
    let r = berth(&b, "ADD", &c3, &other);
    assert_eq!(r.code(), 7);
    assert!(
        r.message().contains("10.99.0.0/24") && r.message().contains("10.89.0.0/24"),
        "{}",
        r.message()
    );
    // `berth rm -f` detaches it like a DEL would.
    b.ok("rm -f shared:c2:eth0");
    assert!(!link_exists(&b, Some("c2"), "eth0"));
    assert!(berth(&b, "DEL", &c2, &cfg).ok);
}

#[test]
fn check_reports_drift() {
    let b = B::new("cni-check");
    let c1 = Att::new(&b, "c1");
    let cfg = with_port(conf("chk", "10.90.0.0/24", json!({})), 8090, 80);
    let res = berth(&b, "ADD", &c1, &cfg).result().clone();
    let mut check = cfg.clone();
    check["prevResult"] = res.clone();
    assert!(berth(&b, "CHECK", &c1, &check).ok);
    // A missing map element.
    b.sh("nft delete element inet berth ports4 '{ 0.0.0.0/0 . tcp . 8090 }'");
    let r = berth(&b, "CHECK", &c1, &check);
    assert_eq!(r.code(), 102);
    assert!(r.message().contains("8090"), "{}", r.message());
    b.ok("system reconcile");
    assert!(
        berth(&b, "CHECK", &c1, &check).ok,
        "reconcile restores CNI ports"
    );
    // A missing address, then a missing interface.
    b.sh("ip -n c1 addr flush dev eth0");
    let r = berth(&b, "CHECK", &c1, &check);
    assert_eq!(r.code(), 102);
    assert!(r.message().contains("10.90.0.2/24"), "{}", r.message());
    b.sh("ip -n c1 link del eth0");
    let r = berth(&b, "CHECK", &c1, &check);
    assert_eq!(r.code(), 102);
    assert!(r.message().contains("eth0"), "{}", r.message());
    // An attachment berth does not know.
    let ghost = Att {
        cid: "ghost".into(),
        ..c1.clone()
    };
    assert_eq!(berth(&b, "CHECK", &ghost, &check).code(), 3);
    assert!(berth(&b, "DEL", &c1, &check).ok);
}

#[test]
fn gc_frees_the_attachments_not_listed() {
    let b = B::new("cni-gc");
    let cfg = conf("gcnet", "10.91.0.0/24", json!({}));
    let mut results = Vec::new();
    for (i, cid) in ["a", "b", "c"].iter().enumerate() {
        let att = Att::new(&b, cid);
        let res = berth(
            &b,
            "ADD",
            &att,
            &with_port(cfg.clone(), 8100 + i as u16, 80),
        );
        results.push(res.result().clone());
    }
    let mut gc = cfg.clone();
    gc["cni.dev/valid-attachments"] = json!([{"containerID": "b", "ifname": "eth0"}]);
    let r = cniutil::call(&b, common::BERTH, "GC", None, "", &gc);
    assert!(r.ok, "{} {}", r.json, r.stderr);
    cniutil::retired_then_gone(&b, &host_veth(&results[0]));
    assert!(link_exists(&b, None, &host_veth(&results[1])));
    cniutil::retired_then_gone(&b, &host_veth(&results[2]));
    let map = ports4(&b);
    assert!(
        !map.contains("8100") && map.contains("8101") && !map.contains("8102"),
        "{map}"
    );
    assert_eq!(members(&b, "gcnet"), "gcnet:b:eth0");
    // GC is not DEL: without the list it refuses to guess.
    let bare = cniutil::call(&b, common::BERTH, "GC", None, "", &cfg);
    assert_eq!(bare.code(), 7);
}

#[test]
fn parallel_add_and_del_of_one_attachment_leave_nothing_unrecorded() {
    let b = B::new("cni-race");
    let att = Att::new(&b, "c1");
    let c = conf("race", "192.0.2.0/24", json!({}));
    // The network exists first: the loops race on the attachment only.
    berth(&b, "ADD", &att, &c).result();
    assert!(berth(&b, "DEL", &att, &c).ok);
    cniutil::reaped(&b);
    let base = common::Kernel::read(&b);
    let file = b.lab.root().join("race.json");
    std::fs::write(&file, c.to_string()).unwrap();
    let call = |cmd: &str| {
        format!(
            "CNI_COMMAND={cmd} CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/c1 CNI_IFNAME=eth0 {} < {} >/dev/null 2>&1",
            common::BERTH,
            file.display()
        )
    };
    // Live host ends: in berth's port group (a retired one waiting for
    // its reaper is not).
    let host_veths = || {
        b.sh("ip -o link show group 0x62657274 | grep -c ': veth' || true")
            .trim()
            .to_string()
    };
    for round in 0..3 {
        b.sh(&format!(
            "(for i in $(seq 25); do {}; done) & (for i in $(seq 25); do {}; done); wait",
            call("ADD"),
            call("DEL")
        ));
        // Whatever won the last race, the kernel and the records agree: a
        // veth (both ends) and its address exist exactly when recorded.
        let recorded = !b.ok("ps -a -q").trim().is_empty();
        assert_eq!(
            link_exists(&b, Some("c1"), "eth0"),
            recorded,
            "round {round}: container end vs record"
        );
        assert_eq!(
            host_veths(),
            if recorded { "1" } else { "0" },
            "round {round}: host end vs record"
        );
        if recorded {
            let ip = b.ok("ps -a --format '{{.Names}}'");
            assert!(ip.contains("race:c1:eth0"), "{ip}");
            assert!(b.try_sh("ip -n c1 -br addr show eth0 | grep -q 192.0.2."));
        }
        assert!(berth(&b, "DEL", &att, &c).ok);
        b.settles_to(&base, &format!("round {round}: after the final DEL"));
    }
}

/// Attachments whose namespace the runtime deleted without a DEL are
/// reaped by the next `ps`, many in one batch: one nftables transaction
/// for all their elements (more acknowledgements than the default receive
/// buffer holds), every element, port and record gone.
#[test]
fn dead_attachments_are_reaped_in_one_batch() {
    let b = B::new("cni-reap");
    let cfg = conf("reapnet", "10.90.0.0/24", json!({"bridge": "cni-reap"}));
    let n: u16 = 150;
    let elements = || b.sh("nft -j list ruleset | grep -o '\"elem\"' | wc -l");
    // One that stays (the network and its elements stay with it).
    let keep = Att::new(&b, "keep");
    assert!(berth(&b, "ADD", &keep, &cfg).ok);
    let before = elements();
    for i in 0..n {
        let att = Att::new(&b, &format!("r{i}"));
        assert!(berth(&b, "ADD", &att, &with_port(cfg.clone(), 20000 + i, 80)).ok);
    }
    assert!(ports4(&b).contains("20149"));
    for i in 0..n {
        b.sh(&format!("ip netns del r{i}"));
    }
    let out = b.berth("ps -aq");
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{out:?}"
    );
    assert_eq!(members(&b, "reapnet"), "reapnet:keep:eth0");
    assert!(!ports4(&b).contains("20000"), "{}", ports4(&b));
    assert!(!ports4(&b).contains("20149"), "{}", ports4(&b));
    assert_eq!(elements(), before, "elements left behind");
    // Their addresses and ports are free: a new attachment may take the
    // first reaped one's.
    let again = Att::new(&b, "again");
    let mut ask = with_port(cfg.clone(), 20000, 80);
    ask["runtimeConfig"]["ips"] = json!(["10.90.0.3"]);
    let r = berth(&b, "ADD", &again, &ask);
    assert_eq!(r.result()["ips"][0]["address"], "10.90.0.3/24");
}
