//! A session's metadata as the sidebar and tab bar show it, its state machine, and the
//! partial update (`SessionPatch`) that travels when some of it changes.

use super::tag_first::tag_first;
use super::{
    AgentId, BudgetAlert, ImportSource, ProjectId, Seq, SessionId, Worktree, NEW_SESSION_TITLE,
};
use serde::{Deserialize, Serialize};

tag_first! {
    #[serde(tag = "state", rename_all = "snake_case")]
    /// Where a session is in its life. Derived by the session task from process liveness and
    /// protocol events; a turn that goes silent is ended by a watchdog, so none of these stick.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    pub enum SessionState {
        /// Only in the browser: a tab opened with "+" that has not sent its first message.
        Draft,
        /// The agent process is being started. (This server shows a turn as `Working` from its
        /// start; kept so sessions stored by earlier versions still read.)
        Starting,
        /// Ready for the next message.
        Idle,
        /// A message waits for an agent: every live-agent slot (`limits.max_live_agents`) is
        /// taken, and the turn starts as soon as one frees, in order of arrival.
        WaitingForAgent {
            /// How many sessions are ahead in line.
            ahead: u32,
        },
        /// A turn is running.
        Working,
        /// The agent waits for the user to allow or deny a tool.
        AwaitingPermission,
        /// The agent failed; the next message starts it again.
        Error {
            /// What went wrong, for people.
            message: String,
        },
        /// A turn was cut short (server restart, stop); the next message resumes.
        Interrupted {
            /// Why it was interrupted.
            reason: String,
        },
        /// Ended by the user; kept for the record, hidden from the sidebar.
        Archived,
        /// The agent runs on another machine whose runner is out of contact; the session
        /// goes on (its turn too) when the runner is back.
        Unreachable {
            /// The machine's name.
            machine: String,
        },
    }
}

impl SessionState {
    /// The snake_case name used in `data-state` attributes and CSS.
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::Draft => "draft",
            SessionState::Starting => "starting",
            SessionState::Idle => "idle",
            SessionState::WaitingForAgent { .. } => "waiting_for_agent",
            SessionState::Working => "working",
            SessionState::AwaitingPermission => "awaiting_permission",
            SessionState::Error { .. } => "error",
            SessionState::Interrupted { .. } => "interrupted",
            SessionState::Archived => "archived",
            SessionState::Unreachable { .. } => "unreachable",
        }
    }

    /// True while the agent is busy with a turn (Stop makes sense, End session asks first).
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            SessionState::Starting
                | SessionState::WaitingForAgent { .. }
                | SessionState::Working
                | SessionState::AwaitingPermission
        )
    }
}

/// Token counts and cost of one turn, or summed over a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens the model read.
    pub input_tokens: u64,
    /// Tokens the model wrote.
    pub output_tokens: u64,
    /// Input tokens served from the prompt cache (cheaper; included in neither count above).
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_creation_tokens: u64,
    /// Cost in US dollars, when the agent reports it.
    pub cost_usd: Option<f64>,
    /// True when `cost_usd` is the agent's own estimate rather than a billed figure
    /// (Claude Code prices tokens from a table it carries); the UI says "estimate".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cost_estimated: bool,
    /// Tokens in the model's context after the turn (its last call's prompt), when known.
    /// In a session total: the newest turn's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_used: Option<u64>,
    /// The model's context window in tokens, when the agent reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
}

impl Usage {
    /// Adds another turn's usage to this total.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_creation_tokens += other.cache_creation_tokens;
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        self.cost_estimated |= other.cost_estimated;
        // The context is a level, not a sum: the newest report stands.
        self.context_used = other.context_used.or(self.context_used);
        self.context_window = other.context_window.or(self.context_window);
    }

    /// Tokens that count against a budget: read plus written (cache traffic excluded).
    pub fn billable_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    /// How full the context window is, in percent (0-100), when both figures are known.
    pub fn context_percent(&self) -> Option<u64> {
        let (used, window) = (self.context_used?, self.context_window?);
        (window > 0).then(|| (used.saturating_mul(100) / window).min(100))
    }
}

/// What the agent is asked to do on creation: which agent, where, how careful.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    /// The agent program.
    pub agent: AgentId,
    /// Working directory, for a session outside the projects (API use); the project's
    /// folder (or the session's worktree) when `project` is given, the Playground when
    /// neither is.
    pub cwd: Option<String>,
    /// The project to run in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectId>,
    /// Run in a git worktree of its own, on a new branch (git projects only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub worktree: bool,
    /// The branch the worktree starts from; the checkout's HEAD when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// The agent's permission mode (its own names, e.g. `default`).
    pub permission_mode: Option<String>,
    /// The model, when the agent lets the user choose.
    pub model: Option<String>,
}

impl NewSession {
    /// `agent` in the server's default working directory, with its default permission mode
    /// and model.
    pub fn defaults(agent: AgentId) -> Self {
        NewSession {
            agent,
            cwd: None,
            project: None,
            worktree: false,
            base_branch: None,
            permission_mode: None,
            model: None,
        }
    }
}

/// One session as listed in the sidebar and tab bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// Title, from the first message until renamed.
    pub title: String,
    /// Agent program.
    pub agent: AgentId,
    /// Working directory of the agent process.
    pub cwd: String,
    /// The project it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectId>,
    /// Its own git worktree and branch, when it has one (`cwd` is then the worktree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<Worktree>,
    /// The agent's permission mode.
    pub permission_mode: String,
    /// Model name, if chosen.
    pub model: Option<String>,
    /// Current state.
    pub state: SessionState,
    /// The agent's own id for this conversation, used to resume it.
    pub agent_session_id: Option<String>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Time of the last event, milliseconds since the Unix epoch.
    pub last_activity_ms: i64,
    /// The start of the newest message, for the sidebar.
    pub preview: String,
    /// Tokens and cost summed over all turns.
    pub usage: Usage,
    /// Number of transcript rows (every message, tool call, permission card, notice and
    /// error, not only messages): unread counts derive from it. (`message_count` on the
    /// wire and in the database, as before.)
    #[serde(rename = "message_count")]
    pub entry_count: u64,
    /// Seq of the newest event in the log.
    pub last_seq: Seq,
    /// Everything up to this seq has been read in some browser tab (stored on the server,
    /// so reading in one tab clears the badge in all of them).
    #[serde(default)]
    pub read_seq: Seq,
    /// How many browser tabs show this session right now; while any does, what arrives
    /// counts as read everywhere. Live only: never stored, 0 after a restart.
    #[serde(default)]
    pub viewers: u32,
    /// How many metadata changes have been published for this session (stored with it, so
    /// it goes on counting across restarts and from node to node): a summary whose `rev` is
    /// not newer than this is stale.
    #[serde(default)]
    pub rev: u64,
    /// How much it changed in its folder, once counted (live only: counted again after a
    /// restart). `None` outside git repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeCount>,
    /// The CLI store it was imported from, for a session that began outside Switchboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportSource>,
    /// Where its agent process runs, while one runs (live only, never stored).
    #[serde(default)]
    pub placement: super::AgentPlacement,
    /// The fullest budget that applies to it, once one is at least 80% used (worked out
    /// by the server after each report of spending; live only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetAlert>,
    /// The comparison it is an attempt of, if it was asked together with others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<super::CompareId>,
}

/// A session's budget alert as a patch carries it: `alert: None` clears it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetMark {
    /// The new alert, or none.
    pub alert: Option<BudgetAlert>,
}

/// The header's figures for a session's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCount {
    /// Files that differ from the base.
    pub files: u32,
    /// Commits on a worktree session's branch that its base branch does not have.
    #[serde(default)]
    pub unmerged_commits: u32,
}

/// The fields of a `Session` that changed; absent fields stay as they were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionPatch {
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
    /// New permission mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// The agent's conversation id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_session_id: Option<String>,
    /// New last-activity time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_ms: Option<i64>,
    /// New preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// New usage total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// New number of transcript rows (`message_count` on the wire).
    #[serde(
        default,
        rename = "message_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub entry_count: Option<u64>,
    /// New last seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<Seq>,
    /// New read marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_seq: Option<Seq>,
    /// New number of tabs showing the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewers: Option<u32>,
    /// The session's `rev` with this patch applied: a client holding this rev or a newer
    /// one drops the patch (it is a late summary of what the session's stream gave it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<u64>,
    /// New change figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeCount>,
    /// Where its agent now runs (an agent started or stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<super::AgentPlacement>,
    /// Its budget alert changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetMark>,
}

impl SessionPatch {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == SessionPatch::default()
    }
}

impl Session {
    /// A session with nothing in it yet (no events, usage or agent conversation), titled
    /// [`NEW_SESSION_TITLE`] until its first message names it. Drafts and new sessions start
    /// so.
    pub fn empty(
        id: SessionId,
        agent: AgentId,
        cwd: String,
        permission_mode: String,
        state: SessionState,
    ) -> Session {
        Session {
            id,
            title: NEW_SESSION_TITLE.into(),
            agent,
            cwd,
            project: None,
            worktree: None,
            permission_mode,
            model: None,
            state,
            agent_session_id: None,
            created_at_ms: 0,
            last_activity_ms: 0,
            preview: String::new(),
            usage: Usage::default(),
            entry_count: 0,
            last_seq: Seq(0),
            read_seq: Seq(0),
            viewers: 0,
            rev: 0,
            changes: None,
            imported: None,
            placement: super::AgentPlacement::default(),
            budget: None,
            compare: None,
        }
    }

    /// Applies a patch in place. Both sides use this, so they cannot disagree on its meaning.
    pub fn apply(&mut self, patch: &SessionPatch) {
        let SessionPatch {
            title,
            state,
            permission_mode,
            agent_session_id,
            last_activity_ms,
            preview,
            usage,
            entry_count,
            last_seq,
            read_seq,
            viewers,
            rev,
            changes,
            placement,
            budget,
        } = patch.clone();
        if let Some(v) = title {
            self.title = v;
        }
        if let Some(v) = state {
            self.state = v;
        }
        if let Some(v) = permission_mode {
            self.permission_mode = v;
        }
        if let Some(v) = agent_session_id {
            self.agent_session_id = Some(v);
        }
        if let Some(v) = last_activity_ms {
            self.last_activity_ms = v;
        }
        if let Some(v) = preview {
            self.preview = v;
        }
        if let Some(v) = usage {
            self.usage = v;
        }
        if let Some(v) = entry_count {
            self.entry_count = v;
        }
        if let Some(v) = last_seq {
            self.last_seq = v;
        }
        if let Some(v) = read_seq {
            self.read_seq = v;
        }
        if let Some(v) = viewers {
            self.viewers = v;
        }
        if let Some(v) = rev {
            self.rev = v;
        }
        if let Some(v) = changes {
            self.changes = Some(v);
        }
        if let Some(v) = placement {
            self.placement = v;
        }
        if let Some(v) = budget {
            self.budget = v.alert;
        }
    }

    /// A patch that sets every field to this session's: what a stream subscriber is sent
    /// after the log's replay, so its picture is exactly the server's at that seq.
    pub fn as_patch(&self) -> SessionPatch {
        SessionPatch {
            title: Some(self.title.clone()),
            state: Some(self.state.clone()),
            permission_mode: Some(self.permission_mode.clone()),
            agent_session_id: self.agent_session_id.clone(),
            last_activity_ms: Some(self.last_activity_ms),
            preview: Some(self.preview.clone()),
            usage: Some(self.usage),
            entry_count: Some(self.entry_count),
            last_seq: Some(self.last_seq),
            read_seq: Some(self.read_seq),
            viewers: Some(self.viewers),
            rev: Some(self.rev),
            changes: self.changes,
            placement: Some(self.placement.clone()),
            budget: Some(BudgetMark { alert: self.budget }),
        }
    }

    /// Whether `patch` is news to a client holding this session: it has no `rev` (an older
    /// server) or a newer one than held.
    pub fn is_newer(&self, patch: &SessionPatch) -> bool {
        patch.rev.is_none_or(|rev| rev > self.rev)
    }
}
