//! Labs linked by veth pairs through an underlay bridge in another lab.

use berth_lab::Lab;

#[test]
fn two_labs_talk_through_an_underlay_bridge() {
    let under = Lab::bare("lk-under").expect("underlay lab");
    under.sh_ok("ip link add under type bridge && ip link set under up");
    let a = Lab::bare("lk-a").expect("lab a");
    let b = Lab::bare("lk-b").expect("lab b");
    a.link_to(&under, "ul0", "ul-a", Some("under"))
        .expect("link a");
    b.link_to(&under, "ul0", "ul-b", Some("under"))
        .expect("link b");
    a.sh_ok("ip addr add 192.0.2.11/24 dev ul0");
    b.sh_ok("ip addr add 192.0.2.12/24 dev ul0");
    a.sh_ok("busybox ping -c1 -W2 192.0.2.12");
    let ports = under.sh_ok("ip -o link show master under");
    assert!(ports.contains("ul-a") && ports.contains("ul-b"), "{ports}");
    assert!(a.link_to(&under, "bad name", "x", None).is_err());
}
