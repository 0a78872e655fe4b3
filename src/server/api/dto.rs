//! The API's request and answer bodies. Server-side types of their own (the wire protocol
//! stays free of server dependencies): what a script needs of a session, flattened, with an
//! OpenAPI schema derived from each. Events are the WebSocket's `SessionEvent`s as stored.

use crate::protocol::{LoggedEvent, Project, Session, SessionEvent, SessionState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiSession {
    /// Its id (a UUID).
    pub id: String,
    /// Title, from the first message until renamed.
    pub title: String,
    /// The agent (`demo`, `claude`, `codex`, ...).
    pub agent: String,
    /// The project's id.
    pub project: Option<String>,
    /// The agent's working directory.
    pub cwd: String,
    /// The session's own branch, when it has a worktree.
    pub branch: Option<String>,
    /// The agent's permission mode.
    pub permission_mode: String,
    /// The model, if one was chosen.
    pub model: Option<String>,
    /// `idle`, `working`, `waiting_for_agent`, `awaiting_permission`, `error`,
    /// `interrupted`, `archived`.
    pub state: String,
    /// Why, for `error` and `interrupted`.
    pub state_message: Option<String>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Time of the newest event, milliseconds since the Unix epoch.
    pub last_activity_ms: i64,
    /// The start of the newest message.
    pub preview: String,
    /// Seq of the newest event in its log.
    pub last_seq: u64,
    /// Tokens read, summed over its turns.
    pub input_tokens: u64,
    /// Tokens written, summed over its turns.
    pub output_tokens: u64,
    /// Cost in US dollars, when its agent reports one.
    pub cost_usd: Option<f64>,
}

impl From<&Session> for ApiSession {
    fn from(session: &Session) -> Self {
        let state_message = match &session.state {
            SessionState::Error { message } => Some(message.clone()),
            SessionState::Interrupted { reason } => Some(reason.clone()),
            _ => None,
        };
        ApiSession {
            id: session.id.to_string(),
            title: session.title.clone(),
            agent: session.agent.0.clone(),
            project: session.project.map(|p| p.to_string()),
            cwd: session.cwd.clone(),
            branch: session.worktree.as_ref().map(|w| w.branch.clone()),
            permission_mode: session.permission_mode.clone(),
            model: session.model.clone(),
            state: session.state.name().into(),
            state_message,
            created_at_ms: session.created_at_ms,
            last_activity_ms: session.last_activity_ms,
            preview: session.preview.clone(),
            last_seq: session.last_seq.0,
            input_tokens: session.usage.input_tokens,
            output_tokens: session.usage.output_tokens,
            cost_usd: session.usage.cost_usd,
        }
    }
}

/// One stored event of a session's log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiEvent {
    /// Its place in the session's log (1, 2, ...: no gaps).
    pub seq: u64,
    /// The event, as the WebSocket sends it: an object tagged by `type` (`user_message`,
    /// `assistant_delta`, `tool_call`, `permission_requested`, `turn_completed`,
    /// `state_changed`, `error`, ...).
    #[schema(value_type = Object)]
    pub event: SessionEvent,
}

impl From<LoggedEvent> for ApiEvent {
    fn from(logged: LoggedEvent) -> Self {
        ApiEvent {
            seq: logged.seq.0,
            event: logged.event,
        }
    }
}

/// The session list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    /// Sessions that are not ended, newest activity first.
    pub sessions: Vec<ApiSession>,
}

/// Filters of the session list; each one given must match.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A project's id.
    pub project: Option<String>,
    /// An agent (`demo`, `claude`, ...).
    pub agent: Option<String>,
    /// A state (`idle`, `working`, `awaiting_permission`, `error`, ...).
    pub state: Option<String>,
}

/// Which events to read with a session.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events after this seq (default 0: from the start).
    pub since: Option<u64>,
    /// Events before this seq (default: to the newest).
    pub until: Option<u64>,
    /// At most this many (default and most: 1000).
    pub limit: Option<u32>,
}

/// A session with a range of its events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionDetail {
    /// The session.
    pub session: ApiSession,
    /// The events asked for, in order.
    pub events: Vec<ApiEvent>,
    /// When more events of the range remain: ask again with `since` set to this.
    pub next_since: Option<u64>,
}

/// A new session and its first message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateSession {
    /// The agent (`demo`, `claude`, `codex`, `gemini`, ...).
    pub agent: String,
    /// The first message (a session is stored with its first message, never empty).
    pub text: String,
    /// The project's id; without it, `cwd`'s project (made when allowed), else the
    /// Playground.
    #[serde(default)]
    pub project: Option<String>,
    /// A folder under `server.roots`, when no project is named.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Give the session its own git worktree and branch.
    #[serde(default)]
    pub worktree: bool,
    /// One of the agent's permission modes (default: its first).
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// A model name for the agent.
    #[serde(default)]
    pub model: Option<String>,
    /// The session's id, chosen by the caller (a UUID): a retried request with the same
    /// `id` and `client_msg_id` makes one session and one turn.
    #[serde(default)]
    pub id: Option<String>,
    /// The first message's id (a UUID); made by the server when absent.
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

/// A message to a session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SendMessage {
    /// The text.
    pub text: String,
    /// The message's id (a UUID): the same id sent twice makes one turn. Made by the
    /// server when absent (then a retry is a second message).
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

/// A message accepted: stored, and run after any turn before it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// The session.
    pub session: ApiSession,
    /// The message's id.
    pub client_msg_id: String,
}

/// An answer to a permission request: an option's id, or a decision.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PermissionAnswer {
    /// One of the request's option ids, as its `permission_requested` event lists them.
    #[serde(default)]
    pub option_id: Option<String>,
    /// `allow` or `deny`: the request's first option of that kind (once before always).
    #[serde(default)]
    pub decision: Option<Decision>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Let the tool run.
    Allow,
    /// Refuse it.
    Deny,
}

/// A change of a session's settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdateSession {
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// A new permission mode (one of the agent's).
    #[serde(default)]
    pub permission_mode: Option<String>,
}

/// How to end a session.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndQuery {
    /// For a worktree session: `keep` (default), `remove_worktree` or `remove_both`.
    pub worktree: Option<String>,
    /// With `remove_both`: delete the branch even when its commits are not merged.
    pub discard_unmerged: Option<bool>,
}

/// Where to start a live event stream.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Events after this seq (default 0). A `Last-Event-ID` header wins over it.
    pub since: Option<u64>,
}

/// One project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiProject {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its folder.
    pub path: String,
    /// Whether the folder is a git repository.
    pub is_git: bool,
}

impl From<&Project> for ApiProject {
    fn from(project: &Project) -> Self {
        ApiProject {
            id: project.id.to_string(),
            name: project.name.clone(),
            path: project.path.clone(),
            is_git: project.is_git,
        }
    }
}

/// The project list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectList {
    /// Every project, in sidebar order.
    pub projects: Vec<ApiProject>,
}
