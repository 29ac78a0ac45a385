//! Every command costs its own work, not the store's size (issue 13, goal
//! 5): each SQL statement a hot path runs — every kind of operation, what
//! every command does first, `network inspect`'s reads — must find its rows
//! through an index. The statements are the ones SQLite really ran (traced
//! while the scenarios run), and their plans are SQLite's own (`EXPLAIN
//! QUERY PLAN`): a `SCAN` of a table is a read of all of it, whatever
//! index it walks, and fails the test.

use super::harness::{self, World};
use super::scenarios;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Tables a hot path may scan, and why.
const SMALL: &[(&str, &str)] = &[
    (
        "ops",
        "the journal of unfinished operations: a row per operation in flight, deleted when it settles",
    ),
    (
        "host_changes",
        "a row per host setting berth changed (a few sysctls and accept rules)",
    ),
];

/// Scans one operation may make, and why: (scenario name prefix, table).
const INHERENT: &[(&str, &str, &str)] = &[
    (
        "network create -d macvlan",
        "networks",
        "a macvlan or ipvlan network's parent link is checked against every other network's (a bridge network's name, bridge and subnets are looked up through indexes)",
    ),
    (
        "CNI reap",
        "containers",
        "looking for dead containers is looking at every container (`ps` lists them all anyway); reaping them is batched",
    ),
];

/// The statements run by `f` on world `w`'s store, with how many times
/// each ran.
fn traced(w: &mut World, f: impl FnOnce(&mut World)) -> BTreeMap<String, usize> {
    let seen: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let sink = seen.clone();
    w.engine
        .store()
        .trace(move |sql| {
            if let Ok(mut m) = sink.lock() {
                *m.entry(sql.to_string()).or_default() += 1;
            }
        })
        .expect("trace");
    f(w);
    let out = seen.lock().map(|m| m.clone()).unwrap_or_default();
    out
}

/// The steps of `sql`'s plan that read a whole table (not a small one).
fn full_scans(w: &mut World, sql: &str) -> Vec<String> {
    let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
    if !["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&first.as_str()) {
        return Vec::new(); // BEGIN, COMMIT, PRAGMA...
    }
    let plan = w
        .engine
        .store()
        .query_plan(sql)
        .unwrap_or_else(|e| panic!("EXPLAIN QUERY PLAN {sql}: {e}"));
    plan.into_iter()
        .filter(|step| {
            let Some(rest) = step.strip_prefix("SCAN ") else {
                return false;
            };
            let table = rest.split_whitespace().next().unwrap_or("");
            table != "CONSTANT" && !SMALL.iter().any(|(t, _)| *t == table)
        })
        .collect()
}

/// The hot paths: every kind of operation (the scenarios), each followed
/// by what the next command does first, and `network inspect`.
fn hot_statements() -> BTreeMap<String, Vec<&'static str>> {
    let mut all: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for s in scenarios::all() {
        let mut w = World::new();
        harness::fake_resolver(&mut w);
        (s.prelude)(&mut w);
        (s.setup)(&mut w);
        // The resolver serves a snapshot already (the first publication
        // writes it whole; every later one is a change).
        w.engine.publish_dns().expect("publish");
        let names: Vec<String> = w
            .engine
            .networks()
            .expect("networks")
            .into_iter()
            .map(|n| n.name)
            .collect();
        let ran = traced(&mut w, |w| {
            (s.run)(w).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            w.engine.start().expect("start");
            // `network inspect` of each network.
            for name in &names {
                if let Ok(n) = w.engine.network(name) {
                    let _ = w.engine.store().read(|tx| tx.network_members(&n.id));
                }
            }
        });
        for sql in ran.into_keys() {
            all.entry(sql).or_default().push(s.name);
        }
    }
    all
}

#[test]
fn no_hot_path_reads_a_whole_table() {
    let statements = hot_statements();
    let mut w = World::new();
    let mut bad = Vec::new();
    for (sql, by) in &statements {
        let by: Vec<&str> = by
            .iter()
            .copied()
            .filter(|s| {
                !INHERENT.iter().any(|(op, table, _)| {
                    s.starts_with(op) && sql.contains(&format!("FROM {table} "))
                })
            })
            .collect();
        if by.is_empty() {
            continue;
        }
        for step in full_scans(&mut w, sql) {
            bad.push(format!("{sql}\n    -> {step}\n    (by {})", by.join(", ")));
        }
    }
    assert!(
        bad.is_empty(),
        "statements reading a whole table on a hot path:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_scan_check_finds_a_scan() {
    // The check itself: a read of every container is a scan, a lookup by
    // name is not (a test that cannot fail is a defect).
    let mut w = World::new();
    assert_eq!(
        full_scans(&mut w, "SELECT data FROM containers ORDER BY rowid"),
        ["SCAN containers"]
    );
    assert!(full_scans(&mut w, "SELECT data FROM containers WHERE name = ?1").is_empty());
}
