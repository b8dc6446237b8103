//! Fuzz target `metafile`: the body is `brkit::fuzzing::metafile`, shared with the corpus replay in
//! `tests/fuzz_corpus.rs` so stable CI runs every saved input too.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brkit::fuzzing::metafile(data));
