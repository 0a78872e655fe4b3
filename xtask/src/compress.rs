//! Gzip and brotli copies of every file of the site (`name.gz`, `name.br`), which the
//! server sends to browsers that accept them.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Compresses every file under `dir` that is not itself a compressed copy.
pub fn compress_dir(dir: &Path) -> Result<()> {
    for path in crate::project::files_under(dir)? {
        let name = path.to_string_lossy();
        if name.ends_with(".gz") || name.ends_with(".br") {
            continue;
        }
        let data = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&data)?;
        write(&format!("{name}.gz"), &gzip.finish()?)?;
        let mut brotli = Vec::new();
        // Quality 11, window 22: brotli's defaults, as cargo-leptos compresses.
        brotli::BrotliCompress(&mut &data[..], &mut brotli, &Default::default())
            .with_context(|| format!("compressing {name}"))?;
        write(&format!("{name}.br"), &brotli)?;
    }
    Ok(())
}

fn write(path: &str, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).with_context(|| format!("writing {path}"))
}
