//! Scenarios of the networks of other drivers: an overlay network of the
//! cluster attached to and detached from this host (the cluster store
//! itself is not involved: these are the local operations), and a macvlan
//! network on a VLAN sub-interface.

use super::harness::{Scenario, World};
use crate::drivers::overlay;
use crate::kernel::vxlan::Underlay;
use crate::model::{IpamConfig, NetworkCreate};
use crate::plan::OpKind;
use crate::Result;

/// Realises overlay network `ov` (10.77.0.0/24) on this host.
fn attach(w: &mut World) -> Result<()> {
    let req = NetworkCreate {
        name: "ov".into(),
        driver: "overlay".into(),
        ..Default::default()
    };
    let subnet = "10.77.0.0/24".parse().expect("subnet");
    let ipam = vec![IpamConfig {
        subnet,
        gateway: crate::ipam::first_host(&subnet),
        ip_range: None,
        aux: Default::default(),
        range_start: None,
        range_end: None,
    }];
    let id = crate::ids::new_id()?;
    let net = overlay::plan_network(&req, &id, overlay::FIRST_VNI, ipam, 1500)?;
    let under = Underlay {
        addr: "192.0.2.10".parse().expect("ip"),
        link: "eth0".into(),
        mtu: 1500,
    };
    w.engine.realize_overlay(&net, &under).map(drop)
}

/// Takes overlay network `ov` down here (it left the cluster).
fn detach(w: &mut World) -> Result<()> {
    let net = w.engine.network("ov")?;
    w.engine.remove_network_op(OpKind::OverlayDetach, &net)
}

fn nothing(_: &mut World) {}

/// The scenarios.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "overlay attach",
            kind: OpKind::OverlayAttach,
            prelude: nothing,
            setup: nothing,
            run: attach,
            steps: &[
                "create_bridge",
                "sysctl",
                "sysctl",
                "sysctl",
                "elements",
                "create_vxlan",
                "elements",
            ],
        },
        Scenario {
            name: "overlay detach",
            kind: OpKind::OverlayDetach,
            prelude: nothing,
            setup: |w| attach(w).expect("attach"),
            run: detach,
            steps: &["elements", "delete_link", "elements", "delete_link"],
        },
        Scenario {
            name: "network create -d macvlan (VLAN parent)",
            kind: OpKind::CreateNetwork,
            prelude: nothing,
            setup: nothing,
            run: |w| {
                let req = NetworkCreate {
                    name: "lan".into(),
                    driver: "macvlan".into(),
                    subnets: vec!["198.51.100.0/24".into()],
                    options: vec!["parent=eth0.10".into()],
                    ..Default::default()
                };
                w.engine.create_network(&req).map(drop)
            },
            steps: &["create_vlan"],
        },
    ]
}

/// An address conflict found by a synchronisation takes the container's
/// veth down (through the kernel's steps, like every change), and the end
/// of the conflict brings it up again.
#[test]
fn a_conflict_cuts_the_veth_off_until_it_is_over() {
    use crate::engine::overlay_report::{ClusterReport, Conflict};
    let mut w = World::new();
    w.fake.add_host_link("vethc0ffee", "veth");
    let conflict = Conflict {
        network: "ov".into(),
        address: "10.77.0.5".parse().expect("ip"),
        container: "a".into(),
        veth: "vethc0ffee".into(),
        holder: "192.0.2.12".into(),
    };
    let report = |conflicts: Vec<Conflict>| ClusterReport {
        store: "etcd://192.0.2.1:2379".into(),
        conflicts,
        ..Default::default()
    };
    w.engine
        .write_report(&report(vec![conflict.clone()]))
        .expect("report");
    assert!(w.fake.objects().down.contains("vethc0ffee"));
    assert_eq!(
        w.engine.cluster_report().expect("kept").conflicts,
        vec![conflict]
    );
    w.engine.write_report(&report(Vec::new())).expect("report");
    assert!(w.fake.objects().down.is_empty());
}

/// The VXLAN guard's elements go in and out one by one as membership
/// changes, and a whole re-render of the tables (reconcile) keeps them.
#[test]
fn the_vxlan_guard_follows_the_members_and_survives_reconcile() {
    use crate::firewall::{Field, Set};
    use crate::store::cluster::HostRec;
    let mut w = World::new();
    attach(&mut w).expect("attach");
    let host = |vtep: &str| {
        let rec = HostRec {
            name: vtep.into(),
            vtep: vtep.parse().expect("ip"),
            underlay: "eth0".into(),
            mtu: 1500,
        };
        (vtep.to_string(), rec)
    };
    let vteps = |w: &World| -> Vec<Field> {
        let objects = w.fake.objects();
        let mut v: Vec<Field> = objects
            .elements
            .iter()
            .filter(|e| e.set == Set::VxlanVteps)
            .map(|e| e.key[0].clone())
            .collect();
        v.sort();
        v
    };
    let addr = |a: &str| Field::Addr(a.parse().expect("ip"));
    w.engine
        .sync_vteps(&[host("192.0.2.11"), host("192.0.2.12")])
        .expect("sync");
    assert_eq!(vteps(&w), vec![addr("192.0.2.11"), addr("192.0.2.12")]);
    w.engine
        .sync_vteps(&[host("192.0.2.12"), host("192.0.2.13")])
        .expect("sync");
    assert_eq!(vteps(&w), vec![addr("192.0.2.12"), addr("192.0.2.13")]);
    w.next_command(true);
    assert_eq!(vteps(&w), vec![addr("192.0.2.12"), addr("192.0.2.13")]);
    // A whole re-render from an older record (the agent's firewall healing
    // in another thread, racing a synchronisation) drops a member: the
    // next synchronisation reads the kernel's sets and puts it back.
    let stale: Vec<_> = w
        .fake
        .objects()
        .elements
        .into_iter()
        .filter(|e| e.key != vec![addr("192.0.2.13")])
        .collect();
    crate::kernel::Kernel::replace_tables(&mut w.fake.clone(), &stale).expect("re-render");
    assert_eq!(vteps(&w), vec![addr("192.0.2.12")]);
    w.engine
        .sync_vteps(&[host("192.0.2.12"), host("192.0.2.13")])
        .expect("sync");
    assert_eq!(vteps(&w), vec![addr("192.0.2.12"), addr("192.0.2.13")]);
    let vni = w
        .fake
        .objects()
        .elements
        .iter()
        .any(|e| e.set == Set::VxlanVnis && e.key == vec![Field::Vni(overlay::FIRST_VNI)]);
    assert!(vni, "the overlay's VNI is guarded");
}

/// The agent's incremental path: another host's endpoint appears and goes
/// on the VXLAN device one change at a time; a bad record is skipped, a
/// change already known is ignored, and what is not a plain endpoint asks
/// for a full synchronisation.
#[test]
fn changes_of_other_hosts_are_applied_one_by_one() {
    use crate::engine::{Followed, Follower};
    use crate::store::cluster::{Event, Kv};
    let mut w = World::new();
    attach(&mut w).expect("attach");
    let net = w.engine.network("ov").expect("ov");
    let dev = overlay::vxlan_name(&net.id);
    let key = |ip: &str| format!("/berth/v1/addrs/{}/{ip}", net.id);
    // Nameless records: nothing for the embedded DNS (no resolver here).
    let rec = |host: &str, mac: &str| {
        format!(
            r#"{{"host":"{host}","vtep":"192.0.2.12","mac":"{mac}","container_id":"ab12","reserved_at":1}}"#
        )
    };
    let ev = |revision: i64, put: bool, key: String, value: String| Event {
        put,
        kv: Kv {
            key,
            value,
            lease: 7,
        },
        revision,
    };
    let fdb = |w: &World| -> Vec<String> {
        let o = w.fake.objects();
        o.routes
            .into_iter()
            .filter(|r| r.starts_with("fdb "))
            .collect()
    };
    let mut f = Follower::new("h1", vec![net.clone()], 10);
    let put = ev(11, true, key("10.77.0.5"), rec("h2", "02:42:0a:4d:00:05"));
    let got = w
        .engine
        .overlay_follow(&mut f, std::slice::from_ref(&put))
        .expect("follow");
    assert_eq!(got, Followed::Applied(1));
    let want = format!("fdb {dev} 02:42:0a:4d:00:05 10.77.0.5 via 192.0.2.12");
    assert_eq!(fdb(&w), vec![want.clone()]);
    assert_eq!(f.revision(), 11);
    // Seen again (a full read's revision covers it): nothing.
    assert_eq!(
        w.engine.overlay_follow(&mut f, &[put]).expect("follow"),
        Followed::Applied(0)
    );
    // A bad MAC and this host's own record: skipped, nothing programmed.
    let bad = ev(12, true, key("10.77.0.6"), rec("h2", "01:00:5e:00:00:01"));
    let own = ev(13, true, key("10.77.0.7"), rec("h1", "02:42:0a:4d:00:07"));
    let got = w
        .engine
        .overlay_follow(&mut f, &[bad, own])
        .expect("follow");
    assert_eq!(got, Followed::Applied(0));
    assert_eq!(fdb(&w), vec![want]);
    // This host's record deleted while no local container uses it: fine.
    let gone = ev(14, false, key("10.77.0.7"), String::new());
    assert_eq!(
        w.engine.overlay_follow(&mut f, &[gone]).expect("follow"),
        Followed::Applied(0)
    );
    // The other host's endpoint goes.
    let del = ev(15, false, key("10.77.0.5"), String::new());
    assert_eq!(
        w.engine.overlay_follow(&mut f, &[del]).expect("follow"),
        Followed::Applied(1)
    );
    assert!(fdb(&w).is_empty());
    // A host record: a full synchronisation (the VTEP guard).
    let host = ev(16, true, "/berth/v1/hosts/h3".into(), "{}".into());
    assert_eq!(
        w.engine.overlay_follow(&mut f, &[host]).expect("follow"),
        Followed::Resync
    );
    // Another host writing this host's address: a full synchronisation
    // (the conflict is reported there).
    let mut f = Follower::new("h1", vec![net.clone()], 20);
    let mine = ev(21, true, key("10.77.0.8"), rec("h1", "02:42:0a:4d:00:08"));
    let taken = ev(22, true, key("10.77.0.8"), rec("h2", "02:42:0a:4d:00:09"));
    assert_eq!(
        w.engine.overlay_follow(&mut f, &[mine]).expect("follow"),
        Followed::Applied(0)
    );
    assert_eq!(
        w.engine.overlay_follow(&mut f, &[taken]).expect("follow"),
        Followed::Resync
    );
    assert!(fdb(&w).is_empty());
}

/// Realising an overlay network here puts its VNI in the VXLAN guard in
/// the network's own plan, before its VXLAN device exists, not at the next
/// synchronisation (the agent's, which lags behind a loaded host: a
/// stranger's frames reached a container meanwhile). The members already
/// known stay accepted, and taking the network down removes the VNI only
/// after the device.
#[test]
fn a_realised_overlay_is_guarded_before_its_device_exists() {
    use crate::firewall::{Field, Set};
    use crate::store::cluster::HostRec;
    let mut w = World::new();
    // A member known from an earlier synchronisation (no overlay here yet).
    let member = HostRec {
        name: "h1".into(),
        vtep: "192.0.2.11".parse().expect("ip"),
        underlay: "eth0".into(),
        mtu: 1500,
    };
    w.engine.sync_vteps(&[("h1".into(), member)]).expect("sync");
    let guarded = |w: &World, set: Set, key: Field| {
        w.fake
            .objects()
            .elements
            .iter()
            .any(|e| e.set == set && e.key == vec![key.clone()])
    };
    let vni = Field::Vni(overlay::FIRST_VNI);
    assert!(!guarded(&w, Set::VxlanVnis, vni.clone()));
    attach(&mut w).expect("attach");
    assert!(
        guarded(&w, Set::VxlanVnis, vni.clone()),
        "VNI guarded at once"
    );
    let member = Field::Addr("192.0.2.11".parse().expect("ip"));
    assert!(guarded(&w, Set::VxlanVteps, member), "the member kept");
    let net = w.engine.network("ov").expect("ov");
    let steps = crate::drivers::network_plan(&net).steps;
    let at = |f: &dyn Fn(&crate::plan::Step) -> bool| steps.iter().position(f);
    let guard = at(
        &|s| matches!(s, crate::plan::Step::Elements { add, .. } if add == &vec![crate::firewall::vni_element(overlay::FIRST_VNI)]),
    );
    let device = at(&|s| {
        matches!(
            s,
            crate::plan::Step::Driver(crate::plan::DriverStep::CreateVxlan { .. })
        )
    });
    assert!(guard < device && guard.is_some(), "{steps:?}");
    detach(&mut w).expect("detach");
    assert!(
        !guarded(&w, Set::VxlanVnis, vni),
        "VNI gone with the network"
    );
}
