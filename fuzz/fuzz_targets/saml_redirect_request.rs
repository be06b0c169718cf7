//! cargo-fuzz entry of `rosetta_fuzz::targets::saml_redirect_request` (fuzz/harness), where the target is
//! described.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rosetta_fuzz::targets::saml_redirect_request::run(data));
