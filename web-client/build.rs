//! Rebuilds the crate when a file under `static/` changes: `include_dir!` embeds the
//! directory but, on stable Rust, does not tell Cargo which files it read, so an edited
//! script would otherwise keep being served from the old binary.

fn main() {
    // A directory here makes Cargo scan everything under it for changes.
    println!("cargo:rerun-if-changed=static");
}
