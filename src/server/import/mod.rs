//! Importing the sessions Claude Code and Codex stored on this machine: finding their
//! transcripts (reading only inside the CLIs' own stores), and the background job that
//! turns them into sessions (`job`). The formats themselves are `parse`'s pure parsers.

pub mod cli;
pub mod job;
pub mod parse;

use crate::protocol::{ImportCandidate, ImportProblem, ImportSource, ImportStatus, CLAUDE, CODEX};
use crate::server::config::Config;
use crate::server::db::imports::ImportMark;
use parse::{ClaudeTranscript, CodexRollout, TranscriptMeta, TranscriptParser};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

pub use job::Importer;

/// How much of a transcript a scan reads to find its folder and first prompt.
const PEEK_BYTES: u64 = 256 * 1024;
/// How deep a store's folders are walked (Codex: sessions/YYYY/MM/DD/file).
const MAX_DEPTH: usize = 4;
/// Longest first prompt shown in a candidate, in chars.
const PROMPT_CHARS: usize = 160;

/// Where the CLIs keep their sessions: Claude Code's config dir (`CLAUDE_CONFIG_DIR`, else
/// `~/.claude`) and Codex's home (`CODEX_HOME`, else `~/.codex`), as the agents this server
/// starts see them, so an imported conversation is where its resumed CLI looks for it.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Claude Code's config dir.
    pub claude: Option<PathBuf>,
    /// Codex's home.
    pub codex: Option<PathBuf>,
}

impl Stores {
    /// The stores the configured agents use: an agent's own `env` in the configuration
    /// first (its store variable, else its HOME), then this process's environment.
    pub fn from_config(config: &Config) -> Stores {
        let store = |agent: &str, var: &str, default: &str| {
            let configured = config.agents.get(agent).map(|a| &a.env);
            let from = |env: &dyn Fn(&str) -> Option<PathBuf>| {
                env(var).or_else(|| env("HOME").map(|home| home.join(default)))
            };
            configured
                .and_then(|env| from(&|name| env.get(name).map(PathBuf::from)))
                .or_else(|| from(&|name| std::env::var_os(name).map(PathBuf::from)))
        };
        Stores {
            claude: store(CLAUDE, "CLAUDE_CONFIG_DIR", ".claude"),
            codex: store(CODEX, "CODEX_HOME", ".codex"),
        }
    }

    /// The folder holding a source's transcripts.
    fn transcripts(&self, source: ImportSource) -> Option<PathBuf> {
        match source {
            ImportSource::Claude => self.claude.as_ref().map(|root| root.join("projects")),
            ImportSource::Codex => self.codex.as_ref().map(|root| root.join("sessions")),
        }
    }
}

/// A transcript a scan found, with what the importer needs beyond the candidate shown.
#[derive(Debug, Clone)]
pub struct Found {
    /// What the page shows.
    pub candidate: ImportCandidate,
    /// What its first lines say (conversation id, folder, model).
    pub meta: TranscriptMeta,
}

/// A new parser for a source's format.
pub fn parser_for(source: ImportSource) -> Box<dyn TranscriptParser + Send> {
    match source {
        ImportSource::Claude => Box::new(ClaudeTranscript::default()),
        ImportSource::Codex => Box::new(CodexRollout::default()),
    }
}

/// Every transcript in the stores, newest first, against what was imported before; and
/// the stores that could not be read. Blocking: run it off the async threads.
pub fn scan(
    stores: &Stores,
    marks: &HashMap<String, ImportMark>,
) -> (Vec<Found>, Vec<ImportProblem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for source in [ImportSource::Claude, ImportSource::Codex] {
        let Some(dir) = stores.transcripts(source) else {
            continue;
        };
        if !dir.is_dir() {
            problems.push(ImportProblem {
                path: dir.display().to_string(),
                line: None,
                reason: format!("no {} sessions here", source.label()),
            });
            continue;
        }
        let mut files = Vec::new();
        walk(&dir, 0, &mut files, &mut problems);
        for path in files {
            match examine(source, &path, marks) {
                Ok(item) => found.push(item),
                Err(e) => problems.push(ImportProblem {
                    path: path.display().to_string(),
                    line: None,
                    reason: e.to_string(),
                }),
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.candidate.started_ms));
    (found, problems)
}

/// Collects the `.jsonl` files under `dir`, never following a symbolic link (a link could
/// lead out of the store).
fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>, problems: &mut Vec<ImportProblem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(ImportProblem {
                path: dir.display().to_string(),
                line: None,
                reason: format!("cannot read the folder: {e}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() && depth < MAX_DEPTH {
            walk(&path, depth + 1, files, problems);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "jsonl") {
            files.push(path);
        }
    }
}

/// Reads a transcript's first lines for its folder, conversation and first prompt.
fn examine(
    source: ImportSource,
    path: &Path,
    marks: &HashMap<String, ImportMark>,
) -> std::io::Result<Found> {
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    let modified_ms = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    let mut parser = parser_for(source);
    let mut reader = std::io::BufReader::new(std::io::Read::take(file, PEEK_BYTES));
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 {
        if !line.ends_with('\n') {
            break;
        }
        parser.line(line.trim_end());
        line.clear();
        let meta = parser.meta();
        if meta.first_prompt.is_some() && meta.cwd.is_some() && meta.conversation_id.is_some() {
            break;
        }
    }
    let mut meta = parser.meta().clone();
    if meta.conversation_id.is_none() {
        meta.conversation_id = conversation_from_name(source, path);
    }
    let key = path.display().to_string();
    let status = match marks.get(&key) {
        None => ImportStatus::New,
        Some(mark) if metadata.len() > mark.bytes => ImportStatus::Grown {
            session: mark.session,
        },
        Some(mark) => ImportStatus::Imported {
            session: mark.session,
        },
    };
    let first_prompt: String = meta
        .first_prompt
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(PROMPT_CHARS)
        .collect();
    Ok(Found {
        candidate: ImportCandidate {
            source,
            path: key,
            cwd: meta.cwd.clone(),
            first_prompt,
            started_ms: meta.started_ms.unwrap_or(modified_ms),
            bytes: metadata.len(),
            status,
        },
        meta,
    })
}

/// The conversation id a file's name carries: Claude's `<id>.jsonl`, Codex's
/// `rollout-<time>-<id>.jsonl` (the id is a UUID, the last 36 characters).
fn conversation_from_name(source: ImportSource, path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let id = match source {
        ImportSource::Claude => stem,
        ImportSource::Codex => stem.get(stem.len().checked_sub(36)?..)?,
    };
    uuid::Uuid::parse_str(id).ok().map(|_| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_come_from_file_names() {
        let id = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let codex = PathBuf::from(format!(
            "/s/2026/01/02/rollout-2026-01-02T10-00-00-{id}.jsonl"
        ));
        assert_eq!(
            conversation_from_name(ImportSource::Codex, &codex).as_deref(),
            Some(id)
        );
        let claude = PathBuf::from(format!("/p/-home-me/{id}.jsonl"));
        assert_eq!(
            conversation_from_name(ImportSource::Claude, &claude).as_deref(),
            Some(id)
        );
        let odd = PathBuf::from("/p/-home-me/notes.jsonl");
        assert_eq!(conversation_from_name(ImportSource::Claude, &odd), None);
    }

    #[test]
    fn a_scan_never_follows_links_out_of_the_store() {
        let home = tempfile::tempdir().expect("temp dir");
        let outside = tempfile::tempdir().expect("temp dir");
        std::fs::write(outside.path().join("secret.jsonl"), "{}\n").expect("write");
        let projects = home.path().join(".claude/projects");
        std::fs::create_dir_all(projects.join("-work")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), projects.join("-escape")).expect("link");
        std::os::unix::fs::symlink(
            outside.path().join("secret.jsonl"),
            projects.join("-work/linked.jsonl"),
        )
        .expect("link");
        let stores = Stores {
            claude: Some(home.path().join(".claude")),
            codex: Some(home.path().join(".codex")),
        };
        let (found, problems) = scan(&stores, &HashMap::new());
        assert!(found.is_empty(), "{found:?}");
        assert!(problems
            .iter()
            .any(|p| p.reason.contains("no Codex sessions")));
    }
}
