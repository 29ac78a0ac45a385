use super::*;
use crate::plan::Step;

fn req(name: &str) -> NetworkCreate {
    NetworkCreate {
        name: name.into(),
        driver: "bridge".into(),
        ..Default::default()
    }
}

fn plan(r: &NetworkCreate, existing: &[Network], facts: &HostFacts) -> Result<Network> {
    let id = if existing.is_empty() {
        "ab".repeat(32)
    } else {
        "cd".repeat(32)
    };
    plan_bridge_network(r, &id, &r.subnet_requests()?, existing, facts, false)
}

#[test]
fn picks_first_free_pool_skipping_routes_and_networks() {
    let facts = HostFacts {
        routes: vec!["172.17.0.0/16".parse().unwrap()],
        links: vec![],
    };
    let n = plan(&req("a"), &[], &facts).unwrap();
    assert_eq!(n.ipam[0].subnet.to_string(), "172.18.0.0/16");
    assert_eq!(n.ipam[0].gateway.to_string(), "172.18.0.1");
    assert_eq!(n.bridge.as_deref(), Some("br-abababababab"));
    let n2 = plan(&req("b"), &[n], &facts).unwrap();
    assert_eq!(n2.ipam[0].subnet.to_string(), "172.19.0.0/16");
}

#[test]
fn options_are_applied() {
    let mut r = req("a");
    r.options = vec![
        "com.docker.network.bridge.name=mybr".into(),
        "com.docker.network.bridge.enable_icc=false".into(),
        "com.docker.network.driver.mtu=1400".into(),
        "com.docker.network.bridge.enable_ip_masquerade=false".into(),
    ];
    r.ipv6 = true;
    let n = plan(&r, &[], &HostFacts::default()).unwrap();
    assert_eq!(
        (n.bridge.as_deref(), n.icc, n.mtu, n.masquerade),
        (Some("mybr"), false, 1400, false)
    );
    assert!(n.ipv6 && n.ipam.iter().any(|c| c.subnet.addr().is_ipv6()));
}

#[test]
fn conflicts_are_named() {
    let facts = HostFacts {
        routes: vec!["10.9.0.0/16".parse().unwrap()],
        links: vec!["eth0".into()],
    };
    let mut r = req("a");
    r.subnets = vec!["10.9.1.0/24".into()];
    let e = plan(&r, &[], &facts).unwrap_err().to_string();
    assert!(
        e.contains("10.9.1.0/24") && e.contains("10.9.0.0/16") && e.contains("routed"),
        "{e}"
    );
    let mut r = req("a");
    r.options = vec!["com.docker.network.bridge.name=eth0".into()];
    assert!(plan(&r, &[], &facts)
        .unwrap_err()
        .to_string()
        .contains("eth0"));
    let mut r = req("a");
    r.options = vec!["com.docker.network.bridge.name=waytoolongbridgename".into()];
    assert!(plan(&r, &[], &facts)
        .unwrap_err()
        .to_string()
        .contains("15 characters"));
    let mut r = req("a");
    r.subnets = vec!["10.1.0.0/24".into()];
    r.gateways = vec!["10.1.0.0".into()];
    assert!(plan(&r, &[], &facts)
        .unwrap_err()
        .to_string()
        .contains("network or broadcast"));
    let existing = plan(
        &{
            let mut r = req("x");
            r.subnets = vec!["10.2.0.0/16".into()];
            r
        },
        &[],
        &facts,
    )
    .unwrap();
    let mut r = req("a");
    r.subnets = vec!["10.2.3.0/24".into()];
    let e = plan(&r, &[existing], &facts).unwrap_err().to_string();
    assert!(e.contains("network x"), "{e}");
}

#[test]
fn plan_has_bridge_sysctl_and_elements() {
    let n = plan(&req("a"), &[], &HostFacts::default()).unwrap();
    let p = bridge_plan(&n);
    assert!(matches!(&p.steps[0], Step::CreateBridge { name, .. } if name == "br-abababababab"));
    assert!(matches!(&p.steps[1], Step::Sysctl { key, .. } if key.ends_with("route_localnet")));
    let undo = p.undo();
    assert!(matches!(&undo.steps[0], Step::Elements { .. }));
    assert!(matches!(&undo.steps[1], Step::DeleteLink { name } if name == "br-abababababab"));
}
