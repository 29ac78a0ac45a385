//! A lab for running another container engine (Podman, containerd) with
//! berth as its network: nothing it writes reaches the host's files, and
//! the cgroups of its containers go under the lab's cgroup parent, removed
//! when the lab goes (`Lab::cgroup_parent`).
#![allow(dead_code)]

use crate::common::B;

/// A lab for a peer engine, with a busybox root filesystem.
pub struct Peer {
    /// The lab (berth's state root is its temp dir).
    pub b: B,
    /// A directory of the peer's own (in the lab's temp dir).
    pub dir: String,
    /// The cgroup parent of its containers (the lab's, removed with it).
    pub cgroup: String,
}

impl Peer {
    /// A lab with the outside world; a tmpfs over the lab's /var/lib (the
    /// peers' caches, libcni's results) and `dir/rootfs` holding busybox,
    /// its applets and `/www/index.html` saying `page`.
    pub fn new(name: &str, page: &str) -> Peer {
        let b = B::new(name);
        let dir = format!("{}/{name}", b.lab.root().display());
        b.sh(&format!(
            "set -e
mount -t tmpfs tmpfs /var/lib
mkdir -p {dir}/rootfs/bin {dir}/rootfs/www
cp /bin/busybox {dir}/rootfs/bin/busybox
for c in $(/bin/busybox --list); do [ $c = busybox ] || ln -s busybox {dir}/rootfs/bin/$c; done
echo {page} > {dir}/rootfs/www/index.html"
        ));
        let cgroup = b.lab.cgroup_parent();
        Peer { b, dir, cgroup }
    }
}
