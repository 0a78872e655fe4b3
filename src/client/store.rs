//! The browser's reactive picture of the server: the session list, one view per session
//! (meta, transcript entries, read marker, sync error, draft composer), the open tabs and
//! the connection state. No web APIs here, so SSR renders from it and tests run natively.

use super::changes::ChangesView;
use super::import::ImportState;
use super::projects::{AddState, DraftPlace, FolderList};
use super::requests::{Request, Requests};
use super::tool_view::ToolDetail;
use super::transcript_search::SearchState;
use crate::protocol::{
    AgentId, AgentInfo, AgentProtocol, Attachment, ClientLimits, ClientMsgId, PermissionOption,
    Project, RequestId, RequestTag, Seq, ServerFrame, Session, SessionId, SessionState, ToolStatus,
    Usage,
};
use leptos::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

/// Where the one WebSocket of this browser tab is: connecting -> open -> reconnecting ->
/// offline (DESIGN's "closed": the banner offers Reconnect) and back to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// First attempt, before the server said `Connected`.
    Connecting,
    /// `Connected` received; frames flow.
    Open,
    /// The socket dropped (or never opened); retrying with backoff.
    Reconnecting {
        /// The retry about to be made, from 1.
        attempt: u32,
    },
    /// The quick retries failed; still retrying slowly (and at once when the browser comes
    /// back online or the tab becomes visible), and the banner offers "Reconnect".
    Offline {
        /// The retry about to be made.
        attempt: u32,
    },
}

impl ConnectionState {
    /// True once `Connected` arrived on the current socket.
    pub fn is_open(self) -> bool {
        self == ConnectionState::Open
    }
}

/// Delivery of a message this tab sent, until the server echoes it as a `UserMessage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Sent (or queued), not yet in the session's log.
    Pending,
    /// In the log.
    Delivered,
    /// The server refused it (see the notice after it).
    Failed,
}

/// How a permission request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The chosen option; `None` when the turn was cancelled instead.
    pub option_id: Option<String>,
    /// Whether the tool was allowed.
    pub allowed: bool,
}

/// One transcript row. `key` is unique within its session and stable, so `<For>` keeps
/// the row's DOM while the parts that stream (held in their own signals) change in place.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Stable key: the event's seq, or a local number with [`LOCAL_KEY_BIT`] set.
    pub key: u64,
    /// What the row shows.
    pub body: EntryBody,
}

/// Keys of rows made by this tab (optimistic messages, refused requests) have this bit set,
/// so they never collide with event seqs.
pub const LOCAL_KEY_BIT: u64 = 1 << 63;

/// The kinds of transcript rows.
#[derive(Debug, Clone)]
pub enum EntryBody {
    /// A message from the user.
    User {
        /// The browser's id of it, when known (all new ones have one).
        client_msg_id: Option<ClientMsgId>,
        /// The text (may be empty when images were sent alone).
        text: String,
        /// Attached images. Shared, because rows are cloned whenever the list is read.
        attachments: Arc<[Attachment]>,
        /// Whether the server has it yet.
        status: ArcRwSignal<SendStatus>,
    },
    /// Assistant text; grows while deltas stream in.
    Assistant {
        /// The agent's message id; deltas with it append here.
        message_id: String,
        /// The text so far.
        text: ArcRwSignal<String>,
        /// True while more deltas may come.
        streaming: ArcRwSignal<bool>,
    },
    /// The model's visible reasoning; shown collapsed.
    Thinking {
        /// The agent's id of the thought.
        message_id: String,
        /// The text so far.
        text: ArcRwSignal<String>,
    },
    /// A tool call and, once it finished, its result.
    Tool {
        /// The agent's id of the call; the result names it.
        call_id: String,
        /// Tool name.
        name: String,
        /// One-line summary.
        title: ArcRwSignal<String>,
        /// The input, pretty-printed JSON.
        input: String,
        /// How the card presents the input (a diff for edits, the command for shells).
        detail: Arc<ToolDetail>,
        /// The output, once finished.
        output: ArcRwSignal<Option<String>>,
        /// Running / ok / error.
        status: ArcRwSignal<ToolStatus>,
        /// How long the call ran, once finished (when the server measured it).
        duration_ms: ArcRwSignal<Option<u64>>,
    },
    /// The agent asks before using a tool.
    Permission {
        /// Id of the request, sent back with the answer.
        request_id: RequestId,
        /// What it wants to do.
        title: String,
        /// The tool's input, pretty-printed JSON.
        input: String,
        /// The choices.
        options: Vec<PermissionOption>,
        /// Set once resolved.
        resolution: ArcRwSignal<Option<Resolution>>,
        /// The option this tab answered with, before the server confirmed it.
        answered: ArcRwSignal<Option<String>>,
    },
    /// The end of a turn: its tokens, cost, context fill and wall time.
    TurnEnd {
        /// What the turn used.
        usage: Usage,
        /// Wall time of the turn.
        duration_ms: u64,
        /// Why it ended (`end_turn`, `cancelled`, ...).
        stop_reason: String,
    },
    /// Not the agent speaking: errors and notices.
    Notice {
        /// The text.
        message: String,
        /// More detail (e.g. the agent's stderr).
        detail: Option<String>,
        /// Errors are styled as such.
        is_error: bool,
    },
    /// A budget nearly used (a warning), or used up (a turn stopped, messages not sent).
    Budget {
        /// What happened and what the user can do.
        message: String,
        /// True when something was stopped or not sent.
        stopped: bool,
        /// The refused message (text and images), when this row says the server refused
        /// it: "Allow one more turn" sends it again.
        resend: Option<(String, Arc<[Attachment]>)>,
    },
}

impl EntryBody {
    /// The `data-role` of the row: `user`, `assistant`, `tool` or `notice`.
    pub fn role(&self) -> &'static str {
        match self {
            EntryBody::User { .. } => "user",
            EntryBody::Assistant { .. } | EntryBody::Thinking { .. } => "assistant",
            EntryBody::Tool { .. } | EntryBody::Permission { .. } => "tool",
            EntryBody::Notice { .. } | EntryBody::Budget { .. } => "notice",
            EntryBody::TurnEnd { .. } => "usage",
        }
    }
}

/// Everything the browser holds about one session. Cloning shares the signals.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The session's id (never changes, not even when a draft is created on the server).
    pub id: SessionId,
    /// The server's metadata (for a draft: the chosen agent and permission mode).
    pub meta: ArcRwSignal<Session>,
    /// Transcript rows, in order.
    pub entries: ArcRwSignal<Vec<Entry>>,
    /// How many of `meta.entry_count` this tab has seen.
    pub read_count: ArcRwSignal<u64>,
    /// Seq of the newest event applied here; older and equal ones are dropped.
    pub applied_seq: ArcRwSignal<Seq>,
    /// Seq of the oldest event held when the server sent only the last turns; the log
    /// before it is fetched page by page on scroll. `Seq(0)`: everything is here.
    pub first_seq: ArcRwSignal<Seq>,
    /// True while a page of earlier turns is on its way.
    pub loading_earlier: ArcRwSignal<bool>,
    /// True while assistant text streams in.
    pub streaming: ArcRwSignal<bool>,
    /// Bumped on every applied event, so the chat pane can follow the bottom.
    pub activity: ArcRwSignal<u64>,
    /// The composer's text, kept per session across tab switches.
    pub draft_text: ArcRwSignal<String>,
    /// Images waiting in the composer to go with the next message, kept like `draft_text`.
    pub draft_attachments: ArcRwSignal<Vec<Attachment>>,
    /// Next local entry key (without [`LOCAL_KEY_BIT`]).
    next_local: ArcRwSignal<u64>,
    /// Events up to this seq were history when this tab learned of the session, so their
    /// replay is not news.
    pub history_seq: ArcRwSignal<Seq>,
    /// Entries (by identity) that got output while this session was not in front: a reply
    /// that keeps streaming after its tab was left is unread, whatever order the socket
    /// delivered its first chunk and the entry count in.
    pub unseen: ArcRwSignal<HashSet<String>>,
    /// Set when the agent lost the conversation (a banner until dismissed): why.
    pub conversation_reset: ArcRwSignal<Option<String>>,
    /// Why the server cannot keep this session in sync (its log could not be read, it does
    /// not know the session), until the next `Connected` retries; shown by the sync dot.
    pub sync_error: ArcRwSignal<Option<String>>,
    /// A draft's worktree choices (its project is `meta.project`).
    pub draft_place: ArcRwSignal<DraftPlace>,
    /// The Changes panel: its summary, diffs and last git request.
    pub changes: ChangesView,
    /// Whether the budget panel under `session-spend` is open.
    pub budget_open: ArcRwSignal<bool>,
}

impl SessionView {
    /// A view of a server session whose first `read_count` entries count as read.
    pub fn new(session: Session, read_count: u64) -> Self {
        let history = if read_count >= session.entry_count {
            session.last_seq
        } else {
            Seq(0)
        };
        Self {
            history_seq: ArcRwSignal::new(history),
            unseen: ArcRwSignal::new(HashSet::new()),
            conversation_reset: ArcRwSignal::new(None),
            sync_error: ArcRwSignal::new(None),
            draft_place: ArcRwSignal::new(DraftPlace::default()),
            changes: ChangesView::default(),
            budget_open: ArcRwSignal::new(false),
            id: session.id,
            meta: ArcRwSignal::new(session),
            entries: ArcRwSignal::new(Vec::new()),
            read_count: ArcRwSignal::new(read_count),
            applied_seq: ArcRwSignal::new(Seq(0)),
            first_seq: ArcRwSignal::new(Seq(0)),
            loading_earlier: ArcRwSignal::new(false),
            streaming: ArcRwSignal::new(false),
            activity: ArcRwSignal::new(0),
            draft_text: ArcRwSignal::new(String::new()),
            draft_attachments: ArcRwSignal::new(Vec::new()),
            next_local: ArcRwSignal::new(0),
        }
    }

    /// A client-only draft: not on the server until its first message is sent.
    pub fn draft(id: SessionId) -> Self {
        Self::new(draft_session(id, AgentId::demo()), 0)
    }

    /// True while the session exists only in this browser tab (untracked read).
    pub fn is_draft(&self) -> bool {
        self.meta.with_untracked(|m| m.state == SessionState::Draft)
    }

    /// Whether the pane has something to show: the session is new or empty, or some of its
    /// log arrived (a first page, even an empty one, or an event). Reactive.
    pub fn has_history(&self) -> bool {
        self.meta
            .with(|m| m.state == SessionState::Draft || m.entry_count == 0)
            || self.first_seq.get() > Seq(0)
            || self.applied_seq.get() > Seq(0)
    }

    /// Unread entries: none for the active tab, nor while some browser tab shows the
    /// session (the server then reads what arrives); else what arrived since it was last
    /// viewed. Reactive: tracks the meta, the read marker and the active id.
    pub fn unread(&self, store: &Store) -> u64 {
        if store.active.get() == Some(self.id) || self.meta.with(|m| m.viewers > 0) {
            return 0;
        }
        let total = self.meta.with(|m| m.entry_count);
        let counted = total.saturating_sub(self.read_count.get());
        counted.max(self.unseen.with(|unseen| unseen.len() as u64))
    }

    /// Marks everything in the session as read (it is in front). The marker never moves back.
    pub fn mark_read(&self) {
        let total = self.meta.with_untracked(|m| m.entry_count);
        if self.read_count.get_untracked() < total {
            self.read_count.set(total);
        }
        if self.unseen.with_untracked(|unseen| !unseen.is_empty()) {
            self.unseen.update(HashSet::clear);
        }
    }

    /// A fresh key for a row made by this tab.
    pub fn local_key(&self) -> u64 {
        let n = self.next_local.get_untracked();
        self.next_local.set(n + 1);
        LOCAL_KEY_BIT | n
    }
}

/// The metadata of a new draft for `agent`, with its default permission mode.
pub fn draft_session(id: SessionId, agent: AgentId) -> Session {
    let mode = agent
        .builtin()
        .and_then(|b| b.modes.first().copied())
        .unwrap_or("default");
    Session::empty(
        id,
        agent,
        String::new(),
        mode.to_string(),
        SessionState::Draft,
    )
}

/// The whole client state. `Copy`, so components and callbacks capture it freely; it is
/// provided as context by `App`.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    /// Every session this tab knows (server sessions newest first, drafts too).
    pub sessions: RwSignal<Vec<SessionView>>,
    /// Open tabs, in tab-bar order.
    pub tabs: RwSignal<Vec<SessionId>>,
    /// The tab shown, which is always the URL's session.
    pub active: RwSignal<Option<SessionId>>,
    /// The socket's state.
    pub connection: RwSignal<ConnectionState>,
    /// The latest server error not about any one session, until dismissed.
    pub server_error: RwSignal<Option<String>>,
    /// The server's version, from `Connected`.
    pub server_version: RwSignal<Option<String>>,
    /// A short message shown for a few seconds (e.g. a tab ended in another browser tab).
    pub toast: RwSignal<Option<String>>,
    /// The agents the server can run, from `Connected` (empty until then).
    pub agents: RwSignal<Vec<AgentInfo>>,
    /// What the server accepts from this tab, from `Connected` (its defaults until then).
    pub limits: RwSignal<ClientLimits>,
    /// Requests sent that the server may still refuse, by tag.
    pub requests: StoredValue<Requests>,
    /// Every project, in sidebar order (from `Connected` and `ProjectsChanged`).
    pub projects: RwSignal<Vec<Project>>,
    /// The folders offered for the "Add project" path field.
    pub folders: RwSignal<FolderList>,
    /// How the "Add project" form's request stands.
    pub project_add: RwSignal<AddState>,
    /// The search over every transcript (`/search`).
    pub search: SearchState,
    /// The Import page (`/import`) and the running import.
    pub import: ImportState,
    /// Frames only a split pane reads, waiting for it (`pane_frames`).
    pub pane_frames: RwSignal<Vec<ServerFrame>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// An empty store: no sessions, no tabs, connecting.
    pub fn new() -> Self {
        Self {
            sessions: RwSignal::new(Vec::new()),
            tabs: RwSignal::new(Vec::new()),
            active: RwSignal::new(None),
            connection: RwSignal::new(ConnectionState::Connecting),
            server_error: RwSignal::new(None),
            server_version: RwSignal::new(None),
            toast: RwSignal::new(None),
            agents: RwSignal::new(Vec::new()),
            limits: RwSignal::new(ClientLimits::default()),
            requests: StoredValue::new(Requests::default()),
            projects: RwSignal::new(Vec::new()),
            folders: RwSignal::new(FolderList::default()),
            project_add: RwSignal::new(AddState::Idle),
            search: SearchState::new(),
            import: ImportState::new(),
            pane_frames: RwSignal::new(Vec::new()),
        }
    }

    /// A tag for a request about to be sent, remembered so its refusal undoes just it.
    pub fn open_request(&self, request: Request) -> RequestTag {
        self.requests
            .try_update_value(|requests| requests.open(request))
            .unwrap_or(RequestTag(0))
    }

    /// The request a refusal names, forgotten now.
    pub fn take_request(&self, tag: RequestTag) -> Option<Request> {
        self.requests
            .try_update_value(|requests| requests.take(tag))
            .flatten()
    }

    /// What the server said about `agent`; before `Connected`, what we know built in.
    pub fn agent_info(&self, agent: &AgentId) -> AgentInfo {
        let known = self
            .agents
            .with(|list| list.iter().find(|a| a.id == *agent).cloned());
        known.unwrap_or_else(|| builtin_info(agent))
    }

    /// The agents a new session may pick: the installed ones (the demo agent before the
    /// server has answered).
    pub fn installed_agents(&self) -> Vec<AgentInfo> {
        let list: Vec<AgentInfo> = self
            .agents
            .with(|list| list.iter().filter(|a| a.installed).cloned().collect());
        if list.is_empty() {
            vec![builtin_info(&AgentId::demo())]
        } else {
            list
        }
    }

    /// The view of `id`, without subscribing the caller to the list.
    pub fn view(&self, id: SessionId) -> Option<SessionView> {
        self.sessions
            .with_untracked(|list| list.iter().find(|v| v.id == id).cloned())
    }

    /// Whether `id` is known; tracks the list (for memos that follow appearance/removal).
    pub fn has_view(&self, id: SessionId) -> bool {
        self.sessions.with(|list| list.iter().any(|v| v.id == id))
    }

    /// Whether `id` is an open tab (untracked).
    pub fn is_open(&self, id: SessionId) -> bool {
        self.tabs.with_untracked(|tabs| tabs.contains(&id))
    }

    /// The session of the active tab, untracked.
    pub fn active_view(&self) -> Option<SessionView> {
        self.active.get_untracked().and_then(|id| self.view(id))
    }

    /// Makes the active session's read marker follow its message count.
    pub(crate) fn sync_read(&self, view: &SessionView) {
        if self.active.get_untracked() == Some(view.id) {
            view.mark_read();
        }
    }
}

/// An agent as far as the browser knows without the server: the built-in description, or
/// just its key with a `default` mode.
fn builtin_info(agent: &AgentId) -> AgentInfo {
    let builtin = agent.builtin();
    AgentInfo {
        id: agent.clone(),
        label: agent.label(),
        protocol: builtin.map_or(AgentProtocol::Acp, |b| b.protocol),
        modes: builtin.map_or_else(
            || vec!["default".to_owned()],
            |b| b.modes.iter().map(|m| (*m).to_owned()).collect(),
        ),
        models: builtin.is_some_and(|b| b.models),
        installed: agent.as_str() == crate::protocol::DEMO,
        path: None,
        version: None,
        install_hint: None,
        problem: None,
    }
}
