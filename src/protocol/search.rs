//! Search over every stored transcript: the query a browser sends, and the hits grouped by
//! session that come back, with snippets whose matches are marked.

use super::{AgentId, ProjectId, Seq, SessionId};
use serde::{Deserialize, Serialize};

/// Opens a matched run of text inside a [`SearchHit::snippet`] (a control character no
/// transcript text keeps, so the browser splits on it without parsing HTML).
pub const MATCH_OPEN: char = '\u{2}';
/// Closes a matched run opened by [`MATCH_OPEN`].
pub const MATCH_CLOSE: char = '\u{3}';
/// Most hits one search returns.
pub const MAX_SEARCH_HITS: u32 = 200;

/// What kind of transcript text a hit is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchRole {
    /// A message the user sent.
    User,
    /// The agent's answer.
    Assistant,
    /// The model's visible reasoning.
    Thinking,
    /// A tool call: its title, command or file path.
    Tool,
}

impl SearchRole {
    /// Every role, in filter order.
    pub const ALL: [SearchRole; 4] = [
        SearchRole::User,
        SearchRole::Assistant,
        SearchRole::Thinking,
        SearchRole::Tool,
    ];

    /// The snake_case name used on the wire, in the index and in `data-role`.
    pub fn name(self) -> &'static str {
        match self {
            SearchRole::User => "user",
            SearchRole::Assistant => "assistant",
            SearchRole::Thinking => "thinking",
            SearchRole::Tool => "tool",
        }
    }

    /// The role named `name`, if any.
    pub fn from_name(name: &str) -> Option<SearchRole> {
        SearchRole::ALL.into_iter().find(|role| role.name() == name)
    }
}

/// How hits are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// Newest entry first.
    #[default]
    Newest,
    /// Best match first (the index's own ranking).
    Relevance,
}

/// A search: words, "exact phrases" and prefix* in `text`, and filters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// What to look for.
    pub text: String,
    /// Only sessions of this project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectId>,
    /// Only sessions of this agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    /// Only text of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<SearchRole>,
    /// Only entries at or after this time (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// Only entries before this time (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    /// The order of hits.
    #[serde(default)]
    pub order: SearchOrder,
}

/// One matching transcript entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The seq of the entry's first event: where the transcript opens.
    pub seq: Seq,
    /// What kind of text matched.
    pub role: SearchRole,
    /// When the entry was stored (for imported ones, when the CLI wrote it).
    pub at_ms: i64,
    /// A short piece of the text around the match, matches between [`MATCH_OPEN`] and
    /// [`MATCH_CLOSE`].
    pub snippet: String,
}

/// The hits in one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchGroup {
    /// The session.
    pub session: SessionId,
    /// Its title.
    pub title: String,
    /// Its agent.
    pub agent: AgentId,
    /// Its project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectId>,
    /// Whether it was ended (still searchable, opened read-only).
    #[serde(default)]
    pub archived: bool,
    /// Its matching entries, in the query's order.
    pub hits: Vec<SearchHit>,
}

/// Splits a snippet into runs of plain and matched text, in order (`true`: matched).
pub fn snippet_runs(snippet: &str) -> Vec<(bool, &str)> {
    let mut runs = Vec::new();
    let mut matched = false;
    let mut rest = snippet;
    loop {
        let marker = if matched { MATCH_CLOSE } else { MATCH_OPEN };
        match rest.split_once(marker) {
            Some((run, after)) => {
                if !run.is_empty() {
                    runs.push((matched, run));
                }
                matched = !matched;
                rest = after;
            }
            None => {
                let run = rest.trim_end_matches([MATCH_OPEN, MATCH_CLOSE]);
                if !run.is_empty() {
                    runs.push((matched, run));
                }
                return runs;
            }
        }
    }
}
