# Sourced by bench/run.sh (inside its lab): starts Docker 20.10 (Debian's
# docker.io, installed if missing) with its own data and exec roots in the
# benchmark's temp dir, so the peer runs in the same lab, side by side.
# dockerd starts its own containerd there. Container rlimits are pinned to
# the current ones: root here lacks CAP_SYS_RESOURCE and Docker's default
# (nofile 1048576) would fail. Storage: overlay2 (DOCKER_STORAGE_DRIVER to
# change it), vfs only if dockerd cannot use overlay2 here; the driver used
# is printed and recorded with the results.
D=""
DOCKER_DRIVER=""
# dockerd_try DRIVER: starts dockerd with that storage driver; true once it answers.
dockerd_try() {
    local root=$BENCH_TMP/docker
    rm -rf "$root/data" "$root/exec"
    mkdir -p "$root"
    dockerd --data-root "$root/data" --exec-root "$root/exec" --pidfile "$root/dockerd.pid" \
        -H "unix://$root/docker.sock" --containerd-namespace bench --storage-driver "$1" \
        --bip 10.199.0.1/24 --default-address-pool base=10.200.0.0/16,size=24 \
        --default-ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --userland-proxy=true \
        >"$root/dockerd-$1.log" 2>&1 &
    local pid=$!
    bench_pids+=("$pid")
    disown "$pid" # ended by the lab's cleanup, by PID: no "Killed" notice from bash
    D="docker -H unix://$root/docker.sock"
    for _ in $(seq 100); do
        $D info >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    kill "$pid" 2>/dev/null
    return 1
}
docker_start() {
    if ! command -v dockerd >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
    local root=$BENCH_TMP/docker
    # overlay2, what users get, where the kernel and the file system allow
    # it; vfs (a full copy per container: slower) otherwise, and said so.
    if ! dockerd_try "${DOCKER_STORAGE_DRIVER:-overlay2}"; then
        echo "dockerd did not start with ${DOCKER_STORAGE_DRIVER:-overlay2}, trying vfs:" >&2
        tail -5 "$root/dockerd-${DOCKER_STORAGE_DRIVER:-overlay2}.log" >&2
        dockerd_try vfs || { echo "dockerd did not start:"; tail -20 "$root/dockerd-vfs.log"; exit 1; }
    fi
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
