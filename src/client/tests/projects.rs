//! Projects in the store: the list from `Connected` and `ProjectsChanged` (always whole),
//! the "Add project" form's outcome, grouping the sidebar, and where a draft runs.

use super::*;
use crate::client::projects::{
    self, folder_name, group_sessions, wants_worktree, AddState, DraftPlace, Group,
};
use crate::protocol::{ErrorCode, Project, ProjectId, RequestTag, PLAYGROUND_NAME};

fn pid(n: u128) -> ProjectId {
    ProjectId(Uuid::from_u128(1000 + n))
}

fn project(n: u128, name: &str) -> Project {
    Project {
        id: pid(n),
        name: name.into(),
        path: format!("/home/u/{name}"),
        is_git: true,
        head_branch: Some("main".into()),
        branches: vec!["main".into(), "dev".into()],
        worktree_unavailable: None,
        machine: None,
        machine_name: None,
    }
}

fn projects_changed(store: &Store, projects: Vec<Project>) {
    apply(store, ServerFrame::ProjectsChanged { projects });
}

#[test]
fn the_project_list_comes_with_connected_and_is_replaced_whole() {
    let store = new_store();
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![],
            agents: vec![],
            limits: Default::default(),
            projects: vec![project(1, PLAYGROUND_NAME), project(2, "app")],
        },
    );
    assert_eq!(store.projects.with_untracked(Vec::len), 2);
    let mut renamed = project(2, "web app");
    renamed.branches.push("feature".into());
    projects_changed(&store, vec![renamed.clone()]);
    assert_eq!(store.projects.get_untracked(), vec![renamed]);
}

#[test]
fn a_new_project_in_the_list_answers_the_add_form() {
    let store = connected(0);
    projects_changed(&store, vec![project(1, PLAYGROUND_NAME)]);
    projects::add_project(store, "  /home/u/app ".into(), "".into(), None);
    assert_eq!(store.project_add.get_untracked(), AddState::Sending);
    // A rename elsewhere adds nothing: still waiting.
    projects_changed(&store, vec![project(1, "Play")]);
    assert_eq!(store.project_add.get_untracked(), AddState::Sending);
    projects_changed(&store, vec![project(1, "Play"), project(2, "app")]);
    assert_eq!(store.project_add.get_untracked(), AddState::Added(pid(2)));
}

#[test]
fn a_refused_add_shows_the_message_in_the_form_not_the_banner() {
    let store = connected(0);
    projects::add_project(store, "/etc".into(), "etc".into(), None);
    apply(
        &store,
        ServerFrame::Error {
            session: None,
            tag: Some(RequestTag(1)),
            code: ErrorCode::NotAllowed,
            message: "/etc is outside the folders this server may use".into(),
        },
    );
    assert_eq!(
        store.project_add.get_untracked(),
        AddState::Failed("/etc is outside the folders this server may use".into())
    );
    assert_eq!(store.server_error.get_untracked(), None);
    // An empty path is refused before it is sent.
    projects::add_project(store, "   ".into(), "".into(), None);
    assert!(matches!(
        store.project_add.get_untracked(),
        AddState::Failed(_)
    ));
}

#[test]
fn a_refused_rename_says_why_in_a_toast() {
    let store = connected(0);
    projects_changed(&store, vec![project(1, "app")]);
    projects::rename_project(store, pid(1), "  ".into());
    projects::rename_project(store, pid(1), "app".into());
    // Neither was sent, so the first request's tag is the next rename's.
    projects::rename_project(store, pid(1), "taken".into());
    apply(
        &store,
        ServerFrame::Error {
            session: None,
            tag: Some(RequestTag(1)),
            code: ErrorCode::InvalidState,
            message: "a project is called so already".into(),
        },
    );
    assert_eq!(
        store.toast.get_untracked().as_deref(),
        Some("a project is called so already")
    );
    assert_eq!(store.server_error.get_untracked(), None);
}

#[test]
fn folders_are_kept_with_the_prefix_they_answer() {
    let store = connected(0);
    apply(
        &store,
        ServerFrame::Folders {
            prefix: "/home/u/a".into(),
            folders: vec!["/home/u/app".into(), "/home/u/api".into()],
        },
    );
    let list = store.folders.get_untracked();
    assert_eq!(list.prefix, "/home/u/a");
    assert_eq!(list.folders.len(), 2);
}

#[test]
fn sessions_group_under_their_projects_and_strays_under_the_playground() {
    let projects = vec![
        project(1, PLAYGROUND_NAME),
        project(2, "app"),
        project(3, "lib"),
    ];
    let sessions = vec![
        (sid(1), Some(pid(2))),
        (sid(2), None),
        (sid(3), Some(pid(2))),
        (sid(4), Some(pid(9))),
    ];
    assert_eq!(
        group_sessions(&projects, &sessions, true),
        vec![
            Group {
                project: Some(pid(1)),
                sessions: vec![sid(2), sid(4)]
            },
            Group {
                project: Some(pid(2)),
                sessions: vec![sid(1), sid(3)]
            },
            Group {
                project: Some(pid(3)),
                sessions: vec![]
            },
        ]
    );
    // While searching, empty projects hide; without a Playground strays get their group.
    let no_playground = &projects[1..];
    assert_eq!(
        group_sessions(no_playground, &sessions, false),
        vec![
            Group {
                project: Some(pid(2)),
                sessions: vec![sid(1), sid(3)]
            },
            Group {
                project: None,
                sessions: vec![sid(2), sid(4)]
            },
        ]
    );
    // Before the server sent projects: one group of everything, as before projects.
    assert_eq!(group_sessions(&[], &sessions, true).len(), 1);
}

#[test]
fn a_draft_gets_a_worktree_by_default_only_where_one_is_possible() {
    let git = project(1, "app");
    let mut plain = project(2, "notes");
    plain.is_git = false;
    plain.worktree_unavailable = Some("not a git repository".into());
    let default = DraftPlace::default();
    assert!(wants_worktree(Some(&git), &default));
    assert!(!wants_worktree(Some(&plain), &default));
    assert!(!wants_worktree(None, &default));
    let off = DraftPlace {
        worktree: Some(false),
        base_branch: None,
    };
    assert!(!wants_worktree(Some(&git), &off));
    // Ticked by hand does not override what is impossible.
    let on = DraftPlace {
        worktree: Some(true),
        base_branch: None,
    };
    assert!(!wants_worktree(Some(&plain), &on));
}

#[test]
fn a_draft_in_a_project_carries_it_its_worktree_and_base_branch() {
    let store = connected(0);
    projects_changed(&store, vec![project(1, PLAYGROUND_NAME), project(2, "app")]);
    let id = projects::new_draft_in(store, Some(pid(2)));
    let draft = store.view(id).expect("draft");
    assert_eq!(
        projects::draft_place(&store, &draft),
        (Some(pid(2)), true, Some("main".into()))
    );
    projects::set_draft_base_branch(store, id, "dev".into());
    assert_eq!(
        projects::draft_place(&store, &draft),
        (Some(pid(2)), true, Some("dev".into()))
    );
    projects::set_draft_worktree(store, id, false);
    assert_eq!(
        projects::draft_place(&store, &draft),
        (Some(pid(2)), false, None)
    );
    // The global "+" with nothing shown: the Playground.
    store.active.set(None);
    assert_eq!(projects::current_project(store), Some(pid(1)));
    let plain = projects::new_draft_in(store, None);
    let plain = store.view(plain).expect("draft");
    assert_eq!(projects::draft_place(&store, &plain).0, Some(pid(1)));
    // The shown session's project otherwise.
    store.active.set(Some(id));
    assert_eq!(projects::current_project(store), Some(pid(2)));
}

#[test]
fn live_sessions_of_a_project_are_counted_for_the_remove_dialog() {
    let store = new_store();
    let mut one = session(1);
    one.project = Some(pid(2));
    let mut two = session(2);
    two.project = Some(pid(2));
    let mut other = session(3);
    other.project = Some(pid(3));
    apply(
        &store,
        ServerFrame::Connected {
            server_version: "test".into(),
            sessions: vec![one, two, other],
            agents: vec![],
            limits: Default::default(),
            projects: vec![project(2, "app"), project(3, "lib")],
        },
    );
    projects::new_draft_in(store, Some(pid(2)));
    assert_eq!(projects::live_sessions(store, pid(2)), 2);
    assert_eq!(projects::live_sessions(store, pid(3)), 1);
}

#[test]
fn a_folder_names_its_project() {
    assert_eq!(folder_name("/home/u/my-app/"), "my-app");
    assert_eq!(folder_name(" /srv/x "), "x");
    assert_eq!(folder_name(""), "");
}
