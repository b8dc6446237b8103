//! `brtool`: see `brkit::cli`.
fn main() -> std::process::ExitCode {
    brkit::cli::brtool_main()
}
