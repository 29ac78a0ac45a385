//! `run -d` starts the container's supervisor before it sets the network
//! up (issue 13, goal 7): the supervisor waits for "go" and exits, having
//! done nothing, when the `run` fails or dies before the container exists.

mod common;
use common::{B, BERTH};

/// A shell test: exactly N supervisors (`berth __supervise ID`) run in
/// the lab.
fn supervisors_are(n: usize) -> String {
    format!("[ $(for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '__superv[i]se [0-9a-f]' && echo $p; done | wc -l) = {n} ]")
}

#[test]
fn a_run_that_fails_leaves_no_supervisor() {
    let b = B::new("launch-fail");
    b.sleeper("web", "");
    assert!(b.try_sh(&supervisors_are(1)), "the running container's");
    // Fails once its supervisor is started: the name is taken.
    let err = b.fails("run -d --name web busybox sleep 3600");
    assert!(err.contains("web"), "{err}");
    assert!(
        b.eventually(&supervisors_are(1)),
        "the failed run's supervisor exits"
    );
    let ps = b.ok("ps -a --format '{{.Names}} {{.Status}}'");
    assert_eq!(common::undated(&ps).trim(), "web Up");
    assert!(b.exec_ok("web", "true"));
    b.ok("rm -f web");
    assert!(b.eventually(&supervisors_are(0)));
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn a_run_killed_before_go_leaves_a_created_container_and_no_supervisor() {
    let b = B::new("launch-kill");
    b.sleeper("web", "");
    let out = b.sh(&format!(
        "BERTH_FAILPOINT=run:created {BERTH} run -d --name late busybox sleep 3600; echo $?"
    ));
    assert_eq!(out.trim(), "137", "killed at run:created");
    // Its supervisor is in a session of its own (the kill did not reach
    // it): the closed pipe ends it. The container's process it forked
    // when `run` said "recorded" carries the same command line, so this
    // also checks that the supervisor killed it.
    assert!(b.eventually(&supervisors_are(1)), "only web's supervisor");
    let ps = b.ok("ps -a --format '{{.Names}} {{.Status}}'");
    assert!(common::undated(&ps).contains("late Created"), "{ps}");
    b.ok("start late");
    assert!(b.eventually(&supervisors_are(2)), "start gives it one");
    b.ok("rm -f web late");
    assert!(b.eventually(&supervisors_are(0)));
}
