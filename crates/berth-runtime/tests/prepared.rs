//! `prepare`: a container's process forked, with its file system view
//! built, before its network namespace and etc files exist; `start` hands
//! them over (issue 13, goal 7).

mod common;

use berth_runtime::{ExitStatus, ProcessSpec, RuntimeError};
use common::{inode, into_pipe, pipe, read_all};
use nix::mount::{mount, MsFlags};

/// A spec whose network namespace and etc files do not exist yet (they
/// are made by [`make_late`]), under the sandbox's `/tmp`, which the
/// container's own `/tmp` hides.
fn late_spec(sb: &common::Sandbox, script: &str) -> ProcessSpec {
    let mut spec = sb.spec(&["busybox", "sh", "-c", script]);
    let dir = sb.dir.join("late");
    spec.netns = dir.join("netns");
    spec.etc.hosts = dir.join("hosts");
    spec.etc.hostname = dir.join("hostname");
    spec.etc.resolv_conf = dir.join("resolv.conf");
    assert!(!dir.exists());
    spec
}

/// Makes the namespace pin and the etc files of a [`late_spec`] (as the
/// engine does while the process waits).
fn make_late(sb: &common::Sandbox, spec: &ProcessSpec) {
    std::fs::create_dir_all(sb.dir.join("late")).unwrap();
    let made = sb.netns("late");
    std::fs::write(&spec.netns, "").unwrap();
    mount(
        Some(&made),
        &spec.netns,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap();
    std::fs::write(&spec.etc.hosts, common::HOSTS).unwrap();
    std::fs::write(&spec.etc.hostname, common::HOSTNAME).unwrap();
    std::fs::write(&spec.etc.resolv_conf, common::RESOLV).unwrap();
}

sandboxed!(a_prepared_process_gets_what_was_made_after_its_fork, |sb| {
    let script = "readlink /proc/self/ns/net; ls /sys/class/net; echo --; cat /etc/hosts; \
                  echo --; cat /etc/resolv.conf; echo --; ls /tmp";
    let spec = late_spec(sb, script);
    let (r, w) = pipe();
    let prepared = berth_runtime::prepare(&spec, into_pipe(w)).unwrap();
    make_late(sb, &spec);
    let mut recorded = None;
    let mut proc = prepared
        .start(&mut |pid| {
            recorded = Some(pid);
            Ok(())
        })
        .unwrap();
    let out = read_all(r);
    assert_eq!(proc.wait().unwrap(), ExitStatus::Exited(0), "{out}");
    assert!(recorded.is_some());
    let parts: Vec<&str> = out.split("--\n").collect();
    let want = format!("net:[{}]\nbt0\nbt1\nlo\n", inode(&spec.netns));
    // sysfs was mounted after joining the namespace: its interfaces only.
    assert_eq!(parts[0], want, "{out}");
    assert_eq!(parts[1], common::HOSTS, "{out}");
    assert_eq!(parts[2], common::RESOLV, "{out}");
    // The view was built before: the container's /tmp is its own, empty.
    assert_eq!(parts[3], "", "{out}");
});

sandboxed!(a_start_without_the_namespace_fails_and_runs_nothing, |sb| {
    let spec = late_spec(sb, "touch /dev/shm/ran");
    let (r, w) = pipe();
    let prepared = berth_runtime::prepare(&spec, into_pipe(w)).unwrap();
    let mut called = false;
    let err = prepared
        .start(&mut |_| {
            called = true;
            Ok(())
        })
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Path { .. }), "{err}");
    assert!(err.to_string().contains("late/netns"), "{err}");
    assert!(!called, "recorded a process that never started");
    // The child was killed and reaped: its output pipe is closed, empty.
    assert_eq!(read_all(r), "");
    // The same start once the namespace exists works.
    let (r, w) = pipe();
    let prepared = berth_runtime::prepare(&spec, into_pipe(w)).unwrap();
    make_late(sb, &spec);
    let mut proc = prepared.start(&mut |_| Ok(())).unwrap();
    assert_eq!(read_all(r), "");
    assert_eq!(proc.wait().unwrap(), ExitStatus::Exited(0));
});
