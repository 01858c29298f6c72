//! Micro-benchmarks live in this package's `[[bench]]` targets; this library
//! is empty. See benches/README.md.
