//! "Ask several" against the real server: the demo agent, the pinned `claude` CLI and the
//! pinned `codex` CLI (both against this repo's fake model) asked one prompt at once, each
//! in its own worktree from one base commit; each answer only in its own session; a
//! follow-up to all; a follow-up to one; "Keep this one" merging its change into the base
//! and removing the others' worktrees and branches as chosen.

use crate::common::claude::{claude_bin, claude_config, codex_config, FakeModel};
use crate::common::code::{
    add_project, allow_and_finish, config_with_root, connect_with_projects, git, git_action, repo,
};
use crate::common::{assistant_text, Client, Server};
use std::collections::HashMap;
use std::path::Path;
use switchboard::protocol::{
    AgentId, Attempt, ClientFrame, ClientMsgId, CompareId, GitOutcome, Seq, ServerFrame, Session,
    SessionEvent, SessionId, WorktreeEnd,
};
use uuid::Uuid;

/// Reads until every one of `sessions` completed a turn, starting with the frames `early`
/// (read meanwhile by something else); returns each one's events.
async fn turns_of(
    client: &mut Client,
    sessions: &[SessionId],
    early: Vec<ServerFrame>,
) -> HashMap<SessionId, Vec<(Seq, SessionEvent)>> {
    let mut events: HashMap<SessionId, Vec<(Seq, SessionEvent)>> = HashMap::new();
    let mut done = 0;
    let mut early = early.into_iter();
    while done < sessions.len() {
        let frame = match early.next() {
            Some(frame) => frame,
            None => client.recv().await,
        };
        match frame {
            ServerFrame::Event {
                session,
                seq,
                event,
                ..
            } if sessions.contains(&session) => {
                if matches!(event, SessionEvent::TurnCompleted { .. }) {
                    done += 1;
                }
                events.entry(session).or_default().push((seq, event));
            }
            ServerFrame::Error {
                session: Some(s),
                message,
                ..
            } if sessions.contains(&s) => panic!("{s} refused: {message}"),
            _ => {}
        }
    }
    events
}

/// Reads until `ids` are all listed as created; returns them, and the frames read meanwhile
/// (a fast agent's first words may come before a slower session is listed).
async fn created(
    client: &mut Client,
    ids: &[SessionId],
) -> (HashMap<SessionId, Session>, Vec<ServerFrame>) {
    let mut found = HashMap::new();
    let mut meanwhile = Vec::new();
    while found.len() < ids.len() {
        match client.recv().await {
            ServerFrame::SessionCreated { session } if ids.contains(&session.id) => {
                found.insert(session.id, session);
            }
            ServerFrame::Error { message, .. } => panic!("refused: {message}"),
            other => meanwhile.push(other),
        }
    }
    (found, meanwhile)
}

#[tokio::test]
async fn demo_claude_and_codex_compared_then_one_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let (roots, data) = (base.join("roots"), base.join("data"));
    let repo_dir = roots.join("repo");
    repo(&repo_dir);
    std::fs::create_dir_all(&data).expect("data dir");
    let fake = FakeModel::start();
    let home = base.join("claude-home");
    std::fs::create_dir_all(&home).expect("claude home");
    let config = format!(
        "{}\n{}\n{}",
        config_with_root(&roots),
        claude_config(&claude_bin(), &home, &fake.addr),
        codex_config(&base.join("codex-home"), &fake)
    );
    let server = Server::start_with_config(&data, &config);
    let (mut client, _) = connect_with_projects(&server.addr).await;
    let project = add_project(&mut client, &repo_dir.display().to_string())
        .await
        .expect("project added");
    let base_commit = git(&repo_dir, &["rev-parse", "HEAD"]);

    let compare = CompareId(Uuid::new_v4());
    let agents = [AgentId::demo(), AgentId::claude(), AgentId("codex".into())];
    let attempts: Vec<Attempt> = agents
        .iter()
        .map(|agent| Attempt {
            session: SessionId(Uuid::new_v4()),
            agent: agent.clone(),
            model: None,
            permission_mode: None,
        })
        .collect();
    let ids: Vec<SessionId> = attempts.iter().map(|a| a.session).collect();
    client
        .send(&ClientFrame::AskSeveral {
            compare,
            project: project.id,
            base_branch: None,
            attempts,
            text: "Compare me".into(),
            attachments: vec![],
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            tag: None,
        })
        .await;
    let (sessions, meanwhile) = created(&mut client, &ids).await;
    let mut paths = Vec::new();
    for id in &ids {
        let session = &sessions[id];
        assert_eq!(session.compare, Some(compare));
        let worktree = session.worktree.as_ref().expect("a worktree each");
        assert_eq!(worktree.base_commit, base_commit, "one base commit");
        assert_eq!(worktree.base_branch.as_deref(), Some("main"));
        assert!(Path::new(&worktree.path).is_dir());
        paths.push(worktree.path.clone());
    }
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 3, "three worktrees");

    // Each answer lands in its own session only.
    let answers = turns_of(&mut client, &ids, meanwhile).await;
    let demo_reply = assistant_text(&answers[&ids[0]]);
    assert_eq!(demo_reply, "Echo: Compare me");
    for id in &ids[1..] {
        let reply = assistant_text(&answers[id]);
        assert!(!reply.is_empty(), "{id} answered");
        assert!(
            !reply.contains("Echo: Compare me"),
            "the demo's answer stayed in its session"
        );
    }

    // A follow-up to all reaches all three.
    for id in &ids {
        client.say(*id, "And once more", false).await;
    }
    let again = turns_of(&mut client, &ids, Vec::new()).await;
    assert_eq!(assistant_text(&again[&ids[0]]), "Echo: And once more");
    for id in &ids[1..] {
        let asked = again[id].iter().any(
            |(_, e)| matches!(e, SessionEvent::UserMessage { text, .. } if text == "And once more"),
        );
        assert!(
            asked && !assistant_text(&again[id]).is_empty(),
            "{id} answered the follow-up"
        );
    }

    // A follow-up to one: the demo writes a file in its worktree.
    client
        .say(ids[0], "/write kept.txt from the demo", false)
        .await;
    allow_and_finish(&mut client, ids[0]).await;

    // Keep the demo's attempt; the others' worktrees and branches go.
    let others: Vec<Session> = ids[1..].iter().map(|id| sessions[id].clone()).collect();
    let outcome = git_action(
        &mut client,
        ClientFrame::KeepAttempt {
            compare,
            session: ids[0],
            others: WorktreeEnd::RemoveBoth,
            tag: None,
        },
    )
    .await
    .expect("kept");
    assert!(
        matches!(outcome, GitOutcome::Merged { ref into, .. } if into == "main"),
        "{outcome:?}"
    );
    let kept =
        std::fs::read_to_string(repo_dir.join("kept.txt")).expect("the change is in the base");
    assert_eq!(kept.trim(), "from the demo");
    let branches = git(&repo_dir, &["branch", "--list"]);
    for other in &others {
        let worktree = other.worktree.as_ref().expect("worktree");
        assert!(
            !Path::new(&worktree.path).exists(),
            "{} removed",
            worktree.path
        );
        assert!(
            !branches.contains(&worktree.branch),
            "{} removed",
            worktree.branch
        );
    }
    let (_, listed) = Client::connect(&server).await;
    let live: Vec<SessionId> = listed.iter().map(|s| s.id).collect();
    assert!(live.contains(&ids[0]), "the kept attempt goes on");
    assert!(
        !live.contains(&ids[1]) && !live.contains(&ids[2]),
        "the others ended"
    );
}
