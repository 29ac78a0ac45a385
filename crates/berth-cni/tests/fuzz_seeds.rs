//! Every seed of the fuzz targets (`fuzz/seeds/TARGET/*`), replayed
//! through the target's body on stable: the fuzz crate is its own
//! workspace that only `scripts/fuzz` builds, but its inputs and
//! invariants are checked by every `cargo test`. A crash the fuzzer finds
//! is fixed, then its input added to the seeds.

use std::path::Path;

/// Runs `body` on every file of `fuzz/seeds/TARGET`; there must be some.
fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        eprintln!("{}", path.display());
        body(&data);
        n += 1;
    }
    assert!(n > 0, "no seeds in {}", dir.display());
}

#[test]
fn config_seeds() {
    replay("config", berth_cni::fuzzing::config);
}
