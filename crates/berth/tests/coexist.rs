//! berth next to Docker's firewall (iptables-nft FORWARD policy DROP,
//! DOCKER-USER, br_netfilter), each test in its own lab: berth's traffic
//! flows through accept rules it adds to DOCKER-USER only, tagged
//! `berth:<bridge>`, removed with their network, and restored by
//! `berth system reconcile` when Docker's firewall appears later.

mod common;
mod netutil;

use common::B;
use netutil::{
    answered, curl_from, curl_ready, httpd, ping_in, pings, www, Ping, INTERNET, LAB, TIMED_OUT,
};
use serde_json::Value;

/// Accept rules berth keeps per bridge and family in DOCKER-USER.
const ACCEPT_RULES: usize = 3;

/// Every rule of the lab's ruleset: (family, table, chain, comment).
fn rules(b: &B) -> Vec<(String, String, String, String)> {
    let v: Value = serde_json::from_str(&b.sh("nft -j list ruleset")).unwrap();
    let s = |r: &Value, k: &str| r[k].as_str().unwrap_or_default().to_string();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i.get("rule"))
        .map(|r| {
            (
                s(r, "family"),
                s(r, "table"),
                s(r, "chain"),
                s(r, "comment"),
            )
        })
        .collect()
}

/// Comments of the rules of `family filter DOCKER-USER`, as `nft -j list chain` shows them.
fn docker_user(b: &B, family: &str) -> Vec<String> {
    let out = b.sh(&format!("nft -j list chain {family} filter DOCKER-USER"));
    let v: Value = serde_json::from_str(&out).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i.get("rule"))
        .map(|r| r["comment"].as_str().unwrap_or("-").to_string())
        .collect()
}

/// The policy of `ip filter FORWARD`.
fn forward_policy(b: &B) -> String {
    let v: Value = serde_json::from_str(&b.sh("nft -j list chain ip filter FORWARD")).unwrap();
    let chain = v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| i.get("chain"))
        .cloned();
    chain.unwrap()["policy"].as_str().unwrap().to_string()
}

/// The bridge of a user-defined network.
fn bridge(b: &B, net: &str) -> String {
    format!(
        "br-{}",
        &b.ok(&format!("network inspect -f '{{{{.Id}}}}' {net}"))[..12]
    )
}

/// Docker's firewall first: berth's networks work, through DOCKER-USER only.
#[test]
fn berth_works_under_a_docker_firewall() {
    let b = B::new("coexist-before");
    b.lab.docker_like_firewall().unwrap();
    let dir = www(&b, "www", "under-docker", &[]);
    b.sleeper("d1", "");
    b.sleeper("d2", "");
    b.ok("network create usernet");
    b.sleeper("u1", "--network usernet");
    b.sleeper("u2", "--network usernet");
    b.ok(&format!("run -d --name web -p 8081:80 {}", httpd(&dir, 80)));
    let (d2, u1, u2) = (
        b.ip("d2", "bridge"),
        b.ip("u1", "usernet"),
        b.ip("u2", "usernet"),
    );
    assert!(
        pings(&b, "d1", &d2),
        "default bridge, across br_netfilter and FORWARD DROP"
    );
    assert!(
        pings(&b, "u1", &u2),
        "user network, across br_netfilter and FORWARD DROP"
    );
    assert!(pings(&b, "d1", INTERNET));
    assert!(pings(&b, "u2", INTERNET));
    assert!(!pings(&b, "d1", &u1), "networks stay isolated");
    let got = curl_ready(&b, Some("outside"), &format!("http://{LAB}:8081/"));
    assert_eq!(got.as_deref(), Ok("under-docker"));

    let user = bridge(&b, "usernet");
    assert_eq!(forward_policy(&b), "drop", "berth never flips the policy");
    for family in ["ip", "ip6"] {
        let tags = docker_user(&b, family);
        for tag in ["berth:berth0".to_string(), format!("berth:{user}")] {
            assert_eq!(
                tags.iter().filter(|t| **t == tag).count(),
                ACCEPT_RULES,
                "{family}: {tags:?}"
            );
        }
        assert_eq!(
            tags.last().map(String::as_str),
            Some("-"),
            "Docker's RETURN stays last"
        );
    }
    let elsewhere: Vec<_> = rules(&b)
        .into_iter()
        .filter(|(_, t, c, comment)| {
            comment.starts_with("berth:") && (t != "filter" || c != "DOCKER-USER")
        })
        .collect();
    assert!(
        elsewhere.is_empty(),
        "berth-tagged rules outside DOCKER-USER: {elsewhere:?}"
    );

    b.ok("rm -f u1 u2");
    b.ok("network rm usernet");
    for family in ["ip", "ip6"] {
        let tags = docker_user(&b, family);
        assert!(
            !tags.iter().any(|t| *t == format!("berth:{user}")),
            "{family}: {tags:?}"
        );
        assert_eq!(
            tags.iter().filter(|t| *t == "berth:berth0").count(),
            ACCEPT_RULES,
            "{family}: {tags:?}"
        );
    }
    assert_eq!(forward_policy(&b), "drop");
    assert!(pings(&b, "d1", &d2), "the default bridge still works");
}

/// Docker's firewall appears after berth made its networks: traffic stops,
/// `berth system reconcile` brings it back.
#[test]
fn reconcile_restores_traffic_after_docker_arrives() {
    let b = B::new("coexist-after");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    b.sleeper("a1", "--network appnet");
    b.sleeper("a2", "--network appnet");
    let a2 = b.ip("a2", "appnet");
    assert!(pings(&b, "a1", &a2));
    b.lab.docker_like_firewall().unwrap();
    assert!(
        !pings(&b, "a1", &a2),
        "Docker's FORWARD DROP now eats same-bridge traffic"
    );
    assert!(!pings(&b, "a1", INTERNET), "and outbound traffic");
    b.ok("system reconcile");
    assert!(pings(&b, "a1", &a2), "reconcile adds the accept rules");
    assert!(pings(&b, "a1", INTERNET));
    let tag = format!("berth:{}", bridge(&b, "appnet"));
    assert_eq!(
        docker_user(&b, "ip").iter().filter(|t| **t == tag).count(),
        ACCEPT_RULES
    );
    b.ok("system reconcile");
    assert_eq!(
        docker_user(&b, "ip").iter().filter(|t| **t == tag).count(),
        ACCEPT_RULES,
        "idempotent"
    );
    assert_eq!(forward_policy(&b), "drop");
}

/// Under Docker's firewall: IPv6 (ip6tables' FORWARD DROP too), hairpin and
/// icc=false behave as without it, and `system reset` leaves no berth rule.
#[test]
fn ipv6_hairpin_icc_and_reset_under_a_docker_firewall() {
    let b = B::new("coexist-v6");
    b.lab.docker_like_firewall().unwrap();
    let dir = www(&b, "www", "v6-under-docker", &[]);
    b.ok("network create --ipv6 --subnet fd00:b0a7:4::/64 v6net");
    b.ok(&format!(
        "run -d --name web --network v6net -p 8081:80 {}",
        httpd(&dir, 80)
    ));
    b.sleeper("p1", "--network v6net");
    b.ok("network create -o com.docker.network.bridge.enable_icc=false noicc");
    b.sleeper("i1", "--network noicc");
    b.sleeper("i2", "--network noicc");
    let url6 = "http://[2001:db8:1::2]:8081/";
    assert_eq!(
        curl_ready(&b, Some("outside"), url6).as_deref(),
        Ok("v6-under-docker")
    );
    assert!(pings(&b, "p1", "fd00:b0a7:4::2"), "same bridge over IPv6");
    assert!(pings(&b, "p1", "2001:db8:2::1"), "outbound IPv6");
    for from in ["p1", "web"] {
        let got = curl_from(&b, from, url6, 2);
        assert_eq!(got.as_deref(), Ok("v6-under-docker"), "hairpin from {from}");
    }
    let i2 = b.ip("i2", "noicc");
    assert_eq!(
        answered(&b, &[("i1", i2.as_str())]),
        vec![],
        "icc=false holds"
    );
    assert!(pings(&b, "i1", INTERNET));
    b.ok("system reset --force");
    let left: Vec<_> = rules(&b)
        .into_iter()
        .filter(|r| r.3.starts_with("berth:"))
        .collect();
    assert!(left.is_empty(), "reset leaves berth rules: {left:?}");
    assert!(
        !b.sh("nft list tables").contains("berth"),
        "reset removes berth's tables"
    );
    assert_eq!(forward_policy(&b), "drop");
}

/// A stand-in for a Docker container on `docker0` (172.17.0.2) serving
/// `dir` on ports 80 and 81, with port 80 published as 8888 the way dockerd
/// (before 28) writes it: a DNAT in `nat DOCKER` and an accept in `filter
/// DOCKER`.
fn docker_container(b: &B, dir: &str) {
    b.lab.add_netns("dk").unwrap();
    b.sh("set -e
ip link add dkv type veth peer name eth0 netns dk
ip link set dkv master docker0 up
ip -n dk addr add 172.17.0.2/16 dev eth0
ip -n dk link set eth0 up
ip -n dk route add default via 172.17.0.1
iptables -t nat -A DOCKER ! -i docker0 -p tcp --dport 8888 -j DNAT --to-destination 172.17.0.2:80
iptables -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp --dport 80 -j ACCEPT");
    b.lab.in_ns_ok(
        "dk",
        &format!("busybox httpd -p 80 -h {dir}; busybox httpd -p 81 -h {dir}"),
    );
}

/// berth's accept rules do not open Docker's containers: berth containers
/// reach a Docker container's published port, not its other ports, and
/// Docker's containers cannot open connections to berth's.
#[test]
fn docker_containers_stay_behind_dockers_rules() {
    let b = B::new("coexist-dk");
    b.lab.docker_like_firewall().unwrap();
    let dir = www(&b, "www", "docker-ctr", &[]);
    docker_container(&b, &dir);
    assert_eq!(
        curl_ready(&b, None, "http://172.17.0.2:81/").as_deref(),
        Ok("docker-ctr")
    );
    b.sleeper("c1", "");
    let published = curl_from(&b, "c1", &format!("http://{LAB}:8888/"), 2);
    assert_eq!(
        published.as_deref(),
        Ok("docker-ctr"),
        "a published Docker port"
    );
    let direct = curl_from(&b, "c1", "http://172.17.0.2:81/", 1);
    assert_eq!(
        direct,
        Err(TIMED_OUT),
        "an unpublished Docker port must stay closed"
    );
    assert!(
        pings(&b, "c1", INTERNET),
        "berth's outbound traffic still flows"
    );
    let c1 = b.ip("c1", "bridge");
    assert_eq!(
        ping_in(&b, Some("dk"), &c1),
        Ping::Dropped,
        "Docker's containers cannot reach berth's"
    );
    // An outdated set of accept rules (an older berth) is replaced whole.
    b.sh("nft insert rule ip filter DOCKER-USER iifname berth0 accept comment '\"berth:berth0\"'");
    b.ok("system reconcile");
    let tags = docker_user(&b, "ip");
    assert_eq!(
        tags.iter().filter(|t| *t == "berth:berth0").count(),
        ACCEPT_RULES,
        "{tags:?}"
    );
    assert_eq!(
        curl_from(&b, "c1", "http://172.17.0.2:81/", 1),
        Err(TIMED_OUT)
    );
}
