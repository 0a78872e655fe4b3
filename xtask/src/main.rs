//! `xtask build-site`: the release build of Switchboard without cargo-leptos.
//!
//! It does what `cargo leptos build --release --precompress --split --lib-features
//! hydrate,split` does, in the same order and with the same tools, so the two builds serve
//! the same asset names (`scripts/check-build-parity.sh` compares them):
//!
//! 1. empty the site root;
//! 2. the browser half: `cargo build` of the lib for wasm32 (wasm-release profile, features
//!    `hydrate,split`), the WASM split at its `#[lazy]` points, `wasm-bindgen`, `wasm-opt`;
//! 3. the public assets copied, the stylesheet through Lightning CSS;
//! 4. content hashes in the names under `pkg/` and the hash file beside the server binary;
//! 5. gzip and brotli copies of every file of the site;
//! 6. the server: `cargo build --release` of the binary with its features (started first,
//!    it builds beside steps 2 to 5).
//!
//! One departure: the split loader's unordered lists are sorted (`front::canonical_loader`),
//! so one source always builds one loader name; cargo-leptos' can change between runs.

mod compare;
mod compress;
mod exact_names;
mod front;
mod hash;
mod import_names;
mod project;
mod style;

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::time::Instant;

fn main() {
    if let Err(error) = run() {
        eprintln!("xtask: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["build-site"] => build_site(),
        ["same-site", a, b] => compare::same_site(Path::new(a), Path::new(b)),
        _ => bail!(
            "usage: xtask build-site        build the release site and server (from the repository's root)\n       xtask same-site A B     compare two builds (A/site, A/hash.txt and B's)"
        ),
    }
}

fn build_site() -> Result<()> {
    // scripts/build-release.sh says when it started (it built this tool first).
    let earlier = std::env::var("SWITCHBOARD_BUILD_STARTED")
        .ok()
        .and_then(|at| at.parse::<u64>().ok())
        .and_then(|at| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            now.as_secs().checked_sub(at)
        })
        .unwrap_or(0);
    let started = Instant::now();
    let step = |what: &str| {
        let secs = earlier + started.elapsed().as_secs();
        eprintln!("[build {}m{:02}s] {what}", secs / 60, secs % 60);
    };
    let root = std::env::current_dir().context("reading the current directory")?;
    let proj = project::Project::load(&root)?;

    project::empty_dir(&proj.site_root)?;
    step("the server and the browser half: cargo build --release and for wasm32, side by side (about 7 minutes the first time on 2 cores)");
    let server = front::start_server_build(&proj)?;
    let wasm = front::build_wasm(&proj)?;
    step("splitting the WASM, wasm-bindgen, wasm-opt (about 1 minute)");
    front::split_bind_optimize(&proj, &wasm)?;
    step("assets and the stylesheet");
    project::copy_dir(&proj.assets_dir, &proj.site_root)?;
    style::build(&proj, !front::as_cargo_leptos())?;
    step("content hashes in the asset names");
    hash::add_hashes_to_site(&proj, !front::as_cargo_leptos())?;
    step("gzip and brotli copies");
    compress::compress_dir(&proj.site_root)?;
    step("waiting for the server's build");
    server.finish()?;
    step("done");
    Ok(())
}
