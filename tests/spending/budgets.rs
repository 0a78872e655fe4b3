//! Budgets against the real server and real demo-agent processes, priced by
//! SWITCHBOARD_DEMO_USD_PER_TOKEN: a session budget stops a `/slow` turn within a second
//! (one "model call") of crossing it and refuses the next message until it is raised or
//! one more turn is allowed; a project budget and the day's do the same across sessions;
//! a restart keeps budgets and spending.

use crate::common::code::{add_project, config_with_root, connect_with_projects, start_session};
use crate::common::{Client, Server};
use std::path::Path;
use switchboard::protocol::{
    Budget, BudgetLevel, BudgetScope, ClientFrame, ClientMsgId, ErrorCode, RequestTag, ServerFrame,
    SessionEvent, SessionId,
};
use uuid::Uuid;

/// $0.001 a word: "/slow" says 20 words a second, so it spends $0.02 a second.
const PRICE: [(&str, Option<&str>); 1] = [("SWITCHBOARD_DEMO_USD_PER_TOKEN", Some("0.001"))];

fn usd(max: f64) -> Budget {
    Budget {
        max_usd: Some(max),
        max_tokens: None,
    }
}

async fn set_budget(client: &mut Client, scope: BudgetScope, target: String, budget: Budget) {
    client
        .send(&ClientFrame::SetBudget {
            scope,
            target,
            budget,
            tag: None,
        })
        .await;
}

/// Sends `text`; `Err(code, message)` when the server refuses it.
async fn try_say(
    client: &mut Client,
    session: SessionId,
    text: &str,
) -> Result<(), (ErrorCode, String)> {
    let tag = RequestTag(Uuid::new_v4().as_u128() as u64 >> 12);
    client
        .send(&ClientFrame::Send {
            session,
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: text.into(),
            attachments: vec![],
            create: None,
            tag: Some(tag),
        })
        .await;
    loop {
        match client.recv().await {
            ServerFrame::Error {
                tag: Some(t),
                code,
                message,
                ..
            } if t == tag => return Err((code, message)),
            ServerFrame::Event {
                session: s,
                event: SessionEvent::TurnStarted { .. },
                ..
            } if s == session => return Ok(()),
            _ => {}
        }
    }
}

/// The turn's events, until it completes.
async fn finish(client: &mut Client, session: SessionId) -> Vec<SessionEvent> {
    client
        .turn(session)
        .await
        .into_iter()
        .map(|(_, event)| event)
        .collect()
}

fn budget_events(events: &[SessionEvent]) -> Vec<(BudgetLevel, bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Budget {
                alert,
                stopped,
                message,
            } => Some((alert.level, *stopped, message.clone())),
            _ => None,
        })
        .collect()
}

fn stop_reason(events: &[SessionEvent]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            SessionEvent::TurnCompleted { stop_reason, .. } => Some(stop_reason.clone()),
            _ => None,
        })
        .expect("the turn completed")
}

#[tokio::test]
async fn a_session_budget_stops_a_slow_turn_and_refuses_the_next_until_raised() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with_env(dir.path(), "", &PRICE);
    let (mut client, _) = Client::connect(&server).await;
    let session = crate::common::new_session();
    client.say(session, "hi", true).await; // 1 word in, 2 out: $0.003
    finish(&mut client, session).await;
    set_budget(
        &mut client,
        BudgetScope::Session,
        session.to_string(),
        usd(0.05),
    )
    .await;
    // $0.023 after one second, $0.043 (86%: the warning) after two, $0.063 after three.
    try_say(&mut client, session, "/slow 10")
        .await
        .expect("accepted");
    let events = finish(&mut client, session).await;
    let budget = budget_events(&events);
    assert_eq!(budget.len(), 2, "a warning, then the stop: {budget:?}");
    assert_eq!((budget[0].0, budget[0].1), (BudgetLevel::Near, false));
    assert_eq!((budget[1].0, budget[1].1), (BudgetLevel::Reached, true));
    assert!(budget[1].2.contains("stopped"), "{}", budget[1].2);
    assert_eq!(stop_reason(&events), "cancelled");
    let ticks = crate::common::assistant_text(
        &events
            .iter()
            .cloned()
            .map(|e| (switchboard::protocol::Seq(0), e))
            .collect::<Vec<_>>(),
    );
    let said = ticks.matches("tick").count();
    assert!(
        (20..=45).contains(&said),
        "stopped within a second of crossing: {said} ticks"
    );
    // Refused until raised...
    let (code, message) = try_say(&mut client, session, "more")
        .await
        .expect_err("refused");
    assert_eq!(code, ErrorCode::OverBudget);
    assert!(message.contains("budget"), "{message}");
    // ... or until one more turn is allowed (that one is not stopped).
    client
        .send(&ClientFrame::AllowTurn { session, tag: None })
        .await;
    try_say(&mut client, session, "one more")
        .await
        .expect("allowed");
    let events = finish(&mut client, session).await;
    assert_eq!(stop_reason(&events), "end_turn");
    try_say(&mut client, session, "and another")
        .await
        .expect_err("only one was allowed");
    set_budget(
        &mut client,
        BudgetScope::Session,
        session.to_string(),
        usd(1.0),
    )
    .await;
    try_say(&mut client, session, "raised")
        .await
        .expect("raised");
    finish(&mut client, session).await;
}

/// A server with one project (a plain folder) under its root.
async fn project_rig(dir: &Path) -> (Server, Client, switchboard::protocol::Project) {
    let roots = dir.join("roots");
    let folder = roots.join("work");
    std::fs::create_dir_all(&folder).expect("project folder");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let server = Server::start_with_env(&data, &config_with_root(&roots), &PRICE);
    let (mut client, _) = connect_with_projects(&server.addr).await;
    let project = add_project(&mut client, &folder.display().to_string())
        .await
        .expect("project added");
    (server, client, project)
}

#[tokio::test]
async fn a_project_budget_and_the_days_apply_across_sessions_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let (server, mut client, project) = project_rig(&base).await;
    set_budget(
        &mut client,
        BudgetScope::Project,
        project.id.to_string(),
        usd(0.01),
    )
    .await;
    // 2 in, 3 out: $0.005, half the project's budget.
    let first = start_session(&mut client, project.id, false, "hello there").await;
    finish(&mut client, first).await;
    // 5 in, 6 out: $0.011 more; the project is over, and the turn says so.
    let second = start_session(&mut client, project.id, false, "one two three four five").await;
    let events = finish(&mut client, second).await;
    assert!(
        budget_events(&events)
            .iter()
            .any(|(level, _, _)| *level == BudgetLevel::Reached),
        "{events:?}"
    );
    // The first session never crossed anything itself, yet its project did.
    let (code, message) = try_say(&mut client, first, "again")
        .await
        .expect_err("refused");
    assert_eq!(code, ErrorCode::OverBudget);
    assert!(message.contains("project"), "{message}");

    // The day's budget: a session outside the project is refused too, once it is spent.
    set_budget(
        &mut client,
        BudgetScope::Project,
        project.id.to_string(),
        usd(10.0),
    )
    .await;
    set_budget(&mut client, BudgetScope::Day, String::new(), usd(0.02)).await;
    let outside = crate::common::new_session();
    client.say(outside, "a b c d e f g h", true).await; // 8 in, 9 out: $0.017
    finish(&mut client, outside).await;
    let (code, message) = try_say(&mut client, first, "again")
        .await
        .expect_err("refused");
    assert_eq!(code, ErrorCode::OverBudget);
    assert!(message.to_lowercase().contains("today"), "{message}");

    // A restart keeps the budgets and what was spent.
    let data = server.data_dir.clone();
    server.stop();
    let config = config_with_root(&base.join("roots"));
    let server = Server::start_with_env(&data, &config, &PRICE);
    let (mut client, sessions) = Client::connect(&server).await;
    let spent: f64 = sessions.iter().filter_map(|s| s.usage.cost_usd).sum();
    assert!((spent - 0.033).abs() < 1e-9, "{spent}");
    let listed = sessions.iter().find(|s| s.id == outside).expect("listed");
    client.subscribe(outside, listed.last_seq).await;
    let alert = listed.budget.expect("the alert is worked out again");
    assert_eq!(
        (alert.scope, alert.level),
        (BudgetScope::Day, BudgetLevel::Reached)
    );
    let (code, _) = try_say(&mut client, outside, "after restart")
        .await
        .expect_err("refused");
    assert_eq!(code, ErrorCode::OverBudget);
    set_budget(
        &mut client,
        BudgetScope::Day,
        String::new(),
        Budget::default(),
    )
    .await;
    try_say(&mut client, outside, "unlimited now")
        .await
        .expect("accepted");
    finish(&mut client, outside).await;
}

/// Reads until the error answering `tag`.
async fn refusal(client: &mut Client, frame: ClientFrame, tag: RequestTag) -> (ErrorCode, String) {
    client.send(&frame).await;
    loop {
        if let ServerFrame::Error {
            tag: Some(t),
            code,
            message,
            ..
        } = client.recv().await
        {
            if t == tag {
                return (code, message);
            }
        }
    }
}

#[tokio::test]
async fn bad_budget_and_comparison_frames_get_clear_errors_and_change_nothing() {
    use switchboard::protocol::{AgentId, Attempt, CompareId, ProjectId, WorktreeEnd};
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("canonical");
    let (server, mut client, project) = project_rig(&base).await;
    let tag = |n: u64| RequestTag(n);
    let negative = Budget {
        max_usd: Some(-1.0),
        max_tokens: None,
    };
    let frame = ClientFrame::SetBudget {
        scope: BudgetScope::Day,
        target: String::new(),
        budget: negative,
        tag: Some(tag(1)),
    };
    let (code, message) = refusal(&mut client, frame, tag(1)).await;
    assert_eq!(code, ErrorCode::Malformed, "{message}");
    let frame = ClientFrame::SetBudget {
        scope: BudgetScope::Session,
        target: "not-a-session".into(),
        budget: usd(1.0),
        tag: Some(tag(2)),
    };
    let (code, message) = refusal(&mut client, frame, tag(2)).await;
    assert_eq!(code, ErrorCode::Malformed, "{message}");
    let frame = ClientFrame::SetBudget {
        scope: BudgetScope::Session,
        target: SessionId(Uuid::new_v4()).to_string(),
        budget: usd(1.0),
        tag: Some(tag(3)),
    };
    let (code, _) = refusal(&mut client, frame, tag(3)).await;
    assert_eq!(code, ErrorCode::UnknownSession);
    let attempt = || Attempt {
        session: SessionId(Uuid::new_v4()),
        agent: AgentId::demo(),
        model: None,
        permission_mode: None,
    };
    let ask = |attempts: Vec<Attempt>, project: ProjectId, n: u64| ClientFrame::AskSeveral {
        compare: CompareId(Uuid::new_v4()),
        project,
        base_branch: None,
        attempts,
        text: "hello".into(),
        attachments: vec![],
        client_msg_id: ClientMsgId(Uuid::new_v4()),
        tag: Some(tag(n)),
    };
    let (code, message) = refusal(&mut client, ask(vec![attempt()], project.id, 4), tag(4)).await;
    assert_eq!(code, ErrorCode::Malformed);
    assert!(message.contains("2 to 4"), "{message}");
    let five = (0..5).map(|_| attempt()).collect();
    let (code, _) = refusal(&mut client, ask(five, project.id, 5), tag(5)).await;
    assert_eq!(code, ErrorCode::Malformed);
    let twin = attempt();
    let (code, message) = refusal(
        &mut client,
        ask(vec![twin.clone(), twin], project.id, 6),
        tag(6),
    )
    .await;
    assert_eq!(code, ErrorCode::Malformed, "{message}");
    // A plain folder has no worktrees: refused, with the reason.
    let (_, message) = refusal(
        &mut client,
        ask(vec![attempt(), attempt()], project.id, 7),
        tag(7),
    )
    .await;
    assert!(message.contains("worktree"), "{message}");
    let unknown = ProjectId(Uuid::new_v4());
    let (_, message) = refusal(
        &mut client,
        ask(vec![attempt(), attempt()], unknown, 8),
        tag(8),
    )
    .await;
    assert!(!message.is_empty());
    let frame = ClientFrame::KeepAttempt {
        compare: CompareId(Uuid::new_v4()),
        session: SessionId(Uuid::new_v4()),
        others: WorktreeEnd::RemoveBoth,
        tag: Some(tag(9)),
    };
    let (code, _) = refusal(&mut client, frame, tag(9)).await;
    assert_eq!(code, ErrorCode::UnknownSession);
    let (_, sessions) = Client::connect(&server).await;
    assert!(sessions.is_empty(), "nothing was made: {sessions:?}");
}
