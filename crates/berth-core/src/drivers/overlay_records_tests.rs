use super::*;
use crate::model::NetworkCreate;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn good() -> Network {
    let req = NetworkCreate {
        name: "ov".into(),
        driver: "overlay".into(),
        subnets: vec!["198.18.0.0/24".into()],
        ..Default::default()
    };
    let ipam = vec![IpamConfig {
        subnet: "198.18.0.0/24".parse().expect("subnet"),
        gateway: "198.18.0.1".parse().expect("gw"),
        ip_range: None,
        aux: Default::default(),
        range_start: None,
        range_end: None,
    }];
    super::super::overlay::plan_network(&req, ID, 4097, ipam, 1500).expect("plan")
}

fn kv(net: &serde_json::Value) -> Kv {
    Kv {
        key: format!("{}{ID}", networks_prefix()),
        value: net.to_string(),
        lease: 0,
    }
}

#[test]
fn a_network_record_berth_wrote_is_accepted_as_is() {
    let n = good();
    let got = network(&kv(&serde_json::to_value(&n).expect("json"))).expect("good record");
    assert_eq!(got, n);
}

#[test]
fn forged_network_records_are_refused_or_defused() {
    let base = serde_json::to_value(good()).expect("json");
    let with = |path: &str, v: serde_json::Value| {
        let mut n = base.clone();
        *n.pointer_mut(path).expect(path) = v;
        n
    };
    for (bad, why) in [
        (with("/name", "a b".into()), "invalid network name"),
        (with("/driver", "bridge".into()), "not an overlay"),
        (with("/builtin", true.into()), "not an overlay"),
        (with("/mtu", 9999999.into()), "MTU"),
        (with("/id", "x".into()), "not its key"),
        (with("/ipam/0/subnet", "127.0.0.0/8".into()), "not a usable"),
        (
            with("/ipam/0/subnet", "198.18.0.5/24".into()),
            "not a usable",
        ),
        (
            with("/ipam/0/gateway", "203.0.113.1".into()),
            "outside subnet",
        ),
        (with("/ipv6", true.into()), "one IPv4 subnet"),
        (
            with(
                "/options",
                serde_json::json!({"berth.underlay": "eth0", "com.docker.network.driver.overlay.vxlanid_list": "4097"}),
            ),
            "unexpected option",
        ),
        (with("/options", serde_json::json!({})), "no VNI"),
    ] {
        let e = network(&kv(&bad)).expect_err(why);
        assert!(e.contains(why), "{why}: {e}");
    }
    // What berth never takes from a record: its bridge name and flags.
    let mut n = base.clone();
    n["bridge"] = "eth0".into();
    n["masquerade"] = false.into();
    let got = network(&kv(&n)).expect("defused");
    assert_eq!(got.bridge.as_deref(), Some("bo-0123456789ab"));
    assert!(got.masquerade);
    let bad_key = Kv {
        key: format!("{}../../x", networks_prefix()),
        ..kv(&base)
    };
    assert!(network(&bad_key).is_err());
    let (nets, rejected) = networks(&[kv(&base), bad_key]);
    assert_eq!((nets.len(), rejected.len()), (1, 1));
}

#[test]
fn host_records_need_a_unicast_ipv4_tunnel_endpoint() {
    let rec = |vtep: &str, underlay: &str| Kv {
        key: format!("{}{ID}", hosts_prefix()),
        value: serde_json::json!({"name": "h1", "vtep": vtep, "underlay": underlay, "mtu": 1500})
            .to_string(),
        lease: 1,
    };
    assert!(host(&rec("192.0.2.11", "eth0")).is_ok());
    for (vtep, link) in [
        ("224.0.0.1", "eth0"),
        ("0.0.0.0", "eth0"),
        ("127.0.0.1", "eth0"),
        ("2001:db8::1", "eth0"),
        ("192.0.2.11", "eth0; rm"),
        ("192.0.2.11", "a-very-long-link-name"),
    ] {
        assert!(host(&rec(vtep, link)).is_err(), "{vtep} {link}");
    }
    let (ok, bad) = hosts(&[rec("192.0.2.11", "eth0"), rec("224.0.0.1", "eth0")]);
    assert_eq!((ok.len(), bad.len()), (1, 1));
    assert!(bad[0].why.contains("224.0.0.1"));
}

#[test]
fn printable_escapes_control_characters() {
    assert_eq!(printable("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    assert_eq!(printable("/berth/v1/x"), "/berth/v1/x");
}
