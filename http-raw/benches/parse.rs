//! Criterion benchmark of the request parser: `cargo bench -p http-raw`.
fn main() {}
