//! berth's nftables ruleset against the real `nft`: the golden files the
//! firewall unit tests render are accepted by the kernel, and containers add
//! elements, never rules.

mod common;

use berth_lab::Lab;
use common::B;
use serde_json::Value;

/// Path of a golden file of berth-core's firewall tests.
fn golden(name: &str) -> String {
    format!(
        "{}/../berth-core/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// (rules, elements) of berth's table `family berth`, from `nft -j`.
fn counts(run: impl Fn(&str) -> String, family: &str) -> (usize, usize) {
    let v: Value =
        serde_json::from_str(&run(&format!("nft -j list table {family} berth"))).unwrap();
    let items = v["nftables"].as_array().unwrap();
    let rules = items.iter().filter(|i| i.get("rule").is_some()).count();
    let elems = items
        .iter()
        .filter_map(|i| i.get("set").or_else(|| i.get("map")))
        .map(|s| s["elem"].as_array().map_or(0, Vec::len))
        .sum();
    (rules, elems)
}

/// The golden ruleset loads into a real kernel (checked, then applied), and
/// the golden removal batch empties every set, even when applied twice.
#[test]
fn golden_ruleset_is_accepted_by_nft() {
    let lab = Lab::bare("ruleset-golden").unwrap();
    let run = |s: &str| lab.sh_ok(s);
    run(&format!("nft -c -f {}", golden("ruleset.nft")));
    run(&format!("nft -f {}", golden("ruleset.nft")));
    let (rules, elems) = counts(run, "inet");
    assert!(rules > 10, "{rules} rules");
    assert!(elems >= 10, "the sample's elements are all there: {elems}");
    // no_icc's rule, the port check's jump and its 12 rules.
    assert_eq!(counts(run, "bridge").0, 14);
    // Applying the whole ruleset again replaces it atomically.
    run(&format!("nft -f {}", golden("ruleset.nft")));
    assert_eq!(counts(run, "inet"), (rules, elems));
    run(&format!("nft -f {}", golden("remove-elements.nft")));
    assert_eq!(counts(run, "inet"), (rules, 0), "every element removed");
    run(&format!("nft -f {}", golden("remove-elements.nft")));
    assert_eq!(counts(run, "inet"), (rules, 0), "removal is idempotent");
}

/// 20 containers with published ports have exactly the rules one has: only
/// map elements grow.
#[test]
fn containers_add_elements_not_rules() {
    let b = B::new("ruleset-scale");
    let run = |s: &str| b.sh(s);
    b.ok("run -d --name c0 -p 8100:80 busybox sleep 3600");
    let (one_rules, one_elems) = counts(run, "inet");
    let one_bridge = counts(run, "bridge");
    let before = b.sh("nft -j list map inet berth ports4");
    assert_eq!(before.matches("8100").count(), 1, "{before}");
    for i in 1..20 {
        b.ok(&format!(
            "run -d --name c{i} -p {}:80 busybox sleep 3600",
            8100 + i
        ));
    }
    let (rules, elems) = counts(run, "inet");
    assert_eq!(rules, one_rules, "rules must not grow with containers");
    assert_eq!(elems, one_elems + 19, "one element per published port");
    let (bridge_rules, bridge_elems) = counts(run, "bridge");
    assert_eq!(
        bridge_rules, one_bridge.0,
        "bridge rules must not grow either"
    );
    assert_eq!(
        bridge_elems,
        one_bridge.1 + 19 * 2,
        "each container's veth: its MAC and its IPv4 address"
    );
    let ports: Value = serde_json::from_str(&b.sh("nft -j list map inet berth ports4")).unwrap();
    let map = ports["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| i.get("map"))
        .cloned();
    assert_eq!(map.unwrap()["elem"].as_array().unwrap().len(), 20);
}

/// Removing containers and networks removes every element they added.
#[test]
fn removal_leaves_no_elements_behind() {
    let b = B::new("ruleset-leaks");
    let run = |s: &str| b.sh(s);
    b.sleeper("first", "");
    b.ok("rm -f first");
    // IPv6 forwarding, once berth turned it on, stays on with its routing
    // guard (a host change, undone by `system reset`).
    b.ok("network create --ipv6 --subnet fd00:b0a7:4::/64 n0");
    b.ok("network rm n0");
    let baseline = b.sh("nft list table inet berth; nft list table bridge berth");
    let (_, base) = counts(run, "inet");
    b.ok("network create --ipv6 --subnet fd00:b0a7:5::/64 -o com.docker.network.bridge.enable_icc=false n1");
    b.ok("network create --internal n2");
    b.ok("run -d --name c1 --network n1 -p 8100:80 -p 8101-8102:8101-8102/udp busybox sleep 3600");
    b.ok("run -d --name c2 --network n2 busybox sleep 3600");
    let (_, grown) = counts(run, "inet");
    assert!(
        grown >= base + 10,
        "networks and ports add elements: {base} -> {grown}"
    );
    b.ok("rm -f c1 c2");
    b.ok("network rm n1 n2");
    let after = b.sh("nft list table inet berth; nft list table bridge berth");
    assert_eq!(after, baseline);
}
