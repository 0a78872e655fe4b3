//! Content hashes in the names under `pkg/` and the hash file the server reads, done as
//! cargo-leptos 0.3.11 does them (`compile/hash.rs`), so both builds name assets alike:
//! an MD5 of the content in unpadded base64url, `name.HASH.ext`; the split loader's
//! placeholder replaced by its hash; references in the JS, the WASM and the manifest
//! rewritten; the loader hashed again after its own references changed. That scheme names
//! the main JS and WASM and the manifest before their references are rewritten, so the
//! release build then renames those by their final bytes (`exact_names`).

use crate::project::Project;
use anyhow::{anyhow, bail, Context, Result};
use base64ct::{Base64UrlUnpadded, Encoding};
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The placeholder in the split loader's name (as long as a hash).
pub const PLACEHOLDER: &str = "______________________";
/// The split loader's name before hashing.
pub const SPLIT_LOADER: &str = "__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";

type Renames = BTreeMap<PathBuf, PathBuf>;

/// Hashes the names under `pkg/` and writes the hash file beside the server binary; with
/// `exact`, the names the scheme leaves stale are then made exact (`exact_names`).
pub fn add_hashes_to_site(proj: &Project, exact: bool) -> Result<()> {
    let pkg = &proj.pkg_dir;
    let hashes = file_hashes(pkg, &[proj.pkg_file("css"), proj.pane_styles_file()])?;
    let renamed = rename_files(&hashes)?;
    let js = renamed_path(&renamed, &proj.pkg_file("js"))?;
    replace_in_file(js, &renamed, pkg)?;

    let mut split_hash = None;
    let old_loader = pkg.join(SPLIT_LOADER);
    if let Some(loader) = renamed.get(&old_loader) {
        replace_in_file(loader, &renamed, pkg)?;
        let loader_name = file_name(loader)?;
        replace_split_references(pkg, SPLIT_LOADER, &loader_name, &renamed)?;
        // Its references now name hashed files, so its own hash changed.
        let new_hash = content_hash(&read(loader)?);
        if hashes.get(&old_loader) != Some(&new_hash) {
            let rehashed = loader.with_file_name(format!("__wasm_split.{new_hash}.js"));
            rename(loader, &rehashed)?;
            let map = Renames::from([(loader.clone(), rehashed.clone())]);
            replace_split_references(pkg, &loader_name, &file_name(&rehashed)?, &map)?;
            replace_in_file(js, &map, pkg)?;
        }
        split_hash = Some(new_hash);
    }

    let hash_of = |file: &Path| {
        hashes
            .get(file)
            .cloned()
            .ok_or_else(|| anyhow!("{} was not built", file.display()))
    };
    let mut names = AssetNames {
        js: hash_of(&proj.pkg_file("js"))?,
        wasm: hash_of(&proj.pkg_file("wasm"))?,
        manifest: hashes
            .iter()
            .find(|(file, _)| file.ends_with(MANIFEST))
            .map(|(_, hash)| hash.clone()),
        split: split_hash,
    };
    if exact {
        names = crate::exact_names::rename(pkg, &proj.output_name, names)?;
        crate::exact_names::check(pkg, &proj.output_name, &names)?;
    }
    let mut text = format!(
        "js: {}\nwasm: {}\ncss: {}\n",
        names.js,
        names.wasm,
        hash_of(&proj.pkg_file("css"))?
    );
    if let Some(hash) = hashes.get(&proj.pane_styles_file()) {
        text.push_str(&format!("pane_css: {hash}\n"));
    }
    if let Some(hash) = &names.manifest {
        text.push_str(&format!("manifest: {hash}\n"));
    }
    if let Some(hash) = &names.split {
        text.push_str(&format!("split: {hash}\n"));
    }
    let hash_file = proj.hash_file();
    if let Some(dir) = hash_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&hash_file, text).with_context(|| format!("writing {}", hash_file.display()))
}

/// The hashes in the names of the files the page and the server name: the main JS and
/// WASM, and in a split build the manifest and the split loader.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetNames {
    /// `<output name>.<js>.js`.
    pub js: String,
    /// `<output name>.<wasm>.wasm`.
    pub wasm: String,
    /// `__wasm_split_manifest.<manifest>.json`.
    pub manifest: Option<String>,
    /// `__wasm_split.<split>.js`.
    pub split: Option<String>,
}

/// The unpadded base64url MD5 of `data`: 22 characters.
pub fn content_hash(data: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(&Md5::digest(data))
}

/// The hash of every file under `pkg` that gets one: not other stylesheets than the
/// site's (`site_css`), not wasm-bindgen's snippets (the WASM imports them by their plain
/// names), not a file already named by its hash.
fn file_hashes(pkg: &Path, site_css: &[PathBuf]) -> Result<BTreeMap<PathBuf, String>> {
    let mut hashes = BTreeMap::new();
    for path in crate::project::files_under(pkg)? {
        let is_other_css =
            path.extension().is_some_and(|ext| ext == "css") && !site_css.contains(&path);
        if is_other_css || path.to_string_lossy().contains("snippets") {
            continue;
        }
        let hash = content_hash(&read(&path)?);
        if path
            .file_stem()
            .is_some_and(|stem| stem.to_string_lossy() == hash)
        {
            continue;
        }
        hashes.insert(path, hash);
    }
    Ok(hashes)
}

/// `name.ext` -> `name.HASH.ext`, or the placeholder replaced by the hash.
fn rename_files(hashes: &BTreeMap<PathBuf, String>) -> Result<Renames> {
    let mut renamed = Renames::new();
    for (path, hash) in hashes {
        let name = file_name(path)?;
        let new_name = if name.contains(PLACEHOLDER) {
            name.replace(PLACEHOLDER, hash)
        } else {
            let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
                bail!("{} has no extension to put a hash before", path.display());
            };
            format!(
                "{}.{hash}.{}",
                stem.to_string_lossy(),
                ext.to_string_lossy()
            )
        };
        let new_path = path.with_file_name(new_name);
        rename(path, &new_path)?;
        renamed.insert(path.clone(), new_path);
    }
    Ok(renamed)
}

/// Replaces, in a text file, each old name (relative to `pkg`) by its new one.
fn replace_in_file(path: &Path, renamed: &Renames, pkg: &Path) -> Result<()> {
    let mut text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    for (old, new) in renamed {
        text = text.replace(&relative(old, pkg)?, &relative(new, pkg)?);
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Puts the loader's new name into every WASM part (its import) and the chunks' new
/// names into the manifest.
fn replace_split_references(
    pkg: &Path,
    old_name: &str,
    new_name: &str,
    renamed: &Renames,
) -> Result<()> {
    for entry in std::fs::read_dir(pkg).with_context(|| format!("reading {}", pkg.display()))? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let name = file_name(&path)?;
        if name.ends_with(".wasm") {
            let mut data = read(&path)?;
            replace_bytes(&mut data, old_name.as_bytes(), new_name.as_bytes());
            std::fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
        } else if name.starts_with("__wasm_split_manifest") {
            rewrite_manifest(&path, renamed, pkg)?;
        }
    }
    Ok(())
}

/// Replaces every `old` in `data` by `new`, of the same length (a name by its hashed name).
pub fn replace_bytes(data: &mut [u8], old: &[u8], new: &[u8]) {
    if old.is_empty() || old.len() != new.len() || data.len() < old.len() {
        return;
    }
    for at in 0..=data.len() - old.len() {
        if data[at..].starts_with(old) {
            data[at..at + old.len()].copy_from_slice(new);
        }
    }
}

/// The manifest names chunks by stem (`chunk_4`): each renamed `.wasm`'s stem becomes its
/// new stem. Written compact, keys sorted.
fn rewrite_manifest(path: &Path, renamed: &Renames, pkg: &Path) -> Result<()> {
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut stems = BTreeMap::new();
    for (old, new) in renamed {
        let (old, new) = (relative(old, pkg)?, relative(new, pkg)?);
        if let (Some(old), Some(new)) = (old.strip_suffix(".wasm"), new.strip_suffix(".wasm")) {
            stems.insert(old.to_string(), new.to_string());
        }
    }
    rename_stems(&mut manifest, &stems);
    std::fs::write(path, serde_json::to_string(&manifest)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn rename_stems(value: &mut serde_json::Value, stems: &BTreeMap<String, String>) {
    match value {
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|item| rename_stems(item, stems))
        }
        serde_json::Value::Object(map) => {
            map.values_mut().for_each(|item| rename_stems(item, stems))
        }
        serde_json::Value::String(text) => {
            if let Some(new) = stems.get(text.as_str()) {
                *text = new.clone();
            }
        }
        _ => {}
    }
}

fn renamed_path<'a>(renamed: &'a Renames, old: &Path) -> Result<&'a PathBuf> {
    renamed
        .get(old)
        .ok_or_else(|| anyhow!("{} was not built", old.display()))
}

fn relative(path: &Path, pkg: &Path) -> Result<String> {
    let rel = path
        .strip_prefix(pkg)
        .with_context(|| format!("{} is not under {}", path.display(), pkg.display()))?;
    Ok(rel.to_string_lossy().into_owned())
}

pub fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow!("{} has no file name", path.display()))
}

pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .with_context(|| format!("renaming {} to {}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_22_characters_of_base64url() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(content_hash(b""), "1B2M2Y8AsgTpgAmY7PhCfg");
        assert_eq!(content_hash(b"").len(), PLACEHOLDER.len());
    }

    #[test]
    fn replace_bytes_swaps_every_same_length_name() {
        let mut data = b"x__a.js y__a.js".to_vec();
        replace_bytes(&mut data, b"__a.js", b"__b.js");
        assert_eq!(data, b"x__b.js y__b.js");
        replace_bytes(&mut data, b"__b.js", b"__longer.js");
        assert_eq!(
            data, b"x__b.js y__b.js",
            "a different length is never written"
        );
    }

    #[test]
    fn manifest_stems_are_replaced_whole() {
        let mut manifest = serde_json::json!({"a": ["chunk_1", "chunk_10"], "b": ["chunk_10"]});
        let stems = BTreeMap::from([
            ("chunk_1".to_string(), "chunk_1.AAA".to_string()),
            ("chunk_10".to_string(), "chunk_10.BBB".to_string()),
        ]);
        rename_stems(&mut manifest, &stems);
        assert_eq!(
            manifest,
            serde_json::json!({"a": ["chunk_1.AAA", "chunk_10.BBB"], "b": ["chunk_10.BBB"]})
        );
    }
}
