//! Storage that stops accepting writes (a full disk, here a database at its size cap: SQLite
//! answers "database or disk is full" exactly as on a full disk): the session goes to Error
//! with a clear message, the server keeps serving, and what was stored stays intact. And
//! one server per PostgreSQL database: a second is refused at start.

mod common;

use common::{new_session, Client, Server};
use switchboard::protocol::{Seq, ServerFrame, SessionEvent, SessionState};
use switchboard::server::db::Db;

#[tokio::test]
async fn a_full_database_stops_the_session_with_a_clear_error_and_damages_nothing() {
    if common::on_postgres() {
        // The cap (`limits.max_db_mib`) is SQLite's; a PostgreSQL server's disk is its own.
        eprintln!("SQLite only: skipped on PostgreSQL");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with_config(dir.path(), "[limits]\nmax_db_mib = 1\n");
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "hello", true).await;
    client.turn(session).await;

    // Each turn stores ~2 x 200 KB (the message and its echo): the cap is reached soon.
    let big = "y".repeat(200 * 1024);
    let mut failure = None;
    for _ in 0..8 {
        client.say(session, &big, false).await;
        let frames = client
            .until(|f| match f {
                ServerFrame::Event {
                    event: SessionEvent::TurnCompleted { .. },
                    ..
                } => true,
                ServerFrame::SessionUpdated { patch, .. } => {
                    matches!(patch.state, Some(SessionState::Error { .. }))
                }
                ServerFrame::Error { .. } => true,
                _ => false,
            })
            .await;
        let last = frames.last().cloned();
        match last {
            Some(ServerFrame::SessionUpdated { patch, .. }) => {
                failure = patch.state;
                break;
            }
            Some(ServerFrame::Error { message, .. }) => {
                failure = Some(SessionState::Error { message });
                break;
            }
            _ => {}
        }
    }
    let Some(SessionState::Error { message }) = failure else {
        panic!("the cap was never reached");
    };
    assert!(message.contains("disk is full"), "{message}");

    // The server still serves: a new socket connects, lists the session in Error, answers pings.
    let (mut other, sessions) = Client::connect(&server).await;
    let listed = sessions.iter().find(|s| s.id == session).expect("listed");
    assert!(
        matches!(listed.state, SessionState::Error { .. }),
        "{:?}",
        listed.state
    );
    other.send(&switchboard::protocol::ClientFrame::Ping).await;
    // (The list's summaries of the last turn may still arrive before the answer.)
    let answered = other
        .until(|f| !matches!(f, ServerFrame::SessionUpdated { .. }))
        .await;
    assert_eq!(answered.last(), Some(&ServerFrame::Pong), "{answered:?}");

    // A message that does not fit now is refused with the cause, not lost silently.
    client.say(session, &big, false).await;
    let frames = client
        .until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    let Some(ServerFrame::Error { message, .. }) = frames.last() else {
        unreachable!()
    };
    assert!(message.contains("could not be saved"), "{message}");
    assert!(message.contains("disk is full"), "{message}");
    server.stop();

    // What was stored is whole: the file passes SQLite's integrity check and the log is
    // gapless from 1.
    let db = Db::open(dir.path()).await.expect("db opens");
    assert_eq!(db.integrity_check().await.expect("check runs"), "ok");
    let log = db.events_since(session, Seq(0)).await.expect("log reads");
    assert!(
        log.len() >= 4,
        "earlier turns are kept ({} events)",
        log.len()
    );
    for (i, event) in log.iter().enumerate() {
        assert_eq!(event.seq, Seq(i as u64 + 1), "gapless");
    }
}

/// Server nodes share a PostgreSQL database through leases; `switchboard import` writes
/// sessions without them, so it is refused while a node uses the database (saying why),
/// and runs once the node stopped.
#[tokio::test]
async fn an_import_is_refused_while_a_server_node_uses_the_postgres_database() {
    use switchboard::server::config::DATABASE_URL_ENV;
    if !common::on_postgres() {
        eprintln!("PostgreSQL only: skipped on SQLite (the data dir's lock keeps them apart)");
        return;
    }
    let server_dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(server_dir.path());
    let url = common::postgres_url(server_dir.path()).expect("the server's database");

    let import_dir = tempfile::tempdir().expect("temp dir");
    let import = |dir: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .env(DATABASE_URL_ENV, &url)
            .env("HOME", dir)
            .args(["import", "--dry-run", "--data-dir"])
            .arg(dir.join("data"))
            .output()
            .expect("runs")
    };
    let refused = import(import_dir.path());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{why}");
    assert!(why.contains("this PostgreSQL database is in use"), "{why}");

    server.stop();
    let ran = import(import_dir.path());
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
}
