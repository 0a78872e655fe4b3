//! Import test rig: CLI stores made from the committed fixtures (their folder paths moved
//! under a temp root that exists), and the frames of an import.

use super::{Client, TIMEOUT};
use std::path::{Path, PathBuf};
use switchboard::protocol::{ClientFrame, ImportCandidate, ImportProgress, ServerFrame};

/// The folder the fixtures were recorded under (scripts/import-fixtures.sh).
const RECORDED_ROOT: &str = "/tmp/switchboard-import-fixtures";

/// Claude Code's way of naming a project folder in its store: every character that is not
/// a letter or digit becomes `-`.
pub fn claude_project_dir(cwd: &str) -> String {
    cwd.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Copies the committed stores under `root`: Claude's into `root/claude-home/.claude`,
/// Codex's into `root/codex-home`, every recorded path moved to `root`, and makes each
/// recorded working folder under `root/work`. Returns (claude home, codex home).
pub fn stores_under(root: &Path) -> (PathBuf, PathBuf) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import");
    let root_text = root.display().to_string();
    let claude_home = root.join("claude-home");
    let codex_home = root.join("codex-home");
    copy_tree(
        &fixtures.join("claude"),
        &claude_home.join(".claude"),
        &|name| {
            name.replace(
                &claude_project_dir(RECORDED_ROOT),
                &claude_project_dir(&root_text),
            )
        },
        &root_text,
    );
    copy_tree(
        &fixtures.join("codex"),
        &codex_home,
        &|name| name.to_owned(),
        &root_text,
    );
    for scenario in ["plain", "bash", "edit", "interrupt", "resume", "image"] {
        for cli in ["claude", "codex"] {
            std::fs::create_dir_all(root.join(format!("work/{cli}-{scenario}"))).expect("work dir");
        }
    }
    (claude_home, codex_home)
}

fn copy_tree(from: &Path, to: &Path, rename: &dyn Fn(&str) -> String, root: &str) {
    std::fs::create_dir_all(to).expect("store dir");
    for entry in std::fs::read_dir(from).expect("fixture dir") {
        let entry = entry.expect("entry");
        let name = rename(&entry.file_name().to_string_lossy());
        let target = to.join(name);
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target, rename, root);
        } else {
            let text = std::fs::read_to_string(entry.path()).expect("fixture text");
            std::fs::write(&target, text.replace(RECORDED_ROOT, root)).expect("store file");
        }
    }
}

/// The found transcript whose folder ends with `folder` (e.g. `work/claude-resume`).
pub fn candidate<'a>(found: &'a [ImportCandidate], folder: &str) -> &'a ImportCandidate {
    found
        .iter()
        .find(|c| c.cwd.as_deref().is_some_and(|d| d.ends_with(folder)))
        .unwrap_or_else(|| panic!("a transcript run in {folder}: {found:?}"))
}

/// The transcripts a scan finds.
pub async fn scan(client: &mut Client) -> Vec<ImportCandidate> {
    client.send(&ClientFrame::ScanImports { tag: None }).await;
    loop {
        if let ServerFrame::ImportCandidates { candidates, .. } = client.recv().await {
            return candidates.decode().expect("candidates decode");
        }
    }
}

/// Imports `paths` and waits for the job's last progress (with its report).
pub async fn import(client: &mut Client, paths: Vec<String>) -> ImportProgress {
    client
        .send(&ClientFrame::StartImport { paths, tag: None })
        .await;
    loop {
        match client.recv_within(TIMEOUT * 3).await {
            ServerFrame::ImportProgress { progress } => {
                let progress = progress.decode().expect("progress decodes");
                if !progress.running {
                    return progress;
                }
            }
            ServerFrame::Error { message, .. } => panic!("import refused: {message}"),
            _ => {}
        }
    }
}
