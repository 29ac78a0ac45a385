//! A lab for running another container engine (Podman, containerd) with
//! berth as its network: nothing it writes reaches the host's files, and
//! the cgroups of its containers go under a parent of their own, removed
//! when the lab goes.
#![allow(dead_code)]

use crate::common::B;

/// A lab for a peer engine, with a busybox root filesystem.
pub struct Peer {
    /// The lab (berth's state root is its temp dir).
    pub b: B,
    /// A directory of the peer's own (in the lab's temp dir).
    pub dir: String,
    /// The cgroup parent of its containers (`/berth-lab-...`), removed on
    /// drop.
    pub cgroup: String,
}

impl Peer {
    /// A lab with the outside world; a tmpfs over the lab's /var/lib (the
    /// peers' caches, libcni's results) and `dir/rootfs` holding busybox,
    /// its applets and `/www/index.html` saying `page`.
    pub fn new(name: &str, page: &str) -> Peer {
        let b = B::new(name);
        let dir = format!("{}/{name}", b.lab.root().display());
        let base = b
            .lab
            .root()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        b.sh(&format!(
            "set -e
mount -t tmpfs tmpfs /var/lib
mkdir -p {dir}/rootfs/bin {dir}/rootfs/www
cp /bin/busybox {dir}/rootfs/bin/busybox
for c in $(/bin/busybox --list); do [ $c = busybox ] || ln -s busybox {dir}/rootfs/bin/$c; done
echo {page} > {dir}/rootfs/www/index.html"
        ));
        Peer {
            b,
            dir,
            cgroup: format!("/{base}"),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Every process of the lab is gone before its cgroups can go.
        for _ in 0..50 {
            if self.b.lab.kill_all() == 0 && self.b.lab.processes().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "for d in /sys/fs/cgroup/*{0}; do [ -d \"$d\" ] && find \"$d\" -depth -type d -exec rmdir {{}} \\; ; done; true",
                self.cgroup
            ))
            .status();
    }
}
