//! The layering of `../shared/STYLE.md`: dependencies point downward only. Each layer's files
//! may not name a layer above it (`crate::<layer>` paths). Pure layers (`codec`, `format`)
//! also stay free of I/O and async.

use std::path::{Path, PathBuf};

/// (layer, layers it must not use)
const RULES: &[(&str, &[&str])] = &[
    (
        "codec",
        &[
            "format", "storage", "archive", "cluster", "engine", "cli", "brfs",
        ],
    ),
    (
        "format",
        &["storage", "archive", "cluster", "engine", "cli", "brfs"],
    ),
    ("storage", &["archive", "cluster", "engine", "cli", "brfs"]),
    ("archive", &["cluster", "engine", "cli", "brfs"]),
    ("cluster", &["engine", "cli", "brfs"]),
    ("engine", &["cli", "brfs"]),
    // brfs is a front end beside cli: it may not use cli (cli's demo may use brfs).
    ("brfs", &["cli"]),
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

#[test]
fn layers_only_depend_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for (layer, forbidden) in RULES {
        let files = rust_files(&src.join(layer));
        assert!(!files.is_empty(), "no files in src/{layer}");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for up in *forbidden {
                if text.contains(&format!("crate::{up}::"))
                    || text.contains(&format!("crate::{up}::{{"))
                {
                    bad.push(format!(
                        "{} uses crate::{up}",
                        f.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "upward dependencies: {bad:#?}");
}

#[test]
fn pure_layers_do_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for layer in ["codec", "format"] {
        for f in rust_files(&src.join(layer)) {
            let text = std::fs::read_to_string(&f).unwrap();
            // Tests inside a pure module may read the spec text; the code above them may not.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for needle in [
                "std::fs::",
                "tokio::",
                "async fn",
                "std::net::",
                "SystemTime::now",
                "Utc::now",
            ] {
                if code.contains(needle) {
                    bad.push(format!(
                        "{} contains {needle}",
                        f.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "I/O or clock in a pure layer: {bad:#?}");
}
