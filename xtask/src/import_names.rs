//! Short names for what the main WASM module imports from its JS glue.
//!
//! wasm-bindgen names each JS function the module imports `__wbg_<name>_<16 hex digits>`,
//! and the glue defines each under the same name: the main module imports 291, so their hex
//! digits, random to a compressor, were in the first load twice (3.8 KB of the WASM and 3.1
//! KB of the glue, brotli). [`shorten`] renames each to `i0`, `i1`, ... in both: in the
//! module's import section (nothing else in a module names an import) and in the glue,
//! where each old name is a unique string of 30 and more characters, so replacing it is
//! exact. The split modules import nothing from the glue by these names.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Renames the hashed imports of `wasm` in it and in `js`; returns how many.
pub fn shorten(wasm: &Path, js: &Path) -> Result<usize> {
    let module = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let mut glue =
        std::fs::read_to_string(js).with_context(|| format!("reading {}", js.display()))?;
    let (module, renames) = rename_imports(&module)?;
    for (old, new) in &renames {
        if !glue.contains(old.as_str()) {
            bail!("the glue does not define the import {old}");
        }
        glue = glue.replace(old.as_str(), new);
    }
    std::fs::write(wasm, module).with_context(|| format!("writing {}", wasm.display()))?;
    std::fs::write(js, glue).with_context(|| format!("writing {}", js.display()))?;
    Ok(renames.len())
}

/// Whether wasm-bindgen made `name` unique with a hash: `__wbg_<name>_<16 hex digits>`.
fn is_hashed(name: &str) -> bool {
    name.starts_with("__wbg_")
        && name.len() > 23
        && name.as_bytes()[name.len() - 17] == b'_'
        && name[name.len() - 16..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Each renamed import: its old name and its new one.
type Renames = Vec<(String, String)>;

/// The module with its hashed imports renamed, and each (old, new) name.
fn rename_imports(module: &[u8]) -> Result<(Vec<u8>, Renames)> {
    let Some((header, payload)) = import_section(module)? else {
        return Ok((module.to_vec(), Vec::new()));
    };
    let mut reader = Reader {
        bytes: &module[..payload.end],
        at: payload.start,
    };
    let count = reader.leb()?;
    let mut renames = Vec::new();
    let mut section = Vec::new();
    push_leb(&mut section, count);
    let entries = reader.entries(count, payload.end)?;
    for entry in entries {
        let name = if is_hashed(entry.name) {
            let short = format!("i{}", renames.len());
            renames.push((entry.name.to_owned(), short.clone()));
            short
        } else {
            entry.name.to_owned()
        };
        push_name(&mut section, entry.module);
        push_name(&mut section, &name);
        section.extend_from_slice(&module[entry.desc.clone()]);
    }
    let mut out = Vec::with_capacity(module.len());
    out.extend_from_slice(&module[..header]);
    out.push(2);
    push_leb(&mut out, section.len() as u64);
    out.extend_from_slice(&section);
    out.extend_from_slice(&module[payload.end..]);
    Ok((out, renames))
}

/// Where the import section starts (its id byte) and its payload's range.
fn import_section(module: &[u8]) -> Result<Option<(usize, std::ops::Range<usize>)>> {
    if module.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        bail!("not a WASM module (version 1)");
    }
    let mut reader = Reader {
        bytes: module,
        at: 8,
    };
    while reader.at < module.len() {
        let header = reader.at;
        let id = reader.byte()?;
        let size = usize::try_from(reader.leb()?)?;
        let start = reader.at;
        let end = start + size;
        if end > module.len() {
            bail!("section {id} runs past the module's end");
        }
        if id == 2 {
            return Ok(Some((header, start..end)));
        }
        reader.at = end;
    }
    Ok(None)
}

/// One import: its names, and its description's bytes (kept as they are).
struct Entry<'a> {
    module: &'a str,
    name: &'a str,
    desc: std::ops::Range<usize>,
}

/// A cursor over a module's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let byte = *self.bytes.get(self.at).context("the WASM ends early")?;
        self.at += 1;
        Ok(byte)
    }

    fn leb(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("a LEB128 number is too long")
    }

    fn name(&mut self) -> Result<&'a str> {
        let len = usize::try_from(self.leb()?)?;
        let bytes = self
            .bytes
            .get(self.at..self.at + len)
            .context("a name runs past the section")?;
        self.at += len;
        std::str::from_utf8(bytes).context("a name is not UTF-8")
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }

    /// `count` imports, ending at `end`.
    fn entries(&mut self, count: u64, end: usize) -> Result<Vec<Entry<'a>>> {
        let mut entries = Vec::new();
        for _ in 0..count {
            let module = self.name()?;
            let name = self.name()?;
            let start = self.at;
            match self.byte()? {
                0 => {
                    self.leb()?;
                }
                1 => {
                    self.byte()?;
                    self.limits()?;
                }
                2 => self.limits()?,
                3 => {
                    self.byte()?;
                    self.byte()?;
                }
                4 => {
                    self.byte()?;
                    self.leb()?;
                }
                kind => bail!("import {module}.{name} is of an unknown kind {kind}"),
            }
            entries.push(Entry {
                module,
                name,
                desc: start..self.at,
            });
        }
        if self.at != end {
            bail!("the import section holds more than its imports");
        }
        Ok(entries)
    }
}

fn push_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    push_leb(out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing `names` from "m" as functions of type 0, then a custom section.
    fn module(names: &[&str]) -> Vec<u8> {
        let mut section = Vec::new();
        push_leb(&mut section, names.len() as u64);
        for name in names {
            push_name(&mut section, "m");
            push_name(&mut section, name);
            section.extend([0, 0]);
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.push(2);
        push_leb(&mut wasm, section.len() as u64);
        wasm.extend(section);
        wasm.extend([0, 4, 1, b'c', 7, 7]);
        wasm
    }

    #[test]
    fn hashed_imports_get_short_names_and_the_rest_of_the_module_stays() {
        let hashed = "__wbg_setattribute_2a8f647a8d92c712";
        let (out, renames) = rename_imports(&module(&[
            hashed,
            "__wbindgen_throw",
            "__wbg_x_0123456789abcdef",
        ]))
        .expect("renames");
        assert_eq!(out, module(&["i0", "__wbindgen_throw", "i1"]));
        assert_eq!(
            renames,
            vec![
                (hashed.to_owned(), "i0".to_owned()),
                ("__wbg_x_0123456789abcdef".to_owned(), "i1".to_owned())
            ]
        );
    }

    #[test]
    fn only_wasm_bindgen_hashes_count() {
        assert!(is_hashed("__wbg_new_1234567890abcdef"));
        assert!(!is_hashed("__wbg_new_1234567890ABCDEF"));
        assert!(!is_hashed("__wbg_intounderlyingsink_free"));
        assert!(!is_hashed("__wbindgen_cast_1234567890abcdef"));
        assert!(!is_hashed("__wbg__1234567890abcdef"));
    }
}
