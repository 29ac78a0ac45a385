//! Host veth names belong to one endpoint: berth deletes a link of that
//! name only when its alias says it is that endpoint's own veth.

mod common;
use common::B;

/// The host veth name and endpoint id of container `name`'s only endpoint.
fn endpoint(b: &B, name: &str) -> (String, String) {
    let id = b
        .ok(&format!(
            "inspect -f '{{{{range .NetworkSettings.Networks}}}}{{{{.EndpointID}}}}{{{{end}}}}' {name}"
        ))
        .trim()
        .to_string();
    (format!("veth{}", &id[..7]), id)
}

#[test]
fn a_foreign_link_with_a_containers_veth_name_is_left_alone() {
    let b = B::new("veth-foreign");
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    let bridge = b
        .ok("network inspect -f '{{index .Options \"com.docker.network.bridge.name\"}}' appnet")
        .trim()
        .to_string();
    b.sleeper("x", "--network appnet");
    let (veth, id) = endpoint(&b, "x");
    let alias = b.sh(&format!("cat /sys/class/net/{veth}/ifalias"));
    assert_eq!(alias.trim(), format!("berth:{id}"));
    // Stop and start at once: the old host end (the kernel is still
    // freeing its namespace) is this endpoint's, so it is replaced.
    b.ok("stop -t 0 x");
    b.ok("start x");
    assert!(b.exec_ok("x", "busybox ping -c1 -W2 192.0.2.1"));
    b.ok("stop -t 0 x");
    assert!(b.eventually(&format!("! test -e /sys/class/net/{veth}")));
    // Something else takes the name, on the same bridge.
    b.sh(&format!(
        "ip link add {veth} type veth peer name other0 && ip link set {veth} master {bridge} up"
    ));
    let err = b.fails("start x");
    assert!(
        err.contains(&veth) && err.contains("left it alone"),
        "{err}"
    );
    assert!(
        b.try_sh(&format!("ip link show {veth} | grep -q 'master {bridge}'")),
        "berth deleted a link that was not its own"
    );
    let ps = b.ok("ps -a --format '{{.Names}} {{.Status}}'");
    assert!(ps.trim().starts_with("x Exited"), "{ps}");
    assert!(
        b.eventually("! test -e $BERTH_ROOT/run/netns/*"),
        "namespace left"
    );
    // Once it is gone, the container starts again.
    b.sh(&format!("ip link del {veth}"));
    b.ok("start x");
    assert!(b.exec_ok("x", "busybox ping -c1 -W2 192.0.2.1"));
    b.ok("rm -f x");
    assert!(b.eventually(&format!("! test -e /sys/class/net/{veth}")));
}
