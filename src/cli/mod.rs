//! The thin front end of `brtool`: clap parses arguments into the library's option structs,
//! one file per subcommand renders the result. Exit codes: 0 success, 1 findings (verify),
//! 2 could not run (bad arguments, unreadable storage, undecodable archive).

mod common;
mod demo;
mod inspect;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// brtool: inspect, verify, back up and restore TiDB BR archives.
#[derive(Debug, Parser)]
#[command(name = "brtool", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a snapshot or log archive (like `br debug decode`): ts, cluster, tables, files.
    Inspect(inspect::InspectArgs),
    /// Run the end-to-end demonstration on a temporary directory.
    Demo(demo::DemoArgs),
}

/// Runs brtool with the process arguments.
pub fn brtool_main() -> ExitCode {
    common::init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Demo(a) => demo::run(a),
    };
    common::finish(result)
}
