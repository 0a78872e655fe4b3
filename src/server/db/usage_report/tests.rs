//! The Usage report on both engines (a real SQLite file, and PostgreSQL when the suite's
//! test cluster runs): turns stored as the session task stores
//! them (a TurnCompleted event writes its `turn_spend` row), grouped by UTC day, project and
//! agent.

use super::NO_PROJECT;
use crate::protocol::{
    AgentId, Day, ProjectId, Seq, Session, SessionEvent, SessionId, SessionState, Usage,
    UsageFigures,
};
use crate::server::db::projects::StoredProject;
use crate::server::db::Db;

const DAY_MS: i64 = 86_400_000;

/// 2026-12-01, the period's first day in these tests.
fn first_day() -> Day {
    Day::parse("2026-12-01").expect("a date")
}

/// Runs `check` on each engine's database.
async fn on_each_engine<F: std::future::Future<Output = ()>>(check: impl Fn(Db) -> F) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (engine, db) in crate::server::db::testing::engines(dir.path()).await {
        eprintln!("on {engine}");
        check(db).await;
    }
}

async fn session(db: &Db, agent: &str, project: Option<ProjectId>) -> SessionId {
    let id = SessionId(uuid::Uuid::new_v4());
    let mut session = Session::empty(
        id,
        AgentId(agent.into()),
        "/tmp".into(),
        "default".into(),
        SessionState::Idle,
    );
    session.project = project;
    db.save_session(&session).await.expect("saved");
    id
}

async fn project(db: &Db, name: &str) -> ProjectId {
    let id = ProjectId(uuid::Uuid::new_v4());
    let stored = StoredProject {
        id,
        name: name.into(),
        path: format!("/tmp/{name}"),
        machine: None,
        created_at_ms: 1,
    };
    db.insert_project(&stored).await.expect("project");
    id
}

/// Stores a finished turn ending at `at_ms`, as the session task does.
async fn turn(db: &Db, session: SessionId, seq: u64, at_ms: i64, cost: Option<f64>, tokens: u64) {
    turn_with(db, session, seq, at_ms, cost, tokens, false).await;
}

async fn turn_with(
    db: &Db,
    session: SessionId,
    seq: u64,
    at_ms: i64,
    cost: Option<f64>,
    tokens: u64,
    estimated: bool,
) {
    let usage = Usage {
        input_tokens: tokens / 2,
        output_tokens: tokens - tokens / 2,
        cost_usd: cost,
        cost_estimated: estimated,
        ..Usage::default()
    };
    let event = SessionEvent::TurnCompleted {
        usage,
        duration_ms: 10,
        stop_reason: "end_turn".into(),
    };
    db.append_event(session, Seq(seq), at_ms, &event)
        .await
        .expect("stored");
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn a_quiet_period_has_every_day_at_zero_and_no_groups() {
    on_each_engine(a_quiet_period_has_every_day_at_zero_and_no_groups_on).await;
}

async fn a_quiet_period_has_every_day_at_zero_and_no_groups_on(db: Db) {
    let from = first_day();
    let report = db.usage_report(from, from.plus(6)).await.expect("report");
    assert!(report.is_empty());
    assert_eq!(report.days.len(), 7);
    assert_eq!(report.days[0].day, "2026-12-01");
    assert_eq!(report.days[6].day, "2026-12-07");
    assert!(report
        .days
        .iter()
        .all(|d| d.spent == UsageFigures::default()));
    assert!(report.projects.is_empty() && report.agents.is_empty());
    assert_eq!(report.period.from, "2026-12-01");
    assert_eq!(report.period.to, "2026-12-07");
}

#[tokio::test]
async fn turns_are_grouped_by_utc_day_project_and_agent() {
    on_each_engine(turns_are_grouped_by_utc_day_project_and_agent_on).await;
}

async fn turns_are_grouped_by_utc_day_project_and_agent_on(db: Db) {
    let alpha = project(&db, "Alpha").await;
    let demo = session(&db, "demo", Some(alpha)).await;
    let codex = session(&db, "codex", Some(alpha)).await;
    let claude = session(&db, "claude", None).await;
    let day0 = first_day().start_ms();
    // Before the period and just after it: left out.
    turn(&db, demo, 1, day0 - 1, Some(9.0), 900).await;
    turn(&db, demo, 2, day0 + 3 * DAY_MS, Some(9.0), 900).await;
    // Day 1: two demo turns, the first at the first millisecond.
    turn(&db, demo, 3, day0, Some(0.5), 10).await;
    turn(&db, demo, 4, day0 + 3_600_000, Some(0.25), 20).await;
    // Day 2: a Claude Code estimate, and a Codex turn without a cost.
    turn_with(&db, claude, 1, day0 + DAY_MS + 5, Some(1.0), 300, true).await;
    turn(&db, codex, 1, day0 + DAY_MS + 6, None, 100).await;
    // Day 3, its last millisecond: still in.
    turn(&db, codex, 2, day0 + 3 * DAY_MS - 1, Some(0.125), 40).await;

    let from = first_day();
    let report = db.usage_report(from, from.plus(2)).await.expect("report");
    let days: Vec<_> = report
        .days
        .iter()
        .map(|d| (d.day.as_str(), d.spent.usd, d.spent.tokens, d.spent.turns))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-12-01", 0.75, 30, 2),
            ("2026-12-02", 1.0, 400, 2),
            ("2026-12-03", 0.125, 40, 1)
        ]
    );
    assert!(!report.days[0].spent.estimated);
    assert!(report.days[1].spent.estimated);
    assert_eq!(report.days[1].spent.priced_turns, 1);

    // Per project: sessions without one are "No project"; the bigger spender first.
    let projects: Vec<_> = report
        .projects
        .iter()
        .map(|g| (g.label.as_str(), g.spent.usd, g.spent.tokens, g.spent.turns))
        .collect();
    assert_eq!(
        projects,
        [(NO_PROJECT, 1.0, 300, 1), ("Alpha", 0.875, 170, 4)]
    );
    assert_eq!(report.projects[0].key, "");
    assert_eq!(report.projects[1].key, alpha.to_string());
    assert!(report.projects[0].spent.estimated && !report.projects[1].spent.estimated);

    let agents: Vec<_> = report
        .agents
        .iter()
        .map(|g| {
            (
                g.key.as_str(),
                g.spent.usd,
                g.spent.turns,
                g.spent.priced_turns,
            )
        })
        .collect();
    assert_eq!(
        agents,
        [
            ("claude", 1.0, 1, 1),
            ("demo", 0.75, 2, 2),
            ("codex", 0.125, 2, 1)
        ]
    );
    assert_eq!(report.agents[1].label, AgentId::demo().label());

    // The totals are the sums of the days, of the projects and of the agents.
    let total = report.total;
    assert!(close(total.usd, 1.875));
    assert_eq!((total.tokens, total.turns, total.priced_turns), (470, 5, 4));
    assert!(total.estimated);
    for groups in [
        report.days.iter().map(|d| d.spent).collect::<Vec<_>>(),
        report.projects.iter().map(|g| g.spent).collect(),
        report.agents.iter().map(|g| g.spent).collect(),
    ] {
        let sum = groups
            .into_iter()
            .fold(UsageFigures::default(), UsageFigures::plus);
        assert!(close(sum.usd, total.usd));
        assert_eq!((sum.tokens, sum.turns), (total.tokens, total.turns));
    }
}

/// An estimate flag on a turn without a cost is no estimate; tokens still count.
#[tokio::test]
async fn only_a_cost_can_be_an_estimate() {
    on_each_engine(only_a_cost_can_be_an_estimate_on).await;
}

async fn only_a_cost_can_be_an_estimate_on(db: Db) {
    let id = session(&db, "claude", None).await;
    let day0 = first_day().start_ms();
    turn_with(&db, id, 1, day0 + 5, None, 50, true).await;
    let report = db
        .usage_report(first_day(), first_day())
        .await
        .expect("report");
    assert_eq!(report.total.tokens, 50);
    assert_eq!(report.total.priced_turns, 0);
    assert!(!report.total.estimated);
    assert!(close(report.total.usd, 0.0));
}

/// A period of the longest length reads each of its days once.
#[tokio::test]
async fn a_year_has_a_row_per_day() {
    on_each_engine(a_year_has_a_row_per_day_on).await;
}

async fn a_year_has_a_row_per_day_on(db: Db) {
    let from = Day::parse("2024-01-01").expect("a date");
    let to = Day::parse("2024-12-31").expect("a date");
    let id = session(&db, "demo", None).await;
    turn(
        &db,
        id,
        1,
        Day::parse("2024-02-29").expect("leap day").start_ms() + 1,
        Some(0.5),
        5,
    )
    .await;
    let report = db.usage_report(from, to).await.expect("report");
    assert_eq!(report.days.len(), 366);
    assert_eq!(report.days[365].day, "2024-12-31");
    let leap = report
        .days
        .iter()
        .find(|d| d.day == "2024-02-29")
        .expect("leap day");
    assert_eq!(leap.spent.turns, 1);
}
