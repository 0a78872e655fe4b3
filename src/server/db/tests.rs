//! The storage handle itself, on both engines.

use super::testing::engines;
use super::{test_session, Db};
use crate::protocol::{Seq, SessionEvent};
use std::time::Duration;

fn delta(n: u64) -> SessionEvent {
    SessionEvent::AssistantDelta {
        message_id: "m".into(),
        text: format!("chunk {n} "),
    }
}

/// Callers that stop waiting halfway (a closed socket or a gone HTTP client drops its
/// future at any await) leave the database usable and lose no write: on PostgreSQL a
/// query dropped mid-flight could leave its pooled connection out of step with the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_dropped_halfway_finish_and_leave_the_database_usable() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (engine, db) in engines(dir.path()).await {
        eprintln!("on {engine}");
        dropped_calls_on(db).await;
    }
}

async fn dropped_calls_on(db: Db) {
    let id = test_session(&db).await;
    let stored: Vec<(Seq, i64, SessionEvent)> =
        (1..=2_000).map(|n| (Seq(n), n as i64, delta(n))).collect();
    db.append_events(id, &stored).await.expect("stored");
    // Reads given up after a few microseconds to a few milliseconds: some before they are
    // sent, some while the answer streams in.
    for n in 0..300u64 {
        let wait = Duration::from_micros(20 + n * 17);
        let _ = tokio::time::timeout(wait, db.events_since(id, Seq(0))).await;
    }
    // Writes given up at once: each still lands.
    for n in 2_001..=2_050u64 {
        let _ = tokio::time::timeout(
            Duration::from_micros(10),
            db.append_event(id, Seq(n), n as i64, &delta(n)),
        )
        .await;
    }
    let mut log = Vec::new();
    for _ in 0..100 {
        log = tokio::time::timeout(Duration::from_secs(10), db.events_since(id, Seq(0)))
            .await
            .expect("the database still answers")
            .expect("reads");
        if log.len() == 2_050 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        log.len(),
        2_050,
        "every write whose caller gave up is stored"
    );
    for (n, event) in log.iter().enumerate() {
        assert_eq!(event.seq, Seq(n as u64 + 1));
    }
}
