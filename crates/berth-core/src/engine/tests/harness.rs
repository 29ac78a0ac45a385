//! The test world: a temporary state root, a fake kernel and an engine;
//! snapshots of everything an operation may leave (the kernel's objects,
//! the store's records, per-container files); and the two checks every
//! operation goes through, a failed step and a crash.

use crate::engine::Engine;
use crate::kernel::fake::{Crash, Fake, Objects};
use crate::model::ContainerState;
use crate::paths::Paths;
use crate::plan::{OpKind, Recovery};
use crate::store::Store;
use crate::Config;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One operation under test.
pub struct Scenario {
    /// For messages.
    pub name: &'static str,
    /// Its kind.
    pub kind: OpKind,
    /// What must exist before, and stays (networks, containers...).
    pub prelude: fn(&mut World),
    /// What a removal removes (made after the base snapshot); nothing for
    /// a creation.
    pub setup: fn(&mut World),
    /// The operation.
    pub run: fn(&mut World) -> crate::Result<()>,
    /// The kinds of the steps it applies, in order.
    pub steps: &'static [&'static str],
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("berth-fake-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fake host with berth on it.
pub struct World {
    /// The kernel (shared with the engine).
    pub fake: Fake,
    /// The engine of the current "berth command".
    pub engine: Engine,
    dir: TempDir,
}

/// Everything an operation may leave behind.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    kernel: Objects,
    containers: Vec<(String, ContainerState, usize)>,
    networks: Vec<String>,
    endpoints: Vec<(String, String, String)>,
    ops: usize,
    dirs: Vec<String>,
}

impl World {
    /// A fresh host after berth's first command.
    pub fn new() -> World {
        let dir = TempDir::new();
        let fake = Fake::new();
        let engine = Self::command(&dir.0, &fake, false);
        World { fake, engine, dir }
    }

    /// An engine over the state under `root`, having done what every
    /// command does first (with `reconcile`: `berth system reconcile`).
    fn command(root: &std::path::Path, fake: &Fake, reconcile: bool) -> Engine {
        let config = Config {
            root: Some(root.to_path_buf()),
            ..Config::default()
        };
        let store = Store::open(&Paths::new(Some(root))).expect("store");
        let mut e = Engine::with_kernel(config, store, Box::new(fake.clone()));
        e.start().expect("start");
        if reconcile {
            e.reconcile().expect("reconcile");
        }
        e
    }

    /// The next berth command, in a new process (the previous one died or
    /// ended); `reconcile` makes it `berth system reconcile`.
    pub fn next_command(&mut self, reconcile: bool) {
        self.fake.restart();
        self.engine = Self::command(&self.dir.0, &self.fake, reconcile);
    }

    /// Operations still recorded.
    pub fn pending_ops(&mut self) -> usize {
        self.engine.store.read(|tx| tx.ops()).expect("ops").len()
    }

    /// What the kernel, the store and the state root hold now.
    pub fn snapshot(&mut self) -> Snapshot {
        let (cs, nets, eps, ops) = self
            .engine
            .store
            .read(|tx| Ok((tx.containers()?, tx.networks()?, tx.endpoints()?, tx.ops()?)))
            .expect("store");
        let mut containers: Vec<_> = cs
            .iter()
            .map(|c| (c.name.clone(), c.state, c.ports.len()))
            .collect();
        containers.sort_by(|a, b| a.0.cmp(&b.0));
        let mut networks: Vec<String> = nets.into_iter().map(|n| n.name).collect();
        networks.sort();
        let mut endpoints: Vec<_> = eps
            .into_iter()
            .map(|e| {
                let ip = e.ipv4.map(|i| i.to_string()).unwrap_or_default();
                (e.container_id, e.network_id, ip)
            })
            .collect();
        endpoints.sort();
        let dirs = std::fs::read_dir(self.engine.paths.state.join("containers"))
            .map(|rd| {
                let mut v: Vec<String> = rd
                    .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                    .collect();
                v.sort();
                v
            })
            .unwrap_or_default();
        Snapshot {
            kernel: self.fake.objects(),
            containers,
            networks,
            endpoints,
            ops: ops.len(),
            dirs,
        }
    }
}

/// Runs scenario `s` with its `n`-th step failing, before it changes
/// anything and after (half done): a creation fails and leaves what was
/// there before; a removal goes on past the failure and forgets its
/// records.
pub fn fail_at(s: &Scenario, n: usize) {
    fail_once(s, n, false);
    fail_once(s, n, true);
}

fn fail_once(s: &Scenario, n: usize, late: bool) {
    let mut w = World::new();
    (s.prelude)(&mut w);
    let base = w.snapshot();
    (s.setup)(&mut w);
    let before = w.snapshot();
    match late {
        true => w.fake.fail_step_late(n),
        false => w.fake.fail_step(Some(n)),
    }
    let res = (s.run)(&mut w);
    w.fake.fail_step(None);
    let how = if late { "half way" } else { "" };
    let what = format!("{} with step {n} failing {how}", s.name);
    assert_eq!(w.pending_ops(), 0, "{what}: an operation left recorded");
    match s.kind.recovery() {
        Recovery::RollBack => {
            let e = res.expect_err(&what);
            assert!(e.to_string().contains("injected failure"), "{what}: {e}");
            assert_eq!(w.snapshot(), before, "{what}: not rolled back");
        }
        Recovery::RollForward => {
            res.unwrap_or_else(|e| panic!("{what}: {e}"));
            let after = w.snapshot();
            assert_eq!(after.containers, base.containers, "{what}: records");
            assert_eq!(after.networks, base.networks, "{what}: records");
            assert_eq!(after.endpoints, base.endpoints, "{what}: records");
        }
    }
}

/// Runs scenario `s` killed after step `i`, then the next berth command
/// (an ordinary one for even `i`, `system reconcile` for odd): a creation
/// is rolled back to the state before it, a removal rolled forward to the
/// state before what it removes was made. False when the operation ran
/// through (there is no step `i`).
pub fn crash_at(s: &Scenario, i: usize) -> bool {
    let mut w = World::new();
    (s.prelude)(&mut w);
    let base = w.snapshot();
    (s.setup)(&mut w);
    let before = w.snapshot();
    w.fake.crash_after(Some((s.kind, i)));
    let res = catch_unwind(AssertUnwindSafe(|| (s.run)(&mut w)));
    w.fake.crash_after(None);
    let what = format!("{} killed after step {i}", s.name);
    match res {
        Ok(r) => {
            r.unwrap_or_else(|e| panic!("{what}: ran through but failed: {e}"));
            return false;
        }
        Err(p) => assert_eq!(
            p.downcast_ref::<Crash>(),
            Some(&Crash {
                op: s.kind,
                step: i
            }),
            "{what}: another panic"
        ),
    }
    assert_eq!(w.pending_ops(), 1, "{what}: the intent is recorded");
    w.next_command(i % 2 == 1);
    let want = match s.kind.recovery() {
        Recovery::RollBack => before,
        Recovery::RollForward => base,
    };
    assert_eq!(w.snapshot(), want, "{what}, then the next command");
    true
}

/// A stand-in for the resolver on `w`'s control socket: it answers every
/// request with the generation of the last change written (the journal's
/// last line, else the snapshot's), as a resolver that took it does.
pub fn fake_resolver(w: &mut World) {
    let sock = w.engine.dns_control_path();
    let snapshot = w.engine.dns_snapshot_path();
    std::fs::create_dir_all(sock.parent().expect("dns dir")).expect("dns dir");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("control socket");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(&stream), &mut line);
            let journal = berth_dns::journal::journal_path(&snapshot);
            let (deltas, _) = berth_dns::journal::read_from(&journal, 0).unwrap_or_default();
            let generation = match deltas.last() {
                Some(d) => d.generation,
                None => berth_dns::Snapshot::load(&snapshot).map_or(0, |s| s.generation),
            };
            let _ = std::io::Write::write_all(&mut stream, format!("ok {generation}\n").as_bytes());
        }
    });
}
