//! Fuzzes what `berth agent` reads from the cluster store: address records
//! of other hosts → VXLAN entries and DNS names. The body (and its
//! invariants) is `berth_core::fuzzing::cluster_records`, which `cargo
//! test -p berth-core` also runs on every file of `seeds/cluster_records/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| berth_core::fuzzing::cluster_records(data));
