//! Rebuild when a migration changes: `sqlx::migrate!` embeds the files at
//! compile time and cargo would not notice an edit otherwise.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
