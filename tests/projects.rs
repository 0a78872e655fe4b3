//! Projects against the real server: adding a folder checks it (missing, a file, outside
//! the roots, containing the data dir, a symlink out of the roots: each refused with its
//! reason, nothing stored), the Playground is there from the first start, folder
//! completion lists only what may be used, and a non-git project offers no worktree.

mod common;

use common::code::{add_project, config_with_root, connect_with_projects, repo, start_session};
use common::Server;
use switchboard::protocol::{ClientFrame, ServerFrame, SessionEvent, PLAYGROUND_NAME};

#[tokio::test]
async fn adding_a_project_refuses_bad_folders_with_reasons_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let other = tempfile::tempdir().expect("another temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let data = base.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    repo(&base.join("repo"));
    std::fs::write(base.join("file.txt"), "x").expect("file");
    std::os::unix::fs::symlink(other.path(), base.join("escape")).expect("symlink");
    let server = Server::start_with_config(&data, &config_with_root(&base));
    let (mut client, projects) = connect_with_projects(&server.addr).await;
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [PLAYGROUND_NAME],
        "a fresh server has the Playground"
    );
    assert!(projects[0].is_git && projects[0].worktree_unavailable.is_none());

    let cases = [
        (base.join("missing"), "does not exist"),
        (base.join("file.txt"), "is not a folder"),
        (other.path().to_path_buf(), "outside the allowed roots"),
        (base.join("escape"), "outside the allowed roots"),
        (base.clone(), "contains Switchboard's data dir"),
        (
            data.join("playground/.."),
            "contains Switchboard's data dir",
        ),
    ];
    for (path, reason) in &cases {
        let refused = add_project(&mut client, &path.display().to_string()).await;
        let message = refused.expect_err(&format!("{} is refused", path.display()));
        assert!(message.contains(reason), "{}: {message}", path.display());
    }
    let added = add_project(&mut client, &base.join("repo").display().to_string())
        .await
        .expect("a repository under the roots is added");
    assert_eq!(added.name, "repo");
    assert!(added.is_git);
    assert_eq!(added.head_branch.as_deref(), Some("main"));
    let again = add_project(&mut client, &base.join("repo/").display().to_string()).await;
    assert!(again
        .expect_err("no second project for one folder")
        .contains("already"));

    // Only the Playground and the repository are stored, also after a restart.
    server.stop();
    let server = Server::start_with_config(&data, &config_with_root(&base));
    let (_client, projects) = connect_with_projects(&server.addr).await;
    let names: Vec<&str> = projects.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, [PLAYGROUND_NAME, "repo"]);
}

#[tokio::test]
async fn folder_completion_lists_folders_under_the_roots_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let data = base.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::create_dir_all(base.join("roots/alpha")).expect("alpha");
    std::fs::create_dir_all(base.join("roots/also")).expect("also");
    std::fs::create_dir_all(base.join("roots/.hidden")).expect("hidden");
    std::fs::create_dir_all(base.join("outside")).expect("outside");
    std::fs::write(base.join("roots/al-file"), "x").expect("file");
    let server = Server::start_with_config(&data, &config_with_root(&base.join("roots")));
    let (mut client, _) = connect_with_projects(&server.addr).await;
    let mut ask = async |prefix: String| {
        client.send(&ClientFrame::ListFolders { prefix }).await;
        loop {
            if let ServerFrame::Folders { folders, .. } = client.recv().await {
                return folders;
            }
        }
    };
    let roots = base.join("roots").display().to_string();
    assert_eq!(
        ask(format!("{roots}/al")).await,
        [format!("{roots}/alpha/"), format!("{roots}/also/")]
    );
    // Above the root only the way down to it is offered.
    let listed = ask(format!("{}/", base.display())).await;
    assert_eq!(listed, [format!("{roots}/")], "{listed:?}");
    assert_eq!(ask(String::new()).await, [format!("{roots}/")]);
}

#[tokio::test]
async fn a_folder_without_git_is_a_project_without_worktrees() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let plain = base.join("roots/plain");
    std::fs::create_dir_all(&plain).expect("plain folder");
    std::fs::create_dir_all(base.join("data")).expect("data dir");
    let server =
        Server::start_with_config(&base.join("data"), &config_with_root(&base.join("roots")));
    let (mut client, _) = connect_with_projects(&server.addr).await;
    let project = add_project(&mut client, &plain.display().to_string())
        .await
        .expect("a plain folder is a project");
    assert!(!project.is_git);
    let reason = project.worktree_unavailable.expect("no worktrees");
    assert!(reason.contains("not a git repository"), "{reason}");

    let refused = start_session(&mut client, project.id, true, "hello").await;
    let message = loop {
        match client.recv().await {
            ServerFrame::Error {
                session: Some(s),
                message,
                ..
            } if s == refused => break message,
            ServerFrame::Event { session, .. } if session == refused => {
                panic!("a worktree session in a plain folder must not start")
            }
            _ => {}
        }
    };
    assert!(message.contains("not a git repository"), "{message}");

    // A plain session there runs in the folder itself.
    let session = start_session(&mut client, project.id, false, "/write here.txt hi").await;
    let events = loop {
        if let ServerFrame::Event {
            session: s,
            event: SessionEvent::PermissionRequested { request_id, .. },
            ..
        } = client.recv().await
        {
            if s == session {
                break request_id;
            }
        }
    };
    client
        .send(&ClientFrame::AnswerPermission {
            session,
            request_id: events,
            option_id: "allow".into(),
            tag: None,
        })
        .await;
    client.turn(session).await;
    assert_eq!(
        std::fs::read_to_string(plain.join("here.txt")).expect("written in the project folder"),
        "hi\n"
    );
}

#[tokio::test]
async fn sessions_that_name_no_project_run_in_the_playground() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut client, projects) = connect_with_projects(&server.addr).await;
    let playground = &projects[0];
    let session = common::new_session();
    client.say(session, "/tool", true).await;
    let frames = client
        .until(|f| matches!(f, ServerFrame::SessionCreated { .. }))
        .await;
    let Some(ServerFrame::SessionCreated { session: created }) = frames.last() else {
        unreachable!()
    };
    assert_eq!(created.id, session);
    assert_eq!(created.project, Some(playground.id));
    assert_eq!(created.cwd, playground.path);
    assert!(
        !std::path::Path::new(&created.cwd)
            .join("switchboard.db")
            .exists(),
        "never the data dir itself"
    );
}
