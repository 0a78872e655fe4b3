//! The stylesheet: `style/main.css` through Lightning CSS, minified for the browsers of
//! browserslist's `defaults`, as cargo-leptos prints it (the same bytes, so the same name).

use crate::project::Project;
use anyhow::{anyhow, Context, Result};
use lightningcss::stylesheet::{MinifyOptions, ParserOptions, PrinterOptions, StyleSheet};
use lightningcss::targets::{Browsers, Targets};

/// Writes `<pkg>/<output name>.css`.
pub fn build(proj: &Project) -> Result<()> {
    let source = std::fs::read_to_string(&proj.style_file)
        .with_context(|| format!("reading {}", proj.style_file.display()))?;
    // cargo-leptos joins the stylesheet and Tailwind's output (none here) with a newline.
    let css = minify(
        &format!("{source}\n"),
        &proj.style_file.display().to_string(),
    )?;
    let dest = proj.pkg_file("css");
    std::fs::write(&dest, css).with_context(|| format!("writing {}", dest.display()))
}

/// Minified CSS for browserslist's `defaults`; the input as it is when it does not parse
/// (cargo-leptos' fallback, so a syntax error shows in the browser, not in the build).
pub fn minify(css: &str, filename: &str) -> Result<String> {
    let browsers = Browsers::from_browserslist(["defaults"])
        .map_err(|error| anyhow!("browserslist `defaults`: {error}"))?;
    let targets = Targets::from(browsers);
    let options = ParserOptions {
        filename: filename.to_string(),
        ..Default::default()
    };
    let mut sheet = match StyleSheet::parse(css, options) {
        Ok(sheet) => sheet,
        Err(error) => {
            eprintln!("xtask: the stylesheet does not parse ({error}); leaving it as it is");
            return Ok(css.to_string());
        }
    };
    sheet
        .minify(MinifyOptions {
            targets,
            ..Default::default()
        })
        .map_err(|error| anyhow!("minifying {filename}: {error}"))?;
    let printed = sheet
        .to_css(PrinterOptions {
            targets,
            minify: true,
            ..Default::default()
        })
        .map_err(|error| anyhow!("printing {filename}: {error}"))?;
    Ok(printed.code)
}
