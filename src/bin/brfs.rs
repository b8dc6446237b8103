//! `brfs`: the read-only FUSE view of an archive. The mount itself is not built yet (it is the
//! `brfs mount` work item); until then this binary says so and exits 2 instead of pretending.
fn main() -> std::process::ExitCode {
    eprintln!("brfs: the FUSE mount is not implemented in this version of brkit; use `brtool inspect -s URL` to read an archive");
    std::process::ExitCode::from(2)
}
