//! The resolver gets changes, not the whole snapshot (issue 13, goal 4): a
//! container starting or leaving a DNS network is one line of the journal
//! beside the snapshot, and the snapshot with the journal applied is what
//! the store says — the same as a snapshot built whole.

use super::harness::fake_resolver;
use super::harness::World;
use crate::model::{ContainerConfig, NetworkAttach};
use berth_dns::journal::{journal_path, read_from};
use berth_dns::Snapshot;

/// `run -d --name NAME --network appnet`, running.
fn run(w: &mut World, name: &str) -> crate::Result<()> {
    let config = ContainerConfig {
        networks: vec![NetworkAttach {
            network: "appnet".into(),
            ..Default::default()
        }],
        argv: vec!["sleep".into()],
        ..Default::default()
    };
    let c = w.engine.create_container(Some(name), config)?.container;
    let pid = w.fake.spawn();
    w.engine.mark_running(&c.id, pid, None)
}

/// The endpoints of a snapshot, comparable (order and generation aside).
fn names(s: &Snapshot) -> Vec<(String, String, Option<std::net::Ipv4Addr>)> {
    let mut v: Vec<_> = s
        .endpoints
        .iter()
        .map(|e| (e.name.clone(), e.network_id.clone(), e.ipv4))
        .collect();
    v.sort();
    v
}

/// The snapshot file with its journal applied, as a resolver reads them.
fn served(w: &mut World) -> (Snapshot, usize) {
    let path = w.engine.dns_snapshot_path();
    let mut snap = Snapshot::load(&path).expect("snapshot");
    let (deltas, _) = read_from(&journal_path(&path), 0).expect("journal");
    for d in &deltas {
        snap.apply(d);
    }
    (snap, deltas.len())
}

#[test]
fn a_container_change_is_a_journal_line_not_a_new_snapshot() {
    let mut w = World::new();
    fake_resolver(&mut w);
    super::scenarios::appnet_for_tests(&mut w);
    w.engine.publish_dns().expect("publish");
    let path = w.engine.dns_snapshot_path();
    let before = std::fs::read(&path).expect("snapshot");
    run(&mut w, "web").expect("run web");
    run(&mut w, "api").expect("run api");
    assert_eq!(std::fs::read(&path).expect("snapshot"), before, "rewritten");
    let (snap, lines) = served(&mut w);
    assert_eq!(lines, 2);
    let whole = w.engine.dns_snapshot().expect("whole");
    assert_eq!(names(&snap), names(&whole));
    assert_eq!(names(&snap).len(), 2, "{:?}", names(&snap));
    assert_eq!(snap.networks, whole.networks);
    // A removed container leaves the names served, by a third line.
    w.engine.remove_container("web", true).expect("rm");
    let (snap, lines) = served(&mut w);
    assert_eq!(lines, 3);
    let left: Vec<String> = names(&snap).into_iter().map(|n| n.0).collect();
    assert_eq!(left, ["api"]);
    assert_eq!(
        names(&snap),
        names(&w.engine.dns_snapshot().expect("whole"))
    );
    // The whole snapshot, written again, drops the journal.
    w.engine.publish_dns().expect("publish");
    assert!(!journal_path(&path).exists());
    assert_eq!(served(&mut w).1, 0);
}
