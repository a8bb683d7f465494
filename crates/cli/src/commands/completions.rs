//! `ocean completions SHELL`: the shell completion script for `ocean` (clap_complete).

use clap::{Arg, ArgMatches, Command, value_parser};
use clap_complete::Shell;
use std::process::ExitCode;

/// Declares `ocean completions`.
pub fn cli() -> Command {
    Command::new("completions")
        .about("Print the shell completion script for bash, zsh or fish")
        .long_about(
            "Prints the completion script for SHELL on standard output, e.g.\n  \
             ocean completions bash > ~/.local/share/bash-completion/completions/ocean\n  \
             ocean completions zsh > \"${fpath[1]}/_ocean\"\n  \
             ocean completions fish > ~/.config/fish/completions/ocean.fish",
        )
        .arg(
            Arg::new("shell")
                .value_name("SHELL")
                .required(true)
                .value_parser(value_parser!(Shell))
                .help("bash, zsh or fish (also elvish, powershell)"),
        )
}

/// Runs `ocean completions`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let shell = *args.get_one::<Shell>("shell").expect("required");
    let mut command = super::cli();
    clap_complete::generate(shell, &mut command, "ocean", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
