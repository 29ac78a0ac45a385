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

/// A link in a container's namespace with the name a `network connect`
/// would give its new interface (another program's, here a veth pair
/// `eth1`/`other1` inside the namespace)
/// is not taken over: the connect fails, saying so, and leaves that link,
/// the container's other networks and the host as they were.
#[test]
fn a_foreign_link_with_the_interface_name_of_a_connect_is_left_alone() {
    let b = B::new("veth-foreign-ns");
    b.ok("network create --subnet 192.0.2.0/24 front");
    b.ok("network create --subnet 10.125.0.0/24 back");
    b.sleeper("app", "--network front");
    let pid = b.ok("inspect -f '{{.State.Pid}}' app");
    let ns = format!("nsenter --net=/proc/{}/ns/net", pid.trim());
    b.sh(&format!(
        "{ns} ip link add eth1 type veth peer name other1 && {ns} ip addr add 203.0.113.7/24 dev eth1 && {ns} ip link set eth1 up"
    ));
    let links = "ip -o link | grep -c ': veth' || true";
    let before = b.sh(links);
    let err = b.fails("network connect back app");
    assert!(
        err.contains("interface named eth1") && err.contains("left it alone"),
        "{err}"
    );
    // The link is untouched: same kind, same address, same peer.
    let link = b.sh(&format!(
        "{ns} ip -d -o addr show dev eth1; {ns} ip -d -o link show eth1"
    ));
    assert!(
        link.contains("203.0.113.7/24") && link.contains("eth1@other1") && link.contains("veth"),
        "{link}"
    );
    // Nothing half-made: no new veth on the host, the container on front only.
    assert!(b.eventually(&format!("test \"$({links})\" = '{}'", before.trim())));
    let nets = b.ok("inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' app");
    assert_eq!(nets.trim(), "front");
    assert!(
        b.exec_ok("app", "busybox ping -c1 -W2 192.0.2.1"),
        "front still works"
    );
    // Once that link is gone, the connect works.
    b.sh(&format!("{ns} ip link del eth1"));
    b.ok("network connect back app");
    assert!(b.exec_ok("app", "busybox ping -c1 -W2 10.125.0.1"));
}
