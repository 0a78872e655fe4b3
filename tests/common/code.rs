//! Helpers for the projects and worktree suites: real git repositories in temp dirs, and
//! the project and changes requests as a browser sends them.

use super::Client;
use std::path::Path;
use std::process::Command;
use switchboard::protocol::{
    AgentId, ChangeSummary, ClientFrame, DiffBody, GitOutcome, NewSession, Project, ProjectId,
    RequestTag, ServerFrame, SessionEvent, SessionId,
};
use uuid::Uuid;

/// Runs git in `dir`; panics with its stderr when it fails. Returns stdout, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@localhost"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A git repository on branch `main` with one commit holding `README.md`.
pub fn repo(dir: &Path) {
    std::fs::create_dir_all(dir).expect("repo dir");
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "# test\n").expect("readme");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "first"]);
}

/// A server config whose only root is `roots`.
pub fn config_with_root(roots: &Path) -> String {
    format!("[server]\nroots = [\"{}\"]\n", roots.display())
}

/// Connects and returns the projects `Connected` listed.
pub async fn connect_with_projects(addr: &str) -> (Client, Vec<Project>) {
    let (socket, _) = tokio_tungstenite::connect_async(super::ws_request(addr))
        .await
        .expect("websocket connects");
    let mut client = Client::from_socket(socket);
    client
        .send(&ClientFrame::Hello {
            client_id: switchboard::protocol::ClientId(Uuid::new_v4()),
            resume: vec![],
        })
        .await;
    match client.recv().await {
        ServerFrame::Connected { projects, .. } => (client, projects),
        other => panic!("expected Connected, got {other:?}"),
    }
}

/// Adds a project; the new one, or the error's message.
pub async fn add_project(client: &mut Client, path: &str) -> Result<Project, String> {
    let tag = RequestTag(rand_tag());
    client
        .send(&ClientFrame::AddProject {
            path: path.into(),
            name: None,
            machine: None,
            tag: Some(tag),
        })
        .await;
    loop {
        match client.recv().await {
            ServerFrame::ProjectsChanged { projects } => {
                let canonical = Path::new(path).canonicalize().expect("added path exists");
                return Ok(projects
                    .into_iter()
                    .find(|p| Path::new(&p.path) == canonical)
                    .expect("the new project is listed"));
            }
            ServerFrame::Error {
                tag: Some(t),
                message,
                ..
            } if t == tag => return Err(message),
            _ => {}
        }
    }
}

/// Starts a session in `project` (in a worktree of its own with `worktree`) with `text`.
pub async fn start_session(
    client: &mut Client,
    project: ProjectId,
    worktree: bool,
    text: &str,
) -> SessionId {
    let session = SessionId(Uuid::new_v4());
    let mut create = NewSession::defaults(AgentId::demo());
    create.project = Some(project);
    create.worktree = worktree;
    say(client, session, text, Some(create)).await;
    session
}

/// Sends `text` to `session`.
pub async fn say(client: &mut Client, session: SessionId, text: &str, create: Option<NewSession>) {
    client.say_with(session, text, create).await;
}

/// Waits for the session's permission request, allows it, and waits for the turn's end.
pub async fn allow_and_finish(client: &mut Client, session: SessionId) {
    let request_id = loop {
        match client.recv().await {
            ServerFrame::Event {
                session: s,
                event: SessionEvent::PermissionRequested { request_id, .. },
                ..
            } if s == session => break request_id,
            ServerFrame::Error {
                session: Some(s),
                message,
                ..
            } if s == session => {
                panic!("the session failed: {message}")
            }
            _ => {}
        }
    };
    client.answer(session, request_id, "allow").await;
    client.turn(session).await;
}

/// The session's changes as the server reports them now.
pub async fn changes(client: &mut Client, session: SessionId) -> ChangeSummary {
    client
        .send(&ClientFrame::GetChanges { session, tag: None })
        .await;
    loop {
        match client.recv().await {
            ServerFrame::Changes {
                session: s,
                summary,
            } if s == session => return summary.decode().expect("changes decode"),
            ServerFrame::Error {
                session: Some(s),
                message,
                ..
            } if s == session => {
                panic!("changes refused: {message}")
            }
            _ => {}
        }
    }
}

/// One file's diff.
pub async fn diff(client: &mut Client, session: SessionId, path: &str) -> Result<DiffBody, String> {
    client
        .send(&ClientFrame::GetDiff {
            session,
            path: path.into(),
            tag: None,
        })
        .await;
    loop {
        match client.recv().await {
            ServerFrame::Diff {
                session: s, body, ..
            } if s == session => return Ok(body.decode().expect("a diff decodes")),
            ServerFrame::Error {
                session: Some(s),
                message,
                ..
            } if s == session => return Err(message),
            _ => {}
        }
    }
}

/// Sends a commit, discard or merge and returns its outcome (or the refusal's message).
pub async fn git_action(client: &mut Client, frame: ClientFrame) -> Result<GitOutcome, String> {
    let session = frame.session().expect("a session's action");
    let tag = RequestTag(rand_tag());
    let frame = match frame {
        ClientFrame::Commit {
            session, message, ..
        } => ClientFrame::Commit {
            session,
            message,
            tag: Some(tag),
        },
        ClientFrame::Discard { session, path, .. } => ClientFrame::Discard {
            session,
            path,
            tag: Some(tag),
        },
        ClientFrame::Merge { session, .. } => ClientFrame::Merge {
            session,
            tag: Some(tag),
        },
        ClientFrame::KeepAttempt {
            compare,
            session,
            others,
            ..
        } => ClientFrame::KeepAttempt {
            compare,
            session,
            others,
            tag: Some(tag),
        },
        other => panic!("not a git action: {other:?}"),
    };
    client.send(&frame).await;
    loop {
        match client.recv().await {
            ServerFrame::GitDone {
                session: s,
                outcome,
                ..
            } if s == session => return Ok(outcome.decode().expect("an outcome decodes")),
            ServerFrame::Error {
                tag: Some(t),
                message,
                ..
            } if t == tag => return Err(message),
            _ => {}
        }
    }
}

/// Ends a session as the End dialog does; `Err` with the refusal's message.
pub async fn end(
    client: &mut Client,
    session: SessionId,
    worktree: switchboard::protocol::WorktreeEnd,
    discard_unmerged: bool,
) -> Result<(), String> {
    let tag = RequestTag(rand_tag());
    client
        .send(&ClientFrame::Archive {
            session,
            worktree: Some(worktree),
            discard_unmerged,
            tag: Some(tag),
        })
        .await;
    loop {
        match client.recv().await {
            ServerFrame::SessionRemoved { session: s } if s == session => return Ok(()),
            ServerFrame::Error {
                tag: Some(t),
                message,
                ..
            } if t == tag => return Err(message),
            _ => {}
        }
    }
}

fn rand_tag() -> u64 {
    Uuid::new_v4().as_u128() as u64 >> 12
}
