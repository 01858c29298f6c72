//! Rebuilds the server when the console's built files change: they are
//! embedded in the binary (see `src/http/console.rs`).

fn main() {
    println!("cargo:rerun-if-changed=../../console/dist");
}
