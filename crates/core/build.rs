//! Rebuilds when a migration is added: `sqlx::migrate!` embeds the folder at build time.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
