//! The site's build assets: their names (content-hashed by the release build,
//! `scripts/build-release.sh`, which writes the hashes to `hash.txt` beside the server binary), the split WASM modules a page
//! needs at first paint, and how long browsers may keep them: hashed names never change
//! content, so a year and `immutable`; anything else is revalidated on every load.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// The content hashes of this build's `js`, `wasm` and `css`, when the build hashed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetHashes {
    /// Of the JS glue.
    pub js: String,
    /// Of the WASM.
    pub wasm: String,
    /// Of the stylesheet.
    pub css: String,
    /// Of the panes' stylesheet, when the build split it off (`style/main.css`'s
    /// `@pane-styles` part).
    pub pane_css: Option<String>,
    /// Of the split WASM modules' loader (`__wasm_split.<hash>.js`) and its manifest, in a
    /// build with `--split`.
    pub split: Option<(String, String)>,
}

/// The hashes from `hash.txt` next to the running binary, read once; `None` for a build
/// without `hash-files` (or a binary moved away from its hash file).
pub fn hashes() -> Option<&'static AssetHashes> {
    static HASHES: OnceLock<Option<AssetHashes>> = OnceLock::new();
    HASHES
        .get_or_init(|| {
            let path = std::env::current_exe().ok()?.parent()?.join("hash.txt");
            let text = std::fs::read_to_string(path).ok()?;
            parse_hashes(&text)
        })
        .as_ref()
}

/// Reads `hash.txt`: lines of `kind: hash`.
pub fn parse_hashes(text: &str) -> Option<AssetHashes> {
    let find = |kind: &str| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == kind).then(|| value.trim().to_owned())
        })
    };
    Some(AssetHashes {
        js: find("js")?,
        wasm: find("wasm")?,
        css: find("css")?,
        pane_css: find("pane_css"),
        split: find("split").zip(find("manifest")),
    })
}

/// The split WASM modules of one page, for `<link rel=preload>`s that let the browser fetch
/// them alongside the main module instead of after it: the loader script and the modules
/// of `split_point` (a `#[lazy]` function's name; see `components::panes`), as addresses
/// under `/pkg`. `None` for a build without `--split` or a split point it does not have.
pub struct SplitPreloads {
    /// `/pkg/__wasm_split.<hash>.js`.
    pub loader: String,
    /// `/pkg/<module>.wasm`, each.
    pub modules: Vec<String>,
}

/// [`SplitPreloads`] of `split_point`, from the manifest in `pkg_dir` (read once).
pub fn split_preloads(pkg_dir: &Path, split_point: &str) -> Option<SplitPreloads> {
    static MANIFEST: OnceLock<Option<HashMap<String, Vec<String>>>> = OnceLock::new();
    let (loader_hash, manifest_hash) = hashes()?.split.as_ref()?;
    let manifest = MANIFEST
        .get_or_init(|| {
            let path = pkg_dir.join(format!("__wasm_split_manifest.{manifest_hash}.json"));
            let text = std::fs::read_to_string(&path)
                .inspect_err(|error| {
                    tracing::warn!(%error, path = %path.display(), "no split manifest; no preloads")
                })
                .ok()?;
            serde_json::from_str(&text)
                .inspect_err(|error| tracing::warn!(%error, "the split manifest does not parse"))
                .ok()
        })
        .as_ref()?;
    let prefix = format!("{split_point}_");
    let modules = manifest
        .iter()
        .find(|(name, _)| name.starts_with(&prefix))?
        .1
        .iter()
        .map(|module| format!("/pkg/{module}.wasm"))
        .collect();
    Some(SplitPreloads {
        loader: format!("/pkg/__wasm_split.{loader_hash}.js"),
        modules,
    })
}

/// The stylesheet's address for this build.
pub fn stylesheet_href() -> String {
    match hashes() {
        Some(hashes) => format!("/pkg/switchboard.{}.css", hashes.css),
        None => "/pkg/switchboard.css".to_owned(),
    }
}

/// The panes' stylesheet's address, when this build split it off (else the stylesheet holds
/// all of it).
pub fn pane_stylesheet_href() -> Option<String> {
    let hash = hashes()?.pane_css.as_ref()?;
    Some(format!("/pkg/switchboard-panes.{hash}.css"))
}

/// The `Cache-Control` for a static file at `path`: a year for content-hashed names (a
/// new build is a new address), else revalidate every time (If-Modified-Since, a small 304
/// when unchanged).
pub fn cache_control(path: &str) -> &'static str {
    if is_content_hashed(path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Whether a file under `/pkg/` is named `<stem>.<hash>.<extension>` the way cargo-leptos
/// names every asset and split module it hashes (22 characters of URL-safe base64: a
/// 128-bit hash of the content).
pub fn is_content_hashed(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else {
        return false;
    };
    let mut parts = name.rsplit('.');
    let (Some(_extension), Some(hash), Some(_stem)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_asset_names_are_told_from_others() {
        assert!(is_content_hashed(
            "/pkg/switchboard.J620j6AdVm2XixMe3JEDNA.wasm"
        ));
        assert!(is_content_hashed(
            "/pkg/chunk_27.kDaHZ_2XgTDhrYp-NQnLaw.wasm"
        ));
        assert!(is_content_hashed(
            "/pkg/__wasm_split.wyBdYY0rE4uTXbRP9cy9Nw.js"
        ));
        assert!(!is_content_hashed("/pkg/switchboard.wasm"));
        assert!(!is_content_hashed("/pkg/switchboard.css"));
        assert!(!is_content_hashed("/favicon.svg"));
        assert!(!is_content_hashed("/pkg/a.J620j6AdVm2XixMe3JEDN!.wasm"));
        assert!(!is_content_hashed("/s/J620j6AdVm2XixMe3JEDNA.x.y"));
    }

    #[test]
    fn the_hash_file_names_each_asset() {
        let parsed = parse_hashes("js: AbC-1\nwasm: dEf_2\ncss: Ghi3\n").expect("parses");
        assert_eq!(parsed.js, "AbC-1");
        assert_eq!(parsed.wasm, "dEf_2");
        assert_eq!(parsed.css, "Ghi3");
        assert_eq!(parsed.split, None, "a build without --split");
        assert_eq!(parsed.pane_css, None, "a stylesheet not split");
        let split = parse_hashes("js: a\nwasm: b\ncss: c\nmanifest: M\nsplit: S\npane_css: P\n")
            .expect("parses");
        assert_eq!(split.split, Some(("S".to_owned(), "M".to_owned())));
        assert_eq!(split.pane_css.as_deref(), Some("P"));
        assert_eq!(
            parse_hashes("js: a\nwasm: b\n"),
            None,
            "all three are needed"
        );
    }

    /// The stylesheet's blocks are all closed: one missing `}` (a merge, say) swallows every
    /// rule after it into the block above, e.g. a phone-only media query, and the desktop
    /// page loses its styles without any error.
    #[test]
    fn every_block_of_the_stylesheet_is_closed() {
        // Read at run time: a test binary reused from the shared target dir must check this
        // checkout's stylesheet, not the one of the checkout that built it.
        let root = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into());
        let path = std::path::Path::new(&root).join("style/main.css");
        let css = std::fs::read_to_string(&path).expect("style/main.css reads");
        let mut depth: i64 = 0;
        let mut line = 1;
        let mut chars = css.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' => line += 1,
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    let mut last = ' ';
                    for c in chars.by_ref() {
                        if c == '\n' {
                            line += 1;
                        }
                        if last == '*' && c == '/' {
                            break;
                        }
                        last = c;
                    }
                }
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    assert!(depth >= 0, "an unopened }} on line {line}");
                }
                _ => {}
            }
        }
        assert_eq!(depth, 0, "{depth} block(s) never closed");
    }
}
