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
        let (dir, cgroup) = prepare(&b, name, page);
        Peer { b, dir, cgroup }
    }
}

/// Prepares lab `b` for a peer engine as [`Peer::new`] does; (its
/// directory, the cgroup parent).
pub fn prepare(b: &B, name: &str, page: &str) -> (String, String) {
    let dir = format!("{}/{name}", b.lab.root().display());
    b.sh(&format!(
        "set -e
mount -t tmpfs tmpfs /var/lib
mkdir -p {dir}/rootfs/bin {dir}/rootfs/www
cp /bin/busybox {dir}/rootfs/bin/busybox
for c in $(/bin/busybox --list); do [ $c = busybox ] || ln -s busybox {dir}/rootfs/bin/$c; done
echo {page} > {dir}/rootfs/www/index.html"
    ));
    (dir, b.lab.cgroup_parent())
}

/// Writes `DIR/busybox-oci.tar`, an OCI image archive of `DIR/rootfs`
/// named `localhost/busybox:latest` (layer, config, manifest, index).
pub fn oci_archive(dir: &str) -> String {
    format!(
        r#"set -e
mkdir -p {dir}/oci/blobs/sha256
blob() {{ d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" {dir}/oci/blobs/sha256/$d; echo "$d $(stat -c %s {dir}/oci/blobs/sha256/$d)"; }}
tar -C {dir}/rootfs -cf {dir}/layer.tar .
set -- $(blob {dir}/layer.tar); L=$1 LS=$2
printf '{{"architecture":"amd64","os":"linux","config":{{"Env":["PATH=/bin"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:%s"]}}}}' $L > {dir}/config.json
set -- $(blob {dir}/config.json); C=$1 CS=$2
printf '{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}}]}}' $C $CS $L $LS > {dir}/manifest.json
set -- $(blob {dir}/manifest.json); M=$1 MS=$2
printf '{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{{"io.containerd.image.name":"localhost/busybox:latest","org.opencontainers.image.ref.name":"latest"}}}}]}}' $M $MS > {dir}/oci/index.json
echo '{{"imageLayoutVersion":"1.0.0"}}' > {dir}/oci/oci-layout
tar -C {dir}/oci -cf {dir}/busybox-oci.tar ."#
    )
}

/// Starts containerd in the lab (root, state and socket under `dir`, no
/// CRI) with `conflist` as the only CNI configuration and berth as the only
/// plugin (tmpfs over /etc/cni/net.d and /opt); `env` goes into its
/// environment, which the plugins inherit.
pub fn start_containerd(b: &B, dir: &str, conflist: &str, env: &str) {
    b.sh(&format!(
        r#"set -e
mount -t tmpfs tmpfs /etc/cni/net.d
mount -t tmpfs tmpfs /opt
mkdir -p /opt/cni/bin
ln -s {berth} /opt/cni/bin/berth
cat > /etc/cni/net.d/10-berth.conflist <<'EOF'
{conflist}
EOF
cat > {dir}/config.toml <<EOF
version = 2
root = "{dir}/root"
state = "{dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{dir}/containerd.sock"
EOF
{env} containerd --config {dir}/config.toml > {dir}/containerd.log 2>&1 &
for i in $(seq 100); do [ -S {dir}/containerd.sock ] && break; sleep 0.1; done"#,
        berth = crate::common::BERTH
    ));
}
