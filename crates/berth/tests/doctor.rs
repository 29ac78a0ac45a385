//! `berth doctor` in labs: a healthy host passes every check, and each
//! fault (made for real in the lab) is reported by its check with what to
//! do — and gone once that is done.

mod common;

use common::B;
use serde_json::Value;

/// The findings of `berth doctor --format json`, and whether it exited 0.
fn doctor(b: &B) -> (Vec<Value>, bool) {
    let out = b.berth("doctor --format json");
    let text = common::stdout(&out);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (v.as_array().unwrap().clone(), out.status.success())
}

fn show(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} -> {}",
                f["status"], f["check"], f["found"], f["fix"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts a finding of `check` with `status` whose text contains `found`
/// and whose fix contains `fix`.
fn reports(findings: &[Value], status: &str, check: &str, found: &str, fix: &str) {
    let hit = findings.iter().any(|f| {
        f["status"] == status
            && f["check"] == check
            && f["found"].as_str().unwrap_or("").contains(found)
            && f["fix"].as_str().unwrap_or("").contains(fix)
    });
    assert!(
        hit,
        "no {status} {check} '{found}' -> '{fix}' in:\n{}",
        show(findings)
    );
}

fn all_ok(b: &B, context: &str) {
    let (findings, ok) = doctor(b);
    assert!(
        ok && findings.iter().all(|f| f["status"] == "ok"),
        "{context}:\n{}",
        show(&findings)
    );
}

/// Docker's firewall, br_netfilter, networks, containers and published
/// ports, all in order: every check is ok and the exit status is 0; the
/// text form prints one line per finding.
#[test]
fn a_healthy_host_passes() {
    let b = B::new("doc-healthy");
    b.lab.docker_like_firewall().unwrap();
    b.ok("network create --subnet 192.0.2.0/24 neta");
    b.ok("network create --ipv6 -o com.docker.network.bridge.enable_icc=false netb");
    b.sleeper("a1", "--network neta -p 8080:80 -p 127.0.0.1:8081:81/udp");
    b.sleeper("b1", "--network netb");
    b.sleeper("d1", "");
    all_ok(&b, "healthy");
    let (findings, _) = doctor(&b);
    reports(&findings, "ok", "dns", "", ""); // "not applicable" until DNS networks exist
    reports(&findings, "ok", "forward-policy", "ip filter FORWARD", "");
    let text = b.ok("doctor");
    assert_eq!(text.lines().count(), findings.len(), "{text}");
    assert!(text.lines().all(|l| l.starts_with("ok ")), "{text}");
}

/// Forwarding turned off (IPv4, and IPv6 with an IPv6 network) fails with
/// the sysctl to set; the default route missing and a route overlapping a
/// network's subnet are warnings.
#[test]
fn forwarding_routes_and_subnets() {
    let b = B::new("doc-host");
    b.ok("network create --ipv6 --subnet 192.0.2.0/24 v6net");
    b.sh("sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0");
    let (f, ok) = doctor(&b);
    assert!(!ok, "a failing check exits 1");
    reports(
        &f,
        "fail",
        "forwarding",
        "net.ipv4.ip_forward=0",
        "sysctl -w net.ipv4.ip_forward=1",
    );
    reports(
        &f,
        "fail",
        "forwarding",
        "net.ipv6.conf.all.forwarding=0",
        "sysctl -w net.ipv6.conf.all.forwarding=1",
    );
    b.ok("system reconcile");
    b.sh("ip route del default; ip route add 192.0.2.0/25 via 198.51.100.1");
    let (f, ok) = doctor(&b);
    assert!(ok, "warnings only:\n{}", show(&f));
    reports(&f, "ok", "forwarding", "net.ipv4.ip_forward=1", "");
    reports(
        &f,
        "warn",
        "default-route",
        "no IPv4 default route",
        "ip route add default via",
    );
    reports(
        &f,
        "warn",
        "subnets",
        "192.0.2.0/24 of network v6net overlaps the route 192.0.2.0/25 via 198.51.100.1 dev uplink",
        "--subnet",
    );
    b.sh("ip route del 192.0.2.0/25; ip route add default via 198.51.100.1");
    all_ok(&b, "routes restored");
}

/// Docker's FORWARD policy of drop without berth's accept rules: the
/// forward-policy and (with bridge-nf-call-iptables=1) br-netfilter checks
/// fail until `berth system reconcile` puts them back.
#[test]
fn forward_drop_without_accept_rules() {
    let b = B::new("doc-forward");
    b.lab.docker_like_firewall().unwrap();
    b.ok("network create neta");
    let bridge =
        b.ok("network inspect -f '{{index .Options \"com.docker.network.bridge.name\"}}' neta");
    let bridge = bridge.trim();
    b.sh("iptables -F DOCKER-USER; iptables -A DOCKER-USER -j RETURN");
    let (f, _) = doctor(&b);
    reports(
        &f,
        "fail",
        "forward-policy",
        &format!("bridge {bridge} (network neta) are missing from ip filter DOCKER-USER"),
        "berth system reconcile",
    );
    reports(
        &f,
        "fail",
        "br-netfilter",
        "bridge-nf-call-iptables=1",
        "berth system reconcile",
    );
    b.ok("system reconcile");
    all_ok(&b, "after reconcile");
    b.sh("sysctl -qw net.bridge.bridge-nf-call-iptables=0; iptables -F DOCKER-USER");
    let (f, _) = doctor(&b);
    reports(
        &f,
        "fail",
        "forward-policy",
        "missing from ip filter DOCKER-USER",
        "berth system reconcile",
    );
    reports(&f, "ok", "br-netfilter", "bridge-nf-call-iptables=0", "");
}

/// A firewall reload: a flushed ruleset, a deleted rule, a lost map
/// element are each reported, and reconcile clears them.
#[test]
fn flushed_or_altered_ruleset() {
    let b = B::new("doc-ruleset");
    b.ok("network create neta");
    b.sleeper("web", "--network neta -p 8080:80");
    b.sh("nft flush ruleset");
    let (f, _) = doctor(&b);
    reports(
        &f,
        "fail",
        "ruleset",
        "table inet berth is missing",
        "berth system reconcile",
    );
    reports(
        &f,
        "fail",
        "ruleset",
        "table bridge berth is missing",
        "berth system reconcile",
    );
    b.ok("system reconcile");
    all_ok(&b, "after reconcile");
    let handle = b.sh("nft -a list chain inet berth forward | grep 'networks are isolated' | sed 's/.*# handle //'");
    b.sh(&format!(
        "nft delete rule inet berth forward handle {}",
        handle.trim()
    ));
    b.sh("nft delete element inet berth ports4 '{ 0.0.0.0/0 . tcp . 8080 }'");
    let (f, _) = doctor(&b);
    reports(
        &f,
        "fail",
        "ruleset",
        "rules missing or changed in chains forward 1 of 14, e.g. \"networks are isolated from each other\"",
        "berth system reconcile",
    );
    reports(
        &f,
        "fail",
        "ruleset",
        "ports4 lacks 1 element: 0.0.0.0/0 . tcp . 8080 : ",
        "berth system reconcile",
    );
    b.sh("nft add element inet berth bridges '{ \"br-stray\" }'");
    let (f, _) = doctor(&b);
    reports(
        &f,
        "warn",
        "ruleset",
        "bridges has 1 element the store does not know: br-stray",
        "berth system reconcile",
    );
    b.ok("system reconcile");
    all_ok(&b, "after the second reconcile");
}

/// Kernel objects: a leaked veth on a berth bridge, a container's veth
/// gone, a stray namespace pin, a deleted bridge.
#[test]
fn leaked_and_missing_kernel_objects() {
    let b = B::new("doc-objects");
    b.ok("network create neta");
    b.sleeper("web", "--network neta");
    let bridge =
        b.ok("network inspect -f '{{index .Options \"com.docker.network.bridge.name\"}}' neta");
    let bridge = bridge.trim().to_string();
    let veth = b.sh(&format!(
        "ip -o link show master {bridge} | awk -F': ' '{{print $2}}' | cut -d@ -f1"
    ));
    let veth = veth.trim().to_string();
    b.sh(&format!(
        "ip link add leak0 type veth peer name leak1; ip link set leak0 master {bridge}"
    ));
    let pin = b.lab.root().join("run/netns/0123456789abcdef");
    std::fs::write(&pin, "").unwrap();
    let (f, _) = doctor(&b);
    reports(
        &f,
        "warn",
        "links",
        &format!("leak0 is a port of berth's bridge {bridge}"),
        "ip link delete leak0",
    );
    reports(
        &f,
        "warn",
        "namespaces",
        "0123456789abcdef belongs to no container",
        &format!("rm {}", pin.display()),
    );
    b.sh(&format!(
        "ip link del leak0; rm {}; ip link del {veth}",
        pin.display()
    ));
    let (f, _) = doctor(&b);
    reports(
        &f,
        "fail",
        "links",
        &format!("container web: its eth0 on network neta is gone (host end {veth} missing)"),
        "berth stop web && berth start web",
    );
    b.ok("stop -t 0 web");
    b.ok("start web");
    all_ok(&b, "after restarting web");
    b.sh(&format!("ip link del {bridge}"));
    let (f, _) = doctor(&b);
    reports(
        &f,
        "fail",
        "links",
        &format!("bridge {bridge} of network neta is missing"),
        "berth system reconcile",
    );
    b.ok("system reconcile");
    all_ok(&b, "after reconcile");
}

/// DNS: not applicable without containers on DNS networks; with one, the
/// resolver must answer and listen; killed, it fails until reconcile
/// starts it again.
#[test]
fn dns_resolver_down() {
    let b = B::new("doc-dns");
    b.ok("network create --subnet 192.0.2.0/24 neta");
    let (f, _) = doctor(&b);
    reports(&f, "ok", "dns", "not applicable", "");
    b.sleeper("web", "--network neta");
    let (f, _) = doctor(&b);
    reports(&f, "ok", "dns", "the resolver answers", "");
    let dir = b.lab.root().join("run/dns");
    let pid = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    // The watchdog first, or it starts the resolver again.
    b.sh(&format!(
        "kill -9 {}; kill -9 {}",
        pid("watchdog.pid"),
        pid("resolver.pid")
    ));
    assert!(b.eventually(&format!("! kill -0 {} 2>/dev/null", pid("resolver.pid"))));
    let (f, ok) = doctor(&b);
    assert!(!ok);
    reports(
        &f,
        "fail",
        "dns",
        "the DNS resolver does not answer",
        "berth system reconcile",
    );
    b.ok("system reconcile");
    all_ok(&b, "after reconcile");
}
