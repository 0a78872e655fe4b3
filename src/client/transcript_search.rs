//! Search over every stored transcript (the `/search` pane): what the user typed and chose,
//! the answer to the newest search (answers to older ones are dropped by their tag), the
//! search hit to open, and the pure decisions around them: the query sent, the dates of the
//! range filter, the snippet's marked runs, and how a transcript reaches an old hit.
//! Tested natively.

use super::actions::transport;
use super::requests::Request;
use super::store::{Entry, SessionView, Store, LOCAL_KEY_BIT};
use crate::protocol::{
    snippet_runs, AgentId, ClientFrame, ProjectId, RequestTag, SearchGroup, SearchOrder,
    SearchQuery, SearchRole, Seq, SessionId,
};
use leptos::prelude::*;

/// Milliseconds in a day, for the end of the "until" day.
const DAY_MS: i64 = 86_400_000;

/// Where the newest search stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SearchOutcome {
    /// Nothing asked yet (or the box is empty).
    #[default]
    Idle,
    /// Asked; no answer yet (the previous results stay shown meanwhile).
    Searching,
    /// The answer: the hits by session, and whether there were more than sent.
    Results {
        /// The hits, grouped by session.
        groups: Vec<SearchGroup>,
        /// More hits exist than were sent.
        more: bool,
    },
    /// The server could not read the query; its words for why.
    Failed(String),
}

/// A search hit to open: the transcript of `session` scrolls to the entry at `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JumpTarget {
    /// The session to open.
    pub session: SessionId,
    /// The seq of the entry's first event.
    pub seq: Seq,
}

/// The search pane's state, in the store so it survives opening a hit and coming back.
#[derive(Debug, Clone, Copy)]
pub struct SearchState {
    /// The words typed.
    pub text: RwSignal<String>,
    /// Only this project's sessions.
    pub project: RwSignal<Option<ProjectId>>,
    /// Only this agent's sessions.
    pub agent: RwSignal<Option<AgentId>>,
    /// Only this kind of text.
    pub role: RwSignal<Option<SearchRole>>,
    /// The first day of the range, as a date field gives it (`YYYY-MM-DD`, or empty).
    pub since: RwSignal<String>,
    /// The last day of the range (included), as `since`.
    pub until: RwSignal<String>,
    /// Newest first or best match first.
    pub order: RwSignal<SearchOrder>,
    /// The tag of the newest search sent; answers with another tag are stale.
    pub latest: RwSignal<Option<RequestTag>>,
    /// What the newest search gave.
    pub outcome: RwSignal<SearchOutcome>,
    /// The hit being opened, until its transcript shows it.
    pub jump: RwSignal<Option<JumpTarget>>,
}

impl Default for SearchState {
    fn default() -> Self {
        Self::new()
    }
}

impl SearchState {
    /// Nothing typed, no filters, newest first.
    pub fn new() -> Self {
        Self {
            text: RwSignal::new(String::new()),
            project: RwSignal::new(None),
            agent: RwSignal::new(None),
            role: RwSignal::new(None),
            since: RwSignal::new(String::new()),
            until: RwSignal::new(String::new()),
            order: RwSignal::new(SearchOrder::Newest),
            latest: RwSignal::new(None),
            outcome: RwSignal::new(SearchOutcome::Idle),
            jump: RwSignal::new(None),
        }
    }

    /// The query the fields describe (untracked reads).
    pub fn query(&self) -> SearchQuery {
        SearchQuery {
            text: self.text.get_untracked().trim().to_owned(),
            project: self.project.get_untracked(),
            agent: self.agent.get_untracked(),
            role: self.role.get_untracked(),
            since_ms: self.since.with_untracked(|day| day_start_ms(day)),
            until_ms: self
                .until
                .with_untracked(|day| day_start_ms(day))
                .map(|start| start + DAY_MS),
            order: self.order.get_untracked(),
        }
    }

    /// The answer to the search tagged `tag`: kept if it is the newest, else dropped.
    pub fn results_arrived(&self, tag: Option<RequestTag>, groups: Vec<SearchGroup>, more: bool) {
        if tag.is_some() && self.latest.get_untracked() == tag {
            self.outcome.set(SearchOutcome::Results { groups, more });
        }
    }

    /// The refusal of the search tagged `tag` (a query the server cannot read), shown if it
    /// is about the newest search.
    pub fn refused(&self, tag: Option<RequestTag>, message: String) {
        if tag.is_some() && self.latest.get_untracked() == tag {
            self.outcome.set(SearchOutcome::Failed(message));
        }
    }
}

/// Local midnight of a `YYYY-MM-DD` day in ms since the epoch; `None` for anything else
/// (an empty field). The browser asks its own calendar (the user's time zone); elsewhere
/// the day is read as UTC.
pub fn day_start_ms(day: &str) -> Option<i64> {
    let mut parts = day.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1..=9999).contains(&year) {
        return None;
    }
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new_with_year_month_day(year as u32, month as i32 - 1, day as i32);
        let ms = date.get_time();
        if ms.is_finite() {
            return Some(ms as i64);
        }
    }
    Some(days_from_civil(year, month, day) * DAY_MS)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A snippet as runs of text to show, `true` for the matched ones (shown as `<mark>`).
/// Line breaks become spaces: a snippet is one line of a result.
pub fn snippet_pieces(snippet: &str) -> Vec<(bool, String)> {
    let mut pieces: Vec<(bool, String)> = Vec::new();
    for (matched, run) in snippet_runs(snippet) {
        let text: String = run
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        match pieces.last_mut() {
            Some((last, joined)) if *last == matched => joined.push_str(&text),
            _ => pieces.push((matched, text)),
        }
    }
    pieces
}

/// What a transcript must do next to show the entry at `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JumpStep {
    /// The entry is older than what the view holds: ask for every turn from it on.
    Load,
    /// Nothing to show it in yet (the first page has not come).
    Wait,
    /// The entry is the row at this index.
    Show(usize),
}

/// Where the entry holding `seq` is among `entries`, or what must happen first. `first_seq`
/// is the oldest seq the view holds (`Seq(0)` or `Seq(1)`: all of it). The entry is the row
/// whose key is the greatest seq not after `seq` (a tool's result belongs to its call's
/// row); rows made by this tab are skipped.
pub fn jump_step(entries: &[Entry], first_seq: Seq, seq: Seq) -> JumpStep {
    if first_seq > Seq(1) && seq < first_seq {
        return JumpStep::Load;
    }
    let is_logged = |entry: &Entry| entry.key & LOCAL_KEY_BIT == 0;
    let at_or_before = entries
        .iter()
        .rposition(|entry| is_logged(entry) && entry.key <= seq.0);
    match at_or_before.or_else(|| entries.iter().position(is_logged)) {
        Some(index) => JumpStep::Show(index),
        None => JumpStep::Wait,
    }
}

/// The sidebar's offer for a filter text: "Search all sessions", with the text when typed.
pub fn search_all_label(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        "Search all sessions".to_owned()
    } else {
        format!("Search all sessions for \u{201c}{text}\u{201d}")
    }
}

/// The `/search` address that opens the search with `text` typed in.
pub fn search_path(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "/search".to_owned();
    }
    let mut path = String::from("/search?q=");
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                path.push(char::from(byte));
            }
            _ => path.push_str(&format!("%{byte:02X}")),
        }
    }
    path
}

/// Sends the search the fields describe, as the newest one; an empty box clears the results
/// instead. Answers to searches sent before are dropped when they come.
pub fn run_search(store: Store) {
    let query = store.search.query();
    if query.text.is_empty() {
        store.search.latest.set(None);
        store.search.outcome.set(SearchOutcome::Idle);
        return;
    }
    let tag = store.open_request(Request::Search);
    store.search.latest.set(Some(tag));
    if !matches!(
        store.search.outcome.get_untracked(),
        SearchOutcome::Results { .. }
    ) {
        store.search.outcome.set(SearchOutcome::Searching);
    }
    transport::send(ClientFrame::Search {
        query,
        tag: Some(tag),
    });
}

/// Opens a hit: the transcript of its session shows (the caller navigates to it) and
/// scrolls to the entry, fetching the turns up to it first when they are not loaded.
pub fn open_hit(store: Store, session: SessionId, seq: Seq) {
    store.search.jump.set(Some(JumpTarget { session, seq }));
}

/// Asks for every turn from the one holding `seq` up to what `view` holds (a search hit far
/// back). One page request at a time, as scrolling up.
pub fn load_from(store: Store, view: &SessionView, seq: Seq) {
    if view.loading_earlier.get_untracked() {
        return;
    }
    view.loading_earlier.set(true);
    let tag = Some(store.open_request(Request::Page { session: view.id }));
    transport::send(ClientFrame::LoadEarlier {
        session: view.id,
        before: view.first_seq.get_untracked(),
        turns: super::history::PAGE_TURNS,
        from: Some(seq),
        tag,
    });
}
