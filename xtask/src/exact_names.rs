//! Asset names that always match their bytes (the release build; a build as cargo-leptos
//! makes it keeps cargo-leptos' names, for `scripts/check-build-parity.sh`).
//!
//! cargo-leptos' scheme (`hash`) names each file by its bytes before the split loader's
//! name is written into the main JS and WASM and the chunks' names into the manifest. Two
//! builds whose split modules differ then give the main JS, the main WASM and the manifest
//! the same names with other bytes. They do differ between two checkouts of one commit (a
//! server function's address carries a hash of the checkout's path): a browser holding the
//! last build's JS, cached for a year under that name, imported a loader the new server no
//! longer had, and the page never went live.
//!
//! Here the manifest and the main WASM are named by their final bytes. The JS and the loader
//! import each other by name, so no order can name each by its final bytes; both are named
//! by one hash of their two texts with those two names masked, which changes with any byte
//! of either.

use crate::hash::{
    content_hash, file_name, read, rename as rename_file, replace_bytes, AssetNames, PLACEHOLDER,
    SPLIT_LOADER,
};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Renames the main JS and WASM, the manifest and the loader under `pkg` (named `names`,
/// cargo-leptos' way) by their final bytes; returns their new names.
pub fn rename(pkg: &Path, output: &str, names: AssetNames) -> Result<AssetNames> {
    let glue = pkg.join(format!("{output}.{}.js", names.js));
    let wasm = pkg.join(format!("{output}.{}.wasm", names.wasm));
    let mut exact = names.clone();
    if let Some(hash) = &names.manifest {
        let manifest = pkg.join(format!("__wasm_split_manifest.{hash}.json"));
        exact.manifest = Some(rename_by_content(&manifest, hash)?);
    }
    match &names.split {
        Some(split) => {
            let loader = pkg.join(format!("__wasm_split.{split}.js"));
            let (glue_name, loader_name) = (file_name(&glue)?, file_name(&loader)?);
            let masked_glue_name = format!("{output}.{PLACEHOLDER}.js");
            let masked_glue = read_text(&glue)?.replace(&loader_name, SPLIT_LOADER);
            let masked_loader = read_text(&loader)?.replace(&glue_name, &masked_glue_name);
            let pair = pair_hash(&masked_glue, &masked_loader);
            let new_loader_name = format!("__wasm_split.{pair}.js");
            let new_glue_name = format!("{output}.{pair}.js");
            write_replacing(
                &glue,
                &pkg.join(&new_glue_name),
                &masked_glue.replace(SPLIT_LOADER, &new_loader_name),
            )?;
            write_replacing(
                &loader,
                &pkg.join(&new_loader_name),
                &masked_loader.replace(&masked_glue_name, &new_glue_name),
            )?;
            // The main WASM imports the loader by name (the names are of one length).
            let mut data = read(&wasm)?;
            replace_bytes(
                &mut data,
                loader_name.as_bytes(),
                new_loader_name.as_bytes(),
            );
            std::fs::write(&wasm, data).with_context(|| format!("writing {}", wasm.display()))?;
            exact.js = pair.clone();
            exact.split = Some(pair);
        }
        None => exact.js = rename_by_content(&glue, &names.js)?,
    }
    exact.wasm = rename_by_content(&wasm, &names.wasm)?;
    Ok(exact)
}

/// Fails unless every hashed name under `pkg` is its file's bytes' hash (the JS and the
/// loader: their pair's hash, and each names the other).
pub fn check(pkg: &Path, output: &str, names: &AssetNames) -> Result<()> {
    let glue = format!("{output}.{}.js", names.js);
    let loader = names
        .split
        .as_ref()
        .map(|split| format!("__wasm_split.{split}.js"));
    if let Some(loader) = &loader {
        let (glue_text, loader_text) =
            (read_text(&pkg.join(&glue))?, read_text(&pkg.join(loader))?);
        if !glue_text.contains(loader.as_str()) || !loader_text.contains(glue.as_str()) {
            bail!("{glue} and {loader} do not import each other by these names");
        }
    }
    for path in crate::project::files_under(pkg)? {
        let name = file_name(&path)?;
        if name == glue || Some(&name) == loader.as_ref() {
            continue;
        }
        if let Some(hash) = hash_in_name(&name) {
            let actual = content_hash(&read(&path)?);
            if actual != hash {
                bail!("{name} holds bytes whose hash is {actual}");
            }
        }
    }
    Ok(())
}

/// The hash in `name.HASH.ext` (22 characters of base64url), if it has one.
fn hash_in_name(name: &str) -> Option<&str> {
    let mut parts = name.rsplit('.');
    parts.next()?;
    let hash = parts.next()?;
    let is_hash = hash.len() == PLACEHOLDER.len()
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (is_hash && parts.next().is_some()).then_some(hash)
}

/// One hash of the JS and the loader, their names of each other masked.
fn pair_hash(masked_glue: &str, masked_loader: &str) -> String {
    content_hash(format!("{masked_glue}\0{masked_loader}").as_bytes())
}

/// Renames `path` (whose name holds `old_hash`) by its bytes' hash; returns that hash.
fn rename_by_content(path: &Path, old_hash: &str) -> Result<String> {
    let hash = content_hash(&read(path)?);
    if hash != old_hash {
        let name = file_name(path)?.replacen(old_hash, &hash, 1);
        rename_file(path, &path.with_file_name(name))?;
    }
    Ok(hash)
}

/// Writes `text` at `to` and removes `from` when that is another file.
fn write_replacing(from: &Path, to: &Path, text: &str) -> Result<()> {
    std::fs::write(to, text).with_context(|| format!("writing {}", to.display()))?;
    if from != to {
        std::fs::remove_file(from).with_context(|| format!("removing {}", from.display()))?;
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site as cargo-leptos' scheme leaves it: the JS and the loader import each other,
    /// the main WASM imports the loader, the manifest names a chunk; the chunk's bytes are
    /// `chunk`. Returns the names the scheme gave.
    fn site(pkg: &Path, chunk: &str) -> AssetNames {
        let chunk_name = format!("chunk_1.{}.wasm", content_hash(chunk.as_bytes()));
        let put = |name: &str, bytes: &[u8]| std::fs::write(pkg.join(name), bytes).expect("write");
        put(&chunk_name, chunk.as_bytes());
        // The scheme's names: hashes of the bytes before the references were written.
        let names = AssetNames {
            js: content_hash(b"js"),
            wasm: content_hash(b"wasm"),
            manifest: Some(content_hash(b"manifest")),
            split: Some(content_hash(format!("loader {chunk_name}").as_bytes())),
        };
        let loader = format!(
            "__wasm_split.{}.js",
            names.split.as_deref().unwrap_or_default()
        );
        let glue = format!("app.{}.js", names.js);
        put(
            &glue,
            format!("import * as s from \"./{loader}\";").as_bytes(),
        );
        put(
            &loader,
            format!("import \"./{glue}\"; fetch(\"./{chunk_name}\")").as_bytes(),
        );
        put(
            &format!("app.{}.wasm", names.wasm),
            format!("\0asm ./{loader}").as_bytes(),
        );
        put(
            &format!(
                "__wasm_split_manifest.{}.json",
                names.manifest.as_deref().unwrap_or_default()
            ),
            format!("{{\"a\":[\"{}\"]}}", chunk_name.trim_end_matches(".wasm")).as_bytes(),
        );
        names
    }

    /// A fresh directory, removed when dropped.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new() -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("xtask-names-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("dir");
            Self(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn built(chunk: &str) -> (TempDir, AssetNames) {
        let dir = TempDir::new();
        let names = site(dir.path(), chunk);
        let exact = rename(dir.path(), "app", names).expect("renames");
        check(dir.path(), "app", &exact).expect("every name is exact");
        (dir, exact)
    }

    #[test]
    fn the_scheme_leaves_names_that_do_not_match_and_the_check_says_so() {
        let dir = TempDir::new();
        let names = site(dir.path(), "one");
        let error = check(dir.path(), "app", &names).expect_err("stale names");
        assert!(
            error.to_string().contains("holds bytes whose hash is"),
            "{error}"
        );
    }

    #[test]
    fn two_builds_whose_chunks_differ_name_every_file_that_points_at_them_anew() {
        let (_one, a) = built("one");
        let (_two, b) = built("two");
        assert_ne!(a.js, b.js);
        assert_ne!(a.wasm, b.wasm);
        assert_ne!(a.manifest, b.manifest);
        assert_ne!(a.split, b.split);
        let (_again, c) = built("one");
        assert_eq!(a, c, "the same bytes, the same names");
    }

    #[test]
    fn the_js_and_the_loader_name_each_other_as_renamed() {
        let (dir, names) = built("one");
        let split = names.split.expect("a split build");
        let glue = read_text(&dir.path().join(format!("app.{}.js", names.js))).expect("js");
        assert!(
            glue.contains(&format!("./__wasm_split.{split}.js")),
            "{glue}"
        );
        let wasm = read(&dir.path().join(format!("app.{}.wasm", names.wasm))).expect("wasm");
        assert!(wasm.ends_with(format!("./__wasm_split.{split}.js").as_bytes()));
        assert_eq!(
            crate::project::files_under(dir.path())
                .expect("files")
                .len(),
            5
        );
    }

    #[test]
    fn only_a_hash_shaped_part_counts() {
        assert_eq!(
            hash_in_name("chunk_1.FDv_ZcyWZKI_rPnFXpM-ug.wasm"),
            Some("FDv_ZcyWZKI_rPnFXpM-ug")
        );
        assert_eq!(
            hash_in_name("switchboard.d.fzr2iAwe4-RnZbzh2IddZA.ts"),
            Some("fzr2iAwe4-RnZbzh2IddZA")
        );
        assert_eq!(hash_in_name("snippets.js"), None);
        assert_eq!(hash_in_name("FDv_ZcyWZKI_rPnFXpM-ug.wasm"), None);
    }
}
