//! Fuzz target `sst_reader`: the body is `brkit::fuzzing::sst_reader`, shared with the corpus replay in
//! `tests/fuzz_corpus.rs` so stable CI runs every saved input too.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brkit::fuzzing::sst_reader(data));
