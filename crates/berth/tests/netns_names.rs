//! The article's own tools on berth's containers: `ip netns ls` lists
//! running containers by name and `ip netns exec NAME …` enters them, kept
//! in step as containers come and go (stop, start, rm, a lost runtime dir,
//! `system reconcile`), and a name berth does not own is never touched.
//! Crashes at every step are covered by tests/recovery.rs, whose lab
//! snapshots include `/run/netns`.

mod common;
use common::{Kernel, B};

/// `ip netns ls` as a sorted list of names (without `(id: N)`).
fn names(b: &B) -> Vec<String> {
    let mut v: Vec<String> = b
        .sh("ip netns ls")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    v.sort();
    v
}

#[test]
fn ip_netns_follows_containers() {
    let b = B::new("nsn-follow");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    b.sleeper("web", "--network appnet");
    b.sleeper("d", "");
    assert_eq!(names(&b), ["d", "outside", "web"]);
    // The article's reading by hand: eth0@ifN in the container is the peer
    // of the bridge port whose index is N.
    let inside = b.sh("ip netns exec web ip -o link show eth0");
    let ip = b.ip("web", "appnet");
    assert!(b
        .sh("ip netns exec web ip -o -4 addr show eth0")
        .contains(&ip));
    let peer: u32 = inside
        .split("eth0@if")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no eth0@ifN in {inside}"));
    let host_end = b.sh(&format!("ip -o link | grep '^{peer}: '"));
    assert!(host_end.contains("veth"), "{host_end}");
    b.ok("stop -t 0 d");
    assert_eq!(
        names(&b),
        ["outside", "web"],
        "a stopped container has no name"
    );
    b.ok("start d");
    assert_eq!(names(&b), ["d", "outside", "web"]);
    assert!(b.try_sh("ip netns exec d busybox ping -c1 -W2 203.0.113.1"));
    b.ok("rm -f web d");
    assert_eq!(names(&b), ["outside"]);
    b.settles_to(&base, "after rm -f: no mount or file left in /run/netns");
}

#[test]
fn a_name_berth_does_not_own_is_left_alone() {
    let b = B::new("nsn-taken");
    let before = b.sh("ip netns exec outside ip -o -4 addr show eth0");
    let out = b.berth("run -d --name outside busybox sleep 3600");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/run/netns/outside") && err.contains("does not own"),
        "no warning naming the entry: {err}"
    );
    let after = b.sh("ip netns exec outside ip -o -4 addr show eth0");
    assert_eq!(
        before, after,
        "ip netns exec outside still enters the lab's outside"
    );
    b.ok("stop -t 0 outside");
    b.ok("rm outside");
    assert_eq!(names(&b), ["outside"]);
    assert!(b
        .sh("ip netns exec outside ip -o -4 addr")
        .contains("198.51.100.1"));
    // Another berth state root's entry is not this one's either.
    let other = format!(
        "berth netns name v1\nroot=/somewhere/else\ncontainer={}\n",
        "ab".repeat(32)
    );
    b.sh(&format!(
        "printf '{}' > /run/netns/foreign",
        other.replace('\n', "\\n")
    ));
    b.ok("system reconcile");
    assert_eq!(names(&b), ["foreign", "outside"]);
}

/// Whether the topmost mount on `mountpoint` in the lab is shared (its
/// mountinfo line has a `shared:N` field).
fn shared(b: &B, mountpoint: &str) -> bool {
    b.sh("cat /proc/self/mountinfo")
        .lines()
        .rfind(|l| l.split_whitespace().nth(4) == Some(mountpoint))
        .unwrap_or_else(|| panic!("{mountpoint} is not a mount point"))
        .split_whitespace()
        .any(|f| f.starts_with("shared:"))
}

#[test]
fn an_entry_not_berths_keeps_its_propagation() {
    let b = B::new("nsn-private");
    // Another tool's entry, made private (ip netns add made /run/netns and
    // the lab's `outside` shared).
    b.sh("touch /run/netns/other-tool && mount --bind /run/netns/outside /run/netns/other-tool && mount --make-private /run/netns/other-tool");
    assert!(!shared(&b, "/run/netns/other-tool"));
    b.sleeper("web", "");
    assert!(
        shared(&b, "/run/netns"),
        "/run/netns is a shared mount point, as ip netns makes it"
    );
    assert!(
        shared(&b, "/run/netns/web"),
        "berth's entry is shared, as /run/netns is"
    );
    assert!(
        !shared(&b, "/run/netns/other-tool"),
        "berth changed the propagation of an entry that is not its own"
    );
    assert!(b.try_sh("ip netns exec other-tool true"));
    b.ok("rm -f web");
    b.sh("umount /run/netns/other-tool && rm /run/netns/other-tool");
}

#[test]
fn reconcile_restores_and_removes_names() {
    let b = B::new("nsn-reconcile");
    b.sleeper("web", "");
    // The entry sits on berth's mount-namespace anchor (decision 18): the
    // first `ip netns del` detaches the namespace but cannot remove the
    // file; a second one detaches the anchor and removes it.
    assert!(!b.try_sh("ip netns del web"));
    assert!(!b.try_sh("ip netns exec web true"), "the namespace stayed");
    b.sh("ip netns del web");
    assert_eq!(names(&b), ["outside"]);
    let report = b.ok("system reconcile");
    assert!(report.contains("/run/netns: named web"), "{report}");
    assert_eq!(names(&b), ["outside", "web"]);
    // An entry of this state root whose container is gone.
    let root = b.lab.root().display().to_string();
    let stale = format!(
        "berth netns name v1\\nroot={root}\\ncontainer={}\\n",
        "cd".repeat(32)
    );
    b.sh(&format!("printf '{stale}' > /run/netns/ghost"));
    let report = b.ok("system reconcile");
    assert!(report.contains("/run/netns: removed ghost"), "{report}");
    assert_eq!(names(&b), ["outside", "web"]);
}

#[test]
fn a_lost_runtime_dir_leaves_no_names() {
    let b = B::new("nsn-lost");
    b.sleeper("web", "");
    assert_eq!(names(&b), ["outside", "web"]);
    // "Reboot" without clearing /run: every process dies and berth's
    // runtime dir (its pins) disappears; the /run/netns entry survives.
    // Supervisors first: one that outlived its container would take the
    // network (and the name) down itself, which is not what a reboot does.
    for pid in b.lab.processes() {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("__supervise") {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    b.lab.kill_all();
    // (Each pin is two stacked mounts on its anchor: a reboot takes all.)
    b.sh("for m in $BERTH_ROOT/run/netns/* $BERTH_ROOT/run/mnt-anchor; do while umount $m 2>/dev/null; do :; done; done; rm -rf $BERTH_ROOT/run");
    assert_eq!(names(&b), ["outside", "web"]);
    let ps = b.ok("ps -a --format '{{.Names}} {{.Status}}'");
    assert!(ps.starts_with("web Exited"), "{ps}");
    assert_eq!(names(&b), ["outside"], "the first command removed it");
    b.ok("start web");
    assert_eq!(names(&b), ["outside", "web"]);
}
