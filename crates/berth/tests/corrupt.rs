//! A corrupt operation record (its plan does not parse: damaged, or written
//! by a newer berth) is never read as an empty plan: recovery keeps it and
//! touches nothing, ordinary commands warn, `system reconcile` fails (after
//! doing everything else), `doctor` says what to do, and
//! `system reconcile --forget-op ID` drops it once dealt with.
//! Needs `sqlite3` (scripts/deps) to damage the record.

mod common;
use common::{Kernel, B, BERTH};

fn sql(b: &B, q: &str) -> String {
    b.sh(&format!("sqlite3 \"$BERTH_ROOT/berth.db\" \"{q}\""))
        .trim()
        .to_string()
}

#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs --features failpoints")]
fn a_corrupt_operation_record_is_kept_reported_and_forgotten_on_request() {
    let b = B::new("corrupt-op");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let base = Kernel::read(&b);
    // `run` killed after creating the veth (step 2): an op is recorded.
    let out = b.lab.sh(&format!(
        "BERTH_FAILPOINT=create:2 exec {BERTH} run -d --name x --network appnet busybox sleep 3600"
    ));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9)
    );
    let id = sql(&b, "SELECT id FROM ops");
    assert!(!id.is_empty());
    sql(
        &b,
        "UPDATE ops SET plan = '{\\\"steps\\\": [{\\\"step\\\": \\\"teleport\\\"}]}'",
    );
    let veths = || {
        b.sh("ip -o link | grep -c ': veth' || true")
            .trim()
            .to_string()
    };
    assert_eq!(veths(), "1");

    // An ordinary command warns, keeps the record and touches nothing.
    let out = b.berth("ps -a --format '{{.Names}}'");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success());
    assert!(
        err.contains(&format!("operation {id} (create")) && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(common::stdout(&out).trim(), "x");
    assert_eq!(veths(), "1", "the veth was touched");
    assert_eq!(b.pending_ops(), 1);

    // reconcile fails, naming it; doctor fails with what to do.
    let err = b.fails("system reconcile");
    assert!(
        err.contains(&format!("operation {id}")) && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(b.pending_ops(), 1);
    let out = b.berth("doctor");
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("operations"))
        .unwrap_or_default();
    assert!(
        line.starts_with("fail") && line.contains(&format!("--forget-op {id}")),
        "{text}"
    );

    // An unknown id is refused; the corrupt record is forgotten once its
    // container is removed from its records.
    let err = b.fails("system reconcile --forget-op 999");
    assert!(err.contains("999"), "{err}");
    b.ok("rm -f x");
    b.ok(&format!("system reconcile --forget-op {id}"));
    assert_eq!(b.pending_ops(), 0);
    b.settles_to(&base, "after rm -f and --forget-op");
    let out = b.berth("ps -a");
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}
