//! Containers get Docker's default confinement: what a process inside can
//! and cannot do by default, with `--cap-add`, and with `--privileged`;
//! `berth exec` gets the same; the flags are validated before anything is
//! created and shown by `inspect` as Docker does; a state root written by
//! the previous version (no confinement fields) still works.

mod common;
use common::B;

/// The status lines that describe a process's confinement.
const STATUS: &str = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status";

/// Docker's default: capability sets, no_new_privs, a seccomp filter.
const DEFAULT_STATUS: &str = "CapInh:\t00000000a80425fb\nCapPrm:\t00000000a80425fb\n\
CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n\
NoNewPrivs:\t1\nSeccomp:\t2\n";

/// The attacks of the issue, each printing `NAME=EXIT` and its error:
/// writing in `write_dir`, a block device node made in `node_dir`. To be
/// wrapped in single quotes.
fn attacks(b: &B, write_dir: &str, node_dir: &str) -> String {
    let dev = b.sh("ls /sys/dev/block | head -n1");
    let (major, minor) = dev.trim().split_once(':').expect("a block device");
    format!(
        "ip addr add 192.0.2.99/24 dev eth0; echo addr=$?; \
         ip link set eth0 address 02:42:c0:00:02:63; echo mac=$?; \
         mount -t tmpfs none /mnt; echo mount=$?; \
         unshare -n true; echo unshare=$?; \
         touch {write_dir}/written; echo write=$?; \
         grep -c ^root: /etc/shadow; echo shadow=$?; \
         mknod {node_dir}/blk b {major} {minor} && head -c1 {node_dir}/blk >/dev/null; echo blk=$?"
    )
}

/// The `NAME=EXIT` pairs of [`attacks`]' output.
fn exits(out: &str) -> Vec<(String, i32)> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect()
}

#[test]
fn default_containers_are_confined_and_privileged_ones_are_not() {
    let b = B::new("confine-default");
    let state = b.lab.root().display().to_string();
    assert_eq!(
        b.ok(&format!("run --rm busybox sh -c \"{STATUS}\"")),
        DEFAULT_STATUS
    );
    // A directory on the host: by default the container cannot write it
    // (the host's files are read-only; the lab's temp dir is not even seen).
    let script = attacks(&b, "/etc", "/tmp");
    let out = b.lab.sh(&format!(
        "{} run --rm busybox sh -c '{script}' 2>&1",
        common::BERTH
    ));
    let text = common::stdout(&out);
    for (name, code) in exits(&text) {
        assert_ne!(code, 0, "{name} should fail: {text}");
    }
    assert!(
        text.contains("RTNETLINK answers: Operation not permitted"),
        "{text}"
    );
    assert!(
        text.contains("unshare(0x40000000): Operation not permitted"),
        "{text}"
    );
    assert!(
        text.contains("/etc/written: Read-only file system"),
        "{text}"
    );
    assert!(text.contains("/tmp/blk: Permission denied"), "{text}");
    // /etc/shadow reads as empty: grep counts 0 root entries.
    assert!(text.contains("0\nshadow=1"), "{text}");
    assert!(!std::path::Path::new("/etc/written").exists());
    assert_eq!(b.ok("run --rm busybox ls -A /tmp"), "", "a private /tmp");

    // --cap-add NET_ADMIN: the address and MAC changes work.
    let out = b.ok("run --rm --cap-add NET_ADMIN busybox sh -c \
         'ip addr add 192.0.2.99/24 dev eth0 && ip link set eth0 address 02:42:c0:00:02:63 \
          && ip -o link show eth0 && ip -o -4 addr show eth0'");
    assert!(
        out.contains("02:42:c0:00:02:63") && out.contains("192.0.2.99/24"),
        "{out}"
    );

    // --privileged: all of them work (writing in the lab's directory, not
    // in the host's /etc or /tmp).
    let script = attacks(&b, &state, &state);
    let text = b.ok(&format!(
        "run --rm --privileged busybox sh -c '{script}' 2>&1"
    ));
    let failed: Vec<_> = exits(&text).into_iter().filter(|(_, c)| *c != 0).collect();
    assert!(failed.is_empty(), "{failed:?}: {text}");
    assert!(b.lab.root().join("written").exists());
}

#[test]
fn exec_takes_the_containers_confinement() {
    let b = B::new("confine-exec");
    b.sleeper("d", "");
    b.sleeper("p", "--privileged");
    b.sleeper(
        "n",
        "--cap-drop ALL --cap-add net_admin --security-opt no-new-privileges=false",
    );
    assert_eq!(b.ok(&format!("exec d sh -c \"{STATUS}\"")), DEFAULT_STATUS);
    let priv_eff = b.ok("exec p grep CapEff /proc/self/status");
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    let own_prm = own.lines().find(|l| l.starts_with("CapPrm")).unwrap();
    assert_eq!(priv_eff.trim().replace("CapEff", "CapPrm"), own_prm);
    assert_eq!(
        b.ok("exec p grep Seccomp: /proc/self/status"),
        "Seccomp:\t0\n"
    );
    let n = b.ok(&format!("exec n sh -c \"{STATUS}\""));
    assert!(
        n.contains("CapEff:\t0000000000001000\n") && n.contains("NoNewPrivs:\t0\n"),
        "{n}"
    );
    assert!(n.contains("Seccomp:\t2\n"), "{n}");
}

#[test]
fn flags_are_validated_and_inspected_like_docker() {
    let b = B::new("confine-flags");
    let dir = b.lab.root().join("share");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f"), "shared\n").unwrap();
    let d = dir.display();
    for (args, names) in [
        ("--cap-add NET_ADMINN", "\"NET_ADMINN\""),
        ("--cap-drop bogus", "\"bogus\""),
        ("--security-opt seccomp=/tmp/p.json", "seccomp=/tmp/p.json"),
        ("--security-opt apparmor=unconfined", "apparmor=unconfined"),
        ("-v data:/data", "data:/data"),
        ("-v /no/such/dir:/data", "/no/such/dir"),
        (&format!("-v {d}:/data:rx") as &str, "\"rx\""),
        (
            &format!("-v {d}:/nonexistent-berth-dir") as &str,
            "/tmp, /run or /var/tmp",
        ),
    ] {
        let out = b.berth(&format!("run -d {args} busybox true"));
        let err = common::stdout(&out) + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args}: {err}");
        assert!(err.contains(names), "{args}: {err}");
    }
    assert_eq!(b.ok("ps -aq"), "", "nothing was created");

    // A shared directory: read-write and read-only.
    let out = b.ok(&format!(
        "run --name v -v {d}:/srv -v {d}:/tmp/ro:ro busybox sh -c \
         'cat /srv/f; echo new > /srv/g; touch /tmp/ro/h 2>&1; echo ro=$?'"
    ));
    assert!(
        out.starts_with("shared\n") && out.ends_with("ro=1\n"),
        "{out}"
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert_eq!(std::fs::read_to_string(dir.join("g")).unwrap(), "new\n");
    assert!(!dir.join("h").exists());
    let host = b.ok("inspect -f '{{json .HostConfig}}' v");
    let host: serde_json::Value = serde_json::from_str(&host).unwrap();
    assert_eq!(
        host["Binds"],
        serde_json::json!([format!("{d}:/srv"), format!("{d}:/tmp/ro:ro")])
    );
    assert_eq!(host["Privileged"], false);
    assert_eq!(host["CapAdd"], serde_json::Value::Null);
    let mounts = b.ok("inspect -f '{{json .Mounts}}' v");
    assert!(
        mounts.contains("\"Destination\":\"/tmp/ro\"") && mounts.contains("\"RW\":false"),
        "{mounts}"
    );

    b.sleeper("f", "--cap-add cap_net_admin --cap-drop MKNOD --privileged --read-only --security-opt seccomp=unconfined");
    let host = b.ok("inspect -f '{{json .HostConfig}}' f");
    let host: serde_json::Value = serde_json::from_str(&host).unwrap();
    assert_eq!(host["CapAdd"], serde_json::json!(["CAP_NET_ADMIN"]));
    assert_eq!(host["CapDrop"], serde_json::json!(["CAP_MKNOD"]));
    assert_eq!(host["Privileged"], true);
    assert_eq!(host["ReadonlyRootfs"], true);
    assert_eq!(
        host["SecurityOpt"],
        serde_json::json!(["seccomp=unconfined"])
    );
}

#[test]
fn read_only_rootfs() {
    let b = B::new("confine-rootfs");
    let root = b.lab.root().join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    b.sh(&format!(
        "busybox chroot {} /bin/busybox --install -s /bin",
        root.display()
    ));
    let r = root.display();
    let script = "touch /x 2>&1; echo x=$?; echo ok > /dev/null && echo devnull";
    let out = b.ok(&format!(
        "run --rm --rootfs {r} --read-only /bin/sh -c '{script}'"
    ));
    assert_eq!(out, "touch: /x: Read-only file system\nx=1\ndevnull\n");
    let out = b.ok(&format!("run --rm --rootfs {r} /bin/sh -c '{script}'"));
    assert_eq!(out, "x=0\ndevnull\n");
    assert!(root.join("x").exists());
}
