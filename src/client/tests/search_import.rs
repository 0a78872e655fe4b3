//! Search over every transcript and the Import page: the reducer keeps only the newest
//! search's answer, shows a query the server cannot read, stores import progress and its
//! report; the snippet's matches render as `<mark>` text; a hit far back asks for the turns
//! up to it.

use super::*;
use crate::client::import::{imported_attr, is_importable, size_text, ScanState};
use crate::client::store::Entry;
use crate::client::transcript_search::{
    day_start_ms, jump_step, run_search, search_path, snippet_pieces, JumpStep, SearchOutcome,
};
use crate::protocol::{
    ErrorCode, ImportCandidate, ImportProblem, ImportProgress, ImportReport, ImportSource,
    ImportStatus, RequestTag, SearchGroup, SearchHit, SearchRole, MATCH_CLOSE, MATCH_OPEN,
};

fn group(n: u128, snippet: &str) -> SearchGroup {
    SearchGroup {
        session: sid(n),
        title: format!("Session {n}"),
        agent: AgentId::demo(),
        project: None,
        archived: false,
        hits: vec![SearchHit {
            seq: Seq(7),
            role: SearchRole::User,
            at_ms: 0,
            snippet: snippet.to_owned(),
        }],
    }
}

/// Types `text` and sends the search; returns its tag.
fn search(store: &Store, text: &str) -> RequestTag {
    store.search.text.set(text.to_owned());
    run_search(*store);
    store
        .search
        .latest
        .get_untracked()
        .expect("a search was sent")
}

fn results(store: &Store, tag: RequestTag, groups: Vec<SearchGroup>) {
    apply_on_pane(
        store,
        ServerFrame::SearchResults {
            tag: Some(tag),
            groups: groups.into(),
            more: false,
        },
    );
}

#[test]
fn only_the_newest_search_is_answered() {
    let store = connected(1);
    let first = search(&store, "alpha");
    assert_eq!(
        store.search.outcome.get_untracked(),
        SearchOutcome::Searching
    );
    let second = search(&store, "alpha beta");
    assert_ne!(first, second);

    // The answer to the older search arrives last-but-one: dropped.
    results(&store, first, vec![group(1, "old")]);
    assert_eq!(
        store.search.outcome.get_untracked(),
        SearchOutcome::Searching
    );
    results(&store, second, vec![group(1, "new")]);
    let SearchOutcome::Results { groups, more } = store.search.outcome.get_untracked() else {
        panic!("the newest answer is shown");
    };
    assert_eq!(groups[0].hits[0].snippet, "new");
    assert!(!more);
    // A late answer to the first one changes nothing.
    results(&store, first, vec![]);
    assert!(matches!(
        store.search.outcome.get_untracked(),
        SearchOutcome::Results { groups, .. } if groups.len() == 1
    ));
}

#[test]
fn an_empty_box_clears_the_results_without_asking() {
    let store = connected(1);
    let tag = search(&store, "alpha");
    results(&store, tag, vec![group(1, "x")]);
    store.search.text.set("   ".into());
    run_search(store);
    assert_eq!(store.search.latest.get_untracked(), None);
    assert_eq!(store.search.outcome.get_untracked(), SearchOutcome::Idle);
}

#[test]
fn a_bad_query_shows_the_servers_words_and_nothing_else() {
    let store = connected(1);
    crate::client::actions::show(store, Some(sid(1)));
    let tag = search(&store, "\"unclosed");
    let message = "a quote is not closed: add the closing \"".to_owned();
    apply(
        &store,
        ServerFrame::Error {
            session: None,
            tag: Some(tag),
            code: ErrorCode::BadQuery,
            message: message.clone(),
        },
    );
    assert_eq!(
        store.search.outcome.get_untracked(),
        SearchOutcome::Failed(message)
    );
    // Not a banner, not a notice in the open session.
    assert_eq!(store.server_error.get_untracked(), None);
    assert_eq!(len(&store, 1), 0);

    // The refusal of an older search does not hide the newer one's answer.
    let old = search(&store, "\"again");
    let new = search(&store, "fine");
    results(&store, new, vec![group(1, "ok")]);
    apply(
        &store,
        ServerFrame::Error {
            session: None,
            tag: Some(old),
            code: ErrorCode::BadQuery,
            message: "late".into(),
        },
    );
    assert!(matches!(
        store.search.outcome.get_untracked(),
        SearchOutcome::Results { .. }
    ));
}

#[test]
fn filters_and_dates_shape_the_query() {
    let store = new_store();
    store.search.text.set("  deploy  ".into());
    store.search.role.set(Some(SearchRole::Tool));
    store.search.since.set("2026-12-03".into());
    store.search.until.set("2026-12-03".into());
    let query = store.search.query();
    assert_eq!(query.text, "deploy");
    assert_eq!(query.role, Some(SearchRole::Tool));
    // Natively the day is read as UTC: 2026-12-03 00:00 UTC, and "until" includes the day.
    assert_eq!(query.since_ms, Some(1_796_256_000_000));
    assert_eq!(query.until_ms, Some(1_796_256_000_000 + 86_400_000));
    assert_eq!(day_start_ms("1970-01-01"), Some(0));
    assert_eq!(day_start_ms("2000-03-01"), Some(951_868_800_000));
    assert_eq!(day_start_ms(""), None);
    assert_eq!(day_start_ms("2026-13-01"), None);
    assert_eq!(day_start_ms("soon"), None);
}

#[test]
fn snippets_mark_matches_as_text() {
    let snippet =
        format!("the {MATCH_OPEN}quick{MATCH_CLOSE} fox <b>and</b>\n{MATCH_OPEN}fox{MATCH_CLOSE}");
    assert_eq!(
        snippet_pieces(&snippet),
        vec![
            (false, "the ".to_owned()),
            (true, "quick".to_owned()),
            (false, " fox <b>and</b> ".to_owned()),
            (true, "fox".to_owned()),
        ]
    );
    assert_eq!(snippet_pieces(""), vec![]);
    // An unclosed mark still shows its text.
    assert_eq!(
        snippet_pieces(&format!("a{MATCH_OPEN}b")),
        vec![(false, "a".to_owned()), (true, "b".to_owned())]
    );
}

#[test]
fn snippets_render_marks_and_escape_markup() {
    use leptos::tachys::view::RenderHtml;
    let snippet = format!("run {MATCH_OPEN}<script>{MATCH_CLOSE} & done");
    let html = view! { <crate::components::search::SnippetText snippet/> }
        .to_html()
        .replace("<!>", "");
    assert!(html.contains("<mark>&lt;script&gt;</mark>"), "{html}");
    assert!(html.contains("run "), "{html}");
    assert!(html.contains("&amp; done"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
}

#[test]
fn search_links_carry_the_words() {
    assert_eq!(search_path(""), "/search");
    assert_eq!(search_path(" hello world "), "/search?q=hello%20world");
    assert_eq!(search_path("\"a&b\""), "/search?q=%22a%26b%22");
}

fn entries(keys: &[u64]) -> Vec<Entry> {
    keys.iter()
        .map(|&key| Entry {
            key,
            body: EntryBody::Notice {
                message: String::new(),
                detail: None,
                is_error: false,
            },
        })
        .collect()
}

#[test]
fn a_hit_far_back_loads_the_turns_up_to_it_then_shows_its_row() {
    let held = entries(&[5000, 5001, 5004, 5008]);
    // Older than what is held: fetch from it.
    assert_eq!(jump_step(&held, Seq(5000), Seq(42)), JumpStep::Load);
    // Held: the row whose first event is at or before the seq.
    assert_eq!(jump_step(&held, Seq(5000), Seq(5004)), JumpStep::Show(2));
    assert_eq!(jump_step(&held, Seq(5000), Seq(5006)), JumpStep::Show(2));
    // Everything is here (first_seq 1 or 0): never asks.
    assert_eq!(jump_step(&held, Seq(1), Seq(42)), JumpStep::Show(0));
    assert_eq!(jump_step(&[], Seq(0), Seq(3)), JumpStep::Wait);
    // Rows made by this tab are not entries of the log.
    let mut local = entries(&[3]);
    local.insert(
        0,
        entries(&[crate::client::store::LOCAL_KEY_BIT | 1]).remove(0),
    );
    assert_eq!(jump_step(&local, Seq(1), Seq(9)), JumpStep::Show(1));
}

fn candidate(path: &str, status: ImportStatus) -> ImportCandidate {
    ImportCandidate {
        source: ImportSource::Codex,
        path: path.to_owned(),
        cwd: Some("/home/me/app".into()),
        first_prompt: "fix it".into(),
        started_ms: 0,
        bytes: 2048,
        status,
    }
}

#[test]
fn a_scan_keeps_ticks_only_where_there_is_something_to_import() {
    let store = new_store();
    store
        .import
        .selected
        .set(["/a".to_owned(), "/b".to_owned(), "/gone".to_owned()].into());
    apply_on_pane(
        &store,
        ServerFrame::ImportCandidates {
            candidates: vec![
                candidate("/a", ImportStatus::New),
                candidate("/b", ImportStatus::Imported { session: sid(1) }),
                candidate("/c", ImportStatus::Grown { session: sid(2) }),
            ]
            .into(),
            problems: vec![ImportProblem {
                path: "/root/.claude/projects".into(),
                line: None,
                reason: "no Claude Code sessions here".into(),
            }]
            .into(),
        },
    );
    assert_eq!(
        store.import.selected.get_untracked(),
        ["/a".to_owned()].into()
    );
    assert_eq!(
        store.import.importable_paths(),
        ["/a".to_owned(), "/c".to_owned()].into()
    );
    let ScanState::Scanned { problems, .. } = store.import.scan.get_untracked() else {
        panic!("scanned");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(imported_attr(ImportStatus::New), "false");
    assert_eq!(
        imported_attr(ImportStatus::Imported { session: sid(1) }),
        "true"
    );
    assert_eq!(
        imported_attr(ImportStatus::Grown { session: sid(1) }),
        "grown"
    );
    assert!(!is_importable(ImportStatus::Imported { session: sid(1) }));
    assert_eq!(size_text(812), "812 B");
    assert_eq!(size_text(14_200), "14.2 KB");
}

#[test]
fn import_progress_and_its_report_are_stored() {
    let store = new_store();
    let running = ImportProgress {
        running: true,
        files_total: 3,
        files_done: 1,
        bytes_total: 3000,
        bytes_done: 1000,
        sessions: 1,
        events: 40,
        errors: 0,
        report: None,
    };
    apply_on_pane(
        &store,
        ServerFrame::ImportProgress {
            progress: running.clone().into(),
        },
    );
    assert!(store.import.running());
    assert_eq!(store.import.progress.get_untracked(), Some(running));

    let report = ImportReport {
        cancelled: false,
        unchanged: 1,
        unknown_records: 2,
        problems: vec![ImportProblem {
            path: "/x.jsonl".into(),
            line: Some(7),
            reason: "not JSON".into(),
        }],
    };
    let done = ImportProgress {
        running: false,
        files_done: 3,
        bytes_done: 3000,
        sessions: 2,
        errors: 1,
        report: Some(report.clone()),
        ..ImportProgress::default()
    };
    apply_on_pane(
        &store,
        ServerFrame::ImportProgress {
            progress: done.into(),
        },
    );
    assert!(!store.import.running());
    let stored = store.import.progress.get_untracked().expect("kept");
    assert_eq!(stored.report, Some(report));
    assert_eq!(stored.sessions, 2);
}

#[test]
fn a_refused_import_or_scan_says_why_on_the_page() {
    let store = new_store();
    store.import.selected.set(["/a".to_owned()].into());
    crate::client::import::start(store);
    let tag = RequestTag(1);
    apply(
        &store,
        ServerFrame::Error {
            session: None,
            tag: Some(tag),
            code: ErrorCode::InvalidState,
            message: "an import is running".into(),
        },
    );
    assert_eq!(
        store.import.start_error.get_untracked().as_deref(),
        Some("an import is running")
    );
    assert_eq!(store.server_error.get_untracked(), None);

    crate::client::import::scan(store);
    assert_eq!(store.import.scan.get_untracked(), ScanState::Scanning);
    apply(
        &store,
        ServerFrame::Error {
            session: None,
            tag: Some(RequestTag(2)),
            code: ErrorCode::Internal,
            message: "disk".into(),
        },
    );
    assert_eq!(
        store.import.scan.get_untracked(),
        ScanState::Failed("disk".into())
    );
}

#[test]
fn imported_sessions_keep_their_source() {
    let store = new_store();
    let mut made = session(4);
    made.imported = Some(ImportSource::Claude);
    apply(&store, ServerFrame::SessionCreated { session: made });
    assert_eq!(
        view(&store, 4).meta.with_untracked(|m| m.imported),
        Some(ImportSource::Claude)
    );
}
