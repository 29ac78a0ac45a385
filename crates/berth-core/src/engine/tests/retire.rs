//! Retired veths (`kernel::retire`): a CNI DEL returns with the veth out
//! of service — off its bridge, down, its container end renamed, elements
//! and record gone — and leaves its deletion to a reaper; a crash before
//! the reaper runs is finished by the next command. A disconnect leaves
//! the container end's name to the reaper, and a connect that needs the
//! name before it frees it.

use super::harness::World;
use super::scenarios::{cni_add, cni_prelude, cni_request, connect_other, web_and_othernet};
use crate::plan::OpKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A launcher that only counts its calls (the reaper does not run).
fn counting_launcher(w: &mut World) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    w.engine.config.reaper = Some(Arc::new(move |_, _| {
        seen.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }));
    calls
}

#[test]
fn a_del_retires_the_veth_and_a_reaper_deletes_it() {
    let mut w = World::new();
    cni_prelude(&mut w);
    let empty = w.fake.objects();
    cni_add(&mut w).expect("ADD");
    let calls = counting_launcher(&mut w);
    w.engine.cni_del("cninet", "c1", "eth0").expect("DEL");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one reaper started");
    let o = w.fake.objects();
    assert_eq!(o.retired.len(), 1, "{o:?}");
    let host = o.retired.iter().next().expect("retired").clone();
    let link = &o.links[&host];
    assert_eq!(link.master, None, "off the bridge");
    assert!(o.down.contains(&host));
    let netns = cni_request(&w).attachment.netns;
    let eth0 = crate::kernel::fake::link_key(Some(&netns), "eth0");
    assert!(!o.links.contains_key(&eth0), "eth0 is free at once");
    assert_eq!(o.elements, empty.elements, "elements released");
    assert!(w.engine.containers().expect("containers").is_empty());
    assert_eq!(w.pending_ops(), 0);
    // The same attachment again, before the reaper: no clash.
    cni_add(&mut w).expect("ADD again");
    w.engine.cni_del("cninet", "c1", "eth0").expect("DEL again");
    assert_eq!(w.fake.objects().retired.len(), 2);
    assert_eq!(w.engine.reap_now(), 2);
    let o = w.fake.objects();
    assert!(o.retired.is_empty());
    assert_eq!(o.links, empty.links, "the veths and their peers are gone");
}

#[test]
fn a_crash_before_the_reaper_is_finished_by_the_next_command() {
    let mut w = World::new();
    cni_prelude(&mut w);
    let empty = w.fake.objects();
    cni_add(&mut w).expect("ADD");
    counting_launcher(&mut w);
    // Killed right after the veth was retired (step 1: after elements).
    w.fake.crash_after(Some((OpKind::CniDel, 1)));
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        w.engine.cni_del("cninet", "c1", "eth0").map(drop)
    }));
    w.fake.crash_after(None);
    assert!(crashed.is_err(), "the DEL was killed");
    assert_eq!(w.fake.objects().retired.len(), 1);
    w.next_command(false);
    let o = w.fake.objects();
    assert!(o.retired.is_empty(), "{o:?}");
    assert_eq!(o.links, empty.links);
    assert_eq!(w.pending_ops(), 0);
}

#[test]
fn a_disconnect_keeps_the_container_end_until_a_connect_needs_its_name() {
    let mut w = World::new();
    web_and_othernet(&mut w);
    let before = w.fake.objects();
    connect_other(&mut w).expect("connect");
    let id = w.engine.container("web").expect("web").id;
    let eth1 = crate::kernel::fake::link_key(Some(&w.engine.paths.netns(&id)), "eth1");
    let first = w.fake.objects().links[&eth1]
        .peer
        .clone()
        .expect("host end");
    let calls = counting_launcher(&mut w);
    w.engine.disconnect("web", "other").expect("disconnect");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one reaper started");
    let o = w.fake.objects();
    assert_eq!(o.retired.iter().collect::<Vec<_>>(), vec![&first]);
    assert_eq!(o.links[&first].master, None, "off the bridge");
    assert!(o.down.contains(&first));
    assert_eq!(o.elements, before.elements, "elements released");
    // The container end stays as it was, for the reaper.
    assert_eq!(o.links[&eth1].peer.as_ref(), Some(&first));
    // Connected again before the reaper: eth1 is needed, and freed.
    connect_other(&mut w).expect("connect again");
    let o = w.fake.objects();
    let second = o.links[&eth1].peer.clone().expect("host end");
    assert_ne!(second, first, "a new veth is eth1");
    assert_eq!(
        o.links[&first]
            .peer
            .as_deref()
            .map(|p| p.ends_with(&format!("gone-{first}"))),
        Some(true)
    );
    assert_eq!(w.engine.reap_now(), 1);
    w.engine
        .disconnect("web", "other")
        .expect("disconnect again");
    assert_eq!(w.engine.reap_now(), 1);
    assert_eq!(w.fake.objects().links, before.links, "nothing left");
    assert_eq!(w.pending_ops(), 0);
}
