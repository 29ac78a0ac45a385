//! Docker's default confinement: capability sets, `no_new_privs`, seccomp,
//! the read-only host view with private scratch directories and masked
//! secrets, the `nodev` `/dev`, masked `/proc` paths, `-v` mounts, and
//! `--privileged` lifting all of it.

mod common;

use berth_runtime::{BindMount, Confinement, ContainerIo, ExecSpec, ExitStatus, ProcessSpec};
use common::{into_pipe, pipe, read_all, run, KillOnDrop, Sandbox};

/// Runs `script` with busybox sh in a container built by `spec`.
fn sh(sb: &Sandbox, script: &str, tweak: impl FnOnce(&mut ProcessSpec)) -> (ExitStatus, String) {
    let mut spec = sb.spec(&["busybox", "sh", "-c", script]);
    tweak(&mut spec);
    run(&spec).unwrap()
}

/// The `Cap*`, `NoNewPrivs` and `Seccomp` lines of a `/proc/PID/status`.
const STATUS: &str = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status";

/// The expected status lines for capability mask `caps`.
fn status(caps: u64, nnp: u8, seccomp: u8) -> String {
    let c = format!("{caps:016x}");
    format!(
        "CapInh:\t{c}\nCapPrm:\t{c}\nCapEff:\t{c}\nCapBnd:\t{c}\nCapAmb:\t{:016x}\n\
         NoNewPrivs:\t{nnp}\nSeccomp:\t{seccomp}\n",
        0
    )
}

/// The capabilities this test process holds (a privileged container's).
fn own_permitted() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("CapPrm:")).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

sandboxed!(default_capabilities_nnp_and_seccomp_are_dockers, |sb| {
    let (st, out) = sh(sb, STATUS, |_| {});
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert_eq!(out, status(0xa80425fb, 1, 2));

    // --cap-add NET_ADMIN; no-new-privileges=false; seccomp=unconfined.
    let net_admin = 1u64 << 12;
    let (_, out) = sh(sb, STATUS, |s| {
        s.confinement.capabilities |= net_admin;
        s.confinement.no_new_privs = false;
        s.confinement.seccomp = false;
    });
    assert_eq!(out, status(0xa80425fb | net_admin, 0, 0));

    let (_, out) = sh(sb, STATUS, |s| s.confinement = Confinement::privileged());
    assert_eq!(out, status(own_permitted(), 0, 0));
});

sandboxed!(denied_system_calls_fail_with_eperm, |sb| {
    let script = "mount -t tmpfs none /mnt; echo mount=$?; unshare -n true; echo unshare=$?; \
                  ip link add bx0 type veth peer name bx1; echo iplink=$?";
    let (st, out) = sh(sb, &format!("{script} 2>&1"), |_| {});
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    for what in ["mount", "unshare", "iplink"] {
        assert!(!out.contains(&format!("{what}=0")), "{out}");
    }
    assert!(out.matches("Operation not permitted").count() >= 2, "{out}");

    // The same calls work in a privileged container (its own namespaces).
    let (st, out) = sh(sb, &format!("{script} 2>&1"), |s| {
        s.confinement = Confinement::privileged()
    });
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert!(
        out.contains("mount=0") && out.contains("unshare=0"),
        "{out}"
    );
    assert!(out.contains("iplink=0"), "{out}");
});

sandboxed!(
    host_view_is_read_only_with_private_scratch_and_masks,
    |sb| {
        // A state root outside the scratch directories: a tmpfs on /mnt in the
        // sandbox's own mount namespace (the host's /mnt is untouched).
        let hidden = std::path::PathBuf::from("/mnt/berth-state");
        nix::mount::mount(
            Some("tmpfs"),
            "/mnt",
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
        std::fs::create_dir_all(&hidden).unwrap();
        std::fs::write(hidden.join("secret"), "s3cret").unwrap();
        let script = "touch /etc/berth-x 2>&1; echo etc=$?; \
                  echo w > /tmp/t && cat /tmp/t; ls -A /tmp | wc -l; \
                  ls -A /mnt/berth-state | wc -l; \
                  cat /etc/shadow | wc -c; ls -A /root | wc -l; \
                  ls /dev | tr '\\n' ' '; echo; cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; \
                  echo 1 > /proc/sys/net/ipv4/ip_forward 2>&1; echo sysctl=$?";
        let (st, out) = sh(sb, script, |s| s.confinement.hidden = vec![hidden.clone()]);
        assert_eq!(st, ExitStatus::Exited(0), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].contains("Read-only file system"), "{out}");
        assert_eq!(lines[1], "etc=1", "{out}");
        // /tmp is writable and fresh: the sandbox's files are not in it.
        assert_eq!(&lines[2..4], ["w", "1"], "{out}");
        assert_eq!(lines[4], "0", "hidden directory is empty: {out}");
        assert_eq!(lines[5], "0", "/etc/shadow reads as empty: {out}");
        assert_eq!(lines[6], "0", "/root is empty: {out}");
        assert_eq!(
            lines[7].trim(),
            "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero",
            "{out}"
        );
        assert_eq!(
            &lines[8..10],
            ["0", "0"],
            "/proc/timer_list, /sys/firmware: {out}"
        );
        assert!(lines[10].contains("Read-only file system"), "{out}");
        assert!(!std::path::Path::new("/etc/berth-x").exists());
    }
);

sandboxed!(a_mknod_block_device_cannot_be_used, |sb| {
    let dev = std::fs::read_dir("/sys/dev/block")
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let (major, minor) = dev.to_str().unwrap().split_once(':').unwrap();
    let script = format!(
        "mknod /tmp/blk b {major} {minor} && echo made; \
         head -c 1 /tmp/blk > /dev/null 2>/tmp/err; echo read=$?; cat /tmp/err"
    );
    let (st, out) = sh(sb, &script, |_| {});
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert!(out.starts_with("made\nread=1\n"), "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    let (_, out) = sh(sb, &script, |s| s.confinement = Confinement::privileged());
    assert!(out.starts_with("made\nread=0\n"), "{out}");
});

sandboxed!(bind_mounts_rw_ro_and_into_fresh_directories, |sb| {
    let shared = sb.dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("in"), "from-host\n").unwrap();
    let script = "cat /tmp/rw/in; echo out > /tmp/rw/out; echo x > /tmp/ro/y 2>&1; echo ro=$?";
    let (st, out) = sh(sb, script, |s| {
        s.mounts = vec![
            BindMount {
                source: shared.clone(),
                target: "/tmp/rw".into(),
                read_only: false,
            },
            BindMount {
                source: shared.clone(),
                target: "/tmp/ro".into(),
                read_only: true,
            },
        ]
    });
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert!(out.starts_with("from-host\n"), "{out}");
    assert!(
        out.contains("Read-only file system") && out.ends_with("ro=1\n"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(shared.join("out")).unwrap(),
        "out\n"
    );
    assert!(!shared.join("y").exists());
});

sandboxed!(rootfs_mount_targets_resolve_inside_the_rootfs, |sb| {
    let rootfs = sb.rootfs();
    let shared = sb.dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("in"), "shared\n").unwrap();
    // A symlink naming a host path (absolute; it exists in the rootfs too)
    // and one climbing out.
    std::fs::create_dir_all(rootfs.join(sb.dir.strip_prefix("/").unwrap())).unwrap();
    std::os::unix::fs::symlink(&sb.dir, rootfs.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../..", rootfs.join("up")).unwrap();
    let script = "cat /abs/v/in /up/w/in; touch /x 2>&1; echo root=$?; echo ok > /dev/null";
    let (st, out) = sh(sb, script, |s| {
        s.rootfs = Some(rootfs.clone());
        s.confinement.read_only = true;
        s.mounts = ["/abs/v", "/up/w"]
            .iter()
            .map(|t| BindMount {
                source: shared.clone(),
                target: t.into(),
                read_only: true,
            })
            .collect();
    });
    assert_eq!(st, ExitStatus::Exited(0), "{out}");
    assert!(out.starts_with("shared\nshared\n"), "{out}");
    assert!(
        out.contains("Read-only file system") && out.ends_with("root=1\n"),
        "{out}"
    );
    // The mount points were made inside the rootfs, not on the host.
    let inside = rootfs.join(sb.dir.strip_prefix("/").unwrap()).join("v");
    assert!(inside.is_dir(), "{}", inside.display());
    assert!(!sb.dir.join("v").exists() && !std::path::Path::new("/w").exists());
    assert!(rootfs.join("w").is_dir());
});

sandboxed!(exec_gets_the_containers_confinement, |sb| {
    let spec = sb.spec(&["busybox", "sleep", "10"]);
    let ctr = KillOnDrop(berth_runtime::spawn(&spec, ContainerIo::no_stdin()).unwrap());
    let exec = ExecSpec {
        argv: ["busybox", "sh", "-c", STATUS].map(String::from).to_vec(),
        env: vec![("PATH".into(), "/bin".into())],
        workdir: None,
        confinement: Confinement::default(),
    };
    let (r, w) = pipe();
    let mut proc = berth_runtime::exec(ctr.0.pid(), &exec, into_pipe(w)).unwrap();
    let out = read_all(r);
    assert_eq!(proc.wait().unwrap(), ExitStatus::Exited(0), "{out}");
    assert_eq!(out, status(0xa80425fb, 1, 2));
});

sandboxed!(the_seccomp_filter_denies_what_capabilities_allow, |sb| {
    // Every capability: only the filter stands between swapon and the
    // kernel (which answers EINVAL for /dev/null).
    let script = "swapon /dev/null 2>&1; echo swapon=$?";
    let all_caps_filtered = |s: &mut ProcessSpec| {
        s.confinement = Confinement {
            seccomp: true,
            ..Confinement::privileged()
        }
    };
    let (_, out) = sh(sb, script, all_caps_filtered);
    assert!(out.contains("Operation not permitted"), "{out}");
    let (_, out) = sh(sb, script, |s| s.confinement = Confinement::privileged());
    assert!(
        !out.contains("Operation not permitted") && !out.contains("swapon=0"),
        "{out}"
    );
});
