//! The stylesheet: `style/main.css` through Lightning CSS, minified for the browsers of
//! browserslist's `defaults`, as cargo-leptos prints it. The release build splits it at its
//! `@pane-styles` comment: the shell's part is `<output name>.css`, the panes' part
//! `<output name>-panes.css`, which `/` fetches only once it is live (`app::PaneStyles`);
//! cargo-leptos (`cargo leptos watch`) builds the whole file as one, which styles alike.

use crate::project::Project;
use anyhow::{anyhow, Context, Result};
use lightningcss::stylesheet::{MinifyOptions, ParserOptions, PrinterOptions, StyleSheet};
use lightningcss::targets::{Browsers, Targets};

/// The comment that starts the panes' part of the stylesheet.
const PANE_STYLES: &str = "/* @pane-styles";

/// Writes `<pkg>/<output name>.css` and, when the stylesheet has a panes' part and `split`,
/// `<pkg>/<output name>-panes.css`.
pub fn build(proj: &Project, split: bool) -> Result<()> {
    let source = std::fs::read_to_string(&proj.style_file)
        .with_context(|| format!("reading {}", proj.style_file.display()))?;
    let name = proj.style_file.display().to_string();
    let (shell, panes) = split_source(&source, split);
    // cargo-leptos joins the stylesheet and Tailwind's output (none here) with a newline.
    let css = minify(&format!("{shell}\n"), &name)?;
    let dest = proj.pkg_file("css");
    std::fs::write(&dest, css).with_context(|| format!("writing {}", dest.display()))?;
    if let Some(panes) = panes {
        let css = minify(panes, &name)?;
        let dest = proj.pane_styles_file();
        std::fs::write(&dest, css).with_context(|| format!("writing {}", dest.display()))?;
    }
    Ok(())
}

/// The shell's part and the panes' (from the `@pane-styles` comment on), when `split`.
fn split_source(source: &str, split: bool) -> (&str, Option<&str>) {
    match source.find(PANE_STYLES).filter(|_| split) {
        Some(at) => (&source[..at], Some(&source[at..])),
        None => (source, None),
    }
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

#[cfg(test)]
mod tests {
    use super::split_source;

    #[test]
    fn the_stylesheet_splits_at_the_panes_comment_only_when_asked() {
        let source = ".a { color: red }\n/* @pane-styles: below */\n.b { color: blue }\n";
        let (shell, panes) = split_source(source, true);
        assert_eq!(shell, ".a { color: red }\n");
        assert_eq!(
            panes,
            Some("/* @pane-styles: below */\n.b { color: blue }\n")
        );
        assert_eq!(split_source(source, false), (source, None));
        assert_eq!(split_source(".a {}", true), (".a {}", None));
    }
}
