//! The embedded DNS is not an open forwarder: it answers only the
//! containers of the network whose gateway got the query (REFUSED for
//! anyone else, and port 53 on gateways is dropped for traffic that does
//! not come from a berth bridge), never forwards for containers confined to
//! `--internal` networks, and one container flooding it cannot starve the
//! others. Each negative outcome is asserted exactly (REFUSED, SERVFAIL, a
//! timeout for a drop) next to a positive one in the same state.

mod common;
use common::B;

const STUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stub_dns.py");
const DNSQ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dnsq.py");

/// A lab whose host resolver is a stub DNS server in `outside` that logs
/// every name it is asked; two networks on TEST-NET subnets.
fn lab(name: &str) -> B {
    let b = B::new(name);
    let conf = b.lab.root().join("resolv.conf");
    std::fs::write(&conf, "nameserver 198.51.100.1\n").unwrap();
    b.sh(&format!("mount --bind {} /etc/resolv.conf", conf.display()));
    let log = b.lab.root().join("upstream.log");
    b.lab.in_ns_ok(
        "outside",
        &format!(
            "setsid python3 {STUB} 198.51.100.1 53 {} </dev/null >/dev/null 2>&1 &",
            log.display()
        ),
    );
    assert!(
        b.eventually("timeout 2 busybox nslookup ready.example.test 198.51.100.1"),
        "the stub upstream did not start"
    );
    b.ok("network create --subnet 192.0.2.0/26 neta");
    b.ok("network create --subnet 192.0.2.64/26 netb");
    b
}

/// The names the upstream was asked so far.
fn upstream_saw(b: &B, name: &str) -> bool {
    std::fs::read_to_string(b.lab.root().join("upstream.log"))
        .unwrap_or_default()
        .lines()
        .any(|l| l == name)
}

/// One query from network namespace `ns` (a container's name, or a lab
/// host's) to `server`: "rcode=N answers=…", "timeout" or "closed".
fn ask(b: &B, ns: &str, server: &str, name: &str, how: &str) -> String {
    b.sh(&format!(
        "ip netns exec {ns} python3 {DNSQ} query {server} {name} {how}"
    ))
    .trim()
    .to_string()
}

fn gateway(b: &B, net: &str) -> String {
    b.ok(&format!(
        "network inspect -f '{{{{(index .IPAM.Config 0).Gateway}}}}' {net}"
    ))
    .trim()
    .to_string()
}

#[test]
fn strangers_are_refused_and_the_lan_is_dropped() {
    let b = lab("dnsg-open");
    b.sleeper("a", "--network neta");
    b.sleeper("other", "--network netb");
    let (gw_a, gw_b) = (gateway(&b, "neta"), gateway(&b, "netb"));
    let ip_a = b.ip("a", "neta");
    // A container of neta, at neta's gateway: local and forwarded names.
    assert_eq!(
        ask(&b, "a", &gw_a, "a", ""),
        format!("rcode=0 answers={ip_a}")
    );
    assert_eq!(
        ask(&b, "a", &gw_a, "www.example.test", "tcp"),
        "rcode=0 answers=203.0.113.7"
    );
    // A container of netb at neta's gateway (its bridge is berth's, so the
    // firewall lets it through): the resolver refuses, UDP and TCP, local
    // and outside names alike, and nothing reaches the upstream.
    assert_eq!(ask(&b, "other", &gw_a, "a", ""), "rcode=5 answers=");
    assert_eq!(
        ask(&b, "other", &gw_a, "leak1.example.test", ""),
        "rcode=5 answers="
    );
    assert_eq!(
        ask(&b, "other", &gw_a, "leak2.example.test", "tcp"),
        "closed"
    );
    assert!(!upstream_saw(&b, "leak1.example.test") && !upstream_saw(&b, "leak2.example.test"));
    // At its own gateway, the same container is served.
    assert_eq!(
        ask(&b, "other", &gw_b, "www.example.test", ""),
        "rcode=0 answers=203.0.113.7"
    );

    // A LAN neighbour with a route to neta through the lab: it reaches the
    // gateway (ping), but port 53 there is dropped by berth's input chain.
    b.lab.add_host("neighbour", &["198.51.100.3/24"]).unwrap();
    b.lab
        .in_ns_ok("neighbour", "ip route add 192.0.2.0/24 via 198.51.100.2");
    assert!(b.try_sh(&format!("ip netns exec neighbour ping -c1 -W2 {gw_a}")));
    assert_eq!(
        ask(&b, "neighbour", &gw_a, "open1.example.test", "1"),
        "timeout"
    );
    assert_eq!(
        ask(&b, "neighbour", &gw_a, "open2.example.test", "tcp 1"),
        "timeout"
    );
    // Without that rule the resolver itself refuses it.
    b.sh("nft flush chain inet berth input");
    assert_eq!(
        ask(&b, "neighbour", &gw_a, "open3.example.test", ""),
        "rcode=5 answers="
    );
    assert_eq!(
        ask(&b, "neighbour", &gw_a, "open4.example.test", "tcp"),
        "closed"
    );
    assert!((1..=4).all(|i| !upstream_saw(&b, &format!("open{i}.example.test"))));
    // berth notices the lost rules, and reconcile puts them back.
    let doctor = common::stdout(&b.berth("doctor"));
    assert!(doctor.contains("chains input"), "{doctor}");
    b.ok("system reconcile");
    assert_eq!(
        ask(&b, "neighbour", &gw_a, "open5.example.test", "1"),
        "timeout"
    );
    assert_eq!(
        ask(&b, "a", &gw_a, "a", ""),
        format!("rcode=0 answers={ip_a}")
    );
}

#[test]
fn internal_networks_do_not_forward() {
    let b = lab("dnsg-internal");
    b.ok("network create --internal --subnet 192.0.2.128/26 inner");
    b.sleeper("i1", "--network inner");
    b.sleeper("i2", "--network inner");
    let gw = gateway(&b, "inner");
    let ip2 = b.ip("i2", "inner");
    // Names on the internal network resolve ...
    assert_eq!(
        ask(&b, "i1", &gw, "i2", ""),
        format!("rcode=0 answers={ip2}")
    );
    // ... outside names do not leave it: SERVFAIL, nothing upstream.
    assert_eq!(
        ask(&b, "i1", &gw, "exfil1.example.test", ""),
        "rcode=2 answers="
    );
    assert_eq!(
        ask(&b, "i1", &gw, "exfil2.example.test", "tcp"),
        "rcode=2 answers="
    );
    let out = b.berth("exec i1 busybox nslookup exfil3.example.test");
    assert!(!out.status.success(), "{out:?}");
    assert!((1..=3).all(|i| !upstream_saw(&b, &format!("exfil{i}.example.test"))));
    // A container on the internal network and on a normal one reaches out
    // anyway: it is forwarded, at either gateway (Docker's rule).
    b.sleeper("both", "--network inner");
    b.ok("network connect neta both");
    assert_eq!(
        ask(&b, "both", &gw, "out1.example.test", ""),
        "rcode=0 answers=203.0.113.7"
    );
    // So is one on an internal network and the default bridge.
    b.sleeper("bridged", "--network inner");
    b.ok("network connect bridge bridged");
    assert_eq!(
        ask(&b, "bridged", &gw, "out2.example.test", ""),
        "rcode=0 answers=203.0.113.7"
    );
    assert!(upstream_saw(&b, "out1.example.test") && upstream_saw(&b, "out2.example.test"));
    // i1 is still confined.
    assert_eq!(
        ask(&b, "i1", &gw, "exfil4.example.test", ""),
        "rcode=2 answers="
    );
    assert!(!upstream_saw(&b, "exfil4.example.test"));
}

#[test]
fn one_container_cannot_starve_the_others() {
    let b = lab("dnsg-flood");
    b.sleeper("flooder", "--network neta");
    b.sleeper("peer", "--network neta");
    b.sleeper("far", "--network netb");
    let (gw_a, gw_b) = (gateway(&b, "neta"), gateway(&b, "netb"));
    // The flooder: 2000 forwarded queries/s that the upstream never
    // answers (2 s each in flight) and 300 idle TCP connections, for 12 s.
    // Caps that were global (512 forwards, 256 connections) would be gone.
    b.sh(&format!(
        "ip netns exec flooder setsid python3 {DNSQ} flood {gw_a} 12 2000 300 \
         </dev/null >/dev/null 2>&1 &"
    ));
    std::thread::sleep(std::time::Duration::from_secs(3));
    // Others are served meanwhile, over UDP and TCP: on another network
    // and on the flooder's own.
    for (who, gw) in [("far", &gw_b), ("peer", &gw_a)] {
        for how in ["", "tcp"] {
            assert_eq!(
                ask(&b, who, gw, "www.example.test", how),
                "rcode=0 answers=203.0.113.7",
                "{who} {how}"
            );
        }
    }
    let ip_peer = b.ip("peer", "neta");
    assert_eq!(
        ask(&b, "far", &gw_b, "far", ""),
        format!("rcode=0 answers={}", b.ip("far", "netb"))
    );
    // The flooder's local names still answer (no forward needed); its
    // exact caps are checked in berth-dns's tests/limits.rs.
    assert_eq!(
        ask(&b, "flooder", &gw_a, "peer", ""),
        format!("rcode=0 answers={ip_peer}")
    );
}

/// `berth start` puts the container in the resolver's snapshot before its
/// process runs (a first query right at start is answered, not refused):
/// killed just before the process would start, its network is up and its
/// address is served.
#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn a_starting_container_is_served_before_its_process_runs() {
    use std::os::unix::process::ExitStatusExt;
    let b = lab("dnsg-start");
    b.sleeper("s", "--network neta");
    b.ok("stop -t 0 s");
    let out = b.lab.sh(&format!(
        "BERTH_FAILPOINT=start:prepared exec {} start s",
        common::BERTH
    ));
    assert_eq!(out.status.signal(), Some(9), "the failpoint start:prepared");
    let gw = gateway(&b, "neta");
    assert_eq!(
        ask(&b, "s", &gw, "first.example.test", ""),
        "rcode=0 answers=203.0.113.7"
    );
    b.ok("start s");
    assert_eq!(
        ask(&b, "s", &gw, "s", ""),
        format!("rcode=0 answers={}", b.ip("s", "neta"))
    );
}

/// A resolver of an older berth (it knows only `reload`, not `reload 2`),
/// still running after an upgrade, is replaced on the next change: the new
/// rules are not left waiting for a restart.
#[test]
fn an_older_resolver_is_replaced() {
    let b = lab("dnsg-upgrade");
    let dir = b.lab.root().join("run/dns");
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("control.sock");
    // Its command line names `__dns`, as berth's resolver's does.
    let old = "import socket,sys\n\
               s=socket.socket(socket.AF_UNIX);s.bind(sys.argv[2]);s.listen(8)\n\
               while True:\n c=s.accept()[0];f=c.makefile('rw')\n for l in f:\n  \
               f.write('ok 1\\n' if l.strip() in ('reload','ping') else 'err unknown request\\n');f.flush()\n";
    std::fs::write(b.lab.root().join("old.py"), old).unwrap();
    b.sh(&format!(
        "setsid python3 {} __dns {} </dev/null >/dev/null 2>&1 & echo $! > {}",
        b.lab.root().join("old.py").display(),
        sock.display(),
        dir.join("resolver.pid").display()
    ));
    assert!(b.eventually(&format!("test -S {}", sock.display())));
    let old_pid = std::fs::read_to_string(dir.join("resolver.pid")).unwrap();
    b.sleeper("a", "--network neta");
    let gw = gateway(&b, "neta");
    assert_eq!(
        ask(&b, "a", &gw, "a", ""),
        format!("rcode=0 answers={}", b.ip("a", "neta"))
    );
    // Gone (or a zombie: no command line any more).
    assert!(
        !b.try_sh(&format!("grep -q __dns /proc/{}/cmdline", old_pid.trim())),
        "the old resolver still runs"
    );
    let new_pid = std::fs::read_to_string(dir.join("resolver.pid")).unwrap();
    assert_ne!(old_pid, new_pid);
}
