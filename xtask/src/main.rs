//! Ocean's developer commands (`cargo xtask …`), behind the Makefile's demo, bench, static and
//! image targets. Being written.

fn main() {}
