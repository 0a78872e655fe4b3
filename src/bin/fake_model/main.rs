//! placeholder until the fake-model helper writes this file.
fn main() {}
