//! Fuzz target `log_meta`: the body is `brkit::fuzzing::log_meta`, shared with the corpus replay in
//! `tests/fuzz_corpus.rs` so stable CI runs every saved input too.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brkit::fuzzing::log_meta(data));
