//! cargo-fuzz entry of `rosetta_fuzz::targets::id_token` (fuzz/harness), where the target is
//! described.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rosetta_fuzz::targets::id_token::run(data));
