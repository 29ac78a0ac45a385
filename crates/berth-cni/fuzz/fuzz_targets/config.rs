//! Fuzzes what a runtime hands berth's CNI plugin on stdin: bytes → plugin
//! configuration. Invariants: no panic; every error carries a code of the
//! spec (1-11, 50, 51) or berth's own (100-102) and renders as the spec's
//! error object; a parsed `prevResult` survives a round trip through the
//! configuration's version; `VERSION` answers any input.

#![no_main]

use berth_cni::{config, version, CniResult, Version};
use libfuzzer_sys::fuzz_target;

const CODES: [u32; 13] = [1, 2, 3, 4, 5, 6, 7, 11, 50, 51, 100, 101, 102];

fuzz_target!(|data: &[u8]| {
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
});
