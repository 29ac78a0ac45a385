//! Recovery of records this berth cannot read, an owner still alive, and
//! the store opened in memory.

use super::harness::World;
use crate::engine::Engine;
use crate::kernel::fake::Fake;
use crate::plan::{OpKind, Plan, Step};
use crate::store::{Owner, Store};

/// Records an operation named `kind` (what a newer berth may write) on a
/// container, owned by a dead process, with `plan` as its record.
fn record(w: &mut World, kind: &str, plan: &str) {
    let owner = Owner { pid: 1, start: 1 };
    w.engine
        .store
        .write(|tx| tx.insert_op(OpKind::CreateContainer, "0123456789abcdef", plan, owner))
        .expect("insert");
    let conn = rusqlite::Connection::open(w.engine.paths.db()).expect("db");
    conn.execute("UPDATE ops SET kind = ?1", [kind])
        .expect("update");
}

#[test]
fn records_of_unknown_kinds_or_plans_are_kept_and_touch_nothing() {
    let netns = Plan {
        steps: vec![Step::RemoveNetns {
            path: "/nonexistent/berth-test".into(),
        }],
    };
    for (kind, plan) in [
        ("teleport", netns.to_json()),
        (
            "create",
            "{\"steps\": [{\"step\": \"teleport\"}]}".to_string(),
        ),
    ] {
        let mut w = World::new();
        let before = w.fake.objects();
        record(&mut w, kind, &plan);
        w.fake.clear_log();
        w.next_command(false);
        assert_eq!(w.pending_ops(), 1, "{kind}: the record is kept");
        assert!(w.fake.steps().is_empty(), "{kind}: something was applied");
        assert_eq!(w.fake.objects(), before);
        // reconcile reports it (after doing the rest), forget-op drops it.
        let e = w.engine.reconcile().expect_err("reconcile");
        assert!(e.to_string().contains("corrupt"), "{kind}: {e}");
        let id = w.engine.store.read(|tx| tx.ops()).expect("ops")[0].id;
        w.engine.forget_corrupt_op(id).expect("forget");
        assert_eq!(w.pending_ops(), 0);
    }
}

#[test]
fn an_operation_whose_owner_lives_is_left_to_it() {
    let mut w = World::new();
    let (pid, start) = crate::kernel::Kernel::this_process(&w.fake);
    let plan = Plan::default().to_json();
    w.engine
        .store
        .write(|tx| tx.insert_op(OpKind::RemoveNetwork, "abc", &plan, Owner { pid, start }))
        .expect("insert");
    let e = Engine::with_kernel(
        w.engine.config.clone(),
        Store::open(&w.engine.paths).expect("store"),
        Box::new(w.fake.clone()),
    );
    let mut e = e;
    e.start().expect("start");
    assert_eq!(w.pending_ops(), 1, "a live owner's operation was recovered");
}

#[test]
fn the_store_opens_in_memory() {
    let fake = Fake::new();
    let dir = std::env::temp_dir().join(format!("berth-mem-{}", std::process::id()));
    let config = crate::Config {
        root: Some(dir.clone()),
        ..Default::default()
    };
    let store = Store::open_in_memory().expect("store");
    let mut e = Engine::with_kernel(config, store, Box::new(fake.clone()));
    e.start().expect("start");
    let names: Vec<String> = e
        .networks()
        .expect("nets")
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(fake.objects().links.contains_key("berth0"));
    assert!(!e.paths.db().exists(), "the store was written to disk");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn warnings_come_back_in_results() {
    let mut w = World::new();
    let config = crate::model::ContainerConfig {
        networks: vec![crate::model::NetworkAttach {
            network: "host".into(),
            ..Default::default()
        }],
        publish: vec![crate::model::parse_publish("8080:80").expect("port")],
        argv: vec!["httpd".into()],
        ..Default::default()
    };
    let created = w.engine.create_container(Some("h"), config).expect("run");
    assert_eq!(
        created.warnings,
        ["Published ports are discarded when using host network mode"]
    );
    assert!(created.container.ports.is_empty());
}
