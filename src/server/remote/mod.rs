//! The command line's actions on a running server, through its HTTP API:
//! `switchboard sessions`, `send`, `stop`, `approve`/`deny` and `tail`. Plain text for
//! people, `--json` for programs. Where the server is and the token come from the flags,
//! the environment (`SWITCHBOARD_SERVER`, `SWITCHBOARD_API_TOKEN`), or the `cli.json` the
//! server writes into its data dir at start (same machine, same user).

mod follow;

use super::api::{Accepted, ApiSession, ProjectList, SessionDetail, SessionList};
use super::api_client::{ApiClient, ClientError, SseStream};
use super::api_tokens::{CliFile, CLI_FILE};
use crate::protocol::{ClientMsgId, ServerFrame, SessionEvent};
use follow::{Ending, Step};
use hyper::Method;
use std::io::Write;
use std::path::Path;

/// Where the server is and how to be let in, as the user gave them (flags or env).
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--server` / `SWITCHBOARD_SERVER`.
    pub server: Option<String>,
    /// `--token` / `SWITCHBOARD_API_TOKEN`.
    pub token: Option<String>,
    /// `--data-dir` / `SWITCHBOARD_DATA_DIR` (default `data`): where `cli.json` is.
    pub data_dir: Option<std::path::PathBuf>,
}

/// What went wrong, for the exit status and the message.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No server address or token could be found.
    #[error("{0}")]
    Setup(String),
    /// The API refused or could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The agent's turn failed.
    #[error("the agent failed: {0}")]
    AgentFailed(String),
    /// The turn was stopped.
    #[error("the turn was stopped")]
    Stopped,
    /// The message was stored but never ran.
    #[error("the message was not sent to the agent: {0}")]
    NotSent(&'static str),
}

impl Target {
    /// The client: flags and environment first, else the data dir's `cli.json`.
    pub fn client(&self) -> Result<ApiClient, RemoteError> {
        let dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("data"));
        let file = read_cli_file(&dir.join(CLI_FILE));
        let server = match (&self.server, &file) {
            (Some(server), _) => server.clone(),
            (None, Ok(file)) => file.server.clone(),
            (None, Err(why)) => {
                return Err(RemoteError::Setup(format!(
                    "no server given (--server or SWITCHBOARD_SERVER), and {why}"
                )))
            }
        };
        let token = match (&self.token, file) {
            (Some(token), _) => Some(token.clone()),
            // The file's token is for its own server only.
            (None, Ok(file)) if self.server.as_deref().is_none_or(|s| same(s, &file.server)) => {
                Some(file.token)
            }
            _ => None,
        };
        Ok(ApiClient::new(&server, token)?)
    }
}

/// Whether two server addresses name the same one (`http://` optional).
fn same(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        s.trim()
            .trim_end_matches('/')
            .trim_start_matches("http://")
            .to_owned()
    };
    strip(a) == strip(b)
}

fn read_cli_file(path: &Path) -> Result<CliFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{} cannot be read ({e}); is a server running on that data dir?",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not readable: {e}", path.display()))
}

/// `switchboard sessions`: a table, or the list as JSON.
pub async fn sessions(client: &ApiClient, json: bool) -> Result<(), RemoteError> {
    let list: SessionList = client.json(Method::GET, "/api/v1/sessions", None).await?;
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(());
    }
    let _ = writeln!(
        out,
        "{:<36}  {:<8}  {:<20}  {:>5}  TITLE",
        "ID", "AGENT", "STATE", "SEQ"
    );
    for s in &list.sessions {
        let _ = writeln!(
            out,
            "{:<36}  {:<8}  {:<20}  {:>5}  {}",
            s.id, s.agent, s.state, s.last_seq, s.title
        );
    }
    Ok(())
}

/// What `send` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    /// An existing session, or `None` with `new`.
    pub session: Option<String>,
    /// The agent of a new session.
    pub agent: Option<String>,
    /// A project (id or name) for a new session.
    pub project: Option<String>,
    /// A folder for a new session.
    pub cwd: Option<String>,
    /// The message.
    pub text: String,
    /// Follow the turn to its end, printing the reply.
    pub wait: bool,
    /// Print JSON.
    pub json: bool,
}

/// `switchboard send`: sends (making the session with `--new`), then with `--wait` prints
/// the reply as it streams and ends with the turn; an agent error is an error.
pub async fn send(client: &ApiClient, request: SendRequest) -> Result<(), RemoteError> {
    let client_msg_id = ClientMsgId(uuid::Uuid::new_v4());
    let (accepted, since): (Accepted, u64) = match &request.session {
        Some(session) => {
            // Where the log is before the message, to follow from there.
            let before: SessionDetail = client
                .json(
                    Method::GET,
                    &format!("/api/v1/sessions/{session}?limit=1&since=0&until=1"),
                    None,
                )
                .await?;
            let body = serde_json::json!({ "text": request.text, "client_msg_id": client_msg_id });
            let path = format!("/api/v1/sessions/{session}/messages");
            let accepted = client.json(Method::POST, &path, Some(&body)).await?;
            (accepted, before.session.last_seq)
        }
        None => {
            let project = match &request.project {
                Some(project) => Some(project_id(client, project).await?),
                None => None,
            };
            let body = serde_json::json!({
                "agent": request.agent.clone().unwrap_or_else(|| "demo".into()),
                "text": request.text,
                "project": project,
                "cwd": request.cwd,
                "client_msg_id": client_msg_id,
            });
            let accepted = client
                .json(Method::POST, "/api/v1/sessions", Some(&body))
                .await?;
            (accepted, 0)
        }
    };
    let session = accepted.session.id.clone();
    if !request.wait {
        print_accepted(&accepted, request.json);
        return Ok(());
    }
    if !request.json {
        eprintln!("session {session}");
    }
    let stream = client.events(&session, since).await?;
    follow_turn(stream, client_msg_id, request.json).await
}

fn print_accepted(accepted: &Accepted, json: bool) {
    if json {
        println!("{}", serde_json::to_string(accepted).unwrap_or_default());
    } else {
        println!("{}", accepted.session.id);
    }
}

/// A project's id from its id or name.
async fn project_id(client: &ApiClient, wanted: &str) -> Result<String, RemoteError> {
    let list: ProjectList = client.json(Method::GET, "/api/v1/projects", None).await?;
    list.projects
        .iter()
        .find(|p| p.id == wanted || p.name == wanted)
        .map(|p| p.id.clone())
        .ok_or_else(|| RemoteError::Setup(format!("no project is named or numbered '{wanted}'")))
}

/// Prints the turn that answers message `ours` as it streams, and ends with it: the turn
/// whose `TurnStarted` names the message (`follow::TurnWatch`). A message that never runs
/// (dropped by a Stop or a used-up budget) ends the wait with an error instead of a hang.
async fn follow_turn(
    mut stream: SseStream,
    ours: ClientMsgId,
    json: bool,
) -> Result<(), RemoteError> {
    let mut watch = follow::TurnWatch::new(ours);
    let mut out = std::io::stdout();
    while let Some(sse) = stream.next().await? {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(&sse.data) else {
            continue;
        };
        let step = watch.step(&frame);
        if let (ServerFrame::Event { seq, event, .. }, true) = (&frame, step != Step::Skip) {
            if json {
                let line = serde_json::json!({ "seq": seq.0, "event": event });
                let _ = writeln!(out, "{line}");
            } else if !matches!(
                event,
                SessionEvent::UserMessage { .. }
                    | SessionEvent::TurnCompleted { .. }
                    | SessionEvent::Error { .. }
            ) {
                print_event(&mut out, event);
            }
        }
        let Step::Done(ending) = step else { continue };
        if !json {
            let _ = writeln!(out);
        }
        let _ = out.flush();
        return match ending {
            Ending::Completed => Ok(()),
            Ending::Stopped => Err(RemoteError::Stopped),
            Ending::Failed(message) => Err(RemoteError::AgentFailed(message)),
            Ending::NotSent(why) => Err(RemoteError::NotSent(why)),
        };
    }
    Err(RemoteError::Client(ClientError::Http(
        "the event stream ended before the turn".into(),
    )))
}

/// The seq and event of an SSE `event` frame's data.
fn stored_event(data: &str) -> Option<(u64, SessionEvent)> {
    match serde_json::from_str::<ServerFrame>(data).ok()? {
        ServerFrame::Event { seq, event, .. } => Some((seq.0, event)),
        _ => None,
    }
}

/// An event for people: reply text as it comes, one line for the rest.
fn print_event(out: &mut impl Write, event: &SessionEvent) {
    let _ = match event {
        SessionEvent::AssistantDelta { text, .. } => write!(out, "{text}"),
        SessionEvent::AssistantMessage { .. } | SessionEvent::Thinking { .. } => Ok(()),
        SessionEvent::UserMessage { text, .. } => writeln!(out, "> {text}"),
        SessionEvent::ToolCall { title, name, .. } => writeln!(out, "\n[{name}] {title}"),
        SessionEvent::ToolResult {
            is_error: true,
            output,
            ..
        } => writeln!(out, "[tool failed] {output}"),
        SessionEvent::PermissionRequested {
            request_id, title, ..
        } => writeln!(
            out,
            "\n[permission] {title}: switchboard approve|deny <session> {}",
            request_id.0
        ),
        SessionEvent::PermissionResolved { allowed, .. } => {
            writeln!(
                out,
                "[permission] {}",
                if *allowed { "allowed" } else { "denied" }
            )
        }
        SessionEvent::TurnCompleted {
            stop_reason,
            duration_ms,
            ..
        } => {
            writeln!(out, "\n[turn ended: {stop_reason}, {duration_ms} ms]")
        }
        SessionEvent::Error { message, .. } => writeln!(out, "\n[error] {message}"),
        SessionEvent::Notice { message } => writeln!(out, "[notice] {message}"),
        _ => Ok(()),
    };
    let _ = out.flush();
}

/// `switchboard stop SESSION`.
pub async fn stop(client: &ApiClient, session: &str) -> Result<(), RemoteError> {
    let path = format!("/api/v1/sessions/{session}/stop");
    Ok(client.act(Method::POST, &path, None).await?)
}

/// `switchboard approve|deny SESSION REQUEST`.
pub async fn answer(
    client: &ApiClient,
    session: &str,
    request: &str,
    allow: bool,
) -> Result<(), RemoteError> {
    let path = format!("/api/v1/sessions/{session}/permissions/{request}");
    let body = serde_json::json!({ "decision": if allow { "allow" } else { "deny" } });
    Ok(client.act(Method::POST, &path, Some(&body)).await?)
}

/// `switchboard tail SESSION`: the session's events after `since`, then live ones, until
/// the session ends (or the user stops it). With `until_idle`, ends when a turn ends.
pub async fn tail(
    client: &ApiClient,
    session: &str,
    since: u64,
    json: bool,
    until_idle: bool,
) -> Result<(), RemoteError> {
    let detail: SessionDetail = client
        .json(
            Method::GET,
            &format!("/api/v1/sessions/{session}?limit=1"),
            None,
        )
        .await?;
    let session_info: ApiSession = detail.session;
    let mut stream = client.events(&session_info.id, since).await?;
    let mut out = std::io::stdout();
    while let Some(sse) = stream.next().await? {
        let Some((seq, event)) = stored_event(&sse.data) else {
            continue;
        };
        if json {
            let _ = writeln!(out, "{}", serde_json::json!({ "seq": seq, "event": event }));
            let _ = out.flush();
        } else {
            print_event(&mut out, &event);
        }
        let turn_over = matches!(
            event,
            SessionEvent::TurnCompleted { .. } | SessionEvent::Error { .. }
        );
        if until_idle && turn_over {
            return Ok(());
        }
    }
    Ok(())
}
