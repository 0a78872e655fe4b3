//! GET /ws: one WebSocket per browser tab, carrying every session's traffic. This handler
//! only parses, routes to the registry's services and serializes; replay of a session's
//! log followed by its live events happens in one forwarder task per subscription.

use super::registry::{Registry, ServiceError};
use super::wire::WireFrame;
use super::AppState;
use crate::protocol::{ClientFrame, ErrorCode, LoggedEvent, Seq, ServerFrame, SessionId};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

/// The most turns one page (`tail_turns`, `LoadEarlier`) holds, whatever the client asks:
/// the whole log in one frame would hold the socket, and the memory of both sides.
const MAX_PAGE_TURNS: u32 = 100;

/// Frames queued for one socket's writer before senders wait.
const OUTBOX: usize = 1024;
/// Frames larger than this close the socket (tungstenite's limit); frames between the
/// configured limit and this one get an error frame and the socket stays open.
const HARD_FRAME_LIMIT: usize = 16 * 1024 * 1024;

/// Upgrades the request to the multiplexed session socket.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
        .on_upgrade(move |socket| serve(socket, state.registry))
}

/// One socket's routing state.
struct Connection {
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

async fn serve(socket: WebSocket, registry: Arc<Registry>) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut outbox) = mpsc::channel::<WireFrame>(OUTBOX);
    let writer = tokio::spawn(async move {
        while let Some(frame) = outbox.recv().await {
            if sink.send(Message::Text(frame.text)).await.is_err() {
                break;
            }
        }
        sink
    });
    let mut list = registry.list_updates();
    let mut connection = Connection {
        registry,
        out,
        subscriptions: HashMap::new(),
        pages: HashMap::new(),
        hello_done: false,
        viewing: None,
        counted: None,
    };
    let mut budget = FrameBudget::new(connection.registry.config().max_frames_per_sec);
    let mut rate_limited = false;
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(_) | Message::Binary(_))) if !budget.take() => {
                    let limit = connection.registry.config().max_frames_per_sec;
                    tracing::warn!(limit, "socket closed: too many frames");
                    connection.error(None, ErrorCode::RateLimited, format!("more than {limit} frames per second; this socket is closed (reconnect and slow down)")).await;
                    rate_limited = true;
                    break;
                }
                Some(Ok(Message::Text(text))) => connection.on_text(text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    connection.error(None, ErrorCode::Malformed, "binary frames are not accepted; send JSON text").await;
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!("socket closed: {e}");
                    break;
                }
            },
            frame = list.recv() => match frame {
                Ok(frame) => connection.on_list_frame(frame).await,
                Err(broadcast::error::RecvError::Lagged(_)) => connection.send_connected().await,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    for (_, task) in connection
        .subscriptions
        .drain()
        .chain(connection.pages.drain())
    {
        task.abort();
    }
    connection.view(None).await;
    drop(connection);
    let Ok(mut sink) = writer.await else {
        return;
    };
    if rate_limited {
        close_politely(&mut sink, &mut stream).await;
    }
}

/// Sends a policy-violation Close and reads (discarding) until the peer closes or two
/// seconds pass: hanging up with its frames unread would reset the connection, and the
/// peer could lose the Error frame that says why.
async fn close_politely(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    stream: &mut futures::stream::SplitStream<WebSocket>,
) {
    let close = axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::POLICY,
        reason: "rate limited".into(),
    };
    if sink.send(Message::Close(Some(close))).await.is_err() {
        return;
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, stream.next()).await {
        if matches!(message, Message::Close(_)) {
            break;
        }
    }
}

/// A token bucket: `rate` frames a second sustained, bursts up to five seconds' worth (a
/// reconnecting tab resends its queue and subscribes to every open session at once).
struct FrameBudget {
    rate: f64,
    tokens: f64,
    at: tokio::time::Instant,
}

impl FrameBudget {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        FrameBudget {
            rate,
            tokens: rate * 5.0,
            at: tokio::time::Instant::now(),
        }
    }

    /// Whether one more frame is allowed now.
    fn take(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        let earned = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.rate * 5.0);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

impl Connection {
    async fn send(&self, frame: ServerFrame) {
        send_frame(&self.out, &frame).await;
    }

    async fn error(&self, session: Option<SessionId>, code: ErrorCode, message: impl Into<String>) {
        self.send(ServerFrame::error(session, code, message)).await;
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
        })
        .await;
    }

    async fn on_list_frame(&mut self, frame: ServerFrame) {
        if let ServerFrame::SessionRemoved { session } = &frame {
            if let Some(forwarder) = self.subscriptions.remove(session) {
                forwarder.abort();
            }
        }
        if self.hello_done {
            self.send(frame).await;
        }
    }

    async fn on_text(&mut self, text: &str) {
        let limit = self.registry.config().max_frame_bytes;
        if text.len() > limit {
            return self
                .error(
                    None,
                    ErrorCode::TooLarge,
                    format!(
                        "frame of {} bytes is over the {limit}-byte limit",
                        text.len()
                    ),
                )
                .await;
        }
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                return self
                    .error(None, ErrorCode::Malformed, format!("unreadable frame: {e}"))
                    .await
            }
        };
        let session = frame_session(&frame);
        if let Err(e) = self.dispatch(frame).await {
            self.error(session, e.code(), e.to_string()).await;
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
                        self.error(Some(point.session), e.code(), e.to_string())
                            .await;
                    }
                }
                Ok(())
            }
            ClientFrame::Subscribe {
                session,
                since,
                tail_turns,
            } => self.subscribe(session, since, tail_turns),
            ClientFrame::LoadEarlier {
                session,
                before,
                turns,
            } => self.load_earlier(session, before, turns),
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
            } => {
                let creating = create.is_some();
                registry
                    .send(session, client_msg_id, text, attachments, create)
                    .await?;
                if creating && !self.subscriptions.contains_key(&session) {
                    self.subscribe(session, Seq(0), None)?;
                }
                if creating && self.viewing == Some(session) {
                    // The draft this tab shows exists now: count it.
                    self.view(Some(session)).await;
                }
                Ok(())
            }
            ClientFrame::Cancel { session } => registry.cancel(session).await,
            ClientFrame::AnswerPermission {
                session,
                request_id,
                option_id,
            } => {
                registry
                    .answer_permission(session, request_id, option_id)
                    .await
            }
            ClientFrame::SetPermissionMode { session, mode } => {
                registry.set_permission_mode(session, mode).await
            }
            ClientFrame::Retry { session } => registry.retry(session).await,
            ClientFrame::View { session } => {
                self.view(session).await;
                Ok(())
            }
            ClientFrame::Rename { session, title } => registry.rename(session, title).await,
            ClientFrame::Archive { session } => registry.archive(session).await,
            ClientFrame::Ping => {
                self.send(ServerFrame::Pong).await;
                Ok(())
            }
        }
    }

    /// Replays the log after `since`, then forwards live events, with no gap and no
    /// duplicate: the live receiver exists before the log is read, and seqs already sent
    /// are dropped.
    fn subscribe(
        &mut self,
        session: SessionId,
        since: Seq,
        tail_turns: Option<u32>,
    ) -> Result<(), ServiceError> {
        let live = self.registry.subscribe(session)?;
        let db = self.registry.db().clone();
        let out = self.out.clone();
        if let Some(previous) = self.subscriptions.remove(&session) {
            previous.abort();
        }
        // A client that holds nothing of a session may take only its last turns.
        let tail_turns = tail_turns
            .filter(|_| since == Seq(0))
            .map(|turns| turns.clamp(1, MAX_PAGE_TURNS));
        let forwarder = tokio::spawn(forward(session, since, tail_turns, live, db, out));
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
        turns: u32,
    ) -> Result<(), ServiceError> {
        // Known session or `unknown_session`, as for every request.
        self.registry.check_known(session)?;
        let turns = turns.clamp(1, MAX_PAGE_TURNS);
        let db = self.registry.db().clone();
        let out = self.out.clone();
        let page = tokio::spawn(async move {
            let frame = match read_page(&db, session, Some(before), turns).await {
                Ok((first_seq, events)) => ServerFrame::Earlier {
                    session,
                    before,
                    first_seq,
                    events,
                    error: None,
                },
                Err(e) => {
                    tracing::error!(%session, %before, "cannot read a page of the log: {e}");
                    ServerFrame::Earlier {
                        session,
                        before,
                        first_seq: before,
                        events: Vec::new(),
                        error: Some(
                            "the session's log could not be read (details in the server log)"
                                .into(),
                        ),
                    }
                }
            };
            send_frame(&out, &frame).await;
        });
        if let Some(previous) = self.pages.insert(session, page) {
            previous.abort();
        }
        Ok(())
    }
}

/// The whole turns before `before` (`None`: the newest), at most `turns` of them: the seq
/// of the first one sent (`Seq(1)` when the page reaches the log's beginning) and the
/// events from it on.
async fn read_page(
    db: &super::db::Db,
    session: SessionId,
    before: Option<Seq>,
    turns: u32,
) -> Result<(Seq, Vec<LoggedEvent>), super::db::DbError> {
    // (`turn_start` gives 0 when fewer turns remain: the page starts at the log's first seq.)
    let first = db.turn_start(session, before, turns).await?.max(Seq(1));
    let after = Seq(first.0 - 1);
    let events = match before {
        Some(before) => db.events_between(session, after, before).await?,
        None => db.events_since(session, after).await?,
    };
    Ok((first, events))
}

async fn forward(
    session: SessionId,
    since: Seq,
    tail_turns: Option<u32>,
    mut live: broadcast::Receiver<Arc<WireFrame>>,
    db: super::db::Db,
    out: mpsc::Sender<WireFrame>,
) {
    let mut last = since;
    if let Some(turns) = tail_turns {
        match read_page(&db, session, None, turns).await {
            Ok((first_seq, events)) => {
                let newest = events.last().map(|e| e.seq);
                let start = ServerFrame::HistoryStart {
                    session,
                    first_seq,
                    events,
                };
                if !send_frame(&out, &start).await {
                    return;
                }
                last = newest.unwrap_or(Seq(0));
            }
            // The whole replay below reads the same table and reports the failure.
            Err(e) => tracing::warn!(%session, "cannot read the last turns: {e}"),
        }
    }
    if !replay(session, &mut last, &db, &out).await {
        return;
    }
    loop {
        match live.recv().await {
            Ok(frame) => {
                if let Some(seq) = frame.seq {
                    if seq <= last {
                        continue;
                    }
                    last = seq;
                }
                if out.send(WireFrame::clone(&frame)).await.is_err() {
                    return;
                }
            }
            // Too slow to keep up: everything is in the log, so read the gap from there.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                if !replay(session, &mut last, &db, &out).await {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Sends the stored events after `last`; false when the socket or the database is gone.
async fn replay(
    session: SessionId,
    last: &mut Seq,
    db: &super::db::Db,
    out: &mpsc::Sender<WireFrame>,
) -> bool {
    let events = match db.events_since(session, *last).await {
        Ok(events) => events,
        Err(e) => {
            tracing::error!(%session, "cannot read the log: {e}");
            let error = ServerFrame::error(
                Some(session),
                ErrorCode::Internal,
                "the session's log could not be read",
            );
            send_frame(out, &error).await;
            return false;
        }
    };
    for stored in events {
        *last = stored.seq;
        let frame = ServerFrame::Event {
            session,
            seq: stored.seq,
            event: stored.event,
        };
        if !send_frame(out, &frame).await {
            return false;
        }
    }
    true
}

/// Encodes and queues one frame; false when the socket is gone.
async fn send_frame(out: &mpsc::Sender<WireFrame>, frame: &ServerFrame) -> bool {
    match WireFrame::encode(frame) {
        Ok(wire) => out.send(wire).await.is_ok(),
        Err(e) => {
            tracing::error!("cannot encode a frame: {e}");
            true
        }
    }
}

fn frame_session(frame: &ClientFrame) -> Option<SessionId> {
    match frame {
        ClientFrame::Subscribe { session, .. }
        | ClientFrame::LoadEarlier { session, .. }
        | ClientFrame::Unsubscribe { session }
        | ClientFrame::Send { session, .. }
        | ClientFrame::Cancel { session }
        | ClientFrame::AnswerPermission { session, .. }
        | ClientFrame::Rename { session, .. }
        | ClientFrame::SetPermissionMode { session, .. }
        | ClientFrame::Retry { session }
        | ClientFrame::Archive { session } => Some(*session),
        ClientFrame::View { session } => *session,
        ClientFrame::Hello { .. } | ClientFrame::Ping => None,
    }
}
