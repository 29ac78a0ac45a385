//! berth's files are root's alone (directories 0700, the database — it
//! holds `-e` values — and logs 0600; a looser root left by an older berth
//! is tightened), and a container's log stays within `--log-opt` bounds,
//! its oldest output dropped.

mod common;
use common::B;

fn mode(b: &B, path: &str) -> String {
    b.sh(&format!("stat -c %a {path}")).trim().to_string()
}

/// Waits (up to ~10 s) until container `name` has exited.
fn exited(b: &B, name: &str) {
    let ok = (0..200).any(|_| {
        let st = b.ok(&format!("inspect -f '{{{{.State.Status}}}}' {name}"));
        if st.trim() == "exited" {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        false
    });
    assert!(ok, "{name} did not exit");
}

#[test]
fn state_files_are_private_and_loose_ones_are_tightened() {
    let b = B::new("state-modes");
    let id = b.sleeper("c", "-e SECRET=hunter2");
    let dir = format!("$BERTH_ROOT/containers/{id}");
    for (path, want) in [
        ("$BERTH_ROOT".to_string(), "700"),
        ("$BERTH_ROOT/run".into(), "700"),
        ("$BERTH_ROOT/containers".into(), "700"),
        (dir.clone(), "700"),
        ("$BERTH_ROOT/berth.db".into(), "600"),
        ("$BERTH_ROOT/berth.db-wal".into(), "600"),
        (format!("{dir}/log"), "600"),
    ] {
        assert_eq!(mode(&b, &path), want, "{path}");
    }
    // The secret is in the database, which nobody else can read.
    assert!(b.try_sh("grep -q hunter2 $BERTH_ROOT/berth.db $BERTH_ROOT/berth.db-wal"));
    assert!(!b.try_sh(
        "setpriv --reuid=65534 --regid=65534 --clear-groups cat $BERTH_ROOT/berth.db >/dev/null 2>&1"
    ));
    // What an older berth left: world-readable. The next command fixes it.
    b.sh("chmod 755 $BERTH_ROOT $BERTH_ROOT/containers $BERTH_ROOT/run && chmod 644 $BERTH_ROOT/berth.db*");
    b.ok("ps");
    for path in ["$BERTH_ROOT", "$BERTH_ROOT/containers", "$BERTH_ROOT/run"] {
        assert_eq!(mode(&b, path), "700", "{path}");
    }
    assert_eq!(mode(&b, "$BERTH_ROOT/berth.db"), "600");
    assert_eq!(mode(&b, "$BERTH_ROOT/berth.db-wal"), "600");
    b.ok("rm -f c");
}

/// `busybox sh` printing `n` numbered lines of 60 bytes.
fn chatty(n: u32) -> String {
    format!(
        "busybox sh -c 'i=0; while [ $i -lt {n} ]; do echo \"line $i ................................................\"; i=$((i+1)); done'"
    )
}

/// The line numbers `berth logs NAME` prints.
fn numbers(b: &B, name: &str) -> Vec<u32> {
    b.ok(&format!("logs {name}"))
        .lines()
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a numbered line: {l:?}"))
        })
        .collect()
}

#[test]
fn container_logs_are_capped_oldest_dropped() {
    let b = B::new("state-logs");
    // ~240 KB of output: kept whole by default (10m)...
    b.ok(&format!("run -d --name all {}", chatty(4000)));
    // ...and at most 2 x 64k with the options, the newest kept.
    b.ok(&format!(
        "run -d --name capped --log-opt max-size=64k --log-opt max-file=2 {}",
        chatty(4000)
    ));
    exited(&b, "all");
    exited(&b, "capped");
    assert_eq!(numbers(&b, "all"), (0..4000).collect::<Vec<_>>());
    let kept = numbers(&b, "capped");
    let first = kept[0];
    assert!(first > 0, "nothing was dropped");
    assert_eq!(
        kept,
        (first..4000).collect::<Vec<_>>(),
        "not the newest lines in order"
    );
    let id = b.ok("inspect -f '{{.Id}}' capped").trim().to_string();
    let bytes: u64 = b
        .sh(&format!("cat $BERTH_ROOT/containers/{id}/log* | wc -c"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        bytes <= 2 * 64 * 1024 && bytes > 64 * 1024,
        "{bytes} bytes kept"
    );
    assert!(!b.try_sh(&format!("test -e $BERTH_ROOT/containers/{id}/log.2")));
    b.ok("rm -f all capped");
}
