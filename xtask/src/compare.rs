//! `xtask same-site A B`: whether two builds serve the same site. Each of A and B holds a
//! copy of a site root (`site/`) and its hash file (`hash.txt`).
//!
//! Same means: the same file names, and the same bytes in each, except for what
//! cargo-leptos itself leaves to chance. Its splitter writes the split loader's lists and
//! the manifest in a HashMap's order, so the loader's and the manifest's names (their
//! content hashes) differ between two cargo-leptos builds of one source; the loader's name
//! is also written into the JS and the WASM. So those two are compared by content (the
//! loader with its lists sorted, the manifest as JSON), and the loader's name is masked in
//! the files that import it. Compressed copies must exist; their bytes depend on the
//! compressor's version and are not compared.

use crate::front::canonical_loader;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

const LOADER_PREFIX: &str = "__wasm_split.";
const MANIFEST_PREFIX: &str = "__wasm_split_manifest.";

/// Prints each difference; fails when there is one.
pub fn same_site(a: &Path, b: &Path) -> Result<()> {
    let (files_a, files_b) = (site_files(&a.join("site"))?, site_files(&b.join("site"))?);
    let mut differences = Vec::new();
    let (names_a, names_b) = (masked_names(&files_a), masked_names(&files_b));
    for name in names_a.keys().filter(|name| !names_b.contains_key(*name)) {
        differences.push(format!("only in {}: {name}", a.display()));
    }
    for name in names_b.keys().filter(|name| !names_a.contains_key(*name)) {
        differences.push(format!("only in {}: {name}", b.display()));
    }
    let (loader_a, loader_b) = (loader_name(&files_a), loader_name(&files_b));
    for (masked, path_a) in &names_a {
        let Some(path_b) = names_b.get(masked) else {
            continue;
        };
        if masked.ends_with(".br") || masked.ends_with(".gz") {
            continue;
        }
        let (bytes_a, bytes_b) = (&files_a[path_a], &files_b[path_b]);
        let same = if masked.contains(MANIFEST_PREFIX) {
            serde_json::from_slice::<serde_json::Value>(bytes_a).ok()
                == serde_json::from_slice::<serde_json::Value>(bytes_b).ok()
        } else {
            let text_a = mask(bytes_a, &loader_a, masked);
            let text_b = mask(bytes_b, &loader_b, masked);
            text_a == text_b
        };
        if !same {
            differences.push(format!("different content: {path_a} and {path_b}"));
        }
    }
    let hashes_a = read_hash_file(&a.join("hash.txt"))?;
    let hashes_b = read_hash_file(&b.join("hash.txt"))?;
    for key in ["js", "wasm", "css"] {
        if hashes_a.get(key) != hashes_b.get(key) || !hashes_a.contains_key(key) {
            differences.push(format!(
                "hash.txt `{key}`: {:?} and {:?}",
                hashes_a.get(key),
                hashes_b.get(key)
            ));
        }
    }
    for key in ["manifest", "split"] {
        if hashes_a.contains_key(key) != hashes_b.contains_key(key) {
            differences.push(format!("hash.txt `{key}` is in one only"));
        }
    }
    if differences.is_empty() {
        println!(
            "same site: {} files, the same names and content",
            names_a.len()
        );
        return Ok(());
    }
    for difference in &differences {
        eprintln!("{difference}");
    }
    bail!(
        "{} differences between {} and {}",
        differences.len(),
        a.display(),
        b.display()
    )
}

/// Every file under `root`, by its path relative to `root`.
fn site_files(root: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for path in crate::project::files_under(root)? {
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        // The run command's record of what it built, not part of the site.
        if relative == ".built-from" {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.insert(relative, bytes);
    }
    Ok(files)
}

/// Names with the loader's and the manifest's hashes replaced by `*`.
fn masked_names(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    files
        .keys()
        .map(|name| (mask_name(name), name.clone()))
        .collect()
}

fn mask_name(name: &str) -> String {
    let (dir, file) = name
        .rsplit_once('/')
        .map_or(("", name), |(dir, file)| (dir, file));
    let masked = [LOADER_PREFIX, MANIFEST_PREFIX].iter().find_map(|prefix| {
        let rest = file.strip_prefix(prefix)?;
        let (_hash, tail) = rest.split_once('.')?;
        Some(format!("{prefix}*.{tail}"))
    });
    let file = masked.unwrap_or_else(|| file.to_string());
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

/// The loader's file name (`__wasm_split.HASH.js`), if the site has one.
fn loader_name(files: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    files.keys().find_map(|name| {
        let file = name.rsplit('/').next()?;
        (file.starts_with(LOADER_PREFIX) && file.ends_with(".js")).then(|| file.to_string())
    })
}

/// The bytes with the loader's name masked; the loader itself also canonical.
fn mask(bytes: &[u8], loader: &Option<String>, masked_name: &str) -> Vec<u8> {
    let Some(loader) = loader else {
        return bytes.to_vec();
    };
    let text = String::from_utf8_lossy(bytes);
    let is_loader = masked_name.ends_with(&format!("{LOADER_PREFIX}*.js"));
    if std::str::from_utf8(bytes).is_ok() {
        let text = if is_loader {
            canonical_loader(&text)
        } else {
            text.into_owned()
        };
        return text
            .replace(loader.as_str(), "__wasm_split.*.js")
            .into_bytes();
    }
    // Binary (WASM): the name is replaced in place, as the build wrote it.
    let (mut out, needle) = (bytes.to_vec(), loader.as_bytes());
    let token = b"__wasm_split.______________________.js";
    if needle.len() == token.len() {
        let mut at = 0;
        while let Some(found) = out[at..]
            .windows(needle.len())
            .position(|window| window == needle)
        {
            out[at + found..at + found + needle.len()].copy_from_slice(token);
            at += found + needle.len();
        }
    }
    out
}

/// `key: value` lines.
fn read_hash_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::mask_name;

    #[test]
    fn only_the_loader_and_manifest_hashes_are_masked() {
        assert_eq!(
            mask_name("pkg/__wasm_split.AAAA.js"),
            "pkg/__wasm_split.*.js"
        );
        assert_eq!(
            mask_name("pkg/__wasm_split.AAAA.js.br"),
            "pkg/__wasm_split.*.js.br"
        );
        assert_eq!(
            mask_name("pkg/__wasm_split_manifest.BBB.json"),
            "pkg/__wasm_split_manifest.*.json"
        );
        assert_eq!(
            mask_name("pkg/switchboard.CCC.js"),
            "pkg/switchboard.CCC.js"
        );
        assert_eq!(mask_name("favicon.svg"), "favicon.svg");
    }
}
