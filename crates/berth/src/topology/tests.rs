//! Golden tests of the renderers on a fixed topology: two networks, a
//! running container with a published port, an exited one, and one problem
//! of each side (a leaked veth, an orphan bridge, a missing port element).
//! `BERTH_BLESS=1 cargo test -p berth topology` rewrites the golden files
//! in `crates/berth/tests/golden/`.

use super::*;

fn iface(name: &str, index: u32, peer: Option<u32>, addrs: &[&str]) -> Iface {
    Iface {
        name: name.into(),
        index,
        mac: Some(format!("02:42:c0:00:02:{index:02x}")),
        addrs: addrs.iter().map(|a| a.to_string()).collect(),
        up: true,
        peer,
        counters: Counters {
            rx_bytes: 1500 * u64::from(index),
            tx_bytes: 900 * u64::from(index),
            rx_packets: 10 * u64::from(index),
            tx_packets: 6 * u64::from(index),
        },
    }
}

fn sample() -> Topology {
    let web = Ctr {
        name: "web".into(),
        id: "0123456789ab".into(),
        state: "running".into(),
        pid: Some(4242),
        netns: Some("/run/berth/netns/0123".into()),
        ip_netns: Some("web".into()),
        links: vec![Attachment {
            network: "appnet".into(),
            bridge: "br-aaaaaaaaaaaa".into(),
            ifname: "eth0".into(),
            host_veth: "veth1234567".into(),
            addrs: vec!["192.0.2.2/24".into()],
            mac: "02:42:c0:00:02:02".into(),
            dns: vec!["web".into(), "www".into()],
            inside: Some(iface("eth0", 2, Some(7), &["192.0.2.2/24"])),
            outside: Some(iface("veth1234567", 7, Some(2), &[])),
        }],
        ports: vec![
            Port {
                spec: "0.0.0.0:8080->80/tcp".into(),
                in_kernel: true,
            },
            Port {
                spec: "127.0.0.1:5353->53/udp".into(),
                in_kernel: false,
            },
        ],
    };
    let old = Ctr {
        name: "old".into(),
        id: "ba9876543210".into(),
        state: "exited".into(),
        links: vec![Attachment {
            network: "appnet".into(),
            bridge: "br-aaaaaaaaaaaa".into(),
            ifname: "eth0".into(),
            host_veth: "veth7654321".into(),
            addrs: vec!["192.0.2.3/24".into()],
            mac: "02:42:c0:00:02:03".into(),
            dns: vec!["old".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let edge = Ctr {
        name: "edge".into(),
        id: "cdcdcdcdcdcd".into(),
        state: "running".into(),
        pid: Some(4343),
        netns: Some("/run/berth/netns/cdcd".into()),
        ip_netns: Some("edge".into()),
        links: vec![Attachment {
            network: "lan".into(),
            ifname: "eth0".into(),
            host_veth: "vethcdcdcdc".into(),
            addrs: vec!["203.0.113.5/24".into()],
            mac: "02:42:cb:00:71:05".into(),
            dns: vec!["edge".into()],
            inside: Some(iface("eth0", 2, None, &["203.0.113.5/24"])),
            ..Default::default()
        }],
        ..Default::default()
    };
    Topology {
        host: Host {
            uplink: Some(iface("uplink", 3, Some(2), &["198.51.100.2/24"])),
            gateway: Some("198.51.100.1".into()),
            forwarding: true,
        },
        networks: vec![
            Net {
                name: "appnet".into(),
                id: "aaaaaaaaaaaa".into(),
                driver: "bridge".into(),
                parent: None,
                bridge_name: "br-aaaaaaaaaaaa".into(),
                bridge: Some(iface("br-aaaaaaaaaaaa", 5, None, &["192.0.2.1/24"])),
                gateways: vec!["192.0.2.1/24".into()],
                internal: false,
                masquerade: true,
                icc: true,
            },
            Net {
                name: "backend".into(),
                id: "bbbbbbbbbbbb".into(),
                driver: "bridge".into(),
                parent: None,
                bridge_name: "br-bbbbbbbbbbbb".into(),
                bridge: Some(iface("br-bbbbbbbbbbbb", 6, None, &["198.51.100.129/25"])),
                gateways: vec!["198.51.100.129/25".into()],
                internal: true,
                masquerade: false,
                icc: false,
            },
            Net {
                name: "lan".into(),
                id: "cccccccccccc".into(),
                driver: "macvlan".into(),
                parent: Some("uplink".into()),
                gateways: vec!["203.0.113.1/24".into()],
                icc: true,
                ..Default::default()
            },
        ],
        containers: vec![web, old, edge],
        problems: vec![
            Problem {
                kind: ProblemKind::LeakedVeth,
                subject: "vethdeadbee".into(),
                bridge: Some("br-aaaaaaaaaaaa".into()),
                detail:
                    "vethdeadbee is a port of br-aaaaaaaaaaaa but no running berth container has it"
                        .into(),
            },
            Problem {
                kind: ProblemKind::OrphanBridge,
                subject: "br-cccccccccccc".into(),
                bridge: None,
                detail: "bridge br-cccccccccccc is named like berth's but no berth network has it"
                    .into(),
            },
            Problem {
                kind: ProblemKind::MissingPort,
                subject: "web 127.0.0.1 . udp . 5353 : 192.0.2.2 . 53".into(),
                bridge: None,
                detail: "the kernel's ports4 map lacks 127.0.0.1 . udp . 5353 : 192.0.2.2 . 53"
                    .into(),
            },
        ],
    }
}

/// Compares `text` with golden file `name` (`BERTH_BLESS=1` rewrites it;
/// see `berth_lab::golden`).
fn golden(name: &str, text: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    berth_lab::golden(&path, text);
}

#[test]
fn text_golden() {
    golden("topology.txt", &render(&sample(), "text").unwrap());
}

#[test]
fn json_golden() {
    golden("topology.json", &render(&sample(), "json").unwrap());
}

#[test]
fn dot_golden_and_parsed_by_the_layout_library() {
    let dot = render(&sample(), "dot").unwrap();
    golden("topology.dot", &dot);
    layout::gv::DotParser::new(&dot)
        .process()
        .expect("the DOT parses");
}

#[test]
fn dot_is_valid_for_graphviz_when_installed() {
    let dot = render(&sample(), "dot").unwrap();
    let have = berth_lab::have_program("dot");
    if !berth_lab::tool_available(have, "graphviz's dot is not installed") {
        return;
    }
    let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        panic!("graphviz's dot is in PATH but cannot be started");
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot refused it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn svg_is_laid_out_with_every_object() {
    let svg = render(&sample(), "svg").unwrap();
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{svg}");
    for s in [
        "web",
        "br-aaaaaaaaaaaa",
        "uplink",
        "vethdeadbee",
        "br-cccccccccccc",
        "8080",
    ] {
        assert!(svg.contains(s), "{s} is not in the SVG");
    }
}

#[test]
fn dot_quotes_what_it_must() {
    assert_eq!(dot::quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
}

#[test]
fn unknown_format_is_refused() {
    let err = render(&sample(), "png").unwrap_err().to_string();
    assert!(err.contains("text, json, dot or svg"), "{err}");
}
