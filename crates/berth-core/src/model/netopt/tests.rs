use super::*;

#[test]
fn a_plain_value_is_a_name() {
    for v in ["front", "front,back", "container:web", "bridge"] {
        assert_eq!(parse_network_opt(v).unwrap().network, v);
    }
}

#[test]
fn the_long_form_sets_each_field() {
    let a = parse_network_opt(
        "name=front,alias=a,alias=b,ip=192.0.2.9,ip6=2001:db8::9,mac-address=02:42:c0:00:02:09,driver-opt=com.docker.network.endpoint.ifname=lan0,gw-priority=10",
    )
    .unwrap();
    assert_eq!(a.network, "front");
    assert_eq!(a.aliases, ["a", "b"]);
    assert_eq!(a.ip, Some("192.0.2.9".parse().unwrap()));
    assert_eq!(a.ip6, Some("2001:db8::9".parse().unwrap()));
    assert_eq!(a.mac.as_deref(), Some("02:42:c0:00:02:09"));
    assert_eq!(a.driver_opts[ENDPOINT_IFNAME], "lan0");
    assert_eq!(a.gw_priority, 10);
    // Quoted fields keep their commas (Go's CSV).
    let a = parse_network_opt(
        r#"name=front,"driver-opt=com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.forwarding=0,net.ipv4.conf.IFNAME.log_martians=1""#,
    )
    .unwrap();
    assert!(a.driver_opts[ENDPOINT_SYSCTLS].contains("log_martians"));
}

#[test]
fn bad_long_forms_name_docker_s_reason() {
    for (bad, needle) in [
        ("name=front,bogus=1", "invalid field key bogus"),
        ("name=front,alias", "invalid field alias"),
        ("name=,alias=a", "network name/id is not specified"),
        ("alias=a", "network name/id is not specified"),
        ("name=front,driver-opt=x", "invalid key value pair format"),
        ("name=front,ip=banana", "invalid IPv4 address: banana"),
        ("name=front,ip6=192.0.2.1", "invalid IPv6 address"),
        ("name=front,link-local-ip=169.254.1.1", "not supported"),
        ("name=front,gw-priority=high", "gw-priority"),
        ("name=front,\"alias=a", "not closed"),
    ] {
        let e = parse_network_opt(bad).unwrap_err().to_string();
        assert!(e.contains(needle), "{bad}: {e}");
        assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
    }
}

#[test]
fn expose_forms() {
    let e = parse_expose("80").unwrap();
    assert_eq!((e.first, e.last, e.proto), (80, 80, Proto::Tcp));
    let e = parse_expose("8000-8002/udp").unwrap();
    assert_eq!((e.first, e.last, e.proto), (8000, 8002, Proto::Udp));
    for (bad, needle) in [
        ("0", "\"0\""),
        ("70000", "70000"),
        ("banana", "banana"),
        ("90-80", "ends before"),
        ("80/sctp", "sctp"),
        ("80/icmp", "icmp"),
    ] {
        let e = parse_expose(bad).unwrap_err().to_string();
        assert!(e.contains(needle) && e.contains("--expose"), "{bad}: {e}");
    }
}

#[test]
fn sysctls_are_network_ones_with_safe_names() {
    let ok = parse_sysctls(&[
        "net.ipv4.ip_forward=1".into(),
        "net.ipv4.tcp_rmem=4096 87380 6291456".into(),
        "net.ipv4.conf.eth0.rp_filter=2".into(),
    ])
    .unwrap();
    assert_eq!(ok.len(), 3);
    for (bad, needle) in [
        ("vm.swappiness=1", "only network sysctls"),
        ("kernel.hostname=x", "only network sysctls"),
        ("kernel.shmmax=100", "IPC sysctls"),
        ("fs.mqueue.msg_max=20", "IPC sysctls"),
        ("net.ipv4.ip_forward", "KEY=VALUE"),
        ("net..ip_forward=1", "not a sysctl name"),
        ("net.ipv4.conf.a/b.x=1", "not a sysctl name"),
        ("net.ipv4.conf.eth0/../../x=1", "not a sysctl name"),
        ("net.=1", "not a sysctl name"),
        ("net.ipv4.ip_forward=", "printable"),
        ("net.ipv4.ip_forward=1\n2", "printable"),
        ("net.ipv4.ip_forward=../1", "without '/'"),
    ] {
        let e = parse_sysctls(&[bad.to_string()]).unwrap_err().to_string();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}

#[test]
fn endpoint_sysctls_name_their_interface() {
    let v = endpoint_sysctls(
        "net.ipv4.conf.IFNAME.forwarding=0,net.ipv6.conf.IFNAME.accept_ra=2",
        "lan0",
    )
    .unwrap();
    assert_eq!(
        v,
        [
            ("net.ipv4.conf.lan0.forwarding".into(), "0".into()),
            ("net.ipv6.conf.lan0.accept_ra".into(), "2".into())
        ]
    );
    let e = endpoint_sysctls("net.ipv4.ip_forward=1", "eth0").unwrap_err();
    assert!(e.to_string().contains("IFNAME"), "{e}");
    let e = endpoint_sysctls("vm.x.IFNAME.y=1", "eth0").unwrap_err();
    assert!(e.to_string().contains("network sysctls"), "{e}");
    let mut opts = BTreeMap::new();
    opts.insert("com.example.x".to_string(), "1".to_string());
    assert!(endpoint_opts(&opts)
        .unwrap_err()
        .to_string()
        .contains("com.example.x"));
    opts.clear();
    opts.insert(ENDPOINT_IFNAME.to_string(), "a b".to_string());
    assert!(endpoint_opts(&opts).is_err());
}
