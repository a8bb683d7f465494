//! The body of the `ocean` command-line tool, as a library that tests reach.
//!
//! The binary (`src/main.rs` and `src/commands/`) only declares each subcommand's arguments with
//! clap and calls one function here. Like the binary, this library reports errors with `anyhow`,
//! each saying what it was doing and with what input: it is the tool's body, not an API other
//! crates build on.

pub mod check;
pub mod defaults;
pub mod integration;
pub mod mapping_tests;
pub mod sail;
pub mod scaffold;
pub mod workspace;

/// `ocean version`'s line: `ocean X.Y.Z (Ocean SDK X.Y.Z)`, or only the number with `short`.
pub fn version_line(short: bool) -> String {
    let version = env!("CARGO_PKG_VERSION");
    if short {
        version.to_owned()
    } else {
        format!("ocean {version} (Ocean SDK {version})")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_line_names_the_tool_and_the_sdk() {
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(super::version_line(true), v);
        assert_eq!(
            super::version_line(false),
            format!("ocean {v} (Ocean SDK {v})")
        );
    }
}
