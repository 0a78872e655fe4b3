//! `bench -- search`: search over 1,000,000 stored events in 1,000 sessions. Seeds the log
//! through the storage layer (so the index is built as the server builds it, event by
//! event), then sends 20 different queries over the real WebSocket, each 25 times, and
//! prints p50 and p99 per query and over all (issue 19's goal: p99 < 50 ms).

use super::harness::*;
use std::time::{Duration, Instant};
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, RequestTag, SearchOrder, SearchQuery, SearchRole, Seq,
    ServerFrame, Session, SessionEvent, SessionId, SessionState, Usage,
};
use switchboard::server::db::Db;
use uuid::Uuid;

const SESSIONS: u64 = 1_000;
const EVENTS_PER_SESSION: u64 = 1_000;
const RUNS: usize = 25;

/// Words of the generated transcripts: a few very common, most rare (a Zipf-like draw).
const WORDS: &[&str] = &[
    "the",
    "code",
    "file",
    "test",
    "function",
    "error",
    "build",
    "return",
    "value",
    "server",
    "client",
    "session",
    "parser",
    "index",
    "query",
    "table",
    "migration",
    "socket",
    "frame",
    "agent",
    "worktree",
    "branch",
    "commit",
    "merge",
    "diff",
    "review",
    "render",
    "stream",
    "token",
    "cache",
    "config",
    "limit",
    "timeout",
    "retry",
    "panic",
    "thread",
    "async",
    "await",
    "struct",
    "enum",
    "trait",
    "module",
    "crate",
    "compile",
    "linker",
    "wasm",
    "hydrate",
    "cookie",
    "login",
    "header",
    "route",
    "handler",
    "request",
    "response",
    "json",
    "schema",
    "column",
    "sqlite",
    "postgres",
    "replica",
    "deploy",
    "release",
    "benchmark",
    "latency",
    "memory",
    "allocation",
    "vector",
    "hashmap",
    "iterator",
    "closure",
    "lifetime",
    "borrow",
    "zebra",
    "quasar",
    "nebula",
    "obsidian",
    "marmalade",
    "kerfuffle",
    "xylophone",
    "quokka",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A word, common ones far more often than rare ones.
    fn word(&mut self) -> &'static str {
        let r = (self.next() % 10_000) as f64 / 10_000.0;
        WORDS[((r * r * r) * WORDS.len() as f64) as usize]
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub async fn search() {
    println!("# search benchmarks ({})", server_binary().display());
    let dir = tempfile::tempdir().expect("temp dir");
    // SEARCH_BENCH_COPY=<data dir of an earlier run> skips the seeding (a copy is used).
    if let Some(earlier) = std::env::var_os("SEARCH_BENCH_COPY") {
        std::fs::copy(
            std::path::Path::new(&earlier).join("switchboard.db"),
            dir.path().join("switchboard.db"),
        )
        .expect("copies the earlier database");
    }
    let db = Db::open(dir.path()).await.expect("db");
    let started = Instant::now();
    let mut rng = Lcg(7);
    if std::env::var_os("SEARCH_BENCH_COPY").is_none() {
        for s in 0..SESSIONS {
            seed_session(&db, s, &mut rng).await;
        }
    }
    if let Some(keep) = std::env::var_os("SEARCH_BENCH_KEEP") {
        db.checkpoint().await.expect("checkpoint");
        std::fs::copy(
            dir.path().join("switchboard.db"),
            std::path::Path::new(&keep).join("switchboard.db"),
        )
        .expect("keeps a copy");
    }
    let seeding = started.elapsed();
    let bytes = std::fs::metadata(dir.path().join("switchboard.db")).map_or(0, |m| m.len());
    println!(
        "seeded {} events in {SESSIONS} sessions in {:.1} s ({:.0} events/s, stored and indexed, a transaction per session); database {:.0} MiB",
        SESSIONS * EVENTS_PER_SESSION,
        seeding.as_secs_f64(),
        (SESSIONS * EVENTS_PER_SESSION) as f64 / seeding.as_secs_f64(),
        bytes as f64 / (1 << 20) as f64
    );
    drop(db);

    use std::os::unix::fs::PermissionsExt;
    let db_file = dir.path().join("switchboard.db");
    std::fs::set_permissions(&db_file, std::fs::Permissions::from_mode(0o600)).expect("private");
    let server = start(dir.path());
    let mut socket = connect(&server).await;
    let mut all = Vec::new();
    for (name, query) in queries() {
        let mut times = Vec::new();
        let mut hits = 0;
        for run in 0..RUNS {
            let tag = RequestTag(run as u64 + 1);
            let sent = Instant::now();
            send(
                &mut socket,
                &ClientFrame::Search {
                    query: query.clone(),
                    tag: Some(tag),
                },
            )
            .await;
            loop {
                match recv(&mut socket).await {
                    ServerFrame::SearchResults {
                        tag: Some(t),
                        groups,
                        ..
                    } if t == tag => {
                        times.push(sent.elapsed());
                        hits = groups
                            .decode()
                            .expect("hits decode")
                            .iter()
                            .map(|g| g.hits.len())
                            .sum::<usize>();
                        break;
                    }
                    ServerFrame::Error { message, .. } => panic!("{name}: {message}"),
                    _ => {}
                }
            }
        }
        all.extend_from_slice(&times);
        times.sort();
        println!(
            "{name:<44} {hits:>3} hits  p50 {:>7.2} ms  p99 {:>7.2} ms",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        );
    }
    all.sort();
    println!(
        "all {} searches: p50 {:.2} ms, p99 {:.2} ms (goal: p99 < 50 ms)",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Twenty queries: common and rare words, phrases, prefixes, filters and both orders.
fn queries() -> Vec<(String, SearchQuery)> {
    let q = |text: &str| SearchQuery {
        text: text.into(),
        ..SearchQuery::default()
    };
    let mut list = vec![
        ("common word".to_owned(), q("the")),
        (
            "common word, by relevance".into(),
            SearchQuery {
                order: SearchOrder::Relevance,
                ..q("code")
            },
        ),
        ("mid word".into(), q("migration")),
        ("rare word".into(), q("quokka")),
        (
            "rare word, by relevance".into(),
            SearchQuery {
                order: SearchOrder::Relevance,
                ..q("xylophone")
            },
        ),
        ("absent word".into(), q("nonexistentword")),
        ("two common words".into(), q("code file")),
        ("common + rare".into(), q("the zebra")),
        ("phrase, common".into(), q("\"the code\"")),
        ("phrase, rare".into(), q("\"quasar nebula\"")),
        ("prefix, short".into(), q("mig*")),
        ("prefix, rare".into(), q("kerf*")),
        ("three words".into(), q("server client socket")),
        (
            "role filter: user".into(),
            SearchQuery {
                role: Some(SearchRole::User),
                ..q("parser")
            },
        ),
        (
            "role filter: tool".into(),
            SearchQuery {
                role: Some(SearchRole::Tool),
                ..q("cargo")
            },
        ),
        (
            "agent filter (no match)".into(),
            SearchQuery {
                agent: Some(AgentId::claude()),
                ..q("code")
            },
        ),
        (
            "time filter (last 10%)".into(),
            SearchQuery {
                since_ms: Some(900 * 60_000),
                ..q("test")
            },
        ),
        ("file path".into(), q("src/lib.rs")),
        ("phrase + prefix".into(), q("\"async await\" thr*")),
    ];
    list.push((
        "everything, by relevance".into(),
        SearchQuery {
            order: SearchOrder::Relevance,
            ..q("the code file test")
        },
    ));
    list
}

/// One session of whole turns: a question, a streamed reply in pieces, a tool call and
/// its result, the turn's end; ~EVENTS_PER_SESSION events, a minute of time per session.
async fn seed_session(db: &Db, n: u64, rng: &mut Lcg) {
    let id = SessionId(Uuid::new_v4());
    let mut session = Session::empty(
        id,
        AgentId::demo(),
        "/tmp".into(),
        "default".into(),
        SessionState::Idle,
    );
    session.title = format!("seeded {n}");
    session.created_at_ms = n as i64 * 60_000;
    session.last_activity_ms = session.created_at_ms;
    db.save_session(&session).await.expect("session saved");
    let mut events = Vec::with_capacity(EVENTS_PER_SESSION as usize);
    let mut turn = 0;
    while (events.len() as u64) < EVENTS_PER_SESSION {
        turn += 1;
        events.push(SessionEvent::UserMessage {
            client_msg_id: ClientMsgId(Uuid::new_v4()),
            text: format!("{}?", rng.sentence(12)),
            attachments: vec![],
        });
        events.push(SessionEvent::TurnStarted {
            client_msg_id: None,
        });
        for _ in 0..10 {
            events.push(SessionEvent::AssistantDelta {
                message_id: format!("m{turn}"),
                text: format!("{} ", rng.sentence(8)),
            });
        }
        events.push(SessionEvent::ToolCall {
            id: format!("c{turn}"),
            name: "Bash".into(),
            title: "cargo test".into(),
            input: serde_json::json!({"command": format!("cargo test {}", rng.word()), "file_path": "src/lib.rs"}),
        });
        events.push(SessionEvent::ToolResult {
            id: format!("c{turn}"),
            output: rng.sentence(20),
            is_error: false,
            duration_ms: Some(40),
        });
        events.push(SessionEvent::TurnCompleted {
            usage: Usage::default(),
            duration_ms: 1_000,
            stop_reason: "end_turn".into(),
        });
    }
    events.truncate(EVENTS_PER_SESSION as usize);
    let base = n as i64 * 60_000;
    let logged: Vec<(Seq, i64, SessionEvent)> = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| (Seq(i as u64 + 1), base + i as i64 * 50, event))
        .collect();
    // One transaction per session; each event goes through the same insert-and-index code.
    db.append_events(id, &logged).await.expect("events saved");
}
