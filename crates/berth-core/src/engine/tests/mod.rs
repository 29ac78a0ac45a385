//! The engine driven through the fake kernel (`kernel::fake`): every
//! operation's steps in order, a failure injected at each step and what it
//! leaves, and a crash after each step followed by the next berth command
//! (or `system reconcile`) — without root, in milliseconds. The lab tests
//! (`crates/berth/tests/recovery.rs`...) prove the same against the real
//! kernel.
//!
//! Each check runs in a fresh [`World`]: a temporary state root, a store
//! file in it, a fake kernel, and an engine over them that has done what
//! the first berth command after a boot does.

mod dns_delta;
mod docker;
mod flags;
mod harness;
mod host_conflicts;
mod overlay;
mod query_plans;
mod reap;
mod recovery;
mod retire;
mod scenarios;

use harness::{Scenario, World};

/// The operations under test; together they cover every [`OpKind`].
fn scenarios() -> Vec<Scenario> {
    scenarios::all()
}

#[test]
fn every_kind_of_operation_is_covered() {
    let covered: Vec<_> = scenarios().iter().map(|s| s.kind).collect();
    for kind in crate::plan::OpKind::ALL {
        assert!(covered.contains(&kind), "no scenario runs {kind}");
    }
}

#[test]
fn each_operation_applies_its_steps_in_order() {
    for s in scenarios() {
        let mut w = World::new();
        (s.prelude)(&mut w);
        (s.setup)(&mut w);
        w.fake.clear_log();
        (s.run)(&mut w).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(w.fake.steps(), s.steps, "{}: the steps applied", s.name);
        assert_eq!(w.pending_ops(), 0, "{}: an operation left recorded", s.name);
    }
}

#[test]
fn a_failed_step_rolls_creations_back_and_removals_go_on() {
    for s in scenarios() {
        for n in 0..s.steps.len() {
            harness::fail_at(&s, n);
        }
    }
}

#[test]
fn a_crash_after_any_step_is_recovered_by_the_next_command() {
    for s in scenarios() {
        let crashed = (0..s.steps.len())
            .filter(|i| harness::crash_at(&s, *i))
            .count();
        assert_eq!(crashed, s.steps.len(), "{}: crashes simulated", s.name);
    }
}
