//! Podman 4.3 (Debian's) with berth as its network backend: containers.conf
//! points `helper_binaries_dir` at a directory whose `netavark` is berth,
//! and every `podman run` goes through berth's netavark mode. One lab, one
//! Podman, many checks: names through berth's resolver, a published port
//! from outside, `--internal`, static addresses and MACs, `isolate`, what
//! berth's own commands say of Podman's networks, and a teardown that
//! leaves nothing.
//!
//! Podman keeps everything under the lab's temp dir (`--root`,
//! `--runroot`, its network files) or on a tmpfs over the lab's /var/lib
//! (its blob cache); its containers' cgroups go under a parent of their
//! own (`--cgroup-parent`), removed when the test ends. runc, not crun
//! (crun refuses this machine's hybrid cgroups), and ulimits at or under
//! the current hard limits (root here lacks CAP_SYS_RESOURCE).

mod common;
mod peers;

use berth_lab::{INTERNET_V4, LAB_V4, OUTSIDE};
use common::BERTH;
use peers::Peer;
use std::process::Output;

/// A lab with Podman configured to use berth, and a busybox image.
struct Podman {
    p: Peer,
    /// Podman's command line (storage, configuration).
    podman: String,
}

impl Podman {
    fn new() -> Podman {
        let p = Peer::new("podman", "served-by-podman");
        let root = p.b.lab.root().display().to_string();
        let dir = p.dir.clone();
        let conf = format!(
            r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "netavark"
network_config_dir = "{dir}/networks"
[engine]
helper_binaries_dir = ["{dir}/bin", "/usr/lib/podman"]
env = ["BERTH_ROOT={root}"]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{dir}/events.log"
tmp_dir = "{dir}/tmp"
image_copy_tmp_dir = "{dir}/tmp"
"#
        );
        p.b.sh(&format!(
            "set -e
mkdir -p {dir}/bin {dir}/tmp
ln -s {BERTH} {dir}/bin/netavark
cat > {dir}/containers.conf <<'EOF'
{conf}EOF
tar -C {dir}/rootfs -cf {dir}/busybox.tar ."
        ));
        let podman = format!(
            "CONTAINERS_CONF={dir}/containers.conf podman --root {dir}/storage --runroot {dir}/runroot --storage-driver overlay"
        );
        let pm = Podman { p, podman };
        pm.ok(&format!("import -q {dir}/busybox.tar localhost/busybox"));
        pm
    }

    /// `podman ARGS` in the lab.
    fn run(&self, args: &str) -> Output {
        self.p.b.lab.sh(&format!("{} {args}", self.podman))
    }

    /// `podman ARGS`, which must succeed; its stdout.
    fn ok(&self, args: &str) -> String {
        self.p.b.sh(&format!("{} {args}", self.podman))
    }

    /// `podman run --rm ... busybox sh -c SCRIPT` on `net`; its exit
    /// status and stdout.
    fn sh_on(&self, net: &str, opts: &str, script: &str) -> (i32, String) {
        let out = self.run(&format!(
            "run --rm --cgroup-parent {} --network {net} {opts} localhost/busybox sh -c '{script}'",
            self.p.cgroup
        ));
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

#[test]
fn podman_runs_its_containers_on_berth() {
    let p = Podman::new();
    let cg = p.p.cgroup.clone();
    let b = &p.p.b;
    // Networks made with `podman network create` only: berth builds each
    // from Podman's definition on its first container.
    p.ok("network create --subnet 192.0.2.0/26 appnet");
    p.ok("network create --internal --subnet 192.0.2.64/26 inet");
    p.ok("network create --subnet 192.0.2.128/26 -o isolate=true iso");
    p.ok("network create --subnet 192.0.2.192/26 open2");
    p.ok(&format!(
        "run -d --cgroup-parent {cg} --name web --network appnet --network-alias www -p 8080:80 localhost/busybox httpd -f -p 80 -h /www"
    ));
    let web = p
        .ok("inspect -f '{{.NetworkSettings.Networks.appnet.IPAddress}}' web")
        .trim()
        .to_string();
    assert!(web.starts_with("192.0.2."), "web's address: {web}");

    // The published port serves the page from outside the host.
    let page = b.lab.in_ns_ok(
        OUTSIDE,
        &format!("wget -qO- -T 5 http://{LAB_V4}:8080/index.html"),
    );
    assert_eq!(page.trim(), "served-by-podman");

    // Names through berth's resolver on the gateway (no aardvark-dns): the
    // container name, its alias, and both under Podman's search domain.
    let (code, out) = p.sh_on(
        "appnet",
        "--name client",
        "grep nameserver /etc/resolv.conf; for n in web www web.dns.podman; do wget -qO- http://$n/index.html; done",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nameserver 192.0.2.1"), "{out}");
    assert_eq!(out.matches("served-by-podman").count(), 3, "{out}");

    // An internal network: the static address and MAC, the gateway
    // answers, the internet does not (ping exit 1); web, on appnet, does
    // reach it.
    let (code, out) = p.sh_on(
        "inet",
        "--ip 192.0.2.77 --mac-address 02:00:00:00:00:77",
        &format!("ip addr show eth0; ping -c1 -W1 192.0.2.65 >/dev/null && echo gateway-ok; ping -c1 -W1 {INTERNET_V4}; echo internet=$?"),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("inet 192.0.2.77/26"), "{out}");
    assert!(out.contains("link/ether 02:00:00:00:00:77"), "{out}");
    assert!(out.contains("gateway-ok"), "{out}");
    assert!(out.contains("internet=1"), "{out}");
    let reach = p.run(&format!("exec web ping -c1 -W2 {INTERNET_V4}"));
    assert!(reach.status.success(), "web cannot reach the internet");

    // Podman networks without isolate reach each other (netavark's
    // default); an isolated one does not.
    let (code, out) = p.sh_on("open2", "", &format!("ping -c1 -W1 {web}"));
    assert_eq!(code, 0, "open2 -> appnet: {out}");
    let (code, out) = p.sh_on("iso", "", &format!("ping -c1 -W1 {web}"));
    assert_eq!(code, 1, "iso -> appnet must be dropped: {out}");

    // `lo` is up (netavark's job); connecting a second network adds its
    // default route beside the first one and keeps the published port
    // where it is; disconnecting it leaves the first.
    let lo = p.run("exec web wget -qO- http://127.0.0.1/index.html");
    assert_eq!(
        String::from_utf8_lossy(&lo.stdout).trim(),
        "served-by-podman"
    );
    p.ok("network connect open2 web");
    let routes = p.ok("exec web ip route");
    assert_eq!(routes.matches("default via").count(), 2, "{routes}");
    p.ok("network disconnect open2 web");
    let routes = p.ok("exec web ip route");
    assert!(
        routes.contains("default via 192.0.2.1 dev eth0"),
        "{routes}"
    );
    let page = b.lab.in_ns_ok(
        OUTSIDE,
        &format!("wget -qO- -T 5 http://{LAB_V4}:8080/index.html"),
    );
    assert_eq!(page.trim(), "served-by-podman");

    // berth shows Podman's network and keeps its hands off it.
    let ls = b.ok("network ls");
    assert!(
        ls.lines()
            .any(|l| l.contains("appnet") && l.ends_with("podman")),
        "{ls}"
    );
    assert!(b.fails("network rm appnet").contains("Podman"));
    assert!(b
        .fails("run --rm --network appnet busybox true")
        .contains("Podman"));

    // Teardown leaves nothing: no record, no network, no bridge or veth, no
    // published-port element.
    p.ok("rm -f -t 0 web");
    let gone = "! ip -o link | grep -E 'podman|veth' && [ -z \"$(nft -j list map inet berth ports4 | grep -o '\"elem\"')\" ]";
    assert!(
        b.eventually(&format!(
            "{gone} && [ -z \"$({BERTH} ps -aq)\" ] && ! {BERTH} network ls | grep -E 'appnet|inet|iso|open2'"
        )),
        "left behind:\n{}\n{}\n{}",
        b.ok("ps -a"),
        b.ok("network ls"),
        b.sh("ip -o link; nft list map inet berth ports4")
    );
    // Teardown is idempotent: once more for web, and for a container that
    // never had a network.
    let again = b.lab.sh(&format!(
        "echo '{}' | {BERTH} netavark teardown /run/netns/gone",
        r#"{"container_id":"c0ffee","container_name":"x","networks":{"appnet":{"interface_name":"eth0","static_ips":["192.0.2.9"]}},"network_info":{"appnet":{"name":"appnet","id":"1","driver":"bridge","network_interface":"podman1","subnets":[{"subnet":"192.0.2.0/26","gateway":"192.0.2.1"}]}}}"#
    ));
    assert!(again.status.success(), "{again:?}");
    assert!(again.stdout.is_empty());
}
