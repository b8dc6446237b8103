//! Fuzz target `row_v2`: the body is `brkit::fuzzing::row_v2`, shared with the corpus replay in
//! `tests/fuzz_corpus.rs` so stable CI runs every saved input too.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brkit::fuzzing::row_v2(data));
