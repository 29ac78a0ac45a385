//! `berth trace` against real packets: for every pair of a small topology
//! (two networks, an enable_icc=false network, an internal network, a port
//! published on all addresses and one on 127.0.0.1, the outside world, the
//! host and a neighbour on the LAN) the trace's verdict is what a real
//! ping or TCP connect does, and a drop names the rule that decided it.

mod common;

use common::B;
use serde_json::Value;

/// What a real packet did: delivered, refused (curl exit 7), dropped
/// (ping: sent, no reply; curl: exit 28, timed out) or "no route" (ping:
/// sendto says the network is unreachable). Any other outcome (a probe
/// that could not run) is reported as such and matches no verdict.
fn real(b: &B, from: &str, dst: &str, port: Option<u64>) -> String {
    let cmd = match port {
        None => format!("busybox ping -c1 -W3 {dst}"),
        Some(p) => format!("curl -sS -o /dev/null -m 3 http://{dst}:{p}/"),
    };
    let out = match from {
        "host" => b.lab.sh(&cmd),
        "outside" => b.lab.in_ns("outside", &cmd),
        "neighbour" => b.lab.in_ns("neighbour", &cmd),
        c => b.berth(&format!("exec {c} {cmd}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = out.status.code();
    match (code, port) {
        (Some(0), _) => "delivered".into(),
        (Some(7), Some(_)) => "refused".into(),
        (Some(28), Some(_)) => "dropped".into(),
        (Some(1), None) if stdout.contains("1 packets transmitted, 0 packets received") => {
            "dropped".into()
        }
        (Some(1), None)
            if String::from_utf8_lossy(&out.stderr).contains("Network is unreachable") =>
        {
            "no route".into()
        }
        _ => format!(
            "a failed probe ({:?}: {}{})",
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

/// `berth trace --format json FROM TO`.
fn trace(b: &B, from: &str, to: &str) -> Value {
    let from = match from {
        "outside" => "198.51.100.1",
        "neighbour" => "198.51.100.3",
        f => f,
    };
    // A timeout wide enough for a loaded 2-core machine running many
    // traces at once (a late answer is not a drop).
    let out = b.ok(&format!("trace --format json --timeout 3 {from} {to}"));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// One pair: the trace's verdict, the real packet's, and the expected
/// reason (for drops and refusals).
fn check(b: &B, from: &str, to: &str, want: &str, why: &str) -> Option<String> {
    let t = trace(b, from, to);
    let dst = t["dst"].as_str().unwrap_or_default().to_string();
    let verdict = match t["verdict"].as_str().unwrap_or_default() {
        "no-answer" => "dropped",
        // Dropped before leaving: the sender has no route.
        "dropped" if t["rule"].as_str().unwrap_or_default().contains("no route") => "no route",
        v => v,
    };
    let got = real(b, from, &dst, t["port"].as_u64());
    let reason = format!("{} | {}", t["reason"], t["rule"]);
    let text = || serde_json::to_string_pretty(&t).unwrap_or_default();
    if verdict != got || got != want {
        return Some(format!(
            "{from} -> {to}: trace says {verdict}, a real packet was {got}, expected {want}\n{}",
            text()
        ));
    }
    if !reason.contains(why) {
        return Some(format!(
            "{from} -> {to}: the reason does not say {why:?}\n{}",
            text()
        ));
    }
    None
}

#[test]
fn trace_verdicts_match_real_packets() {
    let b = B::new("trace-matrix");
    b.lab.add_host("neighbour", &["198.51.100.3/24"]).unwrap();
    let www = b.lab.root().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "ok\n").unwrap();
    let www = www.display();
    let httpd = format!("-v {www}:{www}:ro busybox httpd -f -p 80 -h {www}");
    b.ok("network create --subnet 172.30.1.0/24 neta");
    b.ok("network create --subnet 172.30.2.0/24 netb");
    b.ok(
        "network create --subnet 172.30.3.0/24 -o com.docker.network.bridge.enable_icc=false noicc",
    );
    b.ok("network create --internal --subnet 192.0.2.0/24 inet");
    b.ok(&format!(
        "run -d --name web --network neta -p 8080:80 -p 127.0.0.1:8081:80 {httpd}"
    ));
    b.sleeper("a1", "--network neta");
    b.ok(&format!("run -d --name b1 --network netb {httpd}"));
    b.ok(&format!("run -d --name c1 --network noicc {httpd}"));
    b.sleeper("c2", "--network noicc");
    b.sleeper("i1", "--network inet");
    b.ok(&format!("run -d --name i2 --network inet {httpd}"));
    b.sh(&format!("busybox httpd -p 9090 -h {www}"));
    // moby#45610's attack: the neighbour routes 127.0.0.1 to the lab.
    b.lab.in_ns_ok(
        "neighbour",
        "sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1
ip route del 127.0.0.0/8 table local; ip route del 127.0.0.1 table local
ip route add 127.0.0.1/32 via 198.51.100.2 dev eth0 src 198.51.100.3",
    );
    b.lab.in_ns_ok("outside", &format!("busybox httpd -p 203.0.113.1:80 -h {www}; ip route add 172.30.0.0/16 via 198.51.100.2; ip route add 192.0.2.0/24 via 198.51.100.2"));
    assert!(b.eventually("curl -sf -m1 http://127.0.0.1:8080/ >/dev/null"));
    let pairs = [
        ("a1", "web", "delivered", ""),
        ("a1", "web:80", "delivered", ""),
        (
            "a1",
            "b1",
            "dropped",
            "networks are isolated from each other",
        ),
        ("a1", "b1:80", "dropped", "isolation: networks are isolated"),
        ("c2", "c1", "dropped", "enable_icc=false"),
        ("c2", "c1:80", "dropped", "enable_icc=false"),
        ("i1", "i2:80", "delivered", ""),
        ("i1", "203.0.113.1", "no route", "internal network inet"),
        ("outside", "i2:80", "dropped", "internal network inet"),
        ("a1", "203.0.113.1", "delivered", ""),
        ("a1", "203.0.113.1:80", "delivered", ""),
        ("a1", "host", "delivered", ""),
        ("a1", "host:9090", "delivered", ""),
        ("a1", "host:8080", "delivered", ""),
        ("b1", "host:8080", "delivered", ""),
        ("c2", "host:8080", "delivered", ""),
        ("host", "web:80", "delivered", ""),
        ("host", "host:8080", "delivered", ""),
        ("host", "host:8081", "delivered", ""),
        ("outside", "host:8080", "delivered", ""),
        (
            "outside",
            "web:80",
            "dropped",
            "no unsolicited inbound traffic",
        ),
        ("outside", "a1", "dropped", "no unsolicited inbound traffic"),
        ("neighbour", "host:8080", "delivered", ""),
        (
            "neighbour",
            "host:8081",
            "refused",
            "127.0.0.1-only binding",
        ),
        (
            "neighbour",
            "127.0.0.1:8081",
            "dropped",
            "127.0.0.1-only binding",
        ),
        ("neighbour", "host:9999", "refused", "not published"),
    ];
    // Eight pairs at a time: all at once, on two cores, answers come late.
    let failures: Vec<String> = pairs
        .chunks(8)
        .flat_map(|chunk| {
            std::thread::scope(|s| {
                let runs: Vec<_> = chunk
                    .iter()
                    .map(|&(f, t, want, why)| s.spawn(|| check(&b, f, t, want, why)))
                    .collect();
                runs.into_iter()
                    .filter_map(|r| r.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let tables = b.sh("nft list tables");
    assert!(
        !tables.contains("berth_trace"),
        "trace tables left behind:\n{tables}"
    );
    assert!(
        !b.sh("ip -o link").contains("btrace"),
        "injection links left behind"
    );
}

/// Under Docker's firewall the trace sees Docker's iptables-nft chains
/// too: with berth's accept rules gone, Docker's FORWARD policy of drop is
/// the deciding rule, even between two containers of one network (br_netfilter);
/// with them back, the packet passes. A trace table and an injection link
/// left by a trace that was killed are removed by the next trace.
#[test]
fn trace_sees_dockers_rules_and_cleans_up_after_killed_traces() {
    let b = B::new("trace-docker");
    b.lab.docker_like_firewall().unwrap();
    b.ok("network create --subnet 172.30.1.0/24 neta");
    b.sleeper("a1", "--network neta");
    b.sleeper("a2", "--network neta");
    b.sh("iptables -F DOCKER-USER; iptables -A DOCKER-USER -j RETURN");
    for (to, dst) in [
        ("203.0.113.1", "203.0.113.1".to_string()),
        ("a2", b.ip("a2", "neta")),
    ] {
        let t = trace(&b, "a1", to);
        assert_eq!(t["verdict"], "dropped", "{t:#}");
        assert_eq!(real(&b, "a1", &dst, None), "dropped");
        let reason = t["reason"].as_str().unwrap();
        assert!(
            reason.contains("the policy of ip filter FORWARD is drop"),
            "{t:#}"
        );
        assert!(reason.contains("berth system reconcile"), "{t:#}");
        let hops = t["hops"].to_string();
        assert!(
            hops.contains("ip filter FORWARD: `") && hops.contains("jump DOCKER-USER"),
            "{t:#}"
        );
    }
    b.ok("system reconcile");
    let t = trace(&b, "a1", "203.0.113.1");
    assert_eq!(t["verdict"], "delivered", "{t:#}");
    assert!(
        t["hops"].to_string().contains("ip filter DOCKER-USER: `"),
        "{t:#}"
    );
    // Left by a trace killed with SIGKILL (PID 4194000 is not running).
    b.sh("nft add table inet berth_trace_4194000; nft add table bridge berth_trace_4194000");
    b.sh("ip link add btrace3ffe50 type veth peer name btpeer3ffe50");
    trace(&b, "a1", "a2");
    let tables = b.sh("nft list tables");
    assert!(!tables.contains("berth_trace"), "{tables}");
    assert!(
        !b.sh("ip -o link").contains("btrace"),
        "stale injection link kept"
    );
}
