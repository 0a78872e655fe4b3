//! The project's build settings, read from `[package.metadata.leptos]` in the root
//! `Cargo.toml` (the one place cargo-leptos reads them from too), and small file helpers.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The lib's features for the release: `split` turns the `#[lazy]` split points on.
/// cargo-leptos is given the same with `--lib-features hydrate,split`.
const RELEASE_LIB_FEATURES: &[&str] = &["hydrate", "split"];

/// The keys of `[package.metadata.leptos]` this build uses.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LeptosMetadata {
    output_name: String,
    site_root: String,
    site_pkg_dir: String,
    style_file: String,
    assets_dir: String,
    site_addr: String,
    reload_port: u16,
    bin_target: String,
    bin_features: Vec<String>,
    lib_profile_release: String,
    #[serde(default)]
    hash_files: bool,
    #[serde(default = "yes")]
    js_minify: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Manifest {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Metadata {
    leptos: LeptosMetadata,
}

/// Everything the build steps need, with paths resolved the way cargo-leptos resolves them.
pub struct Project {
    /// The package (and lib) name.
    pub package: String,
    /// The bin target's name.
    pub bin_target: String,
    pub bin_features: Vec<String>,
    pub lib_features: Vec<String>,
    /// The cargo profile of the wasm build.
    pub lib_profile: String,
    /// `output-name`: the stem of the JS, WASM and CSS files.
    pub output_name: String,
    /// The site root as configured (relative to the repository), e.g. `target/site`.
    pub site_root_rel: String,
    /// The site root.
    pub site_root: PathBuf,
    /// `site-pkg-dir` as configured, e.g. `pkg`.
    pub pkg_dir_rel: String,
    /// `<site root>/<pkg>`.
    pub pkg_dir: PathBuf,
    pub style_file: PathBuf,
    pub assets_dir: PathBuf,
    site_addr: String,
    reload_port: u16,
    hash_files: bool,
    /// `build.rustflags` of `.cargo/config.toml`: an explicit RUSTFLAGS replaces them, so
    /// the wasm build's RUSTFLAGS repeats them (as cargo-leptos does).
    config_rustflags: Vec<String>,
    /// Where cargo puts its output (`CARGO_TARGET_DIR`, or `target`).
    pub target_dir: PathBuf,
    /// The wasm build's own target dir, as cargo-leptos names it.
    pub front_target_dir: PathBuf,
}

impl Project {
    /// Reads `<root>/Cargo.toml`. Refuses settings this build does not reproduce.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join("Cargo.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest = toml::from_str(&text)
            .with_context(|| format!("reading [package.metadata.leptos] of {}", path.display()))?;
        let leptos = manifest.package.metadata.leptos;
        if leptos.js_minify {
            // cargo-leptos minifies with swc, which this build leaves out on purpose.
            bail!(
                "set js-minify = false in [package.metadata.leptos]: this build does not minify JS"
            );
        }
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => root.join("target"),
        };
        let site_root = root.join(&leptos.site_root);
        Ok(Project {
            package: manifest.package.name,
            bin_target: leptos.bin_target,
            bin_features: leptos.bin_features,
            lib_features: RELEASE_LIB_FEATURES.iter().map(|f| f.to_string()).collect(),
            lib_profile: leptos.lib_profile_release,
            output_name: leptos.output_name,
            pkg_dir: site_root.join(&leptos.site_pkg_dir),
            site_root,
            site_root_rel: leptos.site_root,
            pkg_dir_rel: leptos.site_pkg_dir,
            style_file: root.join(&leptos.style_file),
            assets_dir: root.join(&leptos.assets_dir),
            site_addr: leptos.site_addr,
            reload_port: leptos.reload_port,
            hash_files: leptos.hash_files,
            config_rustflags: config_rustflags(root)?,
            front_target_dir: target_dir.join("front"),
            target_dir,
        })
    }

    /// The environment cargo-leptos gives both cargo builds (`Project::to_envs`): the
    /// server reads some of it at compile time, and the same values keep cargo's caches
    /// valid across the two ways of building.
    pub fn envs(&self, wasm: bool) -> Vec<(&'static str, String)> {
        let mut envs = vec![
            ("LEPTOS_OUTPUT_NAME", self.output_name.clone()),
            ("LEPTOS_SITE_ROOT", self.site_root_rel.clone()),
            ("LEPTOS_SITE_PKG_DIR", self.pkg_dir_rel.clone()),
            ("LEPTOS_SITE_ADDR", self.site_addr.clone()),
            ("LEPTOS_RELOAD_PORT", self.reload_port.to_string()),
            ("LEPTOS_LIB_DIR", ".".to_string()),
            ("LEPTOS_BIN_DIR", ".".to_string()),
            ("LEPTOS_JS_MINIFY", "false".to_string()),
            ("LEPTOS_HASH_FILES", self.hash_files.to_string()),
        ];
        if self.hash_files {
            envs.push(("LEPTOS_HASH_FILE_NAME", "hash.txt".to_string()));
        }
        // The splitter needs the linker's relocations.
        if wasm {
            let mut flags = self.config_rustflags.join(" ");
            flags.push_str(" -Clink-args=--emit-relocs");
            envs.push(("RUSTFLAGS", flags.trim_start().to_string()));
        }
        envs
    }

    /// The lib's `.wasm` as cargo leaves it.
    pub fn cargo_wasm(&self) -> PathBuf {
        self.front_target_dir
            .join("wasm32-unknown-unknown")
            .join(&self.lib_profile)
            .join(format!("{}.wasm", self.package.replace('-', "_")))
    }

    /// The hash file the server reads, beside its binary.
    pub fn hash_file(&self) -> PathBuf {
        self.target_dir.join("release").join("hash.txt")
    }

    /// `<pkg>/<output name>.<ext>`
    pub fn pkg_file(&self, ext: &str) -> PathBuf {
        self.pkg_dir.join(format!("{}.{ext}", self.output_name))
    }

    /// The panes' stylesheet (see `style`).
    pub fn pane_styles_file(&self) -> PathBuf {
        self.pkg_dir.join(format!("{}-panes.css", self.output_name))
    }
}

/// `[build] rustflags` of the repository's `.cargo/config.toml`, if any.
fn config_rustflags(root: &Path) -> Result<Vec<String>> {
    #[derive(Deserialize, Default)]
    struct CargoConfig {
        #[serde(default)]
        build: Build,
    }
    #[derive(Deserialize, Default)]
    struct Build {
        #[serde(default)]
        rustflags: Vec<String>,
    }
    let path = root.join(".cargo/config.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let config: CargoConfig =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    Ok(config.build.rustflags)
}

/// Removes what `dir` holds (creating it when missing), as cargo-leptos does before a build.
pub fn empty_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// Every file (not directory) under `root`, at any depth, sorted.
pub fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Copies `from`'s tree into `to` (the public assets into the site root).
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    if !from.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_dir(&source, &dest)?;
        } else {
            std::fs::copy(&source, &dest)
                .with_context(|| format!("copying {} to {}", source.display(), dest.display()))?;
        }
    }
    Ok(())
}
