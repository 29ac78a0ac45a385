//! A state root written by an earlier berth is opened and managed by this
//! one. `fixtures/v1-root` is what berth at commit 117e4db (store schema
//! version 1) left in its state root: network `appnet` (192.0.2.0/24),
//! container `c1` on it publishing 8080 -> 80 (busybox httpd) and `c2` on
//! the default bridge, both running (the database and the per-container
//! files; the runtime dir is gone, as after a reboot).

mod common;
use common::B;

/// Copies the fixture into the lab's (still unused) state root.
fn with_v1_state(b: &B) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1-root");
    b.sh(&format!("cp -a {fixture}/. \"$BERTH_ROOT\"/"));
}

fn info(b: &B) -> serde_json::Value {
    serde_json::from_str(&b.ok("system info --format json")).unwrap()
}

/// Host veth names and aliases, as `ip -j -d link` shows them.
fn veths(b: &B) -> Vec<(String, String)> {
    let links: serde_json::Value = serde_json::from_str(&b.sh("ip -j -d link")).unwrap();
    let mut v: Vec<(String, String)> = links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["ifname"].as_str().is_some_and(|n| n.starts_with("veth")))
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or("").to_string();
            (s("ifname"), s("ifalias"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_version_1_state_root_is_migrated_and_managed() {
    let b = B::new("upgrade-v1");
    with_v1_state(&b);
    let ps = b.ok("ps -a --format '{{.Names}} {{.Status}}'");
    let mut lines: Vec<&str> = ps.lines().collect();
    lines.sort();
    assert_eq!(lines, ["c1 Exited (255)", "c2 Exited (255)"], "{ps}");
    assert_eq!(info(&b)["StoreSchema"], 2);
    // The old records are managed: started with their old addresses, the
    // published port answers, names resolve on the user network.
    b.ok("start c1 c2");
    assert_eq!(b.ip("c1", "appnet"), "192.0.2.2");
    assert!(common::crash::serves(&b), "c1's published port");
    assert!(b.exec_ok("c2", "busybox ping -c1 -W2 203.0.113.1"));
    // Their veths keep their recorded names and now carry berth's alias.
    let eps: Vec<String> = ["c1", "c2"]
        .iter()
        .map(|c| {
            b.ok(&format!(
                "inspect -f '{{{{range .NetworkSettings.Networks}}}}{{{{.EndpointID}}}}{{{{end}}}}' {c}"
            ))
            .trim()
            .to_string()
        })
        .collect();
    let found = veths(&b);
    assert_eq!(found.len(), 2, "{found:?}");
    for ep in &eps {
        assert!(
            found
                .iter()
                .any(|(name, alias)| ep.starts_with(&name[4..]) && *alias == format!("berth:{ep}")),
            "{ep}: {found:?}"
        );
    }
    // New containers get names unique among the old ones; stop/start again.
    b.sleeper("c3", "--network appnet");
    b.ok("stop -t 0 c1");
    b.ok("start c1");
    assert!(common::crash::serves(&b));
    b.ok("rm -f c1 c2 c3");
    b.ok("network rm appnet");
    assert!(veths(&b).is_empty());
    assert_eq!(info(&b)["Containers"], 0);
}
