//! `bench -- worktree`: what projects cost. (1) Send -> first frame of the agent's answer
//! for a new session in a worktree of its own against one in the project's checkout, on a
//! small repository and on one of 10,000 files; (2) the changes summary of that
//! repository with 200 files changed: time to the `Changes` frame and its size.

use super::harness::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, NewSession, ProjectId, ServerFrame, SessionEvent, SessionId,
};
use uuid::Uuid;

const ROUNDS: usize = 15;

pub async fn worktree() {
    println!("# worktree benchmarks ({})", server_binary().display());
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let roots = base.join("roots");
    let small = roots.join("small");
    let large = roots.join("large");
    make_repo(&small, 10);
    make_repo(&large, 10_000);
    let config = base.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nroots = [\"{}\"]\n[limits]\nmax_open_sessions = 1000\n",
            roots.display()
        ),
    )
    .expect("config");
    let server = start_configured(&base.join("data"), Some(&config));
    let mut socket = connect(&server).await;
    let mut large_project = None;
    for (name, repo) in [("10 files", &small), ("10,000 files", &large)] {
        let project = add_project(&mut socket, repo).await;
        large_project = Some(project);
        let (mut plain, mut isolated) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            plain.push(first_answer(&mut socket, project, false).await);
            isolated.push(first_answer(&mut socket, project, true).await);
        }
        report(
            &format!("new plain session, Send -> first answer frame ({name})"),
            &mut plain,
        );
        report(
            &format!("new worktree session, Send -> first answer frame ({name})"),
            &mut isolated,
        );
    }

    // 200 of the 10,000 files changed (190 modified, 10 deleted) and 20 new ones.
    for n in 0..190 {
        std::fs::write(
            large.join(format!("src/f{n:05}.txt")),
            format!("changed {n}\nline\n"),
        )
        .expect("modify");
    }
    for n in 190..200 {
        std::fs::remove_file(large.join(format!("src/f{n:05}.txt"))).expect("delete");
    }
    for n in 0..20 {
        std::fs::write(large.join(format!("new{n}.txt")), "new\n").expect("new file");
    }
    let project = large_project.expect("the large repository is a project");
    let session = SessionId(Uuid::new_v4());
    start(&mut socket, session, project, false).await;
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let began = Instant::now();
        send(&mut socket, &ClientFrame::GetChanges { session, tag: None }).await;
        loop {
            if let ServerFrame::Changes { summary, .. } = recv(&mut socket).await {
                times.push(began.elapsed());
                bytes = serde_json::to_string(&ServerFrame::Changes { session, summary })
                    .expect("json")
                    .len();
                break;
            }
        }
    }
    report(
        "changes summary, 10,000 files / 220 changed (GetChanges -> Changes)",
        &mut times,
    );
    println!("changes frame: {bytes} bytes ({} per file)", bytes / 220);
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Bench", "-c", "user.email=bench@localhost"])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn make_repo(dir: &Path, files: usize) {
    std::fs::create_dir_all(dir.join("src")).expect("repo dir");
    git(dir, &["init", "-q", "-b", "main"]);
    for n in 0..files {
        std::fs::write(
            dir.join(format!("src/f{n:05}.txt")),
            format!("file {n}\nline two\nline three\n"),
        )
        .expect("file");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "files"]);
}

async fn add_project(socket: &mut Socket, repo: &Path) -> ProjectId {
    let path = repo.display().to_string();
    send(
        socket,
        &ClientFrame::AddProject {
            path: path.clone(),
            name: None,
            machine: None,
            tag: None,
        },
    )
    .await;
    loop {
        match recv(socket).await {
            ServerFrame::ProjectsChanged { projects } => {
                if let Some(project) = projects.iter().find(|p| p.path == path) {
                    return project.id;
                }
            }
            ServerFrame::Error { message, .. } => panic!("{message}"),
            _ => {}
        }
    }
}

async fn start(socket: &mut Socket, session: SessionId, project: ProjectId, worktree: bool) {
    let mut create = NewSession::defaults(AgentId::demo());
    create.project = Some(project);
    create.worktree = worktree;
    send(
        socket,
        &ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: "hello".into(),
            attachments: vec![],
            create: Some(create),
            tag: None,
        },
    )
    .await;
}

/// Send (creating the session) -> the first assistant delta, then the turn's end.
async fn first_answer(socket: &mut Socket, project: ProjectId, worktree: bool) -> Duration {
    let session = SessionId(Uuid::new_v4());
    let began = Instant::now();
    start(socket, session, project, worktree).await;
    let mut first = None;
    loop {
        match recv(socket).await {
            ServerFrame::Event {
                session: s, event, ..
            } if s == session => match event {
                SessionEvent::AssistantDelta { .. } => {
                    first.get_or_insert_with(|| began.elapsed());
                }
                SessionEvent::TurnCompleted { .. } => break,
                _ => {}
            },
            ServerFrame::Error {
                session: Some(s),
                message,
                ..
            } if s == session => panic!("{message}"),
            _ => {}
        }
    }
    first.expect("an answer")
}
