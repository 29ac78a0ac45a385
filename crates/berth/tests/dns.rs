//! Name resolution with berth's embedded DNS, Docker's rules: containers on
//! user-defined networks find each other by name; the default bridge has no
//! container names; everything else is forwarded upstream. A name that must
//! not resolve is asserted to get NXDOMAIN (the stub upstream's answer to
//! any name it does not know), next to a name that resolves in the same
//! state: a dead resolver or a failed `exec` fails the test.

mod common;
mod netutil;
use common::B;
use netutil::{ping, Ping};

const STUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stub_dns.py");
const DNSQ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dnsq.py");

/// NXDOMAIN, as `ask` prints it.
const NXDOMAIN: &str = "rcode=3 answers=";

/// A lab whose host resolver is a stub DNS server in `outside` (so nothing
/// is ever sent to a real resolver): the lab's private mount namespace gets
/// its own /etc/resolv.conf.
fn lab(name: &str) -> B {
    let b = B::new(name);
    let conf = b.lab.root().join("resolv.conf");
    std::fs::write(&conf, "nameserver 198.51.100.1\n").unwrap();
    b.sh(&format!("mount --bind {} /etc/resolv.conf", conf.display()));
    // setsid: the stub must outlive the script that starts it.
    b.lab.in_ns_ok(
        "outside",
        &format!("setsid python3 {STUB} 198.51.100.1 53 </dev/null >/dev/null 2>&1 &"),
    );
    assert!(
        b.eventually("timeout 2 busybox nslookup ready.example.test 198.51.100.1"),
        "the stub upstream did not start"
    );
    b
}

fn resolves(b: &B, from: &str, name: &str) -> bool {
    b.berth(&format!("exec {from} busybox nslookup {name}"))
        .status
        .success()
}

/// True when a ping by name or address is answered, false when it is
/// dropped; panics on anything else (a name that does not resolve, a
/// failed exec).
fn pings(b: &B, from: &str, target: &str) -> bool {
    match ping(b, from, target) {
        Ping::Answered => true,
        Ping::Dropped => false,
        other => panic!("{from} -> {target}: {other:?}"),
    }
}

/// One A query from container `from` to the resolver on network `net`'s
/// gateway, with the tests' raw client: "rcode=N answers=A,B", "timeout"
/// (nothing within 10 s: far beyond the resolver's 2 s upstream timeout)
/// or "closed".
fn ask(b: &B, from: &str, net: &str, name: &str) -> String {
    let gw = b.ok(&format!(
        "network inspect -f '{{{{(index .IPAM.Config 0).Gateway}}}}' {net}"
    ));
    b.sh(&format!(
        "ip netns exec {from} python3 {DNSQ} query {} {name} 10",
        gw.trim()
    ))
    .trim()
    .to_string()
}

/// `ask`'s answer for a name that resolves to `ip` alone.
fn answer(ip: &str) -> String {
    format!("rcode=0 answers={ip}")
}

/// Docker's "networking with standalone containers" tutorial, user-defined
/// bridge part: alpine1, alpine2 and alpine4 on alpine-net, alpine3 and
/// alpine4 on the default bridge.
#[test]
fn docker_standalone_networking_tutorial() {
    let b = lab("dns-tutorial");
    b.ok("network create --driver bridge alpine-net");
    b.sleeper("alpine1", "--network alpine-net");
    b.sleeper("alpine2", "--network alpine-net");
    b.sleeper("alpine3", "");
    b.sleeper("alpine4", "--network alpine-net");
    b.ok("network connect bridge alpine4");
    let ip3 = b.ip("alpine3", "bridge");
    let ip1 = b.ip("alpine1", "alpine-net");
    // From alpine1: names on alpine-net resolve; alpine3 (default bridge only) does not.
    for target in ["alpine2", "alpine4", "alpine1"] {
        assert!(pings(&b, "alpine1", target), "alpine1 -> {target}");
    }
    let ip2 = b.ip("alpine2", "alpine-net");
    assert_eq!(ask(&b, "alpine1", "alpine-net", "alpine2"), answer(&ip2));
    assert_eq!(
        ask(&b, "alpine1", "alpine-net", "alpine3"),
        NXDOMAIN,
        "alpine3 is not resolvable from alpine-net"
    );
    assert!(
        !pings(&b, "alpine1", &ip3),
        "alpine-net cannot reach the default bridge by address"
    );
    // From alpine4 (both networks): alpine-net names resolve; alpine3 only by address.
    assert!(pings(&b, "alpine4", "alpine1") && pings(&b, "alpine4", "alpine2"));
    assert_eq!(ask(&b, "alpine4", "alpine-net", "alpine1"), answer(&ip1));
    assert_eq!(
        ask(&b, "alpine4", "alpine-net", "alpine3"),
        NXDOMAIN,
        "no names on the default bridge"
    );
    assert!(
        pings(&b, "alpine4", &ip3),
        "alpine4 shares the default bridge with alpine3"
    );
    assert!(pings(&b, "alpine4", &ip1));
    // Everyone reaches the outside.
    for c in ["alpine1", "alpine2", "alpine3", "alpine4"] {
        assert!(pings(&b, c, "203.0.113.1"), "{c} -> outside");
    }
    // The default bridge's resolv.conf is the host's; on alpine-net it is the gateway.
    let gw = b.ok("network inspect -f '{{(index .IPAM.Config 0).Gateway}}' alpine-net");
    assert!(b
        .ok("exec alpine1 cat /etc/resolv.conf")
        .contains(&format!("nameserver {}", gw.trim())));
    assert!(b
        .ok("exec alpine3 cat /etc/resolv.conf")
        .contains("nameserver 198.51.100.1"));
}

/// Aliases, short ids, name.network, PTR, and no names across networks.
#[test]
fn names_aliases_ids_and_network_scoping() {
    let b = lab("dns-scope");
    b.ok("network create neta");
    b.ok("network create netb");
    // The resolver this first container starts leaves 1.5 s after its last
    // name is gone (BERTH_DNS_IDLE_EXIT; 30 s by default): see the end.
    let web = b
        .sh(&format!(
            "BERTH_DNS_IDLE_EXIT=1.5 {} run -d --name web --network neta --network-alias www busybox sleep 3600",
            common::BERTH
        ))
        .trim()
        .to_string();
    b.sleeper("client", "--network neta");
    b.sleeper("stranger", "--network netb");
    let ip = b.ip("web", "neta");
    for name in ["web", "www", &web[..12], "web.neta", "WEB"] {
        let out = b.ok(&format!("exec client busybox nslookup {name}"));
        assert!(out.contains(&ip), "{name}: {out}");
    }
    let ptr = b.ok(&format!("exec client busybox nslookup {ip}"));
    assert!(ptr.contains("web"), "PTR: {ptr}");
    // netb cannot see neta's names (the query is forwarded: the stub says
    // NXDOMAIN), while its own name resolves there.
    let ip_s = b.ip("stranger", "netb");
    assert_eq!(ask(&b, "stranger", "netb", "stranger"), answer(&ip_s));
    for name in ["web.neta", "web", "www"] {
        assert_eq!(
            ask(&b, "stranger", "netb", name),
            NXDOMAIN,
            "{name} from netb: forwarded, NXDOMAIN (no leak across networks)"
        );
    }
    // Connecting makes names visible at once; disconnecting hides them again.
    b.ok("network connect neta stranger");
    assert!(
        resolves(&b, "stranger", "web.neta")
            && b.ok("exec stranger busybox nslookup web").contains(&ip)
    );
    assert_eq!(ask(&b, "stranger", "neta", "web"), answer(&ip));
    b.ok("network disconnect neta stranger");
    assert_eq!(ask(&b, "stranger", "netb", "web"), NXDOMAIN);
    assert_eq!(ask(&b, "stranger", "netb", "stranger"), answer(&ip_s));
    // A removed container stops resolving on the next query.
    let ip_c = b.ip("client", "neta");
    b.ok("rm -f web");
    assert_eq!(ask(&b, "client", "neta", "web"), NXDOMAIN);
    assert_eq!(ask(&b, "client", "neta", "www"), NXDOMAIN);
    assert_eq!(ask(&b, "client", "neta", "client"), answer(&ip_c));
    // The last name gone, the resolver stays a while (nobody waits for it
    // to stop, nor the next container for it to start), then leaves on
    // its own, and its PID file with it.
    let pid_file = b.lab.root().join("run/dns/resolver.pid");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let running = format!("grep -q __dns /proc/{}/cmdline", pid.trim());
    let all = b.ok("ps -aq");
    assert!(!all.trim().is_empty());
    b.ok(&format!(
        "rm -f {}",
        all.split_whitespace().collect::<Vec<_>>().join(" ")
    ));
    assert!(b.try_sh(&running), "the resolver left at once");
    let gone = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        !pid_file.exists() && !b.try_sh(&running)
    });
    assert!(gone, "the idle resolver did not leave within 10 s");
    assert!(!b.lab.root().join("run/dns/control.sock").exists());
    // The next container on a DNS network starts a new one.
    b.sleeper("again", "--network neta");
    b.sleeper("again2", "--network neta");
    let ip_a = b.ip("again", "neta");
    assert_eq!(ask(&b, "again2", "neta", "again"), answer(&ip_a));
    assert_ne!(std::fs::read_to_string(&pid_file).unwrap(), pid);
}

/// Everything else is forwarded: answers, NXDOMAIN and SERVFAIL pass
/// through, a silent upstream gives SERVFAIL (not a hang); --dns chooses the
/// upstream; wget by name works.
#[test]
fn forwarding_and_upstreams() {
    let b = lab("dns-forward");
    b.ok("network create fwd");
    b.sleeper("c", "--network fwd");
    let out = b.ok("exec c busybox nslookup www.example.test");
    assert!(out.contains("203.0.113.7"), "{out}");
    let nx = b.berth("exec c busybox nslookup host.nx.test");
    assert!(
        common::stdout(&nx).contains("NXDOMAIN")
            || String::from_utf8_lossy(&nx.stderr).contains("NXDOMAIN"),
        "{nx:?}"
    );
    let sf = b.berth("exec c busybox nslookup host.fail.test");
    let text = format!(
        "{}{}",
        common::stdout(&sf),
        String::from_utf8_lossy(&sf.stderr)
    );
    assert!(text.contains("SERVFAIL"), "{text}");
    // A silent upstream: SERVFAIL after the resolver's own timeout, not silence.
    assert_eq!(
        ask(&b, "c", "fwd", "host.slow.test"),
        "rcode=2 answers=",
        "a silent upstream must not hang"
    );
    // --dns points one container at another upstream (nothing listens
    // there: SERVFAIL), while the others keep the host's.
    b.sleeper("d", "--network fwd --dns 198.51.100.9");
    assert_eq!(
        ask(&b, "d", "fwd", "www.example.test"),
        "rcode=2 answers=",
        "d must not use the host's upstream"
    );
    assert_eq!(
        ask(&b, "c", "fwd", "www.example.test"),
        answer("203.0.113.7")
    );
    // wget by name through the embedded DNS.
    b.ok("run -d --name site --network fwd busybox sh -c 'mkdir -p /tmp/w && echo named > /tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w'");
    assert!(b.eventually(&format!(
        "{} exec c sh -c 'timeout 3 busybox wget -q -O - http://site/ | grep -q named'",
        common::BERTH
    )));
}

/// The default bridge: no container names, but the container's own name and
/// --add-host entries are in /etc/hosts; --dns/--dns-search/--dns-option
/// land in resolv.conf.
#[test]
fn default_bridge_hosts_and_resolv_conf() {
    let b = lab("dns-default");
    b.sleeper(
        "a",
        "--hostname alpha --add-host db:192.0.2.10 --add-host gw:host-gateway",
    );
    b.sleeper("x", "");
    let hosts = b.ok("exec a cat /etc/hosts");
    assert!(
        hosts.contains("alpha") && hosts.contains("192.0.2.10\tdb"),
        "{hosts}"
    );
    let gw = b.ok("network inspect -f '{{(index .IPAM.Config 0).Gateway}}' bridge");
    assert!(hosts.contains(&format!("{}\tgw", gw.trim())), "{hosts}");
    let out = b.berth("exec a busybox ping -c1 -W1 x");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad address"),
        "{out:?}"
    );
    b.sleeper(
        "r",
        "--dns 198.51.100.1 --dns-search example.test --dns-option ndots:2",
    );
    let conf = b.ok("exec r cat /etc/resolv.conf");
    assert_eq!(
        conf,
        "nameserver 198.51.100.1\nsearch example.test\noptions ndots:2\n"
    );
    assert!(b
        .fails("run -d --dns not-an-ip busybox true")
        .contains("not-an-ip"));
    assert!(b
        .fails("run -d --add-host nocolon busybox true")
        .contains("nocolon"));
}

/// The resolver is supervised: killed, it comes back by itself (watchdog),
/// and `system info` shows it.
#[test]
fn resolver_restarts_when_killed() {
    let b = lab("dns-kill");
    b.ok("network create k");
    b.sleeper("a", "--network k");
    b.sleeper("z", "--network k");
    assert!(resolves(&b, "a", "z"));
    let info = b.ok("system info --format json");
    assert!(info.contains("\"running\":true"), "{info}");
    let pid = std::fs::read_to_string(b.lab.root().join("run/dns/resolver.pid")).unwrap();
    b.sh(&format!("kill -9 {}", pid.trim()));
    assert!(
        b.eventually(&format!("{} exec a busybox nslookup z", common::BERTH)),
        "the watchdog restarts the resolver"
    );
    let new_pid = std::fs::read_to_string(b.lab.root().join("run/dns/resolver.pid")).unwrap();
    assert_ne!(pid, new_pid);
    // Watchdog and resolver both killed: the next berth command brings them back.
    let wd = std::fs::read_to_string(b.lab.root().join("run/dns/watchdog.pid")).unwrap();
    b.sh(&format!("kill -9 {} {}", wd.trim(), new_pid.trim()));
    let run = b.berth("run -d --name y --network k busybox sleep 3600");
    assert!(run.status.success(), "{run:?}");
    // Under a loaded CI machine the first query may time out: retry a while.
    let ok = (0..40).any(|_| {
        resolves(&b, "a", "y") || {
            std::thread::sleep(std::time::Duration::from_millis(250));
            false
        }
    });
    assert!(
        ok,
        "y never resolved; run printed {}",
        String::from_utf8_lossy(&run.stderr)
    );
}
