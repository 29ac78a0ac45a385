use super::*;
use std::collections::BTreeMap;

fn cfg(subnet: &str, gw: &str) -> IpamConfig {
    IpamConfig {
        subnet: subnet.parse().unwrap(),
        gateway: gw.parse().unwrap(),
        ip_range: None,
        aux: BTreeMap::new(),
        range_start: None,
        range_end: None,
    }
}

#[test]
fn pools_skip_taken_and_routed_ranges() {
    assert_eq!(pick_subnet(&[]).unwrap().to_string(), "172.17.0.0/16");
    let taken: Vec<IpNet> = vec![
        "172.17.0.0/16".parse().unwrap(),
        "172.18.5.0/24".parse().unwrap(),
    ];
    assert_eq!(pick_subnet(&taken).unwrap().to_string(), "172.19.0.0/16");
    // A VPN route covering all of 172.16.0.0/12 pushes berth into 192.168/20s.
    let vpn: Vec<IpNet> = vec![
        "172.16.0.0/12".parse().unwrap(),
        "192.168.0.0/24".parse().unwrap(),
    ];
    assert_eq!(pick_subnet(&vpn).unwrap().to_string(), "192.168.16.0/20");
    let all: Vec<IpNet> = vec![
        "172.16.0.0/12".parse().unwrap(),
        "192.168.0.0/16".parse().unwrap(),
    ];
    assert_eq!(pick_subnet(&all), None);
}

#[test]
fn allocation_skips_gateway_aux_and_used() {
    let mut c = cfg("10.0.0.0/29", "10.0.0.1");
    c.aux.insert("printer".into(), "10.0.0.3".parse().unwrap());
    let mut used = BTreeSet::new();
    let mut got = vec![];
    while let Some(ip) = allocate(&c, &used) {
        used.insert(ip);
        got.push(ip.to_string());
    }
    assert_eq!(got, ["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
}

#[test]
fn allocation_respects_ip_range_and_v6() {
    let mut c = cfg("10.0.0.0/24", "10.0.0.1");
    c.ip_range = Some("10.0.0.128/25".parse().unwrap());
    assert_eq!(
        allocate(&c, &BTreeSet::new()).unwrap().to_string(),
        "10.0.0.128"
    );
    let c6 = cfg("fd00:1::/64", "fd00:1::1");
    let used: BTreeSet<IpAddr> = ["fd00:1::2".parse().unwrap()].into();
    assert_eq!(allocate(&c6, &used).unwrap().to_string(), "fd00:1::3");
    assert!(!assignable(&c6, &"fd00:1::".parse().unwrap()));
    assert!(!assignable(&c, &"10.0.0.255".parse().unwrap()));
}

#[test]
fn macs_and_ula() {
    assert_eq!(
        mac_for_ipv4("172.17.0.2".parse().unwrap()),
        "02:42:ac:11:00:02"
    );
    let u = ula_subnet("0123456789abcdef");
    assert_eq!(u.to_string(), "fd01:2345:6789::/64");
    let m = random_mac();
    assert_eq!(m.len(), 17);
}

#[test]
fn sequential_allocation_wraps_around() {
    let c = cfg("10.0.0.0/29", "10.0.0.1");
    let used: BTreeSet<IpAddr> = ["10.0.0.3".parse().unwrap()].into();
    let next = |after: &str| {
        allocate_after::<()>(&c, Some(after.parse().unwrap()), |ip| Ok(used.contains(ip))).unwrap()
    };
    assert_eq!(next("10.0.0.2").unwrap().to_string(), "10.0.0.4");
    assert_eq!(next("10.0.0.6").unwrap().to_string(), "10.0.0.2");
}

#[test]
fn allocation_stays_between_range_start_and_end() {
    let mut c = cfg("10.0.0.0/24", "10.0.0.1");
    c.range_start = Some("10.0.0.10".parse().unwrap());
    c.range_end = Some("10.0.0.12".parse().unwrap());
    let mut used = BTreeSet::new();
    let mut got = Vec::new();
    while let Some(ip) = allocate(&c, &used) {
        used.insert(ip);
        got.push(ip.to_string());
    }
    assert_eq!(got, ["10.0.0.10", "10.0.0.11", "10.0.0.12"]);
    // After the last one, allocation wraps to the start of the range.
    used.remove(&"10.0.0.10".parse().unwrap());
    let next = allocate_after::<()>(&c, Some("10.0.0.12".parse().unwrap()), |ip| {
        Ok(used.contains(ip))
    });
    assert_eq!(next.unwrap().unwrap().to_string(), "10.0.0.10");
    c.range_start = Some("10.0.0.20".parse().unwrap());
    assert_eq!(
        allocate(&c, &BTreeSet::new()),
        None,
        "start after end: empty"
    );
}
