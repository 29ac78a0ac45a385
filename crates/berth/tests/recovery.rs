//! Crash safety. Every operation is killed (SIGKILL, through the
//! `failpoints` feature's `BERTH_FAILPOINT=<op>:<step>`) after each step of
//! its plan in turn, for step 0, 1, 2, … until the command runs through;
//! after each kill the next berth command must leave nothing behind:
//! creations rolled back to the state before the command, removals rolled
//! forward to the state a clean run leaves. Then a flushed ruleset and a
//! reboot (the state root moved into a fresh lab).

mod common;
use common::crash::{closed, every_step, recovered, serves, still_works, WEB};
use common::{Kernel, B, BERTH};
use std::os::unix::process::ExitStatusExt;

fn networks_of(b: &B, name: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&b.ok(&format!("inspect {name}"))).unwrap();
    let mut nets: Vec<String> = v[0]["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    nets.sort();
    nets
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn run_is_rolled_back_at_every_step() {
    let b = B::new("rec-run");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    let names = b.container_names();
    let steps = every_step(
        &b,
        "create",
        WEB,
        || {},
        |i| {
            recovered(&b, i, &base, "run");
            assert_eq!(
                b.container_names(),
                names,
                "run killed after step {i}: a row is left"
            );
            still_works(&b, &base);
        },
    );
    assert!(
        steps >= 3,
        "run -d -p has namespace, veth and port steps, killed {steps}"
    );
    assert!(serves(&b));
    b.ok("rm -f web");
    b.settles_to(&base, "after the last rm -f");
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn rm_is_rolled_forward_at_every_step() {
    let b = B::new("rec-rm");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    let names = b.container_names();
    let setup = || {
        b.ok(WEB);
        assert!(serves(&b));
    };
    let steps = every_step(&b, "remove", "rm -f web", setup, |i| {
        recovered(&b, i, &base, "rm -f");
        assert_eq!(b.container_names(), names, "rm -f killed after step {i}");
        assert!(
            closed(&b),
            "rm -f killed after step {i}: the port still answers"
        );
    });
    assert!(
        steps >= 2,
        "rm -f has port and namespace steps, killed {steps}"
    );
    b.settles_to(&base, "after a clean rm -f");
    still_works(&b, &base);
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn network_create_is_rolled_back_at_every_step() {
    let b = B::new("rec-netc");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    let nets = b.network_names();
    let create = "network create --subnet 10.99.0.0/24 n2";
    let steps = every_step(
        &b,
        "create_network",
        create,
        || {},
        |i| {
            recovered(&b, i, &base, "network create");
            assert_eq!(
                b.network_names(),
                nets,
                "network create killed after step {i}"
            );
            still_works(&b, &base);
        },
    );
    assert!(
        steps >= 3,
        "bridge, sysctl and firewall steps, killed {steps}"
    );
    b.sleeper("c", "--network n2");
    assert!(b.exec_ok("c", "busybox ping -c1 -W2 203.0.113.1"));
    b.ok("rm -f c");
    b.ok("network rm n2");
    b.settles_to(&base, "after network rm");
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn network_rm_is_rolled_forward_at_every_step() {
    let b = B::new("rec-netrm");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    let nets = b.network_names();
    let setup = || {
        b.ok("network create --subnet 10.99.0.0/24 n2");
    };
    let steps = every_step(&b, "remove_network", "network rm n2", setup, |i| {
        recovered(&b, i, &base, "network rm");
        assert_eq!(b.network_names(), nets, "network rm killed after step {i}");
    });
    assert!(steps >= 2, "firewall and bridge steps, killed {steps}");
    b.settles_to(&base, "after a clean network rm");
    still_works(&b, &base);
}

/// c1 on appnet, c2 on other; returns c2's address.
fn two_networks(b: &B) -> String {
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    b.ok("network create --subnet 10.99.0.0/24 other");
    b.sleeper("c1", "--network appnet");
    b.sleeper("c2", "--network other");
    b.ip("c2", "other")
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn network_connect_is_rolled_back_at_every_step() {
    let b = B::new("rec-conn");
    let c2 = two_networks(&b);
    let pid = b.ok("inspect -f '{{.State.Pid}}' c1");
    let base = Kernel::read(&b);
    let ping = format!("busybox ping -c1 -W1 {c2}");
    let steps = every_step(
        &b,
        "connect",
        "network connect other c1",
        || {},
        |i| {
            recovered(&b, i, &base, "network connect");
            assert_eq!(
                networks_of(&b, "c1"),
                ["appnet"],
                "connect killed after step {i}"
            );
            assert!(
                !b.exec_ok("c1", &ping),
                "connect killed after step {i}: c1 reaches other"
            );
        },
    );
    assert!(steps >= 1, "killed {steps}");
    assert_eq!(networks_of(&b, "c1"), ["appnet", "other"]);
    assert!(
        b.exec_ok("c1", &ping),
        "c1 does not reach other after connect"
    );
    assert_eq!(
        b.ok("inspect -f '{{.State.Pid}}' c1"),
        pid,
        "connect restarted c1"
    );
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn network_disconnect_is_rolled_forward_at_every_step() {
    let b = B::new("rec-disc");
    let c2 = two_networks(&b);
    let base = Kernel::read(&b);
    let ping = format!("busybox ping -c1 -W1 {c2}");
    let setup = || {
        b.ok("network connect other c1");
        assert!(b.exec_ok("c1", &ping));
    };
    let steps = every_step(
        &b,
        "disconnect",
        "network disconnect other c1",
        setup,
        |i| {
            recovered(&b, i, &base, "network disconnect");
            assert_eq!(
                networks_of(&b, "c1"),
                ["appnet"],
                "disconnect killed after step {i}"
            );
            assert!(!b.exec_ok("c1", &ping), "disconnect killed after step {i}");
        },
    );
    assert!(steps >= 1, "killed {steps}");
    b.settles_to(&base, "after a clean disconnect");
    assert!(!b.exec_ok("c1", &ping));
}

#[test]
fn reconcile_restores_a_flushed_ruleset_and_deleted_bridges() {
    let b = B::new("rec-flush");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    b.ok(WEB);
    b.sleeper("d", "");
    assert!(serves(&b));
    let ruleset = Kernel::read(&b).ruleset;
    b.sh("nft flush ruleset");
    assert!(closed(&b), "the port answers without a ruleset");
    assert!(
        !b.exec_ok("d", "busybox ping -c1 -W1 203.0.113.1"),
        "no masquerade, no answer"
    );
    let report = b.ok("system reconcile");
    assert!(report.contains("ruleset re-applied (1 "), "{report}");
    assert!(serves(&b), "the published port is back");
    assert!(b.exec_ok("d", "busybox ping -c1 -W2 203.0.113.1"));
    assert!(b.exec_ok("web", "busybox ping -c1 -W2 203.0.113.1"));
    assert_eq!(
        Kernel::read(&b).ruleset,
        ruleset,
        "the ruleset is restored as it was"
    );
    // Deleted bridges come back with their containers' veths as ports.
    let links = Kernel::read(&b).links;
    b.sh("ip link del berth0 && ip -o link show type bridge | grep -o 'br-[0-9a-f]*' | xargs -n1 ip link del");
    let report = b.ok("system reconcile");
    assert_eq!(report.matches("recreated bridge").count(), 2, "{report}");
    assert_eq!(Kernel::read(&b).links, links);
    assert!(serves(&b), "the published port answers again");
    assert!(b.exec_ok("d", "busybox ping -c1 -W2 203.0.113.1"));
}

#[test]
fn reboot_into_a_fresh_lab() {
    let before = B::new("rec-boot1");
    before.ok("network create --subnet 192.0.2.0/24 appnet");
    before.ok(WEB);
    before.sleeper("d", "");
    let ip = before.ip("web", "appnet");
    let bridge = before
        .ok("network inspect -f '{{index .Options \"com.docker.network.bridge.name\"}}' appnet");
    // "Power off": every process of the lab dies, then only the persistent
    // files survive.
    before.lab.kill_all();
    let after = B::new("rec-boot2");
    let copy = format!(
        "cd {} && tar --exclude=./run -cf - . | tar -C {} -xf -",
        before.lab.root().display(),
        after.lab.root().display()
    );
    assert!(std::process::Command::new("sh")
        .args(["-c", &copy])
        .status()
        .unwrap()
        .success());
    drop(before);
    let ps = after.ok("ps -a --format '{{.Names}} {{.Status}}'");
    assert!(ps.lines().all(|l| l.contains(" Exited (")), "{ps}");
    assert_eq!(ps.lines().count(), 2, "{ps}");
    let links = after.sh("ip -o link");
    assert!(
        links.contains("berth0") && links.contains(bridge.trim()),
        "{links}"
    );
    assert!(after.network_names().contains(&"bridge".to_string()));
    after.ok("start web");
    assert_eq!(after.ip("web", "appnet"), ip, "the same address comes back");
    assert!(serves(&after), "the published port answers after start");
    assert!(after.exec_ok("web", "busybox ping -c1 -W2 203.0.113.1"));
    after.ok("start d");
    assert!(after.exec_ok("d", "busybox ping -c1 -W2 203.0.113.1"));
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn run_killed_before_its_process_starts_leaves_a_startable_container() {
    let b = B::new("rec-created");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    let out = b
        .lab
        .sh(&format!("BERTH_FAILPOINT=run:created exec {BERTH} {WEB}"));
    assert_eq!(out.status.signal(), Some(9), "the failpoint run:created");
    assert_eq!(
        b.ok("ps -a --format '{{.Names}} {{.Status}}'"),
        "web Created\n"
    );
    b.ok("start web");
    assert!(
        serves(&b),
        "a created container starts with working networking"
    );
    b.ok("rm -f web");
    b.settles_to(&base, "after rm -f");
}

#[test]
fn containers_killed_unseen_are_shown_exited_and_start_again() {
    let b = B::new("rec-kill9");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    b.ok(WEB);
    assert!(serves(&b));
    // kill -9 the container's process and its supervisor (its parent).
    let pid = b.ok("inspect -f '{{.State.Pid}}' web").trim().to_string();
    let sup = b.sh(&format!("ps -o ppid= -p {pid}")).trim().to_string();
    b.sh(&format!("kill -9 {sup} {pid}"));
    // SIGKILL is delivered asynchronously: wait until both are dead (gone,
    // or zombies waiting for init).
    let dead = |p: &str| format!("! grep -qv '^[0-9]* ([^)]*) Z' /proc/{p}/stat 2>/dev/null");
    assert!(b.eventually(&format!("{} && {}", dead(&sup), dead(&pid))));
    let status = common::undated(&b.ok("ps -a --format '{{.Names}} {{.Status}}'"));
    assert_eq!(status, "web Exited (255)\n");
    b.settles_to(&base, "a dead container's network is taken down");
    assert!(closed(&b));
    b.ok("start web");
    assert!(serves(&b), "it starts again");
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn start_is_rolled_back_at_every_step() {
    let b = B::new("rec-start");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    b.ok(WEB);
    b.ok("stop -t 0 web");
    b.settles_to(&base, "a stopped container has no network");
    let steps = every_step(
        &b,
        "start",
        "start web",
        || {},
        |i| {
            recovered(&b, i, &base, "start");
            let status = b.ok("ps -a --format '{{.Status}}'");
            assert!(
                status.starts_with("Exited"),
                "start killed after step {i}: {status}"
            );
        },
    );
    assert!(steps >= 3, "namespace, veth and port steps, killed {steps}");
    assert!(serves(&b));
    // Killed with the network up, before the process is started.
    b.ok("stop -t 0 web");
    let out = b.lab.sh(&format!(
        "BERTH_FAILPOINT=start:prepared exec {BERTH} start web"
    ));
    assert_eq!(out.status.signal(), Some(9), "the failpoint start:prepared");
    b.ok("start web");
    assert!(serves(&b), "it starts again");
    b.ok("rm -f web");
    b.settles_to(&base, "after rm -f");
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn stop_without_its_supervisor_is_rolled_forward_at_every_step() {
    let b = B::new("rec-stop");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    // The supervisor is killed, so `stop` itself records the exit.
    let setup = || {
        b.berth("rm -f web");
        b.ok(WEB);
        assert!(serves(&b));
        let pid = b.ok("inspect -f '{{.State.Pid}}' web").trim().to_string();
        b.sh(&format!("kill -9 $(ps -o ppid= -p {pid})"));
    };
    let steps = every_step(&b, "stop", "stop -t 0 web", setup, |i| {
        recovered(&b, i, &base, "stop");
        let status = common::undated(&b.ok("ps -a --format '{{.Status}}'"));
        assert_eq!(status, "Exited (255)\n", "stop killed after step {i}");
        assert!(closed(&b));
    });
    assert!(steps >= 2, "port and namespace steps, killed {steps}");
    assert_eq!(
        common::undated(&b.ok("ps -a --format '{{.Status}}'")),
        "Exited (255)\n"
    );
    b.settles_to(&base, "after a clean stop");
    b.ok("start web");
    assert!(serves(&b));
}

#[test]
fn a_container_naming_its_process_in_any_bytes_is_still_running() {
    // A process may set its own name to any bytes, ')' and non-UTF-8
    // included: the liveness check must not take it for dead (and `ps`
    // must not mark it exited and take its network down).
    let b = B::new("rec-comm");
    b.ok("run -d --name odd busybox sh -c 'printf \"\\377)x\\376\" > /proc/self/comm; while :; do sleep 1; done'");
    let pid = b.ok("inspect -f '{{.State.Pid}}' odd").trim().to_string();
    assert!(
        b.eventually(&format!("od -c /proc/{pid}/comm | grep -q 377")),
        "the container's process renamed itself"
    );
    let status = common::undated(&b.ok("ps -a --format '{{.Names}} {{.State}}'"));
    assert_eq!(status, "odd running\n");
    assert!(b.exec_ok("odd", "true"));
    b.sh(&format!("kill -9 {pid}"));
    assert!(
        b.eventually(&format!("! {BERTH} ps -q | grep -q .")),
        "then dead is dead"
    );
}
