//! `brfs`: see `brkit::brfs`.
fn main() -> std::process::ExitCode {
    brkit::brfs::cli::brfs_main()
}
