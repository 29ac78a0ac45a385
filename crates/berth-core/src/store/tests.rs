use super::*;
use crate::model::{Driver, Endpoint, IpamConfig, Network};
use std::collections::BTreeMap;

fn network() -> Network {
    Network {
        id: "n1".into(),
        name: "net".into(),
        driver: Driver::Bridge,
        created: String::new(),
        ipv6: false,
        internal: false,
        ipam: vec![IpamConfig {
            subnet: "10.0.0.0/24".parse().unwrap(),
            gateway: "10.0.0.1".parse().unwrap(),
            ip_range: None,
            aux: BTreeMap::new(),
            range_start: None,
            range_end: None,
        }],
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        bridge: Some("br-x".into()),
        mtu: 1500,
        icc: true,
        masquerade: true,
        host_binding_ipv4: None,
        builtin: false,
        owner: None,
        docker: None,
    }
}

fn container(id: &str) -> crate::model::Container {
    crate::model::Container {
        id: id.into(),
        name: format!("c-{id}"),
        created: String::new(),
        config: Default::default(),
        state: crate::model::ContainerState::Created,
        pid: None,
        pid_start: None,
        supervisor_pid: None,
        exit_code: None,
        started_at: None,
        finished_at: None,
        ports: vec![],
        cni: None,
    }
}

#[test]
fn parallel_writers_never_share_an_address() {
    let dir = std::env::temp_dir().join(format!("berth-store-test-{}", std::process::id()));
    let paths = Paths::new(Some(&dir));
    Store::open(&paths)
        .unwrap()
        .write(|tx| tx.insert_network(&network()))
        .unwrap();
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let paths = paths.clone();
            std::thread::spawn(move || {
                let mut s = Store::open(&paths).unwrap();
                s.write(|tx| {
                    let cid = format!("c{i}");
                    tx.insert_container(&container(&cid))?;
                    let net = tx.network("net")?.unwrap();
                    let ip = crate::ipam::allocate_after(&net.ipam[0], None, |ip| {
                        tx.addr_in_use("n1", ip)
                    })?
                    .unwrap();
                    tx.insert_endpoint(&Endpoint {
                        id: format!("e{i}"),
                        container_id: cid,
                        network_id: "n1".into(),
                        ifname: "eth0".into(),
                        ipv4: Some(ipnet::IpNet::new(ip, 24).unwrap()),
                        ipv6: None,
                        mac: String::new(),
                        host_veth: String::new(),
                        aliases: vec![],
                        position: 0,
                        gw_priority: 0,
                    })
                })
                .unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let used = Store::open(&paths)
        .unwrap()
        .read(|tx| tx.used_addrs("n1"))
        .unwrap();
    assert_eq!(used.len(), 40);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn names_are_unique_and_lookups_accept_prefixes() {
    let dir = std::env::temp_dir().join(format!("berth-store-names-{}", std::process::id()));
    let mut s = Store::open(&Paths::new(Some(&dir))).unwrap();
    s.write(|tx| tx.insert_container(&container("abcdef0123")))
        .unwrap();
    let e = s
        .write(|tx| tx.insert_container(&container("abcdef0123")))
        .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Conflict);
    let mut dup = container("ffff");
    dup.name = "c-abcdef0123".into();
    let e = s.write(|tx| tx.insert_container(&dup)).unwrap_err();
    assert!(e.to_string().contains("already in use"), "{e}");
    assert!(s.read(|tx| tx.container("abcd")).unwrap().is_some());
    assert!(s.read(|tx| tx.container("c-abcdef0123")).unwrap().is_some());
    assert!(s.read(|tx| tx.container("zz")).unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parallel_first_opens_of_a_fresh_store() {
    for round in 0..20 {
        let dir =
            std::env::temp_dir().join(format!("berth-store-fresh-{}-{round}", std::process::id()));
        let paths = Paths::new(Some(&dir));
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let paths = paths.clone();
                std::thread::spawn(move || -> crate::Result<()> {
                    let mut s = Store::open(&paths)?;
                    s.read(|tx| tx.ops())?;
                    s.write(|tx| tx.insert_container(&container(&format!("c{i}"))))
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        // Every write that reported success is there, once, intact: a
        // first open that re-created the database under another writer,
        // or a write that was not committed, loses some.
        let mut names: Vec<String> = Store::open(&paths)
            .unwrap()
            .read(|tx| tx.containers())
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        names.sort();
        let mut want: Vec<String> = (0..16).map(|i| format!("c-c{i}")).collect();
        want.sort();
        assert_eq!(names, want, "round {round}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The settings every open needs, whether it made the database (and
/// switched it to WAL) or found it in WAL already and skipped the switch.
#[test]
fn every_open_has_wal_foreign_keys_and_the_checkpoint_interval() {
    let dir = std::env::temp_dir().join(format!("berth-store-settings-{}", std::process::id()));
    let paths = Paths::new(Some(&dir));
    for first in [true, false] {
        let s = Store::open(&paths).unwrap();
        assert!(header_says_wal(&paths.db()), "first open: {first}");
        let pragma = |name: &str| -> String {
            s.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
        assert_eq!(pragma("foreign_keys"), "Integer(1)");
        assert_eq!(pragma("wal_autocheckpoint"), "Integer(128)");
        assert_eq!(pragma("synchronous"), "Integer(1)");
    }
    // A file that is not (yet) a WAL database is switched.
    std::fs::write(dir.join("other.db"), b"").unwrap();
    assert!(!header_says_wal(&dir.join("other.db")));
    assert!(!header_says_wal(&dir.join("missing.db")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn veth_names_are_unique() {
    let dir = std::env::temp_dir().join(format!("berth-store-veth-{}", std::process::id()));
    let mut s = Store::open(&Paths::new(Some(&dir))).unwrap();
    let ep = |id: &str, cid: &str| Endpoint {
        id: id.into(),
        container_id: cid.into(),
        network_id: "n1".into(),
        ifname: "eth0".into(),
        ipv4: None,
        ipv6: None,
        mac: String::new(),
        host_veth: "veth1234567".into(),
        aliases: vec![],
        position: 0,
        gw_priority: 0,
    };
    s.write(|tx| {
        tx.insert_network(&network())?;
        tx.insert_container(&container("c1"))?;
        tx.insert_container(&container("c2"))?;
        tx.insert_endpoint(&ep("e1", "c1"))
    })
    .unwrap();
    assert!(s.read(|tx| tx.veth_in_use("veth1234567")).unwrap());
    assert!(!s.read(|tx| tx.veth_in_use("veth7654321")).unwrap());
    let e = s
        .write(|tx| tx.insert_endpoint(&ep("e2", "c2")))
        .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Conflict);
    assert!(e.to_string().contains("veth1234567"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_network_name_is_never_taken_as_an_id_prefix() {
    let dir = std::env::temp_dir().join(format!("berth-store-names-{}", std::process::id()));
    let mut s = Store::open(&Paths::new(Some(&dir))).unwrap();
    s.write(|tx| {
        for (id, name) in [("b1", "one"), ("b2", "two"), ("c1", "three")] {
            let mut n = network();
            n.id = id.into();
            n.name = name.into();
            n.bridge = Some(format!("br-{id}"));
            tx.insert_network(&n)?;
        }
        Ok(())
    })
    .unwrap();
    s.read(|tx| {
        // A user's key: name, id, unique prefix; an ambiguous prefix fails.
        assert_eq!(tx.network("c")?.map(|n| n.name).as_deref(), Some("three"));
        assert!(tx.network("b").is_err());
        // A CNI or netavark network name: exact names only.
        assert!(tx.network_by_name("b")?.is_none());
        assert!(tx.network_by_name("c")?.is_none());
        assert_eq!(
            tx.network_by_name("two")?.map(|n| n.id).as_deref(),
            Some("b2")
        );
        Ok(())
    })
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
