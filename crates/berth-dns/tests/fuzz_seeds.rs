//! Every seed of the fuzz target (`fuzz/seeds/request/*`: a selector byte,
//! then a DNS packet), replayed through the target's body on stable: the
//! fuzz crate is its own workspace that only `scripts/fuzz` builds, but its
//! inputs and invariants are checked by every `cargo test`. A crash the
//! fuzzer finds is fixed, then its input added to the seeds.

use std::path::Path;

#[test]
fn request_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/request");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        eprintln!("{}", path.display());
        berth_dns::fuzzing::request(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n > 0, "no seeds in {}", dir.display());
}
