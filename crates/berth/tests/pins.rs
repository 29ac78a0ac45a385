//! berth's network-namespace pins stay out of containers' mount namespaces
//! (issue 13, goal 3; docs/decisions/0018-pins-out-of-mount-namespaces.md):
//! a container's mount table holds none of the pins of the containers
//! running beside it (nor their `/run/netns` names), so its size does not
//! grow with their number, while the pins keep working on the host.

mod common;
use common::B;

/// `MOUNT_POINT FSTYPE` of every mount a new container's mount namespace
/// holds (covered ones included: `/proc/self/mountinfo` lists them all).
fn container_mounts(b: &B) -> Vec<String> {
    b.ok("run --rm busybox cat /proc/self/mountinfo")
        .lines()
        .filter_map(|l| {
            let mp = l.split_whitespace().nth(4)?;
            let fs = l.split(" - ").nth(1)?.split_whitespace().next()?;
            Some(format!("{mp} {fs}"))
        })
        .collect()
}

#[test]
fn containers_copy_no_pins() {
    let b = B::new("pins");
    let pins = b.lab.root().join("run/netns").display().to_string();
    let alone = container_mounts(&b);
    let names = ["a", "b", "c"];
    let ids: Vec<String> = names.iter().map(|n| b.sleeper(n, "")).collect();
    // The pins and names are there on the host, and open the namespaces.
    let host = b.sh("cat /proc/self/mountinfo");
    for (id, name) in ids.iter().zip(names) {
        assert!(host.contains(&format!("{pins}/{id} ")), "no pin of {name}");
        assert!(
            host.contains(&format!("/run/netns/{name} ")),
            "no name {name}"
        );
        assert!(b.try_sh(&format!("ip netns exec {name} ip -br link show eth0")));
        assert!(b.try_sh(&format!("nsenter --net={pins}/{id} ip -br link show eth0")));
    }
    // A container started beside them copies none of them.
    let beside = container_mounts(&b);
    let copied: Vec<&String> = beside
        .iter()
        .filter(|m| {
            m.starts_with(&format!("{pins}/"))
                || names
                    .iter()
                    .any(|n| m.starts_with(&format!("/run/netns/{n} ")))
        })
        .collect();
    assert!(copied.is_empty(), "the container copied pins: {copied:?}");
    assert_eq!(
        beside.len(),
        alone.len(),
        "a container's mounts grew with the containers beside it:\nalone: {alone:#?}\nbeside: {beside:#?}"
    );
    // The running containers' own tables hold none either.
    let inside = b.ok("exec a cat /proc/self/mountinfo");
    assert!(!inside.contains(&format!("{pins}/")), "{inside}");
    b.ok("rm -f a b c");
    let host = b.sh("cat /proc/self/mountinfo");
    assert!(!host.contains(&format!("{pins}/")), "pins left: {host}");
}
