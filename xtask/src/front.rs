//! The two cargo builds, and the browser half's post-processing: split, bind, optimise.

use crate::project::Project;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The split loader's name as the WASM imports it, with a placeholder the hash step
/// replaces by the loader's content hash (cargo-leptos' name, so the bytes match).
const SPLIT_LOADER_IMPORT: &str = "./__wasm_split.______________________.js";

/// `cargo build` of the lib for wasm32; returns the `.wasm` cargo wrote.
pub fn build_wasm(proj: &Project) -> Result<Vec<u8>> {
    let mut cargo = Command::new(cargo_program());
    cargo
        .arg("build")
        .arg(format!("--package={}", proj.package))
        .arg("--lib")
        .arg(format!("--target-dir={}", proj.front_target_dir.display()))
        .arg("--target=wasm32-unknown-unknown")
        .arg("--no-default-features")
        .arg(format!("--features={}", proj.lib_features.join(",")))
        .arg(format!("--profile={}", proj.lib_profile))
        .envs(proj.envs(true));
    run(&mut cargo, "cargo build (wasm32)")?;
    let wasm = proj.cargo_wasm();
    std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))
}

/// Starts `cargo build --release` of the server binary, to run beside the browser half:
/// each build ends in a long stretch on one core (the WASM's single-unit LTO, the server
/// crate's own compile), which the other fills.
pub fn start_server_build(proj: &Project) -> Result<ServerBuild> {
    let mut cargo = Command::new(cargo_program());
    cargo
        .arg("build")
        .arg(format!("--package={}", proj.package))
        .arg(format!("--bin={}", proj.bin_target))
        .arg("--no-default-features")
        .arg(format!("--features={}", proj.bin_features.join(",")))
        .arg("--release")
        .envs(proj.envs(false));
    let child = cargo.spawn().context("starting cargo build (server)")?;
    Ok(ServerBuild(Some(child)))
}

/// The server's cargo build while it runs; dropped unfinished (the browser half failed),
/// it is stopped rather than left building.
pub struct ServerBuild(Option<std::process::Child>);

impl ServerBuild {
    /// Waits for the build to end.
    pub fn finish(mut self) -> Result<()> {
        let Some(mut child) = self.0.take() else {
            return Ok(());
        };
        let status = child.wait().context("waiting for cargo build (server)")?;
        if !status.success() {
            bail!("cargo build (server) failed ({status})");
        }
        Ok(())
    }
}

impl Drop for ServerBuild {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Splits the module at its `#[lazy]` points, runs wasm-bindgen on the main part and
/// wasm-opt on every part, leaving them in the site's pkg dir.
pub fn split_bind_optimize(proj: &Project, wasm: &[u8]) -> Result<()> {
    std::fs::create_dir_all(&proj.pkg_dir)
        .with_context(|| format!("creating {}", proj.pkg_dir.display()))?;
    let main_split = proj
        .cargo_wasm()
        .with_file_name(format!("{}_split.wasm", proj.package.replace('-', "_")));
    let main_module = format!("./{}.js", proj.output_name);
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(wasm);
        opts.output_dir = &proj.pkg_dir;
        opts.main_out_path = &main_split;
        opts.main_module = &main_module;
        opts.link_name = SPLIT_LOADER_IMPORT;
        opts
    })
    .map_err(|error| anyhow::anyhow!("splitting the WASM: {error:#}"))?;
    let main_bytes =
        std::fs::read(&main_split).with_context(|| format!("reading {}", main_split.display()))?;
    check_data_was_split(wasm, &main_bytes)?;
    // Sorted keys: the same split always writes the same manifest (cargo-leptos writes a
    // HashMap's order, so its manifest's name can differ between two of its own builds).
    let prefetch: std::collections::BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    let manifest = proj.pkg_dir.join("__wasm_split_manifest.json");
    std::fs::write(&manifest, serde_json::to_string_pretty(&prefetch)?)
        .with_context(|| format!("writing {}", manifest.display()))?;

    let loader = proj
        .pkg_dir
        .join(SPLIT_LOADER_IMPORT.trim_start_matches("./"));
    let text = std::fs::read_to_string(&loader)
        .with_context(|| format!("reading {}", loader.display()))?;
    std::fs::write(&loader, canonical_loader(&text))
        .with_context(|| format!("writing {}", loader.display()))?;

    bind(proj, &main_split)?;
    // wasm-bindgen names it `<name>_bg.wasm`; Leptos' hydration script asks for `<name>.wasm`.
    let bound = proj.pkg_dir.join(format!("{}_bg.wasm", proj.output_name));
    let main_wasm = proj.pkg_file("wasm");
    std::fs::rename(&bound, &main_wasm)
        .with_context(|| format!("renaming {} to {}", bound.display(), main_wasm.display()))?;

    if !as_cargo_leptos() {
        crate::import_names::shorten(&main_wasm, &proj.pkg_file("js"))?;
    }
    minify_js(&[proj.pkg_file("js"), loader])?;
    let mut parts = vec![main_wasm];
    parts.extend(split.split_modules);
    optimize_all(&parts)
}

/// Whether to build the site as cargo-leptos would, without the steps it lacks (short
/// import names, terser, the stylesheet's split): `SWITCHBOARD_AS_CARGO_LEPTOS=1`, which
/// `scripts/check-build-parity.sh` sets to compare the two builds.
pub fn as_cargo_leptos() -> bool {
    std::env::var("SWITCHBOARD_AS_CARGO_LEPTOS").is_ok_and(|value| value == "1")
}

/// terser on the JS glue and the split loader, in place: both are on the first load's
/// path, and minified they are 12.1 -> 9.7 KB brotli (not as cargo-leptos' build, see
/// [`as_cargo_leptos`]).
fn minify_js(files: &[PathBuf]) -> Result<()> {
    if as_cargo_leptos() {
        return Ok(());
    }
    let terser = tool("terser");
    for file in files {
        run(
            Command::new(&terser)
                .arg(file)
                .args(["--module", "--compress", "--mangle", "--output"])
                .arg(file),
            "terser (scripts/install-tools.sh installs it)",
        )?;
    }
    Ok(())
}

/// Fails when the splitter put a whole data segment of the input in the main module. It
/// does that, with only a tracing warning ("Overlong segment N ... putting it in main
/// module"), when laying each module's share of the segment out again comes out longer
/// than the linker's layout; the first load then carries every module's read-only data
/// (49 KB brotli more, seen once). `SPLIT_DATA_ROOM` in `src/lib.rs` gives the segment room.
fn check_data_was_split(input: &[u8], main: &[u8]) -> Result<()> {
    let input_segments = data_segment_lengths(input)?;
    let main_segments = data_segment_lengths(main)?;
    // The read-only data: the input's largest segment (the others hold a few hundred bytes
    // of mutable data, which the splitter always keeps whole).
    let Some(&(base, rodata)) = input_segments.iter().max_by_key(|(_, len)| *len) else {
        return Ok(());
    };
    let in_main = main_segments
        .iter()
        .find(|(at, _)| *at == base)
        .map_or(0, |(_, len)| *len);
    if in_main >= rodata {
        bail!(
            "wasm-split put the whole read-only data segment ({rodata} bytes) in the main \
             module instead of each module's share (its \"Overlong segment\" fallback): give \
             SPLIT_DATA_ROOM in src/lib.rs more bytes"
        );
    }
    Ok(())
}

/// Each active data segment's base address and length.
fn data_segment_lengths(wasm: &[u8]) -> Result<Vec<(i64, usize)>> {
    let mut segments = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let wasmparser::Payload::DataSection(reader) = payload.context("reading the WASM")? else {
            continue;
        };
        for data in reader {
            let data = data.context("reading a data segment")?;
            if let wasmparser::DataKind::Active { offset_expr, .. } = data.kind {
                let base = match offset_expr.get_operators_reader().read() {
                    Ok(wasmparser::Operator::I32Const { value }) => i64::from(value),
                    Ok(wasmparser::Operator::I64Const { value }) => value,
                    _ => continue,
                };
                segments.push((base, data.data.len()));
            }
        }
    }
    Ok(segments)
}

/// wasm-bindgen on the main part, as `wasm-bindgen --target=web --keep-lld-exports
/// --no-demangle --out-name=<output name> --out-dir=<pkg dir>` does it (cargo-leptos'
/// call): every setting the CLI passes, with the CLI's defaults for the flags not given.
fn bind(proj: &Project, main_split: &Path) -> Result<()> {
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .web(true)
        .context("wasm-bindgen: choosing the web target")?;
    #[allow(deprecated)] // the CLI still passes it; false is its default
    bindgen.reference_types(false);
    bindgen
        .input_path(main_split)
        .debug(false)
        .demangle(false)
        .keep_lld_exports(true)
        .keep_debug(false)
        .split_debug_info(false)
        .remove_name_section(false)
        .remove_producers_section(false)
        .typescript(true)
        .omit_imports(false)
        .omit_default_module_path(false)
        .split_linked_modules(false)
        .js_string_builtins(false)
        .ts_typed_array_buffers(false)
        .reset_state_function(false)
        .force_enable_abort_handler(false)
        .out_name(&proj.output_name)
        .generate(&proj.pkg_dir)
        .map_err(|error| anyhow::anyhow!("wasm-bindgen: {error:#}"))
}

/// The split loader with its unordered lists sorted. The splitter writes some of them in
/// a HashMap's order, which changes from run to run; the loader's name is its content's
/// hash, and the main JS and WASM import it by that name, so a rebuild of the same source
/// must give the same loader, or every returning browser would fetch them again (and, with
/// cargo-leptos' names, which do not change with it, ask for a loader the server no longer
/// has: `exact_names`).
pub fn canonical_loader(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let canonical = if body.contains("initSync(undefined, undefined)")
            || body.contains("Object.assign(sharedImports.__wasm_split, {")
        {
            sort_between(body, "{ ", "}")
        } else if body.starts_with("/* ") && body.ends_with(" */") {
            sort_between(body, "/* ", " */")
        } else {
            body.to_string()
        };
        out.push_str(&canonical);
        out.push_str(end);
    }
    out
}

/// Sorts the comma-separated items between the first `open` and the next `close`,
/// keeping the splitter's spacing (`{ a, b,  }`, `/* a, b */`).
fn sort_between(line: &str, open: &str, close: &str) -> String {
    let Some(start) = line.find(open).map(|at| at + open.len()) else {
        return line.to_string();
    };
    let Some(len) = line[start..].find(close) else {
        return line.to_string();
    };
    let inner = &line[start..start + len];
    let trailing_comma = inner.trim_end().ends_with(',');
    let mut items: Vec<&str> = inner
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect();
    items.sort_unstable();
    let mut sorted = items.join(", ");
    if trailing_comma {
        sorted.push_str(",  ");
    }
    format!("{}{sorted}{}", &line[..start], &line[start + len..])
}

/// wasm-opt -Oz on every part, two at a time (cargo-leptos runs one per core).
fn optimize_all(parts: &[PathBuf]) -> Result<()> {
    let wasm_opt = tool("wasm-opt");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for batch in parts.chunks(cores) {
        let children = batch
            .iter()
            .map(|part| {
                Command::new(&wasm_opt)
                    .args([
                        "-Oz",
                        "--enable-bulk-memory",
                        "--enable-nontrapping-float-to-int",
                    ])
                    .arg(part)
                    .arg("-o")
                    .arg(part)
                    .spawn()
                    .with_context(|| format!("starting {}", wasm_opt.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        for (mut child, part) in children.into_iter().zip(batch) {
            let status = child.wait().context("waiting for wasm-opt")?;
            if !status.success() {
                bail!("wasm-opt failed on {} ({status})", part.display());
            }
        }
    }
    Ok(())
}

/// Runs a command to its end; its output goes to ours.
fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {what} ({:?})", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// A tool from the project's `node_modules/.bin` (npm's binaryen), else from PATH, as
/// cargo-leptos finds them.
fn tool(name: &str) -> PathBuf {
    let local = Path::new("node_modules/.bin").join(name);
    if local.is_file() {
        return local;
    }
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::{canonical_loader, check_data_was_split};

    /// A module with one memory and active data segments of these lengths at these bases
    /// (each under 128 bytes and base under 64: one-byte LEB128 numbers).
    fn module_with_data(segments: &[(u8, u8)]) -> Vec<u8> {
        let mut data = vec![segments.len() as u8];
        for &(base, len) in segments {
            // active, memory 0: i32.const base; end; the bytes
            data.extend([0x00, 0x41, base, 0x0b, len]);
            data.extend(std::iter::repeat_n(0xA5, usize::from(len)));
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend([0x05, 0x03, 0x01, 0x00, 0x01]); // one memory, at least one page
        wasm.push(0x0b);
        wasm.push(data.len() as u8);
        wasm.extend(data);
        wasm
    }

    #[test]
    fn a_data_segment_kept_whole_in_the_main_module_fails_the_build() {
        let input = module_with_data(&[(0, 100), (60, 8)]);
        let split = module_with_data(&[(0, 40), (60, 8)]);
        check_data_was_split(&input, &split).expect("the main module has its share");
        let whole = module_with_data(&[(0, 100), (60, 8)]);
        let error = check_data_was_split(&input, &whole).expect_err("all of it in main");
        assert!(error.to_string().contains("SPLIT_DATA_ROOM"), "{error}");
    }

    #[test]
    fn the_loader_is_the_same_whatever_order_the_splitter_wrote() {
        let one = "import { initSync } from \"./x.js\";\n        const { b, memory, a,  } = initSync(undefined, undefined);\n        Object.assign(sharedImports.__wasm_split, { b, memory, a,  });\n/* tool_page_2, pane_1 */\nconst x = { keep, this };\n";
        let two = "import { initSync } from \"./x.js\";\n        const { memory, a, b,  } = initSync(undefined, undefined);\n        Object.assign(sharedImports.__wasm_split, { a, b, memory,  });\n/* pane_1, tool_page_2 */\nconst x = { keep, this };\n";
        assert_eq!(canonical_loader(one), canonical_loader(two));
        assert!(canonical_loader(one).contains("const { a, b, memory,  } = initSync"));
        assert!(canonical_loader(one).contains("/* pane_1, tool_page_2 */"));
        assert!(
            canonical_loader(one).contains("const x = { keep, this };"),
            "other lines are left alone"
        );
    }
}
