use super::*;
use serde_json::json;

fn parse_v(v: Value) -> Result<PluginConfig, CniError> {
    parse(v.to_string().as_bytes())
}

/// The bridge entry of a typical bridge + host-local + portmap conflist,
/// with `type` changed to berth.
fn drop_in() -> Value {
    json!({
        "cniVersion": "1.0.0",
        "name": "podnet",
        "type": "berth",
        "bridge": "cni-podnet",
        "isGateway": true,
        "isDefaultGateway": true,
        "ipMasq": true,
        "hairpinMode": true,
        "mtu": 1450,
        "ipam": {
            "type": "host-local",
            "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]],
            "routes": [{"dst": "0.0.0.0/0"}]
        },
        "capabilities": {"portMappings": true},
        "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}
    })
}

#[test]
fn a_drop_in_bridge_entry_parses() {
    let c = parse_v(drop_in()).unwrap();
    assert_eq!(c.version, Version::V1_0_0);
    assert_eq!(c.name, "podnet");
    assert_eq!(c.bridge.bridge.as_deref(), Some("cni-podnet"));
    assert_eq!(c.bridge.mtu, Some(1450));
    assert_eq!(c.bridge.ip_masq, Some(true));
    let Ipam::HostLocal(h) = &c.ipam else {
        panic!()
    };
    assert_eq!(h.ranges[0].subnet.to_string(), "10.88.0.0/16");
    assert_eq!(c.runtime.port_mappings[0].host_port, 8080);
}

#[test]
fn minimal_and_chained_forms() {
    let c = parse_v(json!({"cniVersion": "1.1.0", "name": "n", "type": "berth"})).unwrap();
    assert_eq!(c.ipam, Ipam::Network);
    let c = parse_v(json!({
        "cniVersion": "0.4.0", "name": "n", "type": "berth", "ipam": {},
        "prevResult": {"cniVersion": "0.4.0", "ips": [{"version": "4", "address": "10.9.0.5/24"}]},
        "args": {"cni": {"ips": ["10.9.0.7"]}, "labels": "x"},
        "cni.dev/other": 1
    }))
    .unwrap();
    assert_eq!(c.ipam, Ipam::PrevResult);
    assert_eq!(
        c.prev_result.unwrap().ips[0].address.to_string(),
        "10.9.0.5/24"
    );
    assert_eq!(c.args_ips[0].to_string(), "10.9.0.7");
    let gc = parse_v(json!({
        "cniVersion": "1.1.0", "name": "n", "type": "berth",
        "cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"}]
    }))
    .unwrap();
    assert_eq!(gc.valid_attachments.unwrap()[0].container_id, "c1");
}

#[test]
fn bad_configs_get_the_spec_codes() {
    let with = |k: &str, v: Value| {
        let mut c = drop_in();
        c[k] = v;
        parse_v(c).unwrap_err()
    };
    assert_eq!(parse(b"{not json").unwrap_err().code, code::DECODE);
    assert_eq!(parse(b"[1]").unwrap_err().code, code::DECODE);
    assert_eq!(
        with("cniVersion", json!("0.2.0")).code,
        code::INCOMPATIBLE_VERSION
    );
    assert_eq!(with("name", json!("")).code, code::INVALID_CONFIG);
    assert_eq!(with("name", json!("a/b")).code, code::INVALID_CONFIG);
    let e = with("ipmasq", json!(true));
    assert_eq!(e.code, code::UNSUPPORTED_FIELD);
    assert!(
        e.to_string().contains("ipmasq") && e.to_string().contains("true"),
        "{e}"
    );
    assert_eq!(with("vlan", json!(5)).code, code::UNSUPPORTED_FIELD);
    assert_eq!(
        with("isGateway", json!(false)).code,
        code::UNSUPPORTED_FIELD
    );
    assert_eq!(with("ipMasq", json!("yes")).code, code::DECODE);
    assert_eq!(with("mtu", json!(10)).code, code::INVALID_CONFIG);
    assert_eq!(
        with("bridge", json!("a very long bridge")).code,
        code::INVALID_CONFIG
    );
    assert_eq!(
        with("cni.dev/valid-attachments", json!([{"containerID": "c"}])).code,
        code::INVALID_CONFIG
    );
    let mut no_version = drop_in();
    no_version.as_object_mut().unwrap().remove("cniVersion");
    assert_eq!(
        parse_v(no_version).unwrap_err().code,
        code::INCOMPATIBLE_VERSION
    );
    assert!(parse_v(json!({"cniVersion": "1.1.0", "name": "n", "vlan": 0})).is_ok());
}

#[test]
fn the_cluster_store_of_an_overlay_network() {
    let mut v = json!({"cniVersion": "1.0.0", "name": "ov", "type": "berth",
        "store": "etcds://192.0.2.1:2379,192.0.2.2:2379", "storeCa": "/etc/berth/ca.pem",
        "storeCert": "/etc/berth/c.pem", "storeKey": "/etc/berth/c.key"});
    let c = parse_v(v.clone()).expect("parses");
    assert_eq!(
        c.store.url.as_deref(),
        Some("etcds://192.0.2.1:2379,192.0.2.2:2379")
    );
    assert_eq!(c.store.key, Some(PathBuf::from("/etc/berth/c.key")));
    assert_eq!(c.store.auth, None);
    v["store"] = json!("http://192.0.2.1:2379");
    assert_eq!(parse_v(v.clone()).unwrap_err().code, code::INVALID_CONFIG);
    v["store"] = json!("etcd://192.0.2.1:2379");
    v["storeCa"] = json!("ca.pem");
    let e = parse_v(v).unwrap_err();
    assert_eq!(e.code, code::INVALID_CONFIG);
    assert!(e.details.contains("absolute"), "{}", e.details);
}
