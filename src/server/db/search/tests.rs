//! The index and the search against a real SQLite file, and the query language.

use super::fts_query;
use super::query::{snippet, terms};
use crate::protocol::{SearchQuery, SearchRole};
use crate::server::db::{Db, DB_FILE};

/// A database as the previous release left it (every migration before the index), with
/// a streamed reply and a tool call in its log: opening it indexes them.
#[tokio::test]
async fn opening_an_older_database_indexes_its_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let older = dir.path().join("older-migrations");
    std::fs::create_dir(&older).expect("mkdir");
    for entry in std::fs::read_dir("migrations").expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.as_str() < "20261203160000" {
            std::fs::copy(&path, older.join(&name)).expect("copy");
        }
    }
    let url = format!("sqlite://{}?mode=rwc", dir.path().join(DB_FILE).display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("opens");
    let migrator = sqlx::migrate::Migrator::new(older.as_path())
        .await
        .expect("reads");
    migrator.run(&pool).await.expect("older schema");
    let id = "6f0a6c1e-3b1c-4a53-9a53-1f1b2a7d9e01";
    sqlx::query(
        "INSERT INTO sessions (id, title, agent, cwd, permission_mode, state, created_at_ms, \
         last_activity_ms) VALUES ($1, 'Old', 'demo', '/tmp', 'default', '{\"state\":\"idle\"}', 1, 1)",
    )
    .bind(id)
    .execute(&pool)
    .await
    .expect("session");
    let events = [
        r#"{"type":"user_message","client_msg_id":"6f0a6c1e-3b1c-4a53-9a53-1f1b2a7d9e02","text":"where is the parser"}"#,
        r#"{"type":"assistant_delta","message_id":"m1","text":"The parser lives in "}"#,
        r#"{"type":"assistant_delta","message_id":"m1","text":"src/wire.rs today."}"#,
        r#"{"type":"tool_call","id":"c1","name":"Bash","title":"grep","input":{"command":"grep -rn tokenizer src"}}"#,
    ];
    for (n, body) in events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO events (session_id, seq, created_at_ms, body) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(n as i64 + 1)
        .bind(1_000 + n as i64)
        .bind(body)
        .execute(&pool)
        .await
        .expect("event");
    }
    pool.close().await;

    let db = Db::open(dir.path()).await.expect("migrates");
    let find = |text: &str, role: Option<SearchRole>| SearchQuery {
        text: text.into(),
        role,
        ..SearchQuery::default()
    };
    // A phrase across two deltas: they were joined into one row.
    let (groups, _) = db
        .search(&find("\"lives in src\"", None))
        .await
        .expect("search");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].hits[0].role, SearchRole::Assistant);
    assert_eq!(
        groups[0].hits[0].seq.0, 2,
        "opens at the message's first delta"
    );
    let (groups, _) = db
        .search(&find("tokenizer", Some(SearchRole::Tool)))
        .await
        .expect("search");
    assert_eq!(groups[0].hits[0].seq.0, 4);
    let (groups, _) = db
        .search(&find("parser", Some(SearchRole::User)))
        .await
        .expect("search");
    assert_eq!(groups[0].hits.len(), 1);
}

/// A reply still streaming is found, a phrase split across its deltas too, opening at its
/// first delta; when the turn ends it is in the full-text index, once, a whole message.
#[tokio::test]
async fn streamed_replies_are_searchable_as_they_arrive() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (engine, db) in crate::server::db::testing::engines(dir.path()).await {
        eprintln!("on {engine}");
        streamed_replies_on(db).await;
    }
}

async fn streamed_replies_on(db: Db) {
    use crate::protocol::{Seq, SessionEvent};
    let id = crate::server::db::test_session(&db).await;
    let delta = |text: &str| SessionEvent::AssistantDelta {
        message_id: "m".into(),
        text: text.into(),
    };
    db.append_event(id, Seq(1), 10, &delta("the migration "))
        .await
        .expect("stored");
    db.append_event(id, Seq(2), 11, &delta("runs twice"))
        .await
        .expect("stored");
    let phrase = SearchQuery {
        text: "\"migration runs\"".into(),
        ..SearchQuery::default()
    };
    let (groups, _) = db.search(&phrase).await.expect("search");
    assert_eq!(groups[0].hits.len(), 1);
    assert_eq!(groups[0].hits[0].seq, Seq(1));
    let filler = "lorem ipsum dolor sit amet ".repeat(200);
    db.append_event(id, Seq(3), 12, &delta(&filler))
        .await
        .expect("stored");
    db.append_event(id, Seq(4), 13, &delta(" zebra crossing"))
        .await
        .expect("stored");
    let late = SearchQuery {
        text: "zebra".into(),
        ..SearchQuery::default()
    };
    let (groups, _) = db.search(&late).await.expect("search");
    assert_eq!(groups[0].hits[0].seq, Seq(1), "it opens at the reply");
    let end = SessionEvent::TurnCompleted {
        usage: crate::protocol::Usage::default(),
        duration_ms: 5,
        stop_reason: "end_turn".into(),
    };
    db.append_event(id, Seq(5), 14, &end).await.expect("stored");
    for query in [&phrase, &late] {
        let (groups, _) = db.search(query).await.expect("search");
        assert_eq!(groups[0].hits.len(), 1, "indexed once: {groups:?}");
        assert_eq!(groups[0].hits[0].seq, Seq(1));
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM search_index")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(rows, 1, "one row for the whole reply");
}

/// Accents fold on both engines as FTS5's `remove_diacritics` folds them: "uber" finds
/// "Über", and an accented query finds the plain word.
#[tokio::test]
async fn accents_fold_the_same_on_both_engines() {
    use crate::protocol::{ClientMsgId, Seq, SessionEvent};
    let dir = tempfile::tempdir().expect("temp dir");
    for (engine, db) in crate::server::db::testing::engines(dir.path()).await {
        let id = crate::server::db::test_session(&db).await;
        let said = |text: &str| SessionEvent::UserMessage {
            client_msg_id: ClientMsgId(uuid::Uuid::new_v4()),
            text: text.into(),
            attachments: Vec::new(),
        };
        db.append_event(id, Seq(1), 10, &said("Über das Café: a naïve résumé"))
            .await
            .expect("stored");
        db.append_event(id, Seq(2), 11, &said("the plain cafe down the street"))
            .await
            .expect("stored");
        for (query, hits) in [
            ("uber", 1),
            ("naive resume", 1),
            ("resum*", 1),
            ("\"das cafe\"", 1),
            ("café", 2),
            ("CAFE", 2),
        ] {
            let search = SearchQuery {
                text: query.into(),
                ..SearchQuery::default()
            };
            let (groups, _) = db.search(&search).await.expect("search");
            let found = groups.iter().map(|g| g.hits.len()).sum::<usize>();
            assert_eq!(found, hits, "{engine}: {query}");
        }
    }
}

#[test]
fn words_phrases_and_prefixes_become_a_safe_fts_query() {
    assert_eq!(fts_query("login bug").unwrap(), "\"login\" AND \"bug\"");
    assert_eq!(
        fts_query("\"fix the login\" deploy*").unwrap(),
        "\"fix the login\" AND \"deploy\" *"
    );
    // Operators and syntax are only words here.
    assert_eq!(
        fts_query("NOT body:x OR (y)").unwrap(),
        "\"not\" AND \"body x\" AND \"or\" AND \"y\""
    );
    assert_eq!(fts_query("src/main.rs").unwrap(), "\"src main rs\"");
}

#[test]
fn unreadable_queries_say_why() {
    assert!(fts_query("\"open phrase").unwrap_err().contains("quote"));
    assert!(fts_query("   ").unwrap_err().contains("type a word"));
    assert!(fts_query("*").unwrap_err().contains("*"));
}

#[test]
fn snippets_mark_words_phrases_and_prefixes_and_cut_long_text() {
    let body = "First we open the Parser module, then the parser's tests run; deployment follows.";
    let marked = snippet(
        body,
        &terms("parser \"tests run\" deploy*").expect("reads"),
        '[',
        ']',
        40,
    );
    assert_eq!(
        marked,
        "First we open the [Parser] module, then the [parser]'s [tests] [run]; [deployment] follows."
    );
    let long = format!("{} needle {}", "hay ".repeat(50), "straw ".repeat(50));
    let cut = snippet(&long, &terms("needle").expect("reads"), '[', ']', 8);
    assert!(cut.starts_with('…') && cut.ends_with('…'), "{cut}");
    assert!(cut.contains("[needle]"), "{cut}");
    assert_eq!(cut.matches("hay").count(), 2, "{cut}");
}
