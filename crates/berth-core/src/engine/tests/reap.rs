//! Reaping CNI attachments whose namespace the runtime deleted without a
//! DEL (issue 13, goal 5): one operation per batch — one nftables
//! transaction for every attachment's elements and one store transaction
//! forgetting them — whatever the number of attachments.

use super::harness::World;
use super::scenarios::{cni_prelude, cni_request};

/// `n` attachments on `cninet` (container ids c0..), each in a runtime
/// namespace of its own that is then deleted without a DEL.
fn dead_attachments(w: &mut World, n: usize) {
    dead_attachments_on(w, n, None)
}

/// The same, on network `net` (name, subnet) instead of `cninet`.
fn dead_attachments_on(w: &mut World, n: usize, net: Option<(&str, &str)>) {
    for i in 0..n {
        let mut req = cni_request(w);
        if let Some((name, subnet)) = net {
            req.network.name = name.into();
            req.network.subnets[0].subnet = subnet.parse().expect("subnet");
            req.attachment.network = name.into();
        }
        req.attachment.container_id = format!("c{i}");
        req.attachment.netns = w.engine.paths.state.join(format!("ns{i}"));
        req.ports.clear();
        std::fs::write(&req.attachment.netns, "").expect("netns file");
        w.fake.add_netns(&req.attachment.netns);
        w.engine.cni_add(&req).expect("ADD");
        w.fake.delete_netns(&req.attachment.netns);
    }
}

#[test]
fn dead_attachments_are_reaped_in_one_batch() {
    let mut w = World::new();
    cni_prelude(&mut w);
    let empty = w.fake.objects();
    let n = 40;
    dead_attachments(&mut w, n);
    let added = w.fake.objects();
    assert!(added.elements.len() > empty.elements.len());
    w.fake.clear_log();
    let reaped = w.engine.reap_dead().expect("reap");
    assert_eq!(reaped.len(), n);
    // One elements transaction for all of them, then their veths (gone
    // with the namespaces: idempotent deletes).
    let steps = w.fake.steps();
    assert_eq!(
        steps.iter().filter(|s| *s == "elements").count(),
        1,
        "{steps:?}"
    );
    assert_eq!(steps.iter().filter(|s| *s == "retire_veth").count(), n);
    assert_eq!(steps[0], "elements");
    // Nothing left: records, elements, addresses (the next ADD gets the
    // first address again).
    assert_eq!(w.engine.containers().expect("containers").len(), 0);
    assert_eq!(w.fake.objects().elements, empty.elements);
    assert_eq!(w.pending_ops(), 0);
    // A second look finds nothing to do.
    w.fake.clear_log();
    assert!(w.engine.reap_dead().expect("reap").is_empty());
    assert!(w.fake.steps().is_empty());
}

#[test]
fn more_attachments_than_a_batch_take_one_operation_per_batch() {
    let mut w = World::new();
    let n = crate::engine::cni::REAP_BATCH + 3;
    dead_attachments_on(&mut w, n, Some(("bignet", "10.200.0.0/16")));
    w.fake.clear_log();
    assert_eq!(w.engine.reap_dead().expect("reap").len(), n);
    let steps = w.fake.steps();
    assert_eq!(steps.iter().filter(|s| *s == "elements").count(), 2);
    assert_eq!(w.engine.containers().expect("containers").len(), 0);
}

#[test]
fn an_attachment_another_process_is_deleting_is_left_to_it() {
    let mut w = World::new();
    cni_prelude(&mut w);
    dead_attachments(&mut w, 2);
    // A DEL of c0 holds its lock.
    let held = crate::engine::cni::lock_for_tests(&w.engine.paths, "c0", "eth0");
    let reaped = w.engine.reap_dead().expect("reap");
    assert_eq!(reaped.len(), 1, "{reaped:?}");
    drop(held);
    assert_eq!(w.engine.reap_dead().expect("reap").len(), 1);
    assert_eq!(w.engine.containers().expect("containers").len(), 0);
}
