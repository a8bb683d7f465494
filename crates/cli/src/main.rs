//! The `ocean` command-line tool.

fn main() {}
