//! One long-lived watch on the cluster store (feature `etcd`), for `berth
//! agent`: it follows every change under berth's prefix through a single
//! watch stream kept open between waits, so that each change arrives once,
//! with its key and value, in the store's order, and nothing is missed
//! between two waits (a new watch per wait would cost a stream setup each
//! time and see only that something changed). A stream that breaks (its
//! member died or lost its leader, or the start revision was compacted) is
//! reported as [`Watched::Broken`]; the caller reads everything again and
//! the next wait opens a new watch on the next member, from the revision
//! that read saw.

use super::cluster::{Event, Watched};
use super::etcd_failover::{kv, Members};
use etcd_client::{EventType, WatchOptions, WatchStream};
use std::time::Duration;

/// How long opening a watch may take.
const OPEN: Duration = Duration::from_secs(3);

/// An open watch.
pub(super) struct Open {
    prefix: String,
    stream: WatchStream,
}

impl Members {
    /// Waits up to `timeout` for the next changes under `prefix`. The first
    /// wait (and the first after a break, or with another prefix) opens a
    /// watch from revision `after + 1`; later ones go on with the open
    /// watch wherever it is (the caller skips the changes it has already
    /// read: their revision is not above what it read).
    pub(super) fn watch(
        &mut self,
        prefix: &str,
        after: i64,
        timeout: Duration,
    ) -> Result<Watched, String> {
        if self.watch.as_ref().is_some_and(|w| w.prefix != prefix) {
            self.watch = None;
        }
        if self.watch.is_none() {
            match self.open(prefix, after) {
                Ok(w) => self.watch = Some(w),
                Err(_) => return Ok(self.broken()),
            }
        }
        let Some(open) = self.watch.as_mut() else {
            return Ok(Watched::Broken);
        };
        let got: Result<Option<Watched>, etcd_client::Error> = self.rt.block_on(async {
            let next = async {
                loop {
                    let Some(m) = open.stream.message().await? else {
                        // The stream ended: the member went away.
                        return Ok(Watched::Broken);
                    };
                    if m.canceled() || m.compact_revision() > 0 {
                        return Ok(Watched::Broken);
                    }
                    if m.events().is_empty() {
                        // Its creation, or a progress notification.
                        continue;
                    }
                    let events = m
                        .events()
                        .iter()
                        .filter_map(|e| {
                            let k = e.kv()?;
                            Some(Event {
                                put: e.event_type() == EventType::Put,
                                kv: kv(k),
                                revision: k.mod_revision(),
                            })
                        })
                        .collect();
                    return Ok(Watched::Events(events));
                }
            };
            match tokio::time::timeout(timeout, next).await {
                Ok(r) => r.map(Some),
                Err(_) => Ok(None),
            }
        });
        match got {
            Ok(Some(Watched::Broken)) | Err(_) => Ok(self.broken()),
            Ok(Some(w)) => Ok(w),
            Ok(None) => Ok(Watched::Quiet),
        }
    }

    /// Opens a watch on `prefix` from `after + 1` on the member in use.
    fn open(&mut self, prefix: &str, after: i64) -> Result<Open, etcd_client::Error> {
        let mut c = self.client()?;
        let opts = WatchOptions::new()
            .with_prefix()
            .with_start_revision(after + 1)
            .with_progress_notify();
        let stream = self.rt.block_on(async {
            tokio::time::timeout(OPEN, c.watch(prefix, Some(opts)))
                .await
                .map_err(|_| etcd_client::Error::WatchError("opening a watch timed out".into()))?
        })?;
        Ok(Open {
            prefix: prefix.to_string(),
            stream,
        })
    }

    /// Forgets the watch and moves to the next member.
    fn broken(&mut self) -> Watched {
        self.watch = None;
        self.client = None;
        self.current = (self.current + 1) % self.endpoints.len();
        Watched::Broken
    }
}
