//! The site's build assets: their names (content-hashed by `cargo leptos build`, which
//! writes the hashes to `hash.txt` beside the server binary) and how long browsers may keep
//! them: hashed names never change content, so a year and `immutable`; anything else is
//! revalidated on every load.

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
    })
}

/// The stylesheet's address for this build.
pub fn stylesheet_href() -> String {
    match hashes() {
        Some(hashes) => format!("/pkg/switchboard.{}.css", hashes.css),
        None => "/pkg/switchboard.css".to_owned(),
    }
}

/// The `Cache-Control` for a static file at `path`: a year for content-hashed names (the
/// hash of this build's assets is in the name, so a new build is a new address), else
/// revalidate every time (If-Modified-Since, a small 304 when unchanged).
pub fn cache_control(path: &str) -> &'static str {
    let hashed = hashes().is_some_and(|h| {
        [&h.js, &h.wasm, &h.css]
            .iter()
            .any(|hash| path.contains(&format!(".{hash}.")))
    });
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_file_names_each_asset() {
        let parsed = parse_hashes("js: AbC-1\nwasm: dEf_2\ncss: Ghi3\n").expect("parses");
        assert_eq!(parsed.js, "AbC-1");
        assert_eq!(parsed.wasm, "dEf_2");
        assert_eq!(parsed.css, "Ghi3");
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
