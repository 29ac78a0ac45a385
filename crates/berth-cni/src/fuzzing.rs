//! The fuzz targets' bodies (`fuzz/fuzz_targets/`), here so that the seed
//! files in `fuzz/seeds/` are replayed through the same code by an
//! ordinary `cargo test` (`tests/fuzz_seeds.rs`) on stable, and the
//! targets stay one line each. Each function panics when an invariant is
//! broken: that is what the fuzzer looks for. Not an API.

use crate::{config, version, CniResult, Version};

/// The error codes berth's plugin may return: the spec's (1-7, 11, 50, 51)
/// and berth's own (100-102).
const CODES: [u32; 13] = [1, 2, 3, 4, 5, 6, 7, 11, 50, 51, 100, 101, 102];

/// Target `config`: what a runtime hands berth's CNI plugin on stdin.
/// Invariants: no panic; every error carries a code of the spec or
/// berth's own and renders as the spec's error object; a parsed
/// `prevResult` survives a round trip through the configuration's
/// version; `VERSION` answers any input.
pub fn config(data: &[u8]) {
    let v = version::version_result(data);
    assert!(v["supportedVersions"].is_array());
    match config::parse(data) {
        Err(e) => {
            assert!(CODES.contains(&e.code), "code {} for {e}", e.code);
            let json = e.to_json(Version::LATEST.as_str());
            assert_eq!(json["code"], e.code);
        }
        Ok(c) => {
            if let Some(prev) = &c.prev_result {
                // 0.3.x / 0.4.0 drop 1.1.0's extras; 1.1.0 keeps everything.
                let again = CniResult::from_json(&prev.to_json(Version::V1_1_0))
                    .expect("a rendered result parses");
                assert_eq!(&again, prev);
                let _ = prev.to_json(c.version);
            }
        }
    }
}
