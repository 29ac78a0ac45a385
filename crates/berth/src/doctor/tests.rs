//! The checks on hand-made facts: each fault is reported with a fix, and
//! healthy facts pass.

use super::dns::DnsFacts;
use super::facts::{ContainerFacts, Facts, OpFacts, Sysctls};
use super::*;
use berth_core::model::{Container, ContainerState, Driver, Endpoint, IpamConfig, Network};
use berth_core::observe::route_get::TableRoute;
use berth_core::observe::Link;
use serde_json::json;

fn network(name: &str, bridge: &str, subnet: &str) -> Network {
    let subnet: ipnet::IpNet = subnet.parse().unwrap();
    Network {
        id: format!("{name}-id"),
        name: name.into(),
        driver: Driver::Bridge,
        created: String::new(),
        ipv6: false,
        internal: false,
        ipam: vec![IpamConfig {
            subnet,
            gateway: berth_core::ipam::first_host(&subnet),
            ip_range: None,
            aux: Default::default(),
            range_start: None,
            range_end: None,
        }],
        options: Default::default(),
        labels: Default::default(),
        bridge: Some(bridge.into()),
        mtu: 1500,
        icc: true,
        masquerade: true,
        host_binding_ipv4: None,
        builtin: false,
        owner: None,
        docker: None,
    }
}

fn link(index: u32, name: &str, master: Option<u32>) -> Link {
    Link {
        index,
        name: name.into(),
        up: true,
        master,
        ..Default::default()
    }
}

fn container(name: &str, net: &str, veth: &str) -> ContainerFacts {
    let c: Container = serde_json::from_value(json!({
        "id": format!("{name}-id"), "name": name, "created": "", "config": {
            "hostname": name, "argv": [], "env": [], "rootfs": null, "tty": false,
            "interactive": false, "auto_remove": false, "networks": [], "publish": []},
        "state": "running", "pid": 1, "pid_start": null, "supervisor_pid": null,
        "exit_code": null, "started_at": null, "finished_at": null, "ports": []
    }))
    .unwrap();
    ContainerFacts {
        endpoints: vec![Endpoint {
            id: format!("{name}-ep"),
            container_id: c.id.clone(),
            network_id: format!("{net}-id"),
            ifname: "eth0".into(),
            ipv4: None,
            ipv6: None,
            mac: String::new(),
            host_veth: veth.into(),
            aliases: vec![],
            position: 0,
            gw_priority: 0,
        }],
        running: true,
        supervised: true,
        pinned: true,
        container: c,
    }
}

/// An element of the `bridges` set.
fn bridges(name: &str) -> berth_core::firewall::Element {
    use berth_core::firewall::{Element, Field, Set};
    Element::new(Set::Bridges, vec![Field::Ifname(name.into())])
}

/// A berth table listing with one chain, one rule and one map element.
fn berth_table(family: &str, elem: Option<&str>) -> serde_json::Value {
    let mut items = vec![
        json!({"table": {"family": family, "name": "berth", "handle": 1}}),
        json!({"chain": {"family": family, "table": "berth", "name": "forward", "handle": 2,
            "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}),
        json!({"rule": {"family": family, "table": "berth", "chain": "forward", "handle": 3,
            "expr": [{"drop": null}], "comment": "networks are isolated from each other"}}),
    ];
    let mut set = json!({"family": family, "table": "berth", "name": "bridges", "type": "ifname", "handle": 4});
    if let Some(e) = elem {
        set["elem"] = json!([e]);
    }
    items.push(json!({ "set": set }));
    json!({ "nftables": items })
}

/// A healthy host: one network with one running container.
fn healthy() -> Facts {
    let ruleset = json!({"nftables": berth_table("inet", Some("br-a"))["nftables"]
        .as_array().unwrap().iter().chain(berth_table("bridge", None)["nftables"].as_array().unwrap())
        .cloned().collect::<Vec<_>>()});
    Facts {
        networks: vec![network("a", "br-a", "172.18.0.0/16")],
        containers: vec![container("web", "a", "veth1")],
        pins: vec![("web-id".into(), true)],
        sysctls: Sysctls {
            ip_forward: Some("1".into()),
            ..Default::default()
        },
        links: vec![
            link(1, "uplink", None),
            link(2, "br-a", None),
            link(3, "veth1", Some(2)),
        ],
        routes: vec![
            TableRoute {
                dst: None,
                oif: Some(1),
                gateway: Some("198.51.100.1".parse().unwrap()),
                v6: false,
            },
            TableRoute {
                dst: Some("172.18.0.0/16".parse().unwrap()),
                oif: Some(2),
                gateway: None,
                v6: false,
            },
        ],
        ruleset,
        expected_elements: vec![bridges("br-a")],
        elements: vec![bridges("br-a")],
        expected: vec![
            berth_table("inet", Some("br-a")),
            berth_table("bridge", None),
        ],
        ..Default::default()
    }
}

fn fails(f: &Facts, check: &str) -> Vec<Finding> {
    check_all(f)
        .into_iter()
        .filter(|x| x.check == check && x.status != Status::Ok)
        .collect()
}

#[test]
fn a_healthy_host_passes_every_check() {
    let findings = check_all(&healthy());
    assert!(
        findings.iter().all(|f| f.status == Status::Ok),
        "{}",
        render_text(&findings)
    );
    let checks: Vec<&str> = findings.iter().map(|f| f.check).collect();
    for c in [
        "forwarding",
        "routing-guard",
        "forward-policy",
        "br-netfilter",
        "subnets",
        "default-route",
        "ruleset",
        "links",
        "namespaces",
        "operations",
        "dns",
    ] {
        assert!(checks.contains(&c), "{c} missing");
    }
}

#[test]
fn routing_guard_says_what_berth_did() {
    let mut f = healthy();
    let said = |f: &Facts| -> Vec<String> {
        check_all(f)
            .into_iter()
            .filter(|x| x.check == "routing-guard")
            .inspect(|x| assert_eq!(x.status, Status::Ok))
            .map(|x| x.found)
            .collect()
    };
    let before = said(&f);
    assert_eq!(before.len(), 1);
    assert!(before[0].contains("was on before berth"), "{before:?}");
    f.forwarding_changes = vec![("net.ipv4.ip_forward".into(), "0".into())];
    let guarded = said(&f);
    assert_eq!(guarded.len(), 1);
    assert!(
        guarded[0].contains("berth turned net.ipv4.ip_forward on (it was 0)")
            && guarded[0].contains("berth system keep-forwarding"),
        "{guarded:?}"
    );
    f.sysctls.ip_forward = Some("0".into());
    f.forwarding_changes.clear();
    assert!(said(&f).is_empty(), "no forwarding, nothing to say");
}

#[test]
fn forwarding_off() {
    let mut f = healthy();
    f.sysctls.ip_forward = Some("0".into());
    let x = fails(&f, "forwarding");
    assert_eq!(x[0].status, Status::Fail);
    assert!(x[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("sysctl -w net.ipv4.ip_forward=1"));
    f.networks[0].ipv6 = true;
    f.sysctls.ip_forward = Some("1".into());
    f.sysctls.ipv6_forward = Some("0".into());
    assert!(fails(&f, "forwarding")[0]
        .found
        .contains("net.ipv6.conf.all.forwarding=0"));
}

fn docker(with_berth_rules: bool) -> Vec<serde_json::Value> {
    let mut v = vec![
        json!({"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "hook": "forward", "type": "filter", "policy": "drop"}}),
        json!({"chain": {"family": "ip", "table": "filter", "name": "DOCKER-USER"}}),
    ];
    if with_berth_rules {
        for _ in 0..3 {
            v.push(json!({"rule": {"family": "ip", "table": "filter", "chain": "DOCKER-USER", "comment": "berth:br-a", "expr": []}}));
        }
    }
    v
}

fn with_items(f: &mut Facts, extra: Vec<serde_json::Value>) {
    f.ruleset["nftables"].as_array_mut().unwrap().extend(extra);
}

#[test]
fn forward_policy_drop_needs_berths_accept_rules() {
    let mut f = healthy();
    with_items(&mut f, docker(true));
    f.sysctls.nf_call_iptables = Some("1".into());
    assert!(fails(&f, "forward-policy").is_empty());
    assert!(fails(&f, "br-netfilter").is_empty());
    let mut f = healthy();
    with_items(&mut f, docker(false));
    f.sysctls.nf_call_iptables = Some("1".into());
    let x = fails(&f, "forward-policy");
    assert!(
        x[0].found.contains("DOCKER-USER") && x[0].found.contains("br-a"),
        "{x:?}"
    );
    assert_eq!(
        x[0].fix.as_deref(),
        Some(
            "berth system reconcile (re-adds them; they are also added when a network is created)"
        )
    );
    let b = fails(&f, "br-netfilter");
    assert!(b[0].found.contains("same network"), "{b:?}");
}

#[test]
fn drop_policy_in_another_table_is_a_warning_with_rules_to_add() {
    let mut f = healthy();
    with_items(
        &mut f,
        vec![
            json!({"chain": {"family": "inet", "table": "firewalld", "name": "filter_FORWARD", "hook": "forward", "policy": "drop"}}),
        ],
    );
    let x = fails(&f, "forward-policy");
    assert_eq!(x[0].status, Status::Warn);
    assert!(x[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("nft insert rule inet firewalld filter_FORWARD iifname \"br-a\" accept"));
}

#[test]
fn overlapping_subnets_and_routes() {
    let mut f = healthy();
    f.routes.push(TableRoute {
        dst: Some("172.16.0.0/12".parse().unwrap()),
        oif: Some(1),
        gateway: Some("198.51.100.9".parse().unwrap()),
        v6: false,
    });
    let x = fails(&f, "subnets");
    assert!(
        x[0].found
            .contains("172.16.0.0/12 via 198.51.100.9 dev uplink"),
        "{x:?}"
    );
    let mut f = healthy();
    f.networks.push(network("b", "br-b", "172.18.5.0/24"));
    f.links.push(link(9, "br-b", None));
    let x = fails(&f, "subnets");
    assert_eq!(x.len(), 1, "{x:?}");
    assert_eq!(x[0].status, Status::Fail);
}

#[test]
fn missing_default_route() {
    let mut f = healthy();
    f.routes.retain(|r| r.dst.is_some());
    assert!(fails(&f, "default-route")[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("ip route add default"));
}

#[test]
fn flushed_or_altered_ruleset() {
    let mut f = healthy();
    f.ruleset = json!({"nftables": []});
    let x = fails(&f, "ruleset");
    assert_eq!(x.len(), 2);
    assert!(x[0].found.contains("table inet berth is missing"));
    assert!(x[0]
        .fix
        .as_deref()
        .unwrap()
        .starts_with("berth system reconcile"));
    let mut f = healthy();
    f.ruleset["nftables"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i.get("rule").is_none());
    assert!(fails(&f, "ruleset")[0]
        .found
        .contains("rules missing or changed in chains forward 1 of 1, e.g. \"networks are isolated from each other\""));
    let mut f = healthy();
    f.expected[0] = berth_table("inet", Some("br-z"));
    f.expected_elements = vec![bridges("br-z")];
    let x = fails(&f, "ruleset");
    assert!(
        x.iter()
            .any(|x| x.found.contains("bridges lacks 1 element: br-z")),
        "{x:?}"
    );
    assert!(
        x.iter()
            .any(|x| x.status == Status::Warn && x.found.contains("br-a")),
        "{x:?}"
    );
}

#[test]
fn elements_render_like_nft() {
    use berth_core::firewall::{Element, Field, Set};
    let e = Element {
        set: Set::Ports4,
        key: vec![
            Field::Prefix("0.0.0.0/0".parse().unwrap()),
            Field::Proto(berth_core::model::Proto::Tcp),
            Field::Ports(8000, 8010),
        ],
        value: vec![
            Field::Addr("172.18.0.2".parse().unwrap()),
            Field::Ports(80, 80),
        ],
    };
    assert_eq!(
        e.to_string(),
        "0.0.0.0/0 . tcp . 8000-8010 : 172.18.0.2 . 80"
    );
}

#[test]
fn leaked_and_missing_links() {
    let mut f = healthy();
    f.links.push(link(7, "vethdead", Some(2)));
    let x = fails(&f, "links");
    assert_eq!(x[0].fix.as_deref(), Some("ip link delete vethdead"));
    let mut f = healthy();
    f.links.retain(|l| l.name != "veth1");
    assert!(fails(&f, "links")[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("berth stop web && berth start web"));
    let mut f = healthy();
    f.links.retain(|l| l.name != "br-a");
    assert!(fails(&f, "links")[0]
        .found
        .contains("bridge br-a of network a is missing"));
}

#[test]
fn namespaces_and_operations() {
    let mut f = healthy();
    f.pins.push(("deadbeef".into(), true));
    f.run_dir = "/run/berth".into();
    let x = fails(&f, "namespaces");
    assert_eq!(
        x[0].fix.as_deref(),
        Some("umount /run/berth/netns/deadbeef && rm /run/berth/netns/deadbeef")
    );
    let mut f = healthy();
    f.containers[0].pinned = false;
    assert!(fails(&f, "namespaces")[0]
        .found
        .contains("namespace pin is gone"));
    let mut f = healthy();
    f.containers[0].running = false;
    f.containers[0].supervised = false;
    assert!(fails(&f, "namespaces")
        .iter()
        .any(|x| x.found.contains("died unseen")));
    f.containers[0].container.state = ContainerState::Exited;
    assert!(fails(&f, "namespaces")[0].found.contains("exited"));
    let mut f = healthy();
    f.ops.push(OpFacts {
        id: 7,
        corrupt: None,
        kind: "create".into(),
        subject: "0123456789abcdef".into(),
        owner_alive: false,
    });
    assert!(fails(&f, "operations")[0]
        .found
        .contains("create 0123456789ab"));
    // A corrupt record fails, names the operation and how to forget it.
    f.ops[0].corrupt = Some("unknown variant `teleport`".into());
    let found = fails(&f, "operations");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].status, Status::Fail);
    assert!(found[0]
        .found
        .contains("operation 7 (create 0123456789ab) is corrupt"));
    assert!(found[0]
        .fix
        .as_deref()
        .is_some_and(|f| f.contains("--forget-op 7")));
}

#[test]
fn dns_not_applicable_down_or_not_listening() {
    assert_eq!(
        dns::check(&DnsFacts::default())[0].found,
        "not applicable: no container is on a network that uses berth's embedded DNS"
    );
    let gw: std::net::IpAddr = "172.18.0.1".parse().unwrap();
    let mut d = DnsFacts {
        networks: vec![("a".into(), vec![gw])],
        snapshot_generation: Some(3),
        control: "/run/berth/dns/control.sock".into(),
        ping: Err("connection refused".into()),
        listening: vec![],
    };
    assert_eq!(dns::check(&d)[0].status, Status::Fail);
    d.ping = Ok(3);
    assert!(dns::check(&d)[0]
        .found
        .contains("nothing listens on 172.18.0.1 port 53"));
    d.listening = vec![gw];
    assert_eq!(dns::check(&d)[0].status, Status::Ok);
    d.ping = Ok(2);
    assert_eq!(dns::check(&d)[0].status, Status::Warn);
}

#[test]
fn text_lines_and_exit_status_words() {
    let text = render_text(&[
        Finding::ok("links", "fine"),
        Finding::fail("forwarding", "off", "turn it on"),
    ]);
    assert_eq!(
        text,
        "ok    links       fine\nfail  forwarding  off -> turn it on\n"
    );
}
