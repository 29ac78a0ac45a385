# Sourced by bench/run.sh and bench/docker-plugin.sh: docker_need (before
# entering the lab, which has no network to install anything from) checks
# that Docker is installed (scripts/deps installs Debian's docker.io);
# docker_start (inside the lab) starts Docker 20.10 with its
# own data and exec roots in the benchmark's temp dir, so the peer runs in
# the same lab, side by side. containerd runs with its own configuration:
# its root, state and `opt` directories are in the temp dir too (the one
# dockerd would start creates /opt/containerd on the host). Container
# rlimits are pinned to the current ones: root here lacks CAP_SYS_RESOURCE
# and Docker's default (nofile 1048576) would fail. Set BERTH_PLUGIN to a
# berth binary to start `berth docker-plugin` first (Docker's driver `berth`).
# Storage: overlay2, what users get (DOCKER_STORAGE_DRIVER=vfs where the
# kernel or file system cannot); the driver used is printed and recorded
# with the results (DOCKER_DRIVER).
D=""
DOCKER_DRIVER=""
docker_need() {
    local t
    for t in dockerd containerd runc docker; do
        command -v "$t" >/dev/null || {
            echo "$t is missing: install Docker with scripts/deps (Debian's docker.io, containerd, runc) first; the benchmark's lab has no network to install it from" >&2
            exit 1
        }
    done
}
docker_start() {
    local root=$BENCH_TMP/docker
    mkdir -p "$root/containerd" "$root/cli"
    cat > "$root/containerd/config.toml" <<TOML
version = 2
root = "$root/containerd/root"
state = "$root/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$root/containerd/sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$root/containerd/opt"
TOML
    printf '{"deprecated-key-path": "%s"}\n' "$root/key.json" > "$root/daemon.json"
    containerd --config "$root/containerd/config.toml" >"$root/containerd.log" 2>&1 &
    bench_pids+=($!)
    disown "$!"
    for _ in $(seq 50); do [ -S "$root/containerd/sock" ] && break; sleep 0.1; done
    if [ -n "${BERTH_PLUGIN:-}" ]; then
        "$BERTH_PLUGIN" docker-plugin >"$root/plugin.log" 2>&1 &
        bench_pids+=($!)
        disown "$!"
        for _ in $(seq 50); do [ -S /run/docker/plugins/berth.sock ] && break; sleep 0.1; done
    fi
    dockerd --containerd "$root/containerd/sock" --data-root "$root/data" --exec-root "$root/exec" \
        --pidfile "$root/dockerd.pid" -H "unix://$root/docker.sock" --config-file "$root/daemon.json" \
        --containerd-namespace bench --storage-driver "${DOCKER_STORAGE_DRIVER:-overlay2}" \
        --bip 10.199.0.1/24 --default-address-pool base=10.200.0.0/16,size=24 \
        --default-ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --userland-proxy=true \
        --cgroup-parent "$BENCH_CG" \
        >"$root/dockerd.log" 2>&1 &
    bench_pids+=($!)
    disown "$!" # ended by the lab's cleanup, by PID: no "Killed" notice from bash
    D="env DOCKER_CONFIG=$root/cli /usr/bin/docker -H unix://$root/docker.sock"
    for _ in $(seq 100); do $D info >/dev/null 2>&1 && break; sleep 0.2; done
    $D info >/dev/null 2>&1 || { echo "dockerd did not start (with overlay2 unavailable here, try DOCKER_STORAGE_DRIVER=vfs):"; tail -20 "$root/dockerd.log"; exit 1; }
    DOCKER_DRIVER=$($D info -f '{{.Driver}}')
    echo "Docker $($D version -f '{{.Server.Version}}'), storage driver $DOCKER_DRIVER" >&2
    # An image from a busybox root filesystem (no registry here).
    local fs=$root/busybox-rootfs
    mkdir -p "$fs/bin"
    cp /bin/busybox "$fs/bin/busybox"
    for a in $(busybox --list); do [ -e "$fs/bin/$a" ] || ln -s busybox "$fs/bin/$a"; done
    tar -C "$fs" -c . | $D import -c 'ENV PATH=/bin' - bench-busybox >/dev/null
}
docker_stop() {
    $D ps -aq | xargs -r $D rm -f >/dev/null 2>&1 || true
    kill "$(cat "$BENCH_TMP/docker/dockerd.pid")" 2>/dev/null || true
}
