//! The `ocean` command-line tool. Each subcommand lives in `commands/<name>.rs` with a `cli()`
//! that declares it and an `exec()` that runs it by calling into the libraries; this file only
//! dispatches.

mod commands;

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let matches = commands::cli().get_matches();
    let (name, sub) = matches.subcommand().expect("a subcommand is required");
    match commands::exec(name, sub) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
