//! Helpers of the crash-recovery tests: enumerating the failpoints of an
//! operation and checking what the next berth command leaves.

use super::{Kernel, B, BERTH};
use std::os::unix::process::ExitStatusExt;

/// A web server on `appnet` publishing port 8080.
pub const WEB: &str =
    "run -d --name web --network appnet -p 8080:80 busybox httpd -f -p 80 -h /etc";

/// Runs `setup`, then `berth ARGS` with `BERTH_FAILPOINT=OP:i`, for i = 0,
/// 1, … until berth is no longer killed; after each kill calls `recover(i)`.
/// Returns how many steps were killed.
pub fn every_step(
    b: &B,
    op: &str,
    args: &str,
    mut setup: impl FnMut(),
    mut recover: impl FnMut(usize),
) -> usize {
    let info = b.ok("system info --format json");
    assert!(
        info.contains("\"Failpoints\":true"),
        "{BERTH} was built without the failpoints feature: run the tests with --all-features"
    );
    for i in 0..50 {
        setup();
        let out = b
            .lab
            .sh(&format!("BERTH_FAILPOINT={op}:{i} exec {BERTH} {args}"));
        if out.status.signal() != Some(9) {
            assert!(
                out.status.success(),
                "berth {args} (failpoint {op}:{i}, past the last step) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return i;
        }
        recover(i);
    }
    panic!("berth {args} was still killed at {op}:50");
}

/// Recovery after a kill: by `system reconcile` or an ordinary command
/// (`ps -a`), alternately first; the lab must then look like `want`.
pub fn recovered(b: &B, i: usize, want: &Kernel, what: &str) {
    let (first, second) = if i.is_multiple_of(2) {
        ("system reconcile", "ps -a")
    } else {
        ("ps -a", "system reconcile")
    };
    b.ok(first);
    b.settles_to(
        want,
        &format!("{what} killed after step {i}, then `berth {first}`"),
    );
    b.ok(second);
    b.settles_to(
        want,
        &format!("{what} killed after step {i}, then `berth {second}`"),
    );
    assert_eq!(
        b.pending_ops(),
        0,
        "{what} killed after step {i}: operations left"
    );
    // Per-container files exist for recorded containers only.
    let mut ids: Vec<String> = b
        .ok("ps -a -q --no-trunc")
        .lines()
        .map(String::from)
        .collect();
    ids.sort();
    let dirs = b.sh("ls $BERTH_ROOT/containers 2>/dev/null || true");
    let dirs: Vec<String> = dirs.lines().map(String::from).collect();
    assert_eq!(
        dirs, ids,
        "{what} killed after step {i}: container files left"
    );
}

/// The published port 8080 serves the container's hostname to `outside`.
pub fn serves(b: &B) -> bool {
    (0..40).any(|_| {
        let ok = b
            .lab
            .in_ns("outside", "curl -sf -m1 http://198.51.100.2:8080/hostname")
            .status
            .success();
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ok
    })
}

/// Port 8080 does not answer `outside` (one try).
pub fn closed(b: &B) -> bool {
    !b.lab
        .in_ns("outside", "curl -sf -m1 http://198.51.100.2:8080/hostname")
        .status
        .success()
}

/// A new `run -d -p 8080:80` works and answers; removing it restores `base`.
pub fn still_works(b: &B, base: &Kernel) {
    b.ok(WEB);
    assert!(
        serves(b),
        "a new container does not answer on the published port"
    );
    b.ok("rm -f web");
    b.settles_to(base, "after a clean run and rm -f");
}
