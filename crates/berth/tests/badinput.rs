//! Bad input: every refused command prints one line naming the bad value
//! and what to do instead, exits non-zero, and changes nothing — neither
//! the lab's network configuration (links, addresses, routes, nftables,
//! namespaces) nor berth's lists of containers and networks.

mod common;
use common::{B, BERTH};

/// What a refused command must leave as it was.
#[derive(Debug, PartialEq)]
struct World {
    net: berth_lab::Snapshot,
    containers: String,
    networks: String,
    pins: Vec<String>,
}

/// The lab's state once the kernel has settled (link-local addresses and
/// carrier states of just-created links arrive asynchronously).
fn world(b: &B) -> World {
    let mut last = read(b);
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let now = read(b);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

fn read(b: &B) -> World {
    World {
        net: b.lab.snapshot().unwrap(),
        containers: b.ok("ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}'"),
        networks: b.ok("network ls --no-trunc"),
        pins: common::Kernel::read(b).netns,
    }
}

/// Runs `berth ARGS` expecting a one-line refusal containing every piece
/// of `wants`, exit status `code`, and no change at all.
fn refused_with(b: &B, script: &str, code: i32, wants: &[&str]) {
    let before = world(b);
    let out = b.lab.sh(script);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(out.status.code(), Some(code), "{script}: {err}");
    assert_eq!(err.lines().count(), 1, "{script}: not one line:\n{err}");
    for w in wants {
        assert!(err.contains(w), "{script}: {err:?} does not mention {w:?}");
    }
    let after = world(b);
    before.net.assert_same(&after.net);
    assert_eq!(before, after, "{script} changed berth's state");
}

fn refused(b: &B, args: &str, wants: &[&str]) {
    let code = if args.starts_with("run ") { 125 } else { 1 };
    refused_with(b, &format!("{BERTH} {args}"), code, wants);
}

/// A lab with network `appnet` (192.0.2.0/24) and container c1 on it.
fn lab(name: &str) -> B {
    let b = B::new(name);
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    b.sleeper("c1", "--network appnet");
    b
}

#[test]
fn bad_subnets_and_gateways() {
    let b = lab("bad-subnet");
    let create = "network create";
    for (args, wants) in [
        ("--subnet 10.0.0.0/33 n", &["10.0.0.0/33", "CIDR"][..]),
        ("--subnet banana n", &["banana", "CIDR"]),
        ("--subnet 10.0.0.1/24 n", &["10.0.0.1/24", "10.0.0.0/24"]),
        (
            "--subnet 192.0.2.128/25 n",
            &["192.0.2.128/25", "appnet", "another --subnet"],
        ),
        (
            "--subnet 198.51.100.0/25 n",
            &["198.51.100.0/25", "routed", "another --subnet"],
        ),
        (
            "--subnet 10.5.0.0/24 --gateway 10.6.0.1 n",
            &["10.6.0.1", "10.5.0.0/24", "inside"],
        ),
    ] {
        refused(&b, &format!("{create} {args}"), wants);
    }
}

/// The host's own links and routes, looked up one by one (not listed):
/// a bridge name the host uses, a subnet inside a routed prefix and one
/// holding a more specific route are each refused with their own error;
/// a route of another table and a free name are not in the way.
#[test]
fn host_links_and_routes() {
    let b = lab("bad-host");
    b.sh("ip route add 203.0.113.64/26 via 198.51.100.1 && ip route add 10.77.0.0/16 via 198.51.100.1 table 100 && ip -6 route add 2001:db8:77::/48 dev uplink");
    for (args, wants) in [
        (
            "-o com.docker.network.bridge.name=uplink n",
            &["\"uplink\"", "already in use on this host"][..],
        ),
        (
            "--subnet 203.0.113.0/24 n",
            &["203.0.113.0/24", "203.0.113.64/26", "routed"],
        ),
        (
            "--subnet 198.51.100.128/25 n",
            &["198.51.100.128/25", "198.51.100.0/24", "routed"],
        ),
        // The host's IPv6 routes are read when an IPv6 subnet is asked.
        (
            "--ipv6 --subnet 10.78.0.0/24 --subnet 2001:db8:77:1::/64 n",
            &["2001:db8:77:1::/64", "2001:db8:77::/48", "routed"],
        ),
    ] {
        refused(&b, &format!("network create {args}"), wants);
    }
    b.ok("network create --subnet 10.77.1.0/24 -o com.docker.network.bridge.name=ok77 ok77");
    b.sh("ip -j link show ok77 | grep -q '\"ifname\":\"ok77\"'");
}

#[test]
fn unknown_and_duplicate_names() {
    let b = lab("bad-names");
    refused(
        &b,
        "run --network nope busybox true",
        &["nope", "network create"],
    );
    refused(
        &b,
        "run -d --network nope busybox sleep 9",
        &["nope", "network create"],
    );
    refused(&b, "rm nope", &["nope", "ps -a"]);
    refused(&b, "exec nope true", &["nope", "ps -a"]);
    refused(&b, "run -d --name c1 busybox sleep 9", &["c1", "rm -f c1"]);
    refused(&b, "network create appnet", &["appnet", "another name"]);
    refused(
        &b,
        "network create -o com.docker.network.bridge.name=averyveryverylongname n",
        &["averyveryverylongname", "shorter"],
    );
}

#[test]
fn bad_ports() {
    let b = lab("bad-ports");
    refused(
        &b,
        "run -d -p 70000:80 busybox sleep 9",
        &["70000", "1 to 65535"],
    );
    refused(&b, "run -d -p 80:http busybox sleep 9", &["http"]);
    // A host process holds 8080; berth's own container holds 8081.
    b.sh("busybox httpd -p 8080 -h /etc");
    b.ok("run -d --name w -p 8081:80 busybox httpd -f -p 80 -h /etc");
    refused(
        &b,
        "run -d -p 8080:80 busybox sleep 9",
        &["8080", "another host port"],
    );
    refused(&b, "run -d -p 8081:80 busybox sleep 9", &["8081"]);
    refused(
        &b,
        "run -d --network none -p 8082:80 busybox sleep 9",
        &["none", "-p"],
    );
}

#[test]
fn bad_addresses() {
    let b = lab("bad-ip");
    let c1 = b.ip("c1", "appnet");
    refused(
        &b,
        "run -d --network appnet --ip 10.9.9.9 busybox sleep 9",
        &["10.9.9.9", "192.0.2.0/24"],
    );
    refused(
        &b,
        &format!("run -d --network appnet --ip {c1} busybox sleep 9"),
        &[&c1, "another --ip"],
    );
    refused(
        &b,
        "run -d --network appnet --ip 192.0.2.1 busybox sleep 9",
        &["192.0.2.1", "gateway"],
    );
    refused(
        &b,
        "run -d --network appnet --ip banana busybox sleep 9",
        &["banana"],
    );
    refused(
        &b,
        "run -d --ip 172.17.0.9 busybox sleep 9",
        &["--ip", "bridge", "--subnet"],
    );
}

#[test]
fn networks_in_use_and_builtin() {
    let b = lab("bad-netrm");
    refused(
        &b,
        "network rm appnet",
        &["appnet", "c1", "network disconnect"],
    );
    refused(&b, "network rm bridge", &["bridge", "pre-defined"]);
    refused(&b, "network rm nope", &["nope", "network ls"]);
    refused(&b, "network create -d host h", &["host"]);
}

#[test]
fn non_root_is_refused_clearly() {
    let b = lab("bad-root");
    for cmd in [
        "network create n",
        "run -d busybox sleep 9",
        "rm -f c1",
        "network rm appnet",
    ] {
        for drop in [
            "setpriv --reuid=65534 --regid=65534 --clear-groups",
            "su nobody -s /bin/sh -c",
        ] {
            let script = if drop.starts_with("su") {
                format!("{drop} 'BERTH_ROOT=$BERTH_ROOT {BERTH} {cmd}'")
            } else {
                format!("{drop} {BERTH} {cmd}")
            };
            let code = if cmd.starts_with("run") { 125 } else { 1 };
            refused_with(&b, &script, code, &["root", "sudo"]);
        }
    }
}

#[test]
fn unknown_options_before_the_command_are_refused() {
    let b = lab("bad-opts");
    // Docker's flags berth does not have yet are refused, never taken for
    // the command.
    refused(
        &b,
        "run --cpus 2 busybox true",
        &["--cpus", "unknown option"],
    );
    refused(
        &b,
        "run --ulimit nofile=9 busybox true",
        &["--ulimit", "unknown option"],
    );
    // Flags berth has check their values first.
    refused(
        &b,
        "run --sysctl a=b busybox true",
        &["a=b", "only network sysctls"],
    );
    refused(&b, "run --expose 0 busybox true", &["--expose", "\"0\""]);
    refused(
        &b,
        "run --network name=x,bogus=1 busybox true",
        &["invalid field key bogus"],
    );
    refused(
        &b,
        "run --network container:web busybox true",
        &["no such container: web"],
    );
    refused(&b, "run -d --nope busybox sleep 9", &["--nope"]);
    refused_with(&b, &format!("{BERTH} run"), 125, &["no command given"]);
    // After the first word, everything is the command's.
    let out = b.ok("run --rm busybox echo -P --cpus a=b");
    assert_eq!(out.trim(), "-P --cpus a=b");
}

#[test]
fn values_that_would_reach_files_are_checked() {
    let b = lab("bad-files");
    let nl = |s: &str| format!("\"$(printf '{s}')\"");
    for (flags, wants) in [
        (
            format!("--hostname {}", nl("web\\n192.0.2.66 bank")),
            vec!["--hostname", "web\\n192.0.2.66 bank", "RFC 1123"],
        ),
        ("--hostname 'a b'".into(), vec!["--hostname", "a b"]),
        (
            format!("--add-host {}:192.0.2.9", nl("db\\n203.0.113.66 bank")),
            vec!["--add-host", "db\\n203.0.113.66 bank"],
        ),
        ("--add-host db:banana".into(), vec!["--add-host", "banana"]),
        (
            format!(
                "--dns-search {}",
                nl("corp.example\\nnameserver 203.0.113.66")
            ),
            vec!["--dns-search", "nameserver 203.0.113.66"],
        ),
        (
            "--dns-option 'ndots:1 rotate'".into(),
            vec!["--dns-option", "ndots:1 rotate"],
        ),
        ("--dns dns.example".into(), vec!["--dns", "dns.example"]),
        (
            "--network appnet --network-alias 'a b'".into(),
            vec!["--network-alias", "a b"],
        ),
        (
            "--log-opt max-size=huge".into(),
            vec!["--log-opt", "max-size=huge"],
        ),
        (
            "--log-opt compress=true".into(),
            vec!["--log-opt", "compress=true"],
        ),
        ("--name 'bad name'".into(), vec!["bad name"]),
    ] {
        refused(&b, &format!("run -d {flags} busybox sleep 9"), &wants);
    }
    for (opt, want) in [("br\\\"x", "br\\\"x"), ("br%d", "br%d"), ("'br x'", "br x")] {
        refused(
            &b,
            &format!("network create -o com.docker.network.bridge.name={opt} n"),
            &["interface name", want],
        );
    }
    refused(&b, "network connect --alias 'a b' bridge c1", &["a b"]);
    // Good values of the same flags make the files they should.
    let out = b.ok(
        "run --rm --hostname web-1 --add-host db:192.0.2.9 --dns-search corp.example \
         --dns-option ndots:2 busybox cat /etc/hostname /etc/hosts /etc/resolv.conf",
    );
    for want in [
        "web-1\n",
        "192.0.2.9\tdb\n",
        "search corp.example\n",
        "options ndots:2\n",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }
    let out = b.ok("run --rm --dns-search . busybox cat /etc/resolv.conf");
    assert!(!out.contains("search"), "{out}");
}
