//! Fuzzes the `-p` parser (`berth run -p`): bytes → `PortSpec`. The body
//! (and its invariants) is `berth_core::fuzzing::publish`, which `cargo
//! test -p berth-core` also runs on every file of `seeds/publish/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_core::fuzzing::publish(data));
