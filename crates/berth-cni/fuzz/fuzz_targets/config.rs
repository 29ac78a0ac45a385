//! Fuzzes what a runtime hands berth's CNI plugin on stdin: bytes → plugin
//! configuration. The body (and its invariants) is
//! `berth_cni::fuzzing::config`, which `cargo test -p berth-cni` also
//! runs on every file of `seeds/config/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_cni::fuzzing::config(data));
