//! Importing Claude Code and Codex history against the real server: stores made from
//! transcripts the real CLIs wrote, imported into sessions and projects; importing again
//! adds nothing; a file that grew adds only its new turns; an imported Claude session and
//! an imported Codex session continue in the real CLI against the fake model, which
//! receives the earlier turns; imported text is searchable.

mod common;

use common::claude::{claude_bin, claude_config, codex_config, FakeModel};
use common::import::{candidate, import, scan, stores_under};
use common::{Client, Server};
use std::path::Path;
use switchboard::protocol::{
    ClientFrame, ImportSource, ImportStatus, LoggedEvent, RequestTag, SearchQuery, Seq,
    ServerFrame, Session, SessionEvent, SessionId,
};

/// A temp root with the stores, the fake model and a server using both.
fn rig() -> (tempfile::TempDir, std::path::PathBuf, FakeModel, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical");
    let fake = FakeModel::start();
    let server = rig_server(&root, &fake);
    (dir, root, fake, server)
}

/// A server whose Claude and Codex agents use the rig's stores and the fake model.
fn rig_server(root: &Path, fake: &FakeModel) -> Server {
    let (claude_home, codex_home) = stores_under(root);
    let config = format!(
        "[server]\nroots = [\"{root}\"]\n{claude}\n{codex}",
        root = root.display(),
        claude = claude_config(&claude_bin(), &claude_home, &fake.addr),
        codex = codex_config(&codex_home, fake),
    );
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    Server::start_with_config(&data, &config)
}

/// A session's whole log, from the database.
async fn log(server: &Server, session: SessionId) -> Vec<LoggedEvent> {
    let db = common::open_db(&server.data_dir).await;
    db.events_since(session, Seq(0)).await.expect("log reads")
}

fn prompts(log: &[LoggedEvent]) -> Vec<String> {
    log.iter()
        .filter_map(|e| match &e.event {
            SessionEvent::UserMessage { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn history_imports_into_sessions_and_projects_once() {
    let (_dir, _root, _fake, server) = rig();
    let (mut client, _) = Client::connect(&server).await;
    let found = scan(&mut client).await;
    // A line the user's editor (or a crash) mangled, in the middle of one transcript.
    let plain = candidate(&found, "work/claude-plain");
    let text = std::fs::read_to_string(&plain.path).expect("transcript");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(3, "{\"type\":\"user\",\"message\":{\"content\": oops");
    std::fs::write(&plain.path, lines.join("\n") + "\n").expect("mangled");
    let found = scan(&mut client).await;
    assert_eq!(
        found
            .iter()
            .filter(|c| c.source == ImportSource::Claude)
            .count(),
        6,
        "{found:?}"
    );
    assert_eq!(
        found
            .iter()
            .filter(|c| c.source == ImportSource::Codex)
            .count(),
        6,
        "{found:?}"
    );
    assert!(found.iter().all(|c| c.status == ImportStatus::New));
    let resume = candidate(&found, "work/claude-resume");
    assert_eq!(resume.first_prompt, "My name is Alice.");

    let done = import(&mut client, found.iter().map(|c| c.path.clone()).collect()).await;
    let report = done.report.expect("a report");
    assert!(!report.cancelled);
    let [problem] = report.problems.as_slice() else {
        panic!("one problem: {:?}", report.problems)
    };
    assert_eq!(problem.line, Some(4), "{problem:?}");
    assert!(problem.path.ends_with(".jsonl"));
    assert_eq!(done.sessions, 12);
    assert_eq!(done.files_done, 12);

    // Sessions in projects made from their folders, marked imported, resumable by id.
    let (_, sessions) = Client::connect(&server).await;
    let imported: Vec<&Session> = sessions.iter().filter(|s| s.imported.is_some()).collect();
    assert_eq!(imported.len(), 12);
    let alice = imported
        .iter()
        .find(|s| s.cwd.ends_with("work/claude-resume"))
        .expect("the resumed conversation's session");
    assert_eq!(
        alice.agent_session_id.as_deref(),
        Some("11111111-0000-4000-8000-000000000005")
    );
    assert!(alice.project.is_some(), "a project made from its folder");
    assert_eq!(alice.title, "My name is Alice.");
    let alice_log = log(&server, alice.id).await;
    assert_eq!(
        prompts(&alice_log),
        ["My name is Alice.", "What is my name?"]
    );
    let completed = alice_log
        .iter()
        .filter(|e| matches!(e.event, SessionEvent::TurnCompleted { .. }))
        .count();
    assert_eq!(completed, 2);

    // Again: nothing added, every file already imported.
    let again = scan(&mut client).await;
    assert!(
        again
            .iter()
            .all(|c| matches!(c.status, ImportStatus::Imported { .. })),
        "{again:?}"
    );
    let repeat = import(&mut client, again.iter().map(|c| c.path.clone()).collect()).await;
    assert_eq!(repeat.sessions, 0);
    assert_eq!(repeat.events, 0);
    assert_eq!(repeat.report.expect("report").unchanged, 12);
    assert_eq!(log(&server, alice.id).await, alice_log);

    // Imported text is searchable.
    client
        .send(&ClientFrame::Search {
            query: SearchQuery {
                text: "\"What is my name\"".into(),
                ..SearchQuery::default()
            },
            tag: Some(RequestTag(9)),
        })
        .await;
    loop {
        if let ServerFrame::SearchResults { groups, .. } = client.recv().await {
            let groups = groups.decode().expect("search hits decode");
            assert!(groups.iter().any(|g| g.session == alice.id), "{groups:?}");
            break;
        }
    }
}

#[tokio::test]
async fn a_file_that_grew_adds_only_its_new_turns() {
    let (_dir, _root, fake, server) = rig();
    let (mut client, _) = Client::connect(&server).await;
    let found = scan(&mut client).await;
    let resume = candidate(&found, "work/claude-resume").clone();
    // The user had only said the first thing when the first import ran; a half-written
    // line at the end is not read.
    let whole = std::fs::read_to_string(&resume.path).expect("transcript");
    let lines: Vec<&str> = whole.lines().collect();
    let second_prompt = lines
        .iter()
        .position(|l| l.contains("What is my name?") && l.contains("\"type\":\"user\""))
        .expect("the second prompt");
    let first_part = lines[..second_prompt].join("\n") + "\n" + &lines[second_prompt][..40];
    std::fs::write(&resume.path, &first_part).expect("shortened");
    let first = import(&mut client, vec![resume.path.clone()]).await;
    assert_eq!(first.sessions, 1);
    let (_, sessions) = Client::connect(&server).await;
    let session = sessions
        .iter()
        .find(|s| s.cwd.ends_with("work/claude-resume"))
        .expect("imported")
        .id;
    assert_eq!(prompts(&log(&server, session).await), ["My name is Alice."]);

    std::fs::write(&resume.path, &whole).expect("grown");
    let grown = scan(&mut client).await;
    let status = grown
        .iter()
        .find(|c| c.path == resume.path)
        .expect("still found")
        .status;
    assert_eq!(status, ImportStatus::Grown { session });
    let second = import(&mut client, vec![resume.path.clone()]).await;
    assert!(second.events > 0);
    let after = log(&server, session).await;
    assert_eq!(prompts(&after), ["My name is Alice.", "What is my name?"]);

    // Exactly what importing the whole file at once makes.
    let other = tempfile::tempdir().expect("temp dir");
    let other = other.path().canonicalize().expect("canonical");
    let fresh = rig_server(&other, &fake);
    let (mut fresh_client, _) = Client::connect(&fresh).await;
    let path = candidate(&scan(&mut fresh_client).await, "work/claude-resume")
        .path
        .clone();
    import(&mut fresh_client, vec![path]).await;
    let (_, fresh_sessions) = Client::connect(&fresh).await;
    let fresh_session = fresh_sessions
        .iter()
        .find(|s| s.cwd.ends_with("work/claude-resume"))
        .expect("imported")
        .id;
    let events = |log: Vec<LoggedEvent>| log.into_iter().map(|e| e.event).collect::<Vec<_>>();
    assert_eq!(events(after), events(log(&fresh, fresh_session).await));
}

#[tokio::test]
async fn imported_claude_and_codex_sessions_continue_in_the_real_clis() {
    let (_dir, _root, fake, server) = rig();
    let (mut client, _) = Client::connect(&server).await;
    let found = scan(&mut client).await;
    let chosen: Vec<String> = found
        .iter()
        .filter(|c| {
            c.cwd.as_deref().is_some_and(|d| {
                d.ends_with("work/claude-resume") || d.ends_with("work/codex-plain")
            })
        })
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(chosen.len(), 2);
    import(&mut client, chosen).await;
    let (mut client, sessions) = Client::connect(&server).await;
    for (folder, earlier) in [
        ("work/claude-resume", "My name is Alice."),
        ("work/codex-plain", ""),
    ] {
        let session = sessions
            .iter()
            .find(|s| s.cwd.ends_with(folder))
            .expect("imported")
            .clone();
        let earlier = match earlier {
            "" => prompts(&log(&server, session.id).await)[0].clone(),
            text => text.to_owned(),
        };
        client
            .send(&ClientFrame::Subscribe {
                session: session.id,
                since: session.last_seq,
                tail_turns: None,
                tag: None,
            })
            .await;
        client
            .say(session.id, "And now, in Switchboard?", false)
            .await;
        let events = client.turn(session.id).await;
        assert!(
            !events
                .iter()
                .any(|(_, e)| matches!(e, SessionEvent::ConversationReset { .. })),
            "{folder}: the CLI resumed its conversation: {events:?}"
        );
        // The model was sent the conversation from the terminal, then the new message.
        let requests = fake.requests().await;
        let last = requests
            .iter()
            .rev()
            .find(|r| r["body"].to_string().contains("And now, in Switchboard?"))
            .unwrap_or_else(|| panic!("{folder}: the new message reached the model"));
        assert!(
            last["body"].to_string().contains(&earlier),
            "{folder}: the model was sent the earlier turns ({earlier})"
        );
    }
}

#[tokio::test]
async fn a_running_import_can_be_cancelled_and_keeps_what_it_stored() {
    let (_dir, root, _fake, server) = rig();
    // 600 more transcripts: copies of one, under new names.
    let projects = root.join("claude-home/.claude/projects");
    let source = std::fs::read_dir(&projects)
        .expect("store")
        .flatten()
        .flat_map(|p| std::fs::read_dir(p.path()).expect("project").flatten())
        .next()
        .expect("a transcript")
        .path();
    let copies = projects.join("-copies");
    std::fs::create_dir_all(&copies).expect("folder");
    for n in 0..600 {
        std::fs::copy(
            &source,
            copies.join(format!("{:08}-0000-4000-8000-000000000000.jsonl", n)),
        )
        .expect("copy");
    }
    let (mut client, _) = Client::connect(&server).await;
    let paths: Vec<String> = scan(&mut client)
        .await
        .into_iter()
        .map(|c| c.path)
        .collect();
    let total = paths.len() as u32;
    client
        .send(&ClientFrame::StartImport { paths, tag: None })
        .await;
    client.send(&ClientFrame::CancelImport).await;
    let done = loop {
        if let ServerFrame::ImportProgress { progress } = client.recv().await {
            let progress = progress.decode().expect("progress decodes");
            if !progress.running {
                break progress;
            }
        }
    };
    assert!(done.report.expect("report").cancelled);
    assert!(done.files_done < total, "{} of {total}", done.files_done);
    // What it stored stays, whole: every imported session has its transcript.
    let (_, sessions) = Client::connect(&server).await;
    for session in sessions.iter().filter(|s| s.imported.is_some()) {
        assert!(session.entry_count > 0);
    }
    // And the next import picks up the rest.
    let rest: Vec<String> = scan(&mut client)
        .await
        .into_iter()
        .filter(|c| c.status == ImportStatus::New)
        .map(|c| c.path)
        .collect();
    assert_eq!(rest.len() as u32, total - done.sessions);
}

#[tokio::test]
async fn the_command_line_imports_when_no_server_runs_and_refuses_while_one_does() {
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path().canonicalize().expect("canonical");
    let (claude_home, codex_home) = stores_under(&root);
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("private");
    let config = root.join("config.toml");
    let config_text = format!(
        "[server]\nroots = [\"{}\"]\n[agents.claude]\nenv = {{ HOME = \"{}\" }}\n\
         [agents.codex]\nenv = {{ CODEX_HOME = \"{}\" }}\n",
        root.display(),
        claude_home.display(),
        codex_home.display()
    );
    std::fs::write(&config, &config_text).expect("config");
    let database = common::postgres_url(&data);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .envs(
                database
                    .iter()
                    .map(|url| (switchboard::server::config::DATABASE_URL_ENV, url)),
            )
            .arg("import")
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("switchboard import runs")
    };
    let dry = run(&["--dry-run"]);
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(out.contains("12 transcript(s) to import (dry run"), "{out}");
    let claude_only = run(&["--claude", "--since", "2026-01-01"]);
    let out = String::from_utf8_lossy(&claude_only.stdout);
    assert!(
        claude_only.status.success(),
        "{}",
        String::from_utf8_lossy(&claude_only.stderr)
    );
    assert!(out.contains("imported 6 session(s)"), "{out}");
    let none_since = run(&["--since", "2099-01-01"]);
    assert!(String::from_utf8_lossy(&none_since.stdout).contains("0 transcript(s)"));

    let server = Server::start_with_config(&data, &config_text);
    let refused = run(&[]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("another Switchboard process"), "{why}");
    let (_, sessions) = Client::connect(&server).await;
    let imported = sessions
        .iter()
        .filter(|s| s.imported == Some(ImportSource::Claude));
    assert_eq!(imported.count(), 6);
}
