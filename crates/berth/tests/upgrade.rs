//! A state root written by the previous version of berth (before
//! containers recorded their confinement): fixtures/state-v1 holds its
//! database and per-container files, made by that version's binary with
//! `network create --subnet 192.0.2.0/24 appnet`, `run -d --name web
//! --network appnet busybox sleep 3600` and `run --name done busybox sh -c
//! 'echo bye'`. The new binary opens it (as after a reboot: `web` was
//! running), shows the containers with Docker's default confinement,
//! starts `web` confined, and removes everything.

mod common;
use common::B;
use std::path::Path;

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

#[test]
fn a_state_root_of_the_previous_version_is_managed() {
    let b = B::new("upgrade-v1");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1");
    copy_tree(&fixture, b.lab.root());
    let ps = b.ok("ps -a --format '{{.Names}} {{.State}}'");
    let mut rows: Vec<&str> = ps.lines().collect();
    rows.sort();
    assert_eq!(rows, ["done exited", "web exited"], "{ps}");
    let host = b.ok("inspect -f '{{json .HostConfig}}' web");
    let host: serde_json::Value = serde_json::from_str(&host).unwrap();
    assert_eq!(host["Privileged"], false, "{host}");
    assert_eq!(host["CapAdd"], serde_json::Value::Null, "{host}");
    assert_eq!(host["Binds"], serde_json::Value::Null, "{host}");
    assert_eq!(b.ok("start web"), "web\n");
    let status = b.ok("exec web grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/1/status");
    assert_eq!(
        status,
        "CapEff:\t00000000a80425fb\nNoNewPrivs:\t1\nSeccomp:\t2\n"
    );
    assert!(b
        .ok("inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' web")
        .starts_with("192.0.2."));
    b.ok("stop -t 1 web");
    assert_eq!(b.ok("rm web done"), "web\ndone\n");
    b.ok("network rm appnet");
    assert_eq!(b.ok("ps -aq"), "");
}
