//! Fair shares of the resolver: how many forwarded queries and TCP
//! connections one container, one network and the whole resolver may hold
//! at once, so one container (or one network) flooding it cannot starve
//! the others' DNS.
//!
//! Each level has a [`Budget`] (two counters); taking a [`Permit`] takes
//! one unit at every level or none, and dropping it gives them back.
//! Budgets of containers and networks live in the [`crate::Resolver`] and
//! are carried over to the next one on reload (matched by id), so queries
//! in flight across a reload still count. Lock-free: a few atomic
//! operations per forwarded query or TCP connection, nothing for local
//! answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What a permit is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A forwarded query in flight.
    Forward,
    /// An open TCP connection.
    Tcp,
}

/// What one container, one network or the whole resolver holds now.
#[derive(Debug, Default)]
pub struct Budget {
    forwards: AtomicUsize,
    tcp: AtomicUsize,
}

impl Budget {
    fn counter(&self, kind: Kind) -> &AtomicUsize {
        match kind {
            Kind::Forward => &self.forwards,
            Kind::Tcp => &self.tcp,
        }
    }

    /// Units of `kind` held now.
    pub fn held(&self, kind: Kind) -> usize {
        self.counter(kind).load(Ordering::Relaxed)
    }

    /// Takes one unit of `kind` if fewer than `max` are held.
    fn take(&self, kind: Kind, max: usize) -> bool {
        self.counter(kind)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    fn give_back(&self, kind: Kind) {
        self.counter(kind).fetch_sub(1, Ordering::AcqRel);
    }
}

/// The caps of one kind: per container, per network, in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// At most this many per container (all its addresses and networks).
    pub per_container: usize,
    /// At most this many per network (the one the query arrived on).
    pub per_network: usize,
    /// At most this many in all.
    pub total: usize,
}

/// The budgets a query or connection is charged to.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// The asking container's.
    pub container: &'a Arc<Budget>,
    /// The arrival network's.
    pub network: &'a Arc<Budget>,
}

/// One unit of every level, given back on drop.
#[derive(Debug)]
pub struct Permit {
    kind: Kind,
    held: [Arc<Budget>; 3],
}

impl Drop for Permit {
    fn drop(&mut self) {
        for budget in &self.held {
            budget.give_back(self.kind);
        }
    }
}

impl Charge<'_> {
    /// Takes one unit of `kind` from the container, the network and
    /// `total`, or nothing if any of them is at its cap.
    pub fn take(&self, kind: Kind, caps: Caps, total: &Arc<Budget>) -> Option<Permit> {
        let levels = [
            (self.container, caps.per_container),
            (self.network, caps.per_network),
            (total, caps.total),
        ];
        for (i, (budget, max)) in levels.iter().enumerate() {
            if !budget.take(kind, *max) {
                for (taken, _) in &levels[..i] {
                    taken.give_back(kind);
                }
                return None;
            }
        }
        Some(Permit {
            kind,
            held: levels.map(|(b, _)| b.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_caps_and_permits_give_back() {
        let (a, b, net, total) = (
            Arc::new(Budget::default()),
            Arc::new(Budget::default()),
            Arc::new(Budget::default()),
            Arc::new(Budget::default()),
        );
        let caps = Caps {
            per_container: 2,
            per_network: 3,
            total: 10,
        };
        let charge = |c| Charge {
            container: c,
            network: &net,
        };
        let held: Vec<Permit> = (0..5)
            .filter_map(|_| charge(&a).take(Kind::Forward, caps, &total))
            .collect();
        assert_eq!(held.len(), 2, "per container");
        // b has its own share, but the network is full after one more.
        assert!(charge(&b)
            .take(Kind::Forward, caps, &total)
            .is_some_and(|p| {
                let full = charge(&b).take(Kind::Forward, caps, &total).is_none();
                drop(p);
                full
            }));
        // A refusal at the network level gave the container's unit back.
        assert_eq!(b.held(Kind::Forward), 0);
        assert_eq!(net.held(Kind::Forward), 2);
        assert_eq!(total.held(Kind::Tcp), 0, "kinds are separate");
        drop(held);
        assert_eq!(
            (
                a.held(Kind::Forward),
                net.held(Kind::Forward),
                total.held(Kind::Forward)
            ),
            (0, 0, 0)
        );
    }
}
