//! Replays every saved fuzz input (`fuzz/corpus/<target>/*`) and every past crasher
//! (`fuzz/regressions/<target>/*`) through the same entry points the fuzz targets use
//! (`brkit::fuzzing`), so stable `cargo test` covers them. A target with no corpus is an error:
//! the corpus is part of the repository.

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("naming", brkit::fuzzing::naming),
    ("backupmeta", brkit::fuzzing::backupmeta),
    ("metafile", brkit::fuzzing::metafile),
    ("lock", brkit::fuzzing::lock),
    ("log_meta", brkit::fuzzing::log_meta),
    ("log_file", brkit::fuzzing::log_file),
    ("write_record", brkit::fuzzing::write_record),
    ("memcomparable", brkit::fuzzing::memcomparable),
    ("row_v2", brkit::fuzzing::row_v2),
    ("sst_reader", brkit::fuzzing::sst_reader),
];

fn replay(dir: &Path, f: Target) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{} panics", path.display());
        n += 1;
    }
    n
}

#[test]
fn every_target_replays_its_corpus_and_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let targets_in_fuzz_toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for (name, f) in TARGETS {
        assert!(targets_in_fuzz_toml.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml lacks target {name}");
        let corpus = replay(&root.join("corpus").join(name), *f);
        let regressions = replay(&root.join("regressions").join(name), *f);
        assert!(corpus > 0, "fuzz/corpus/{name} is empty: seed it and run the fuzzer");
        eprintln!("{name}: {corpus} corpus inputs, {regressions} regressions replayed");
    }
}
