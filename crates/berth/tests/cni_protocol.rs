//! berth's CNI plugin against the protocol: error codes for bad input
//! (changing nothing), versions, VERSION and STATUS, and chains with the
//! reference plugins of Debian's containernetworking-plugins both ways
//! (berth then tuning and bandwidth; host-local then berth as an
//! IPAM-less bridge).

mod cniutil;
mod common;

use cniutil::{berth, call, conf, link_exists, with_port, Att, Chain, CNI_BIN};
use common::{Kernel, B, BERTH};
use serde_json::{json, Value};

/// One bad ADD: what it is, its configuration and attachment, the code
/// and a word the message must contain.
type Case = (&'static str, Value, Att, u64, &'static str);

/// Bad configurations for network `badnet`, where c0 holds 10.92.0.2 and
/// port 9090: (what, key, value, code, word of the message).
const BAD_KEYS: [(&str, &str, &str, u64, &str); 8] = [
    ("unknown version", "cniVersion", r#""9.9.9""#, 1, "9.9.9"),
    ("unknown field", "ipmasq", "true", 2, "ipmasq"),
    ("unsupported feature", "vlan", "100", 2, "vlan"),
    ("wrong type", "mtu", r#""big""#, 6, "mtu"),
    (
        "outside the subnet",
        "runtimeConfig",
        r#"{"ips": ["10.93.0.5"]}"#,
        7,
        "10.93.0.5",
    ),
    (
        "address in use",
        "runtimeConfig",
        r#"{"ips": ["10.92.0.2"]}"#,
        101,
        "10.92.0.2",
    ),
    (
        "port conflict",
        "runtimeConfig",
        r#"{"portMappings": [{"hostPort": 9090, "containerPort": 81}]}"#,
        101,
        "9090",
    ),
    (
        "host port in use by a process",
        "runtimeConfig",
        r#"{"portMappings": [{"hostPort": 9191, "containerPort": 80}]}"#,
        101,
        "listening",
    ),
];

/// Every bad ADD: [`BAD_KEYS`], a bad subnet, and bad environments.
fn bad_adds(base: &Value, c1: &Att) -> Vec<Case> {
    let mut cases: Vec<Case> = BAD_KEYS
        .iter()
        .map(|&(what, key, value, code, word)| {
            let mut c = base.clone();
            c[key] = serde_json::from_str(value).unwrap();
            (what, c, c1.clone(), code, word)
        })
        .collect();
    let subnet = conf("badnet", "10.92.0.5/24", json!({}));
    cases.push(("bad subnet", subnet, c1.clone(), 7, "10.92.0.0/24"));
    let att = |netns: &str, ifname: &str| Att {
        netns: netns.into(),
        ifname: ifname.into(),
        ..c1.clone()
    };
    let ns = c1.netns.as_str();
    for (what, a, code, word) in [
        (
            "no such namespace",
            att("/run/netns/nope", "eth0"),
            4,
            "CNI_NETNS",
        ),
        (
            "own namespace",
            att("/proc/self/ns/net", "eth0"),
            4,
            "own network namespace",
        ),
        ("interface taken", att(ns, "lo"), 101, "lo"),
        ("bad ifname", att(ns, "a/b"), 4, "CNI_IFNAME"),
    ] {
        cases.push((what, base.clone(), a, code, word));
    }
    cases
}

#[test]
fn bad_input_gets_the_spec_codes_and_changes_nothing() {
    let b = B::new("cni-bad");
    let base = conf("badnet", "10.92.0.0/24", json!({}));
    let c0 = Att::new(&b, "c0");
    assert!(berth(&b, "ADD", &c0, &with_port(base.clone(), 9090, 80)).ok);
    let c1 = Att::new(&b, "c1");
    b.sh("busybox nc -l -p 9191 >/dev/null 2>&1 &");
    assert!(b.eventually("ss -Hltn | grep -q ':9191 '"));
    let before = Kernel::read(&b);
    for (what, cfg, att, code, needle) in bad_adds(&base, &c1) {
        let r = berth(&b, "ADD", &att, &cfg);
        assert_eq!(r.code(), code, "{what}: {}", r.message());
        assert!(r.message().contains(needle), "{what}: {}", r.message());
        assert!(r.json["cniVersion"].as_str().is_some(), "{what}");
    }
    // Malformed JSON and missing variables.
    let raw = b.lab.root().join("raw.json");
    std::fs::write(&raw, "{\"cniVersion\": ").unwrap();
    let out = b.lab.sh(&format!(
        "CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/c1 CNI_IFNAME=eth0 {BERTH} < {}",
        raw.display()
    ));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((out.status.success(), v["code"].as_u64()), (false, Some(6)));
    let r = call(&b, BERTH, "ADD", None, "CNI_CONTAINERID=c1", &base);
    assert_eq!(r.code(), 4);
    assert!(r.message().contains("CNI_NETNS") && r.message().contains("CNI_IFNAME"));
    b.settles_to(&before, "failed ADDs");
    assert_eq!(cniutil::members(&b, "badnet"), "badnet:c0:eth0");
}

#[test]
fn results_in_the_requested_version() {
    let b = B::new("cni-versions");
    let v = call(
        &b,
        BERTH,
        "VERSION",
        None,
        "",
        &json!({"cniVersion": "1.0.0"}),
    );
    assert_eq!(v.result()["cniVersion"], "1.0.0");
    let supported = v.result()["supportedVersions"].to_string();
    for ver in ["0.4.0", "1.0.0", "1.1.0"] {
        assert!(supported.contains(ver), "{supported}");
    }
    let old = conf("vers", "10.94.0.0/24", json!({"cniVersion": "0.4.0"}));
    let c1 = Att::new(&b, "c1");
    let r = berth(&b, "ADD", &c1, &old).result().clone();
    assert_eq!(r["cniVersion"], "0.4.0");
    let want =
        json!({"version": "4", "address": "10.94.0.2/24", "gateway": "10.94.0.1", "interface": 2});
    assert_eq!(r["ips"][0], want);
    assert!(r["interfaces"][2].get("mtu").is_none());
    let mut check = old.clone();
    check["prevResult"] = r;
    assert!(berth(&b, "CHECK", &c1, &check).ok);
    let c2 = Att::new(&b, "c2");
    let new = conf("vers", "10.94.0.0/24", json!({"cniVersion": "1.0.0"}));
    assert!(berth(&b, "ADD", &c2, &new).result()["ips"][0]
        .get("version")
        .is_none());
    // CHECK came with 0.4.0.
    let older = conf("vers", "10.94.0.0/24", json!({"cniVersion": "0.3.1"}));
    assert_eq!(berth(&b, "CHECK", &c1, &older).code(), 1);
}

#[test]
fn status_and_gc_are_1_1_commands() {
    let b = B::new("cni-status");
    let new = conf("stat", "10.95.0.0/30", json!({}));
    let old = conf("stat", "10.95.0.0/30", json!({"cniVersion": "0.4.0"}));
    assert!(
        call(&b, BERTH, "STATUS", None, "", &new).ok,
        "not created yet: ADD can create it"
    );
    assert_eq!(call(&b, BERTH, "STATUS", None, "", &old).code(), 1);
    let mut gc_old = old.clone();
    gc_old["cni.dev/valid-attachments"] = json!([]);
    assert_eq!(call(&b, BERTH, "GC", None, "", &gc_old).code(), 1);
    // A /30 has one address for containers: once taken, ADD cannot succeed.
    let c1 = Att::new(&b, "c1");
    assert!(berth(&b, "ADD", &c1, &new).ok);
    let r = call(&b, BERTH, "STATUS", None, "", &new);
    assert_eq!(r.code(), 50, "{}", r.message());
    // A missing bridge cuts attached containers off.
    b.sh("ip link del $(ip -o link show type bridge | awk -F': ' '{print $2}' | grep '^br-' | head -1)");
    assert!(berth(&b, "DEL", &c1, &new).ok);
    let r = call(&b, BERTH, "STATUS", None, "", &new);
    assert_eq!(r.code(), 51, "{}", r.message());
}

fn require_reference_plugins() {
    for p in ["bridge", "host-local", "tuning", "bandwidth"] {
        assert!(
            std::path::Path::new(CNI_BIN).join(p).exists(),
            "{CNI_BIN}/{p} is missing: install Debian's containernetworking-plugins (scripts/deps)"
        );
    }
}

#[test]
fn berth_chains_with_tuning_and_bandwidth() {
    require_reference_plugins();
    let b = B::new("cni-chain");
    let chain = Chain {
        list: json!({
            "cniVersion": "1.0.0",
            "name": "chained",
            "plugins": [
                {"type": "berth", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.96.0.0/24"}]]},
                 "capabilities": {"portMappings": true}},
                {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.rp_filter": "0"}},
                {"type": "bandwidth", "capabilities": {"bandwidth": true}}
            ]
        }),
        runtime: json!({
            "portMappings": [{"hostPort": 8200, "containerPort": 80, "protocol": "tcp"}],
            "bandwidth": {"ingressRate": 8000000, "ingressBurst": 800000}
        }),
    };
    let c1 = Att::new(&b, "c1");
    let res = chain
        .add(&b, &c1)
        .unwrap_or_else(|r| panic!("{} {}", r.json, r.stderr));
    assert_eq!(res["ips"][0]["address"], "10.96.0.2/24");
    let veth = res["interfaces"][1]["name"].as_str().unwrap().to_string();
    assert!(
        b.sh(&format!("tc qdisc show dev {veth}")).contains("tbf"),
        "bandwidth shaped berth's veth"
    );
    assert_eq!(
        b.sh("ip netns exec c1 cat /proc/sys/net/ipv4/conf/eth0/rp_filter")
            .trim(),
        "0"
    );
    chain
        .check(&b, &c1, &res)
        .unwrap_or_else(|r| panic!("{} {}", r.json, r.stderr));
    assert!(b.try_sh("ip netns exec c1 busybox ping -c1 -W2 10.96.0.1 >/dev/null"));
    chain
        .del(&b, &c1, &res)
        .unwrap_or_else(|r| panic!("{} {}", r.json, r.stderr));
    cniutil::retired_then_gone(&b, &veth);
    assert!(!cniutil::ports4(&b).contains("8200"));
    chain.del(&b, &c1, &res).expect("DEL twice");
}

#[test]
fn berth_as_an_ipam_less_bridge_after_host_local() {
    require_reference_plugins();
    let b = B::new("cni-ipamless");
    let leases = b.lab.root().join("host-local");
    let chain = Chain {
        list: json!({
            // Debian's plugins (1.1.1) speak up to 1.0.0.
            "cniVersion": "1.0.0",
            "name": "afteripam",
            "plugins": [
                {"type": "host-local", "ipam": {"type": "host-local", "dataDir": leases,
                  "ranges": [[{"subnet": "10.97.0.0/24", "rangeStart": "10.97.0.50"}]],
                  "routes": [{"dst": "0.0.0.0/0"}]}},
                {"type": "berth", "ipam": {}}
            ]
        }),
        runtime: json!({}),
    };
    let c1 = Att::new(&b, "c1");
    let res = chain
        .add(&b, &c1)
        .unwrap_or_else(|r| panic!("{} {}", r.json, r.stderr));
    assert_eq!(res["ips"][0]["address"], "10.97.0.50/24");
    assert_eq!(
        res["ips"][0]["interface"], 2,
        "berth points the address at its interface"
    );
    assert!(b.sh("ip -n c1 addr show eth0").contains("10.97.0.50/24"));
    assert!(b.try_sh("ip netns exec c1 busybox ping -c1 -W2 10.97.0.1 >/dev/null"));
    assert!(b.try_sh("ip netns exec c1 busybox ping -c1 -W2 203.0.113.1 >/dev/null"));
    chain
        .check(&b, &c1, &res)
        .unwrap_or_else(|r| panic!("{} {}", r.json, r.stderr));
    chain
        .del(&b, &c1, &res)
        .unwrap_or_else(|r| panic!("{} {}", r.json, r.stderr));
    assert!(!link_exists(&b, Some("c1"), "eth0"));
    assert!(!b
        .sh(&format!("ls {}/afteripam", leases.display()))
        .contains("10.97.0.50"));
}
