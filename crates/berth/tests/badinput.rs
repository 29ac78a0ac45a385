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
        containers: b.ok("ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Status}}'"),
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
