//! Fuzz target `log_file`: the body is `brkit::fuzzing::log_file`, shared with the corpus replay in
//! `tests/fuzz_corpus.rs` so stable CI runs every saved input too.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brkit::fuzzing::log_file(data));
