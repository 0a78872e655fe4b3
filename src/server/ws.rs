//! GET /ws: one WebSocket per browser tab, carrying every session's traffic. This handler
//! only parses, routes to the registry's services and serializes; catching a subscriber up
//! from the log and forwarding a session's stream is `replay`'s. It is generic over the
//! socket's sink and stream, so tests drive it in-process.

mod requests;

use super::registry::{AskSeveral, Registry, ServiceError};
use super::replay::{earlier_page, send_frame, PageStart, Subscription, MAX_PAGE_TURNS};
use super::wire::WireFrame;
use super::AppState;
use crate::protocol::{ClientFrame, ErrorCode, RequestTag, Seq, ServerFrame, SessionId};
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

/// Frames queued for one socket's writer before senders wait.
const OUTBOX: usize = 1024;
/// How long a socket refused for an oversized frame stays open, unread, after its Error and
/// Close frames: hanging up at once, with the rest of that frame unread, makes the kernel
/// reset the connection, and the peer could lose the frames that say why.
const TOO_LARGE_LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// Upgrades the request to the multiplexed session socket.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    login: Option<axum::Extension<super::guard::CurrentLogin>>,
) -> Response {
    let config = state.registry.config();
    // One browser login holds at most so many sockets (a tab holds one): a leaked cookie
    // or a runaway page cannot open thousands.
    let login = login.and_then(|axum::Extension(super::guard::CurrentLogin(id))| id);
    let slot = match (login, state.access.logins()) {
        (Some(id), Some(logins)) => match logins.open_socket(&id, config.max_sockets_per_login) {
            Ok(slot) => Some(slot),
            Err(open) => {
                tracing::warn!(open, "socket refused: too many for one login");
                let message = format!(
                    "{open} sockets are open for this login, the limit \
                     (limits.max_sockets_per_login); close some tabs"
                );
                return (axum::http::StatusCode::TOO_MANY_REQUESTS, message).into_response();
            }
        },
        _ => None,
    };
    // The socket's own limit is the configured one, so an oversized frame is refused from
    // its header, before its payload is read into memory.
    ws.max_message_size(config.max_frame_bytes)
        .max_frame_size(config.max_frame_bytes)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            serve(sink, stream, state.registry).await;
            drop(slot);
        })
}

/// One socket's routing state.
struct SocketRoutes {
    /// The services.
    registry: Arc<Registry>,
    /// Frames to the browser, written by the writer task in order.
    out: mpsc::Sender<WireFrame>,
    /// One forwarder per subscribed session; aborted on unsubscribe and disconnect.
    subscriptions: HashMap<SessionId, JoinHandle<()>>,
    /// The page of earlier turns being read, per session: a new request replaces it (the
    /// browser asks for one page at a time), and a disconnect aborts it.
    pages: HashMap<SessionId, JoinHandle<()>>,
    /// List updates are forwarded only after Hello was answered.
    hello_done: bool,
    /// The session this browser tab shows, as it last said.
    viewing: Option<SessionId>,
    /// The session this socket is counted as a viewer of (a draft is not, until created).
    counted: Option<SessionId>,
}

/// Serves one socket until the client goes: reads frames from `stream`, writes frames to
/// `sink` (from a writer task of its own, so a slow client never holds the reader).
pub async fn serve<W, R, E>(sink: W, mut stream: R, registry: Arc<Registry>)
where
    W: Sink<Message> + Unpin + Send + 'static,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Display,
{
    let (out, mut outbox) = mpsc::channel::<WireFrame>(OUTBOX);
    let writer = tokio::spawn(async move {
        let mut sink = sink;
        while let Some(frame) = outbox.recv().await {
            if sink.send(Message::Text(frame.text)).await.is_err() {
                break;
            }
        }
        sink
    });
    let mut list = registry.list_updates();
    let mut routes = SocketRoutes {
        registry,
        out,
        subscriptions: HashMap::new(),
        pages: HashMap::new(),
        hello_done: false,
        viewing: None,
        counted: None,
    };
    let mut budget =
        crate::server::rate::RateBudget::new(routes.registry.config().max_frames_per_sec);
    let mut closing = None;
    let hello_wait = tokio::time::sleep(routes.registry.config().hello_wait);
    tokio::pin!(hello_wait);
    loop {
        tokio::select! {
            () = &mut hello_wait, if !routes.hello_done => {
                tracing::debug!("socket closed: no Hello in time");
                closing = Some(Closing::NoHello);
                break;
            }
            message = stream.next() => match message {
                Some(Ok(Message::Text(_) | Message::Binary(_))) if !budget.take() => {
                    let limit = routes.registry.config().max_frames_per_sec;
                    tracing::warn!(limit, "socket closed: too many frames");
                    routes.error(None, None, ErrorCode::RateLimited, format!("more than {limit} frames per second; this socket is closed (reconnect and slow down)")).await;
                    closing = Some(Closing::RateLimited);
                    break;
                }
                Some(Ok(Message::Text(text))) => routes.on_text(text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    routes.error(None, None, ErrorCode::Malformed, "binary frames are not accepted; send JSON text").await;
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    // tungstenite's capacity error, through axum's error (the type is
                    // generic here, so it is known by its text). The frame's header was
                    // read, its payload was not, so the socket cannot go on.
                    let text = e.to_string();
                    if text.contains("too long") || text.contains("Space limit") {
                        let limit = routes.registry.config().max_frame_bytes;
                        tracing::warn!(limit, "socket closed: frame over the limit");
                        routes.error(None, None, ErrorCode::TooLarge, format!("a frame over the {limit}-byte limit; this socket is closed (reconnect; nothing sent before it is lost)")).await;
                        closing = Some(Closing::TooLarge);
                    } else {
                        tracing::debug!("socket closed: {e}");
                    }
                    break;
                }
            },
            frame = list.recv() => match frame {
                Ok(frame) => routes.on_list_frame(frame).await,
                Err(broadcast::error::RecvError::Lagged(_)) => routes.send_connected().await,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    for (_, task) in routes.subscriptions.drain().chain(routes.pages.drain()) {
        task.abort();
    }
    routes.view(None).await;
    drop(routes);
    let Ok(mut sink) = writer.await else {
        return;
    };
    if let Some(why) = closing {
        close_politely(&mut sink, &mut stream, why).await;
    }
}

/// Why the server closes a socket itself.
#[derive(Debug, Clone, Copy)]
enum Closing {
    /// Too many frames a second.
    RateLimited,
    /// A frame over the size limit.
    TooLarge,
    /// No `Hello` within `limits.hello_wait_secs` (a page whose app never started).
    NoHello,
}

/// Sends a Close saying why, then waits for the peer to close: a rate-limited socket is read
/// (discarding) until the peer closes or two seconds pass; an oversized frame cannot be read
/// past, so that socket is held open unread for as long. Hanging up with the peer's bytes
/// unread would reset the connection, and the peer could lose the Error frame that says why.
async fn close_politely<W, R, E>(sink: &mut W, stream: &mut R, why: Closing)
where
    W: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    use axum::extract::ws::close_code;
    let close = match why {
        Closing::RateLimited => axum::extract::ws::CloseFrame {
            code: close_code::POLICY,
            reason: "rate limited".into(),
        },
        Closing::TooLarge => axum::extract::ws::CloseFrame {
            code: close_code::SIZE,
            reason: "frame too large".into(),
        },
        Closing::NoHello => axum::extract::ws::CloseFrame {
            code: close_code::POLICY,
            reason: "no Hello in time".into(),
        },
    };
    if sink.send(Message::Close(Some(close))).await.is_err() {
        return;
    }
    if matches!(why, Closing::TooLarge) {
        tokio::time::sleep(TOO_LARGE_LINGER).await;
        return;
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, stream.next()).await {
        if matches!(message, Message::Close(_)) {
            break;
        }
    }
}

impl SocketRoutes {
    async fn send(&self, frame: ServerFrame) {
        send_frame(&self.out, &frame).await;
    }

    async fn error(
        &self,
        session: Option<SessionId>,
        tag: Option<RequestTag>,
        code: ErrorCode,
        message: impl Into<String>,
    ) {
        self.send(ServerFrame::Error {
            session,
            tag,
            code,
            message: message.into(),
        })
        .await;
    }

    /// Moves this socket's viewer count to `session`.
    async fn view(&mut self, session: Option<SessionId>) {
        self.viewing = session;
        if self.counted == session {
            return;
        }
        if let Some(old) = self.counted.take() {
            self.registry.count_viewer(old, -1).await;
        }
        if let Some(new) = session {
            if self.registry.count_viewer(new, 1).await {
                self.counted = Some(new);
            }
        }
    }

    async fn send_connected(&self) {
        self.send(ServerFrame::Connected {
            server_version: env!("CARGO_PKG_VERSION").into(),
            sessions: self.registry.sessions(),
            agents: self.registry.agents(),
            limits: self.registry.client_limits(),
            projects: self.registry.project_list(),
        })
        .await;
    }

    /// A session list change. A summary of a session this socket is subscribed to is not
    /// sent: its stream carries the same change, in order with its events.
    async fn on_list_frame(&mut self, frame: ServerFrame) {
        match &frame {
            ServerFrame::SessionRemoved { session } => {
                if let Some(forwarder) = self.subscriptions.remove(session) {
                    forwarder.abort();
                }
            }
            // (A forwarder that ended, its log unreadable, no longer brings them.)
            ServerFrame::SessionUpdated { session, .. }
                if self
                    .subscriptions
                    .get(session)
                    .is_some_and(|forwarder| !forwarder.is_finished()) =>
            {
                return;
            }
            _ => {}
        }
        if self.hello_done {
            self.send(frame).await;
        }
    }

    async fn on_text(&mut self, text: &str) {
        let limit = self.registry.config().max_frame_bytes;
        if text.len() > limit {
            let message = format!(
                "frame of {} bytes is over the {limit}-byte limit",
                text.len()
            );
            return self.error(None, None, ErrorCode::TooLarge, message).await;
        }
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                let message = format!("unreadable frame: {e}");
                return self.error(None, None, ErrorCode::Malformed, message).await;
            }
        };
        let (session, tag) = (frame.session(), frame.tag());
        if let Err(e) = self.dispatch(frame).await {
            self.error(session, tag, e.code(), e.to_string()).await;
        }
    }

    async fn dispatch(&mut self, frame: ClientFrame) -> Result<(), ServiceError> {
        let registry = Arc::clone(&self.registry);
        match frame {
            ClientFrame::Hello { client_id, resume } => {
                tracing::debug!(client = %client_id.0, "hello");
                self.hello_done = true;
                self.send_connected().await;
                for point in resume {
                    if let Err(e) = self.subscribe(point.session, point.since, point.tail_turns) {
                        self.error(Some(point.session), None, e.code(), e.to_string())
                            .await;
                    }
                }
                Ok(())
            }
            ClientFrame::Subscribe {
                session,
                since,
                tail_turns,
                ..
            } => self.subscribe(session, since, tail_turns),
            ClientFrame::LoadEarlier {
                session,
                before,
                turns,
                from,
                ..
            } => {
                let start = match from {
                    Some(seq) => PageStart::Holding(seq),
                    None => PageStart::Turns(turns.clamp(1, MAX_PAGE_TURNS)),
                };
                self.load_earlier(session, before, start)
            }
            ClientFrame::Unsubscribe { session } => {
                if let Some(forwarder) = self.subscriptions.remove(&session) {
                    forwarder.abort();
                }
                Ok(())
            }
            ClientFrame::Send {
                session,
                client_msg_id,
                text,
                attachments,
                create,
                ..
            } => {
                let creating = create.is_some();
                registry
                    .send(session, client_msg_id, text, attachments, create)
                    .await?;
                if creating && !self.subscriptions.contains_key(&session) {
                    // The message was sent: a failure here is logged, not answered as
                    // the send's (the sweep mirrors the session within seconds anyway).
                    if let Err(e) = registry.mirror_made_elsewhere(session).await {
                        tracing::warn!(%session, "cannot mirror a session made on another node yet: {e}");
                    }
                    self.subscribe(session, Seq(0), None)?;
                }
                if creating && self.viewing == Some(session) {
                    // The draft this tab shows exists now: count it.
                    self.view(Some(session)).await;
                }
                Ok(())
            }
            ClientFrame::Cancel { session, .. } => registry.cancel(session).await,
            ClientFrame::SetBudget {
                scope,
                target,
                budget,
                ..
            } => registry.set_budget(scope, &target, budget).await,
            ClientFrame::AllowTurn { session, .. } => registry.allow_turn(session).await,
            ClientFrame::AskSeveral {
                compare,
                project,
                base_branch,
                attempts,
                text,
                attachments,
                client_msg_id,
                ..
            } => {
                let ask = AskSeveral {
                    compare,
                    project,
                    base_branch,
                    attempts,
                    text,
                    attachments,
                    client_msg_id,
                };
                self.ask_several(ask).await
            }
            ClientFrame::KeepAttempt {
                compare,
                session,
                others,
                tag,
            } => {
                let outcome = registry.keep_attempt(compare, session, others).await;
                self.git_done(session, tag, outcome).await
            }
            ClientFrame::AddProject {
                path,
                name,
                machine,
                ..
            } => registry
                .add_project(&path, name.as_deref(), machine)
                .await
                .map(drop),
            ClientFrame::RenameProject { project, name, .. } => {
                registry.rename_project(project, &name).await
            }
            ClientFrame::RemoveProject { project, .. } => registry.remove_project(project).await,
            ClientFrame::ListFolders { prefix } => {
                let folders = registry.folders(&prefix);
                self.send(ServerFrame::Folders { prefix, folders }).await;
                Ok(())
            }
            ClientFrame::GetChanges { session, .. } => self.send_changes(session).await,
            ClientFrame::GetDiff { session, path, .. } => {
                let body = registry.diff(session, &path).await?;
                self.send(ServerFrame::Diff {
                    session,
                    path,
                    body: body.into(),
                })
                .await;
                Ok(())
            }
            ClientFrame::Commit {
                session,
                message,
                tag,
            } => {
                let outcome = registry.commit(session, &message).await;
                self.git_done(session, tag, outcome).await
            }
            ClientFrame::Discard { session, path, tag } => {
                let outcome = registry.discard(session, path.as_deref()).await;
                self.git_done(session, tag, outcome).await
            }
            ClientFrame::Merge { session, tag } => {
                let outcome = registry.merge(session).await;
                self.git_done(session, tag, outcome).await
            }
            ClientFrame::AnswerPermission {
                session,
                request_id,
                option_id,
                ..
            } => {
                registry
                    .answer_permission(session, request_id, option_id)
                    .await
            }
            ClientFrame::SetPermissionMode { session, mode, .. } => {
                registry.set_permission_mode(session, mode).await
            }
            ClientFrame::Retry { session, .. } => registry.retry(session).await,
            ClientFrame::View { session } => {
                self.view(session).await;
                Ok(())
            }
            ClientFrame::Rename { session, title, .. } => registry.rename(session, title).await,
            ClientFrame::Archive {
                session,
                worktree,
                discard_unmerged,
                ..
            } => {
                registry
                    .end_session(session, worktree, discard_unmerged)
                    .await
            }
            ClientFrame::Search { query, tag } => self.search(query, tag).await,
            ClientFrame::ScanImports { .. } => {
                let frame = registry.importer().scan(&registry).await;
                self.send(frame).await;
                Ok(())
            }
            ClientFrame::StartImport { paths, .. } => {
                registry
                    .importer()
                    .start(Arc::clone(&registry), paths)
                    .await
            }
            ClientFrame::CancelImport => {
                registry.importer().cancel();
                Ok(())
            }
            ClientFrame::Ping => {
                self.send(ServerFrame::Pong).await;
                Ok(())
            }
        }
    }

    /// Starts forwarding a session's stream to this socket, from the client's seq.
    fn subscribe(
        &mut self,
        session: SessionId,
        since: Seq,
        tail_turns: Option<u32>,
    ) -> Result<(), ServiceError> {
        let subscription = Subscription {
            session,
            since,
            tail_turns,
            stream: self.registry.stream(session)?,
            db: self.registry.db().clone(),
            out: self.out.clone(),
        };
        if let Some(previous) = self.subscriptions.remove(&session) {
            previous.abort();
        }
        let forwarder = tokio::spawn(subscription.run());
        self.subscriptions.insert(session, forwarder);
        Ok(())
    }

    /// Sends the whole turns before `before` (a page of a long transcript, read on scroll).
    /// The page is read in a task of its own, so the socket's next frames (a message being
    /// sent, say) do not wait for the database; at most one per session is under way.
    fn load_earlier(
        &mut self,
        session: SessionId,
        before: Seq,
        start: PageStart,
    ) -> Result<(), ServiceError> {
        // Known session or `unknown_session`, as for every request.
        self.registry.check_known(session)?;
        let db = self.registry.db().clone();
        let out = self.out.clone();
        let page = tokio::spawn(async move {
            let frame = earlier_page(&db, session, before, start).await;
            send_frame(&out, &frame).await;
        });
        if let Some(previous) = self.pages.insert(session, page) {
            previous.abort();
        }
        Ok(())
    }
}
