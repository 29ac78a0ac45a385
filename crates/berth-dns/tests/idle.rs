//! An idle resolver leaves on its own (`berth_dns::idle`): never while it
//! has names, never while a publisher holds the publish lock, and once it
//! leaves its control socket and the files it was told to remove are gone
//! before the lock is let go.

mod common;

use std::time::{Duration, Instant};

use berth_dns::idle::IdleExit;
use berth_dns::{control, Server, ServerConfig};
use common::world;
use nix::fcntl::{Flock, FlockArg};

const IDLE: Duration = Duration::from_millis(200);

/// True when `done` completes within `within`.
fn finished(done: &tokio::task::JoinHandle<()>, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done.is_finished() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done.is_finished()
}

/// A resolver serving `snap` (stored in `dir`) that leaves after
/// [`IDLE`] without a name unless `dir`'s `publish.lock` is held, removing
/// `remove` as it goes; with the runtime it runs on (kept alive by the
/// caller) and its task.
fn start(
    dir: &std::path::Path,
    snap: &berth_dns::Snapshot,
    remove: Vec<std::path::PathBuf>,
) -> (tokio::runtime::Runtime, tokio::task::JoinHandle<()>) {
    let snapshot_path = dir.join("snapshot.json");
    snap.store(&snapshot_path).unwrap();
    let mut config = ServerConfig::new(&snapshot_path, dir.join("control.sock"));
    config.port = 0;
    config.idle_exit = Some(IdleExit {
        after: IDLE,
        lock: dir.join("publish.lock"),
        remove,
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::bind(config)).unwrap();
    let running = rt.spawn(async move {
        server.run(std::future::pending()).await.unwrap();
    });
    (rt, running)
}

#[test]
fn leaves_once_idle_and_only_without_the_publish_lock() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot_path = dir.path().join("snapshot.json");
    let control_path = dir.path().join("control.sock");
    let lock_path = dir.path().join("publish.lock");
    let pid_file = dir.path().join("resolver.pid");
    std::fs::write(&pid_file, "1").unwrap();
    let mut snap = world::loopback(&[]);
    let (_rt, running) = start(dir.path(), &snap, vec![pid_file.clone()]);

    // With names to serve it stays.
    assert!(!finished(&running, IDLE * 5), "left with names to serve");
    assert!(control::ping(&control_path, Duration::from_secs(2)).is_ok());

    // The last name gone while a publisher holds the lock: it stays.
    let lock = std::fs::File::create(&lock_path).unwrap();
    let held = Flock::lock(lock, FlockArg::LockExclusive).unwrap();
    snap.endpoints.clear();
    snap.generation += 1;
    snap.store(&snapshot_path).unwrap();
    assert_eq!(
        control::reload(&control_path, Duration::from_secs(2)).unwrap(),
        snap.generation
    );
    assert!(!finished(&running, IDLE * 5), "left under the publish lock");
    assert!(control_path.exists() && pid_file.exists());

    // The lock let go: it leaves, its socket and PID file gone.
    drop(held);
    assert!(
        finished(&running, Duration::from_secs(10)),
        "did not leave once idle"
    );
    assert!(!control_path.exists());
    assert!(!pid_file.exists());
    assert!(control::ping(&control_path, Duration::from_millis(200)).is_err());
}

#[test]
fn a_name_arriving_under_the_lock_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot_path = dir.path().join("snapshot.json");
    let control_path = dir.path().join("control.sock");
    let lock_path = dir.path().join("publish.lock");
    let full = world::loopback(&[]);
    let mut empty = full.clone();
    empty.endpoints.clear();
    let (_rt, running) = start(dir.path(), &empty, Vec::new());
    // A publisher takes the lock and writes names, but has not asked for
    // the reload yet when the resolver would leave: it reads them first.
    let lock = std::fs::File::create(&lock_path).unwrap();
    let held = Flock::lock(lock, FlockArg::LockExclusive).unwrap();
    let mut next = full.clone();
    next.generation = 2;
    next.store(&snapshot_path).unwrap();
    std::thread::sleep(IDLE * 3);
    drop(held);
    assert!(!finished(&running, IDLE * 5), "left with names written");
    assert_eq!(
        control::reload(&control_path, Duration::from_secs(2)).unwrap(),
        2
    );
}
