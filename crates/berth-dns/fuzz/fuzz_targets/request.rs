//! Fuzzes the embedded DNS's request path: bytes → parse → lookup →
//! reply. The body (and its invariants) is `berth_dns::fuzzing::request`,
//! which `cargo test -p berth-dns` also runs on every file of
//! `seeds/request/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_dns::fuzzing::request(data));
