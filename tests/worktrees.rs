//! A git worktree per session, against the real server, real git repositories and real
//! demo-agent processes: the agent writes in its own worktree (never the base checkout),
//! two sessions on one repository stay apart, commit, merge (fast-forward, and a conflict
//! that changes nothing), discard, a dirty base checkout refusing the merge, ending with
//! "remove both", and a restart that keeps all of it.

mod common;

use common::code::{
    add_project, allow_and_finish, changes, config_with_root, connect_with_projects, diff, end,
    git, git_action, repo, start_session,
};
use common::{Client, Server};
use std::path::{Path, PathBuf};
use switchboard::protocol::{
    ChangeStatus, ClientFrame, DiffBody, GitOutcome, Project, ServerFrame, Session, SessionId,
    WorktreeEnd,
};

struct Rig {
    _dir: tempfile::TempDir,
    data: PathBuf,
    roots: PathBuf,
    repo: PathBuf,
    server: Server,
    client: Client,
    project: Project,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let (data, roots) = (base.join("data"), base.join("roots"));
    let repo_dir = roots.join("repo");
    repo(&repo_dir);
    std::fs::create_dir_all(&data).expect("data dir");
    let server = Server::start_with_config(&data, &config_with_root(&roots));
    let (mut client, _) = connect_with_projects(&server.addr).await;
    let project = add_project(&mut client, &repo_dir.display().to_string())
        .await
        .expect("project added");
    Rig {
        _dir: dir,
        data,
        roots,
        repo: repo_dir,
        server,
        client,
        project,
    }
}

impl Rig {
    /// A worktree session that writes `path` with `text` (allowed); returns it as created.
    async fn writer(&mut self, path: &str, text: &str) -> Session {
        let command = format!("/write {path} {text}");
        let id = start_session(&mut self.client, self.project.id, true, &command).await;
        let created = self.created(id).await;
        allow_and_finish(&mut self.client, id).await;
        created
    }

    async fn created(&mut self, id: SessionId) -> Session {
        loop {
            match self.client.recv().await {
                ServerFrame::SessionCreated { session } if session.id == id => return session,
                ServerFrame::Error {
                    session: Some(s),
                    message,
                    ..
                } if s == id => {
                    panic!("the session was refused: {message}")
                }
                _ => {}
            }
        }
    }

    /// Waits for the session's live change count to reach `files`, as a new browser tab
    /// sees it: the snapshot when it subscribes, then live patches.
    async fn count_reaches(&mut self, id: SessionId, files: u32) {
        let (mut client, _) = connect_with_projects(&self.server.addr).await;
        client
            .send(&ClientFrame::Subscribe {
                session: id,
                since: switchboard::protocol::Seq(u64::MAX >> 2),
                tail_turns: None,
                tag: None,
            })
            .await;
        client
            .until(|f| matches!(f, ServerFrame::SessionUpdated { session, patch } if *session == id && patch.changes.is_some_and(|c| c.files == files)))
            .await;
    }
}

fn worktree_path(session: &Session) -> PathBuf {
    PathBuf::from(&session.worktree.as_ref().expect("a worktree session").path)
}

#[tokio::test]
async fn a_worktree_session_writes_in_its_own_folder_and_shows_its_changes() {
    let mut rig = rig().await;
    let session = rig.writer("notes.txt", "hello").await;
    let worktree = session.worktree.clone().expect("worktree");
    assert!(
        worktree
            .branch
            .starts_with("switchboard/write-notes-txt-hello-"),
        "{}",
        worktree.branch
    );
    assert!(worktree
        .branch
        .ends_with(&session.id.0.simple().to_string()[..8]));
    assert_eq!(worktree.base_branch.as_deref(), Some("main"));
    assert_eq!(worktree.base_commit, git(&rig.repo, &["rev-parse", "HEAD"]));
    assert!(Path::new(&worktree.path).starts_with(rig.data.join("worktrees")));
    assert_eq!(session.cwd, worktree.path, "the agent runs in the worktree");

    let written = Path::new(&worktree.path).join("notes.txt");
    assert_eq!(
        std::fs::read_to_string(&written).expect("written"),
        "hello\n"
    );
    assert!(
        !rig.repo.join("notes.txt").exists(),
        "the base checkout is untouched"
    );

    let summary = changes(&mut rig.client, session.id).await;
    assert_eq!(summary.files.len(), 1, "{summary:?}");
    let file = &summary.files[0];
    assert_eq!(
        (file.path.as_str(), file.status),
        ("notes.txt", ChangeStatus::Untracked)
    );
    assert_eq!((file.added, file.removed), (Some(1), Some(0)));
    match diff(&mut rig.client, session.id, "notes.txt").await {
        Ok(DiffBody::Text { text }) => assert!(text.contains("+hello"), "{text}"),
        other => panic!("a text diff: {other:?}"),
    }
    let outside = diff(&mut rig.client, session.id, "../../../etc/passwd").await;
    assert!(outside
        .expect_err("only changed files")
        .contains("not among"));

    // A second session writing the same name stays apart from the first.
    let other = rig.writer("notes.txt", "other").await;
    assert_ne!(worktree_path(&other), worktree_path(&session));
    assert_eq!(std::fs::read_to_string(&written).expect("still"), "hello\n");
    let other_file = worktree_path(&other).join("notes.txt");
    assert_eq!(
        std::fs::read_to_string(other_file).expect("its own"),
        "other\n"
    );
}

#[tokio::test]
async fn commit_merge_conflict_discard_and_ending_with_remove_both() {
    let mut rig = rig().await;
    let first = rig.writer("notes.txt", "hello").await;
    let second = rig.writer("notes.txt", "other").await;
    rig.count_reaches(second.id, 1).await;

    // Commit (the message defaults to the title) and merge: a fast-forward.
    let committed = git_action(
        &mut rig.client,
        ClientFrame::Commit {
            session: first.id,
            message: String::new(),
            tag: None,
        },
    )
    .await;
    assert!(
        matches!(committed, Ok(GitOutcome::Committed { .. })),
        "{committed:?}"
    );
    let after = changes(&mut rig.client, first.id).await;
    assert_eq!(
        after.files[0].status,
        ChangeStatus::Added,
        "committed since the base"
    );
    assert_eq!((after.uncommitted, after.unmerged_commits), (0, 1));
    let branch = first.worktree.as_ref().expect("worktree").branch.clone();
    assert_eq!(
        git(&rig.repo, &["log", "-1", "--format=%s", &branch]),
        first.title
    );
    let merged = git_action(
        &mut rig.client,
        ClientFrame::Merge {
            session: first.id,
            tag: None,
        },
    )
    .await;
    assert!(
        matches!(
            merged,
            Ok(GitOutcome::Merged {
                fast_forward: true,
                ..
            })
        ),
        "{merged:?}"
    );
    assert_eq!(
        std::fs::read_to_string(rig.repo.join("notes.txt")).expect("merged"),
        "hello\n"
    );

    // The second session's notes.txt conflicts: nothing changes anywhere.
    git_action(
        &mut rig.client,
        ClientFrame::Commit {
            session: second.id,
            message: "mine".into(),
            tag: None,
        },
    )
    .await
    .expect("committed");
    let head = git(&rig.repo, &["rev-parse", "HEAD"]);
    let conflict = git_action(
        &mut rig.client,
        ClientFrame::Merge {
            session: second.id,
            tag: None,
        },
    )
    .await;
    match conflict {
        Ok(GitOutcome::Conflict { files, into }) => {
            assert_eq!(files, ["notes.txt"]);
            assert_eq!(into, "main");
        }
        other => panic!("a conflict: {other:?}"),
    }
    assert_eq!(git(&rig.repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&rig.repo, &["status", "--porcelain"]), "");
    assert_eq!(git(&worktree_path(&second), &["status", "--porcelain"]), "");

    // Discard: a new file goes, and so does a change to a committed one.
    std::fs::write(worktree_path(&second).join("scratch.txt"), "x\n").expect("scratch");
    std::fs::write(worktree_path(&second).join("README.md"), "changed\n").expect("readme");
    let discarded = git_action(
        &mut rig.client,
        ClientFrame::Discard {
            session: second.id,
            path: Some("scratch.txt".into()),
            tag: None,
        },
    )
    .await;
    assert!(
        matches!(discarded, Ok(GitOutcome::Discarded { .. })),
        "{discarded:?}"
    );
    assert!(!worktree_path(&second).join("scratch.txt").exists());
    git_action(
        &mut rig.client,
        ClientFrame::Discard {
            session: second.id,
            path: None,
            tag: None,
        },
    )
    .await
    .expect("everything discarded");
    assert_eq!(
        std::fs::read_to_string(worktree_path(&second).join("README.md")).expect("readme"),
        "# test\n"
    );
    assert!(
        changes(&mut rig.client, second.id).await.files.is_empty(),
        "back to the base"
    );

    // Ending: the merged branch goes at once; the unmerged one needs the second "yes".
    end(&mut rig.client, first.id, WorktreeEnd::RemoveBoth, false)
        .await
        .expect("ended");
    let worktrees = git(&rig.repo, &["worktree", "list", "--porcelain"]);
    assert!(
        !worktrees.contains(&worktree_path(&first).display().to_string()),
        "{worktrees}"
    );
    assert_eq!(git(&rig.repo, &["branch", "--list", &branch]), "");

    git_action(
        &mut rig.client,
        ClientFrame::Commit {
            session: second.id,
            message: String::new(),
            tag: None,
        },
    )
    .await
    .ok();
    std::fs::write(worktree_path(&second).join("kept.txt"), "x\n").expect("kept");
    git_action(
        &mut rig.client,
        ClientFrame::Commit {
            session: second.id,
            message: "kept".into(),
            tag: None,
        },
    )
    .await
    .expect("committed");
    let refused = end(&mut rig.client, second.id, WorktreeEnd::RemoveBoth, false).await;
    assert!(refused
        .expect_err("unmerged commits need a confirmation")
        .contains("confirm"));
    assert!(worktree_path(&second).exists(), "nothing was removed");
    end(&mut rig.client, second.id, WorktreeEnd::RemoveBoth, true)
        .await
        .expect("ended");
    let second_branch = &second.worktree.as_ref().expect("worktree").branch;
    assert_eq!(git(&rig.repo, &["branch", "--list", second_branch]), "");
    assert!(!worktree_path(&second).exists());
}

#[tokio::test]
async fn a_dirty_base_checkout_refuses_the_merge_and_is_left_alone() {
    let mut rig = rig().await;
    let session = rig.writer("notes.txt", "hello").await;
    git_action(
        &mut rig.client,
        ClientFrame::Commit {
            session: session.id,
            message: "n".into(),
            tag: None,
        },
    )
    .await
    .expect("committed");
    std::fs::write(rig.repo.join("README.md"), "work in progress\n").expect("dirty");
    let refused = git_action(
        &mut rig.client,
        ClientFrame::Merge {
            session: session.id,
            tag: None,
        },
    )
    .await;
    let message = refused.expect_err("a dirty checkout refuses");
    assert!(message.contains("uncommitted"), "{message}");
    assert_eq!(
        std::fs::read_to_string(rig.repo.join("README.md")).expect("readme"),
        "work in progress\n"
    );
    assert!(!rig.repo.join("notes.txt").exists());
    // Keep-both leaves the folder and the branch.
    end(&mut rig.client, session.id, WorktreeEnd::Keep, false)
        .await
        .expect("ended");
    assert!(worktree_path(&session).join("notes.txt").exists());
}

#[tokio::test]
async fn a_restart_keeps_projects_worktree_sessions_and_their_changes() {
    let mut rig = rig().await;
    let session = rig.writer("notes.txt", "hello").await;
    let Rig {
        server,
        data,
        roots,
        project,
        ..
    } = rig;
    server.stop();
    let server = Server::start_with_config(&data, &config_with_root(&roots));
    let (mut client, projects) = connect_with_projects(&server.addr).await;
    assert!(projects
        .iter()
        .any(|p| p.id == project.id && p.name == "repo"));
    client
        .send(&ClientFrame::Subscribe {
            session: session.id,
            since: switchboard::protocol::Seq(0),
            tail_turns: None,
            tag: None,
        })
        .await;
    let summary = changes(&mut client, session.id).await;
    assert_eq!(summary.files.len(), 1, "{summary:?}");
    assert_eq!(summary.files[0].path, "notes.txt");
    // The restarted session counts its changes once (no polling after).
    client
        .until(|f| matches!(f, ServerFrame::SessionUpdated { session: s, patch } if *s == session.id && patch.changes.is_some_and(|c| c.files == 1)))
        .await;
    // And its agent still runs in the worktree.
    common::code::say(&mut client, session.id, "/write second.txt again", None).await;
    allow_and_finish(&mut client, session.id).await;
    assert!(worktree_path(&session).join("second.txt").exists());
}
