//! `bench -- import`: the import rate. Makes Claude Code and Codex stores of ~100 MB from
//! the committed transcripts the real CLIs wrote (each copied many times under new session
//! file names), imports all of them through the server's Import job over the WebSocket,
//! and prints MB/s, events/s and the server's memory after.

use super::harness::*;
use std::path::Path;
use std::time::Instant;
use switchboard::protocol::{ClientFrame, ServerFrame};
use uuid::Uuid;

/// Copies of each of the 12 fixture transcripts.
const COPIES: usize = 400;

pub async fn import() {
    println!("# import benchmark ({})", server_binary().display());
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import");
    let claude_projects = root.join("home/.claude/projects");
    let codex_day = root.join("codex-home/sessions/2026/12/03");
    std::fs::create_dir_all(&codex_day).expect("codex store");
    let mut bytes = 0u64;
    let mut files = 0usize;
    for entry in std::fs::read_dir(fixtures.join("claude/projects")).expect("fixtures") {
        let project = entry.expect("entry").path();
        for file in std::fs::read_dir(&project).expect("project") {
            let text = std::fs::read(file.expect("file").path()).expect("fixture");
            for copy in 0..COPIES {
                let folder = claude_projects.join(format!("-bench-project-{copy}"));
                std::fs::create_dir_all(&folder).expect("project folder");
                std::fs::write(folder.join(format!("{}.jsonl", Uuid::new_v4())), &text)
                    .expect("copy");
                bytes += text.len() as u64;
                files += 1;
            }
        }
    }
    for entry in std::fs::read_dir(fixtures.join("codex/sessions/2026/12/03")).expect("fixtures") {
        let text = std::fs::read(entry.expect("entry").path()).expect("fixture");
        for _ in 0..COPIES {
            let name = format!("rollout-2026-12-03T10-00-00-{}.jsonl", Uuid::new_v4());
            std::fs::write(codex_day.join(name), &text).expect("copy");
            bytes += text.len() as u64;
            files += 1;
        }
    }
    println!("stores: {files} transcripts, {:.1} MB", bytes as f64 / 1e6);
    let config = root.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[agents.claude]\nenv = {{ HOME = \"{home}\" }}\n[agents.codex]\nenv = {{ CODEX_HOME = \"{codex}\" }}\n",
            home = root.join("home").display(),
            codex = root.join("codex-home").display()
        ),
    )
    .expect("config");
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("data");
    let server = start_configured(&data, Some(&config));
    let mut socket = connect(&server).await;
    let scanned = Instant::now();
    send(&mut socket, &ClientFrame::ScanImports { tag: None }).await;
    let paths: Vec<String> = loop {
        if let ServerFrame::ImportCandidates { candidates, .. } = recv(&mut socket).await {
            break candidates
                .decode()
                .expect("candidates decode")
                .into_iter()
                .map(|c| c.path)
                .collect();
        }
    };
    println!(
        "scan of {} transcripts: {:.2} s",
        paths.len(),
        scanned.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    send(&mut socket, &ClientFrame::StartImport { paths, tag: None }).await;
    let progress = loop {
        match recv(&mut socket).await {
            ServerFrame::ImportProgress { progress } => {
                let progress = progress.decode().expect("progress decodes");
                if !progress.running {
                    break progress;
                }
            }
            ServerFrame::Error { message, .. } => panic!("import refused: {message}"),
            _ => {}
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let problems = progress.report.as_ref().map_or(0, |r| r.problems.len());
    println!(
        "import: {} sessions, {} events, {:.1} MB in {seconds:.1} s: {:.2} MB/s, {:.0} events/s ({problems} problems)",
        progress.sessions,
        progress.events,
        progress.bytes_done as f64 / 1e6,
        progress.bytes_done as f64 / 1e6 / seconds,
        progress.events as f64 / seconds
    );
    println!(
        "server RSS after the import ({} sessions loaded): {:.1} MiB",
        progress.sessions,
        rss_kib(server.child.id()) as f64 / 1024.0
    );
}
