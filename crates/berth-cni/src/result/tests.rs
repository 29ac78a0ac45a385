use super::*;
use serde_json::json;

fn sample() -> CniResult {
    CniResult::from_json(&json!({
        "cniVersion": "0.4.0",
        "interfaces": [
            {"name": "cni0", "mac": "aa:bb:cc:dd:ee:ff"},
            {"name": "eth0", "mac": "02:42:0a:01:00:05", "sandbox": "/run/netns/c1", "mtu": 1400}
        ],
        "ips": [
            {"version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1},
            {"version": "6", "address": "fd00::5/64", "interface": 1}
        ],
        "routes": [{"dst": "0.0.0.0/0", "gw": "10.1.0.1", "priority": 5}],
        "dns": {"nameservers": ["10.1.0.1"], "search": ["svc"], "unknown": 1}
    }))
    .unwrap()
}

#[test]
fn renders_each_version_its_way() {
    let r = sample();
    let v04 = r.to_json(Version::V0_4_0);
    assert_eq!(v04["ips"][0]["version"], "4");
    assert_eq!(v04["ips"][1]["version"], "6");
    assert_eq!(v04["ips"][0]["interface"], 1);
    assert!(v04["interfaces"][1].get("mtu").is_none());
    assert!(v04["routes"][0].get("priority").is_none());
    let v10 = r.to_json(Version::V1_0_0);
    assert!(v10["ips"][0].get("version").is_none());
    let v11 = r.to_json(Version::V1_1_0);
    assert_eq!(v11["cniVersion"], "1.1.0");
    assert_eq!(v11["interfaces"][1]["mtu"], 1400);
    assert_eq!(v11["routes"][0]["priority"], 5);
    assert_eq!(v11["dns"]["search"][0], "svc");
}

#[test]
fn round_trips() {
    let r = sample();
    let again = CniResult::from_json(&r.to_json(Version::V1_1_0)).unwrap();
    assert_eq!(again, r);
}

#[test]
fn bad_prev_results_are_decode_or_config_errors() {
    let e = CniResult::from_json(&json!({"ips": [{"address": 5}]})).unwrap_err();
    assert_eq!(e.code, crate::code::DECODE);
    let e = CniResult::from_json(&json!({"ips": [{"address": "10.1.0.5"}]})).unwrap_err();
    assert_eq!(e.code, crate::code::INVALID_CONFIG);
    let e = CniResult::from_json(&json!([1])).unwrap_err();
    assert_eq!(e.code, crate::code::DECODE);
}
