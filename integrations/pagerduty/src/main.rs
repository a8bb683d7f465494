//! The `ocean-pagerduty` program (wired to the SDK's entry point once it lands).
fn main() {}
