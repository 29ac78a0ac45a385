//! Retired veths (`berth_core::kernel::retire`), against the real kernel:
//! a CNI DEL returns with the veth out of service (off its bridge, down,
//! the container's interface name free) and a background reaper deletes
//! it; the reaper leaves alone whatever else is in its link group; a DEL
//! killed between retiring and reaping is finished by the next command.

mod cniutil;
mod common;

use cniutil::{berth, conf, host_veth, link_exists, pings, reaped, Att, RETIRED_GROUP};
use common::{B, BERTH};
use serde_json::json;

#[test]
fn a_del_frees_the_interface_name_at_once_and_the_reaper_deletes_the_veth() {
    let b = B::new("retire-readd");
    let c1 = Att::new(&b, "c1");
    let cfg = conf("rnet", "10.120.0.0/24", json!({}));
    let first = berth(&b, "ADD", &c1, &cfg).result().clone();
    assert!(pings(&b, "c1", "10.120.0.1"));
    assert!(berth(&b, "DEL", &c1, &cfg).ok);
    // At once: eth0 is free in the runtime's namespace, so the same
    // attachment can be added again without waiting for the kernel.
    assert!(!link_exists(&b, Some("c1"), "eth0"));
    let second = berth(&b, "ADD", &c1, &cfg).result().clone();
    assert_ne!(host_veth(&first), host_veth(&second));
    assert!(pings(&b, "c1", "10.120.0.1"), "the new eth0 works");
    cniutil::retired_then_gone(&b, &host_veth(&first));
    assert!(pings(&b, "c1", "10.120.0.1"), "the reaper spared it");
    assert!(berth(&b, "DEL", &c1, &cfg).ok);
    reaped(&b);
    // Nothing of either veth is left on either side.
    assert_eq!(b.sh("ip -o link | grep -c ': veth' || true").trim(), "0");
    assert_eq!(
        b.sh("ip -n c1 -o link | grep -vc ': lo:' || true").trim(),
        "0"
    );
}

#[test]
fn the_reaper_leaves_what_is_not_a_retired_veth_alone() {
    let b = B::new("retire-foreign");
    let cfg = conf("fnet", "10.121.0.0/24", json!({}));
    let live = Att::new(&b, "live");
    let res = berth(&b, "ADD", &live, &cfg).result().clone();
    // Another program's link in the group, and (by mistake) a live port.
    b.sh(&format!(
        "ip link add foreign0 type bridge && ip link set foreign0 group {RETIRED_GROUP}"
    ));
    let live_veth = host_veth(&res);
    b.sh(&format!("ip link set {live_veth} group {RETIRED_GROUP}"));
    let c1 = Att::new(&b, "c1");
    let gone = host_veth(berth(&b, "ADD", &c1, &cfg).result());
    assert!(berth(&b, "DEL", &c1, &cfg).ok);
    // Berth's retired veth goes; the bridge and the live port stay.
    for _ in 0..100 {
        if !link_exists(&b, None, &gone) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !link_exists(&b, None, &gone),
        "the retired veth was not deleted"
    );
    assert!(link_exists(&b, None, "foreign0"));
    assert!(link_exists(&b, None, &live_veth));
    assert!(pings(&b, "live", "10.121.0.1"), "the live port still works");
}

#[test]
fn a_del_killed_after_retiring_is_finished_by_the_next_command() {
    let b = B::new("retire-crash");
    let cfg = conf("cnet", "10.122.0.0/24", json!({}));
    let c1 = Att::new(&b, "c1");
    let veth = host_veth(berth(&b, "ADD", &c1, &cfg).result());
    // Step 0 takes the elements out, step 1 retires the veth.
    let r = cniutil::call(
        &b,
        common::BERTH,
        "DEL",
        Some(&c1),
        "BERTH_FAILPOINT=cni_del:1",
        &cfg,
    );
    assert!(!r.ok, "the DEL was not killed: {}", r.stderr);
    let state = b.sh(&format!("ip -j -d link show {veth}"));
    assert!(
        state.contains(&format!("\"group\":\"{RETIRED_GROUP}\"")),
        "retired, not reaped: {state}"
    );
    // Any next command finishes the DEL, and its reaper deletes the veth.
    assert_eq!(b.ok("ps -a -q").trim(), "");
    reaped(&b);
    assert!(!link_exists(&b, None, &veth));
    assert_eq!(cniutil::members(&b, "cnet"), "");
}

#[test]
fn one_reaper_serves_a_burst_of_dels_then_leaves() {
    let b = B::new("retire-burst");
    let cfg = conf("bnet", "10.123.0.0/24", json!({}));
    let atts: Vec<Att> = (0..4).map(|i| Att::new(&b, &format!("c{i}"))).collect();
    let veths: Vec<String> = atts
        .iter()
        .map(|a| host_veth(berth(&b, "ADD", a, &cfg).result()))
        .collect();
    for a in &atts {
        assert!(berth(&b, "DEL", a, &cfg).ok);
    }
    // The reaper stays, waiting for the next DEL on its socket (over which
    // a DEL wakes it and hands it the netfilter socket instead of
    // starting another reaper).
    assert!(
        b.eventually("test -S $BERTH_ROOT/run/reap.sock"),
        "no reaper waits for the next DEL"
    );
    reaped(&b);
    for v in &veths {
        assert!(!link_exists(&b, None, v), "{v} was not deleted");
    }
    // Nobody woke it for a while: it leaves, and takes its socket with it.
    assert!(
        (0..3)
            .any(|_| b.eventually("! test -e $BERTH_ROOT/run/reap.sock && ! pgrep -f '_[_]reap'")),
        "the reaper did not leave"
    );
    // A DEL after that starts a new one, which deletes its veth.
    let c = Att::new(&b, "late");
    let late = host_veth(berth(&b, "ADD", &c, &cfg).result());
    assert!(berth(&b, "DEL", &c, &cfg).ok);
    reaped(&b);
    assert!(!link_exists(&b, None, &late));
    assert_eq!(cniutil::members(&b, "bnet"), "");
}

#[test]
fn a_disconnect_leaves_the_container_end_to_the_reaper_and_a_connect_at_once_frees_its_name() {
    let b = B::new("retire-disc");
    b.ok("network create --subnet 192.0.2.0/24 front");
    b.ok("network create --subnet 10.124.0.0/24 back");
    b.sleeper("app", "--network front");
    b.sleeper("db", "--network back");
    b.ok("network connect back app");
    let ping = format!("busybox ping -c1 -W1 {}", b.ip("db", "back"));
    let ping = ping.as_str();
    assert!(b.exec_ok("app", ping));
    // The reaper held off (its run lock taken) while the container is
    // disconnected and connected again, so that the connect meets the
    // container end the disconnect left.
    let held = b.sh(&format!(
        "flock -o $BERTH_ROOT/run/reap-run.lock sh -c '\
         {BERTH} network disconnect back app && \
         {BERTH} exec app ip -o link show eth1 && \
         ! {BERTH} exec app {ping} >/dev/null && \
         {BERTH} network connect back app >/dev/null && \
         {BERTH} exec app ip -o link show eth1 && \
         {BERTH} exec app ip -o link | grep -c \" gone\"'"
    ));
    let lines: Vec<&str> = held.lines().collect();
    let [old, new, renamed] = lines[..] else {
        panic!("{held}");
    };
    // Out of service at once: no carrier, nothing crosses.
    assert!(old.contains("NO-CARRIER"), "{held}");
    // The connect freed the name: a new eth1, which works.
    assert!(
        !new.contains("NO-CARRIER") && new.contains("eth1"),
        "{held}"
    );
    assert_eq!(renamed, "1", "the old end renamed out of the way: {held}");
    assert!(b.exec_ok("app", ping), "the new eth1 works");
    reaped(&b);
    assert!(b.exec_ok("app", ping), "the reaper spared it");
    assert_eq!(
        b.ok("exec app ip -o link").lines().count(),
        3,
        "lo, eth0, eth1"
    );
    b.ok("network disconnect back app");
    reaped(&b);
    assert_eq!(
        b.ok("exec app ip -o link").lines().count(),
        2,
        "lo and eth0"
    );
    assert!(!b.exec_ok("app", ping));
}

#[test]
fn the_reaper_releases_a_removed_containers_namespace() {
    let b = B::new("retire-netns");
    b.sleeper("c1", "");
    let pid = b.ok("inspect -f '{{.State.Pid}}' c1");
    let netns = b.sh(&format!("stat -L -c %i /proc/{}/ns/net", pid.trim()));
    reaped(&b);
    // Live ports are in link group "bert".
    let ports = "ip -o link show group 1650815604 | wc -l";
    assert_eq!(b.sh(ports).trim(), "1");
    // The reaper held off (its run lock taken): the removal's supervisor
    // hands it the namespace it unpinned, whose release it waits for at
    // once, not when it runs: held, the namespace keeps its veth a port of
    // the bridge, where the container's MAC was learnt, and a container
    // run again at once with the same address is unreachable until then.
    let held = b.sh(&format!(
        "flock -o $BERTH_ROOT/run/reap-run.lock sh -c '\
         {BERTH} rm -f c1 >/dev/null && \
         for i in $(seq 100); do pgrep -f _[_]reap >/dev/null && break; sleep 0.05; done; \
         sleep 0.2; \
         for f in /proc/$(pgrep -f _[_]reap | head -1)/fd/*; do stat -L -c %i $f; done | grep -cx {}; \
         for i in $(seq 100); do test $({ports}) = 0 && break; sleep 0.05; done; \
         {ports}; pgrep -f _[_]reap >/dev/null && echo waiting'",
        netns.trim()
    ));
    let lines: Vec<&str> = held.lines().collect();
    assert_eq!(
        lines,
        ["0", "0", "waiting"],
        "the reaper, still held off, holds no namespace, and the veth is gone"
    );
    assert_eq!(b.ok("ps -aq").trim(), "", "removed at once");
    reaped(&b);
    assert!(
        b.eventually(&format!("test $({ports}) = 0")),
        "the namespace and its veth are gone once the reaper ran"
    );
}
