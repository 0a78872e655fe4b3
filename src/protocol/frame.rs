//! The frames of the one WebSocket per browser tab. Every frame about a session names it,
//! so many sessions share the socket without cross-talk.

use super::tag_first::tag_first;
use super::{
    AgentInfo, Attachment, Attempt, Budget, BudgetScope, ChangeSummary, ClientId, ClientLimits,
    ClientMsgId, CompareId, Deferred, DiffBody, ErrorCode, GitOutcome, ImportCandidate,
    ImportProblem, ImportProgress, NewSession, Project, ProjectId, RequestId, RequestTag,
    SearchGroup, SearchQuery, Seq, Session, SessionId, SessionPatch, WireEvent, WorktreeEnd,
};
use serde::{Deserialize, Serialize};

/// Largest client frame the server reads, in bytes; larger ones get `ErrorCode::TooLarge`.
pub const MAX_CLIENT_FRAME_BYTES: usize = 1024 * 1024;

/// A session the client already holds events of, and the newest seq it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePoint {
    /// The session.
    pub session: SessionId,
    /// The newest seq the client holds; replay starts after it.
    pub since: Seq,
    /// With `since` 0: send only the last this many turns (see [`ServerFrame::HistoryStart`]);
    /// `None` replays the whole log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_turns: Option<u32>,
}

/// One stored event with its place in the session's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedEvent {
    /// The event's position in the session's log.
    pub seq: Seq,
    /// The event (kept as JSON in the browser until its transcript folds it).
    pub event: WireEvent,
}

/// Browser -> server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame on a socket: who the client is and which sessions it already holds.
    Hello {
        /// This browser tab's id.
        client_id: ClientId,
        /// Sessions to subscribe to at once, each from its seq.
        #[serde(default)]
        resume: Vec<ResumePoint>,
    },
    /// Start receiving a session's events: the log after `since`, then live.
    Subscribe {
        /// The session.
        session: SessionId,
        /// Replay starts after this seq (0 for everything).
        since: Seq,
        /// With `since` 0: replay only the last this many turns; older ones come on request
        /// (`LoadEarlier`). Long transcripts open fast and the browser holds only what is read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tail_turns: Option<u32>,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Asks for the turns before `before` that a paged replay left out; answered with
    /// `ServerFrame::Earlier`.
    LoadEarlier {
        /// The session.
        session: SessionId,
        /// The oldest seq the client holds (the `first_seq` it was given).
        before: Seq,
        /// How many turns (each starting at a user message) to send.
        turns: u32,
        /// Instead of `turns`: every turn from the one holding this seq (a search result
        /// opened far back in a long log).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Seq>,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Stop receiving a session's events.
    Unsubscribe {
        /// The session.
        session: SessionId,
    },
    /// A user message. The first one of a draft carries `create`, so no empty session is stored.
    Send {
        /// The session (made by the browser for a draft).
        session: SessionId,
        /// The browser's id of this message; a resend with the same id is dropped.
        client_msg_id: ClientMsgId,
        /// The text.
        text: String,
        /// Attached files.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
        /// Present on a draft's first message: create the session with these settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        create: Option<NewSession>,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Stop the running turn.
    Cancel {
        /// The session.
        session: SessionId,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Answer a permission request.
    AnswerPermission {
        /// The session.
        session: SessionId,
        /// Which request.
        request_id: RequestId,
        /// The chosen option's id.
        option_id: String,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Change the agent's permission mode, also in the middle of a turn.
    SetPermissionMode {
        /// The session.
        session: SessionId,
        /// One of the agent's `permission_modes`.
        mode: String,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Run the last user message again (after the agent failed).
    Retry {
        /// The session.
        session: SessionId,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Which session this browser tab shows (`None`: none, or the page is hidden). The
    /// server counts viewers per session and keeps its read marker up to date for them.
    View {
        /// The session in front, if any.
        session: Option<SessionId>,
    },
    /// Give a session a new title.
    Rename {
        /// The session.
        session: SessionId,
        /// The new title.
        title: String,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// End a session: stop its agent and archive it.
    Archive {
        /// The session.
        session: SessionId,
        /// For a worktree session: what becomes of its worktree and branch (`Keep` when
        /// absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worktree: Option<WorktreeEnd>,
        /// With `RemoveBoth`: remove the branch even though its base lacks some of its
        /// commits (the user confirmed twice). Without it such a branch is refused.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        discard_unmerged: bool,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Sets a budget (stored; it overrides the configuration's). Sessions it applies to
    /// learn their new standing at once.
    SetBudget {
        /// Which budget.
        scope: BudgetScope,
        /// The session id (scope `session`) or project id (scope `project`); ignored for
        /// the day.
        #[serde(default)]
        target: String,
        /// The new limit (both figures absent: no limit).
        budget: Budget,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Lets one more turn of the session run although a budget that applies is used up
    /// (that turn is not stopped for it); the browser sends the message after this.
    AllowTurn {
        /// The session.
        session: SessionId,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// "Ask several": one session per attempt, each in its own worktree of `project`
    /// made from the same base commit, each sent `text`; grouped as one comparison.
    AskSeveral {
        /// The comparison's id (made by the browser, so a resend makes nothing twice).
        compare: CompareId,
        /// The project (a git repository).
        project: ProjectId,
        /// The branch the worktrees start from; the checkout's HEAD when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base_branch: Option<String>,
        /// 2 to 4 attempts, each with the session id the browser made for it.
        attempts: Vec<Attempt>,
        /// The prompt every attempt is sent.
        text: String,
        /// Images sent with it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
        /// The browser's id of the prompt (each attempt's first message uses it).
        client_msg_id: ClientMsgId,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// "Keep this one": merge the attempt's branch into its base and end the other
    /// attempts, their worktrees handled as `others`.
    KeepAttempt {
        /// The comparison.
        compare: CompareId,
        /// The attempt kept.
        session: SessionId,
        /// What becomes of the other attempts' worktrees and branches.
        others: WorktreeEnd,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Add a folder as a project; answered with `ProjectsChanged` (or an `Error`).
    AddProject {
        /// The folder (under `server.roots`; on another machine, an absolute path there).
        path: String,
        /// Its name; the folder's name when absent or blank.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The machine (its id) the folder is on; `None`: this server's host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        machine: Option<String>,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Give a project a new name.
    RenameProject {
        /// The project.
        project: ProjectId,
        /// The new name.
        name: String,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Remove a project from the list, ending its live sessions (their worktrees and
    /// branches are kept). No file is deleted.
    RemoveProject {
        /// The project.
        project: ProjectId,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// The folders whose path starts with `prefix` that may be added as projects
    /// (completion); answered with `Folders`.
    ListFolders {
        /// What the user typed so far.
        prefix: String,
    },
    /// Asks for a session's changes; answered with `Changes`.
    GetChanges {
        /// The session.
        session: SessionId,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Asks for one changed file's diff; answered with `Diff`.
    GetDiff {
        /// The session.
        session: SessionId,
        /// The file, as its `FileChange` names it.
        path: String,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Commit everything the session changed; answered with `GitDone`.
    Commit {
        /// The session.
        session: SessionId,
        /// The commit message.
        message: String,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Put one file (or, with no path, everything) back as it is in the base; answered with
    /// `GitDone`.
    Discard {
        /// The session.
        session: SessionId,
        /// The file; `None` for everything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Merge a worktree session's branch into its base branch; answered with `GitDone`.
    Merge {
        /// The session.
        session: SessionId,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Search every stored transcript; answered with `SearchResults`.
    Search {
        /// What to look for.
        query: SearchQuery,
        /// The browser's number for this request, echoed by the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// List the sessions other CLIs stored on this machine; answered with `ImportCandidates`.
    ScanImports {
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Import these found transcripts (their `path`s) in the background; progress comes
    /// as `ImportProgress` to every socket.
    StartImport {
        /// The candidates' paths.
        paths: Vec<String>,
        /// The browser's number for this request, echoed by an `Error` refusing it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<RequestTag>,
    },
    /// Stop the running import after the file it is on (what is stored stays).
    CancelImport,
    /// Keep-alive; answered with `Pong`.
    Ping,
}

tag_first! {
    #[serde(tag = "type", rename_all = "snake_case")]
    /// Server -> browser.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub enum ServerFrame {
        /// Answer to `Hello`: the server is ready; here is every session.
        Connected {
            /// The server's version.
            server_version: String,
            /// All sessions that are not archived.
            sessions: Vec<Session>,
            /// The agents this server can run (installed or not), in picker order.
            #[serde(default)]
            agents: Vec<AgentInfo>,
            /// The limits this server enforces on what a client sends; the browser checks
            /// against these before sending.
            #[serde(default)]
            limits: ClientLimits,
            /// Every project, in sidebar order.
            #[serde(default)]
            projects: Vec<Project>,
        },
        /// The project list changed (added, renamed, removed, its branches moved): all of it.
        ProjectsChanged {
            /// Every project, in sidebar order.
            projects: Vec<Project>,
        },
        /// Answer to `ListFolders`.
        Folders {
            /// The prefix asked about.
            prefix: String,
            /// Matching folders (at most 50), sorted.
            folders: Vec<String>,
        },
        /// Answer to `GetChanges`, and sent again after each commit, discard or merge.
        Changes {
            /// The session.
            session: SessionId,
            /// Its changes (decoded by the Changes panel's module).
            summary: Deferred<ChangeSummary>,
        },
        /// Answer to `GetDiff`.
        Diff {
            /// The session.
            session: SessionId,
            /// The file.
            path: String,
            /// Its diff against the base (decoded by the Changes panel's module).
            body: Deferred<DiffBody>,
        },
        /// Answer to `Commit`, `Discard` and `Merge`.
        GitDone {
            /// The session.
            session: SessionId,
            /// The request's tag.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            tag: Option<RequestTag>,
            /// What happened (decoded by the Changes panel's module).
            outcome: Deferred<GitOutcome>,
        },
        /// One event of a subscribed session.
        Event {
            /// The session.
            session: SessionId,
            /// The event's position in the session's log.
            seq: Seq,
            /// The event (kept as JSON in the browser until its transcript folds it).
            event: WireEvent,
        },
        /// A paged replay's first frame: the newest whole turns of the log in one frame (one
        /// render in the browser, not one per event); live `Event`s follow. The log before
        /// `first_seq` is not sent: the client asks for it with `LoadEarlier` on scrolling up.
        HistoryStart {
            /// The session.
            session: SessionId,
            /// The first seq sent (a user message: pages are whole turns); `Seq(1)` when the
            /// whole log is here (clients also read `Seq(0)` so).
            first_seq: Seq,
            /// The events from `first_seq` to the newest, oldest first.
            #[serde(default)]
            events: Vec<LoggedEvent>,
        },
        /// Answer to `LoadEarlier`: whole turns from `first_seq` up to (not including) `before`.
        Earlier {
            /// The session.
            session: SessionId,
            /// The `before` the client asked with.
            before: Seq,
            /// The first seq sent; `Seq(1)` when the log's beginning is reached (clients also
            /// read `Seq(0)` so).
            first_seq: Seq,
            /// The events, oldest first.
            events: Vec<LoggedEvent>,
            /// Why the page could not be read (then `events` is empty and `first_seq` equals
            /// `before`): the transcript stays as it is and the page may be asked for again. An
            /// answer of its own, not an `Error`, which would fail the session's pending sends.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            error: Option<String>,
        },
        /// A session was created (by this or another client).
        SessionCreated {
            /// The new session.
            session: Session,
        },
        /// Some of a session's fields changed. On a subscribed session's stream it comes in
        /// order with the session's events; on the list it is a summary for the sidebar, and a
        /// client ignores one whose `patch.rev` is not newer than what it holds.
        SessionUpdated {
            /// The session.
            session: SessionId,
            /// Only the changed fields.
            patch: SessionPatch,
        },
        /// A session was archived and leaves the list.
        SessionRemoved {
            /// The session.
            session: SessionId,
        },
        /// A request failed; the socket stays usable.
        Error {
            /// The session it was about, if any.
            session: Option<SessionId>,
            /// The `tag` of the request refused, when it had one; `None` for a frame that
            /// could not be read, and for failures no request caused (a log that cannot be read).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            tag: Option<RequestTag>,
            /// Machine-readable reason.
            code: ErrorCode,
            /// Human-readable reason.
            message: String,
        },
        /// Answer to `Search`.
        SearchResults {
            /// The `tag` of the search answered (a browser drops answers to older searches).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            tag: Option<RequestTag>,
            /// Matching sessions with their hits, in the query's order (decoded by the search
            /// pane's module).
            groups: Deferred<Vec<SearchGroup>>,
            /// True when there were more hits than sent.
            #[serde(default)]
            more: bool,
        },
        /// Answer to `ScanImports`.
        ImportCandidates {
            /// Every transcript found, newest first (decoded by the import pane's module).
            candidates: Deferred<Vec<ImportCandidate>>,
            /// The stores looked in, with what was found missing or unreadable.
            #[serde(default)]
            problems: Deferred<Vec<ImportProblem>>,
        },
        /// An import's progress (to every socket, so every tab shows it); the last one has its
        /// report.
        ImportProgress {
            /// Where it is (decoded by the import pane's module).
            progress: Deferred<ImportProgress>,
        },
        /// Answer to `Ping`.
        Pong,
    }
}

impl ServerFrame {
    /// Builds an error frame that answers no particular request.
    pub fn error(session: Option<SessionId>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            session,
            tag: None,
            code,
            message: message.into(),
        }
    }
}

impl ClientFrame {
    /// The session a frame is about, if any.
    pub fn session(&self) -> Option<SessionId> {
        match self {
            ClientFrame::Subscribe { session, .. }
            | ClientFrame::LoadEarlier { session, .. }
            | ClientFrame::Unsubscribe { session }
            | ClientFrame::Send { session, .. }
            | ClientFrame::Cancel { session, .. }
            | ClientFrame::AnswerPermission { session, .. }
            | ClientFrame::Rename { session, .. }
            | ClientFrame::SetPermissionMode { session, .. }
            | ClientFrame::Retry { session, .. }
            | ClientFrame::Archive { session, .. }
            | ClientFrame::GetChanges { session, .. }
            | ClientFrame::GetDiff { session, .. }
            | ClientFrame::Commit { session, .. }
            | ClientFrame::Discard { session, .. }
            | ClientFrame::Merge { session, .. }
            | ClientFrame::AllowTurn { session, .. }
            | ClientFrame::KeepAttempt { session, .. } => Some(*session),
            ClientFrame::View { session } => *session,
            ClientFrame::Hello { .. }
            | ClientFrame::Ping
            | ClientFrame::AddProject { .. }
            | ClientFrame::RenameProject { .. }
            | ClientFrame::RemoveProject { .. }
            | ClientFrame::ListFolders { .. }
            | ClientFrame::Search { .. }
            | ClientFrame::ScanImports { .. }
            | ClientFrame::StartImport { .. }
            | ClientFrame::SetBudget { .. }
            | ClientFrame::AskSeveral { .. }
            | ClientFrame::CancelImport => None,
        }
    }

    /// The request's tag, if the frame is a request that carries one.
    pub fn tag(&self) -> Option<RequestTag> {
        match self {
            ClientFrame::Subscribe { tag, .. }
            | ClientFrame::LoadEarlier { tag, .. }
            | ClientFrame::Send { tag, .. }
            | ClientFrame::Cancel { tag, .. }
            | ClientFrame::AnswerPermission { tag, .. }
            | ClientFrame::Rename { tag, .. }
            | ClientFrame::SetPermissionMode { tag, .. }
            | ClientFrame::Retry { tag, .. }
            | ClientFrame::Archive { tag, .. }
            | ClientFrame::AddProject { tag, .. }
            | ClientFrame::RenameProject { tag, .. }
            | ClientFrame::RemoveProject { tag, .. }
            | ClientFrame::GetChanges { tag, .. }
            | ClientFrame::GetDiff { tag, .. }
            | ClientFrame::Commit { tag, .. }
            | ClientFrame::Discard { tag, .. }
            | ClientFrame::Merge { tag, .. }
            | ClientFrame::Search { tag, .. }
            | ClientFrame::ScanImports { tag }
            | ClientFrame::StartImport { tag, .. }
            | ClientFrame::SetBudget { tag, .. }
            | ClientFrame::AllowTurn { tag, .. }
            | ClientFrame::AskSeveral { tag, .. }
            | ClientFrame::KeepAttempt { tag, .. } => *tag,
            ClientFrame::Hello { .. }
            | ClientFrame::CancelImport
            | ClientFrame::ListFolders { .. }
            | ClientFrame::Unsubscribe { .. }
            | ClientFrame::View { .. }
            | ClientFrame::Ping => None,
        }
    }
}
