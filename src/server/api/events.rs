//! `GET /api/v1/sessions/{id}/events`: a session's events as Server-Sent Events, the same
//! exactly-once stream a browser socket gets. It is the socket's own
//! [`Subscription`](crate::server::replay::Subscription) (the log after `since`, the
//! session's snapshot, then every live frame, with a slow reader caught up from the log),
//! writing into a channel that this handler turns into SSE events. Each stored event
//! carries `id: <seq>`, so a client that reconnects with `Last-Event-ID` gets exactly the
//! rest.

use super::dto::StreamQuery;
use super::problem::{ApiError, ApiQuery, Problem};
use super::sessions::session_id;
use crate::protocol::Seq;
use crate::server::replay::Subscription;
use crate::server::wire::{WireFrame, WireKind};
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Frames queued for one stream before the subscription waits (and, if the reader stays
/// slow, is caught up from the log like a slow socket).
const QUEUE: usize = 256;
/// A comment line this often keeps proxies and clients from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Ends the subscription when the client goes (the stream is dropped).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The session's events after `since` (or after `Last-Event-ID`), then live ones. SSE
/// event names: `event` (a stored event, with `id: <seq>`; data is the WebSocket's `event`
/// frame, `{"type":"event","session","seq","event"}`), `session` (a change of the
/// session's metadata: `{"type":"session_updated","session","patch"}`) and `error`. The
/// stream ends after the session is ended.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/events", tag = "sessions",
    params(("id" = String, Path, description = "The session's id"), StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The seq of the last event received: resume after it")),
    responses((status = 200, description = "A text/event-stream of the session's events", content_type = "text/event-stream", body = String),
        (status = 404, body = Problem), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn stream_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = session_id(&id)?;
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::Malformed("Last-Event-ID is not a seq".into()))?,
        ),
    };
    let since = Seq(resume.or(query.since).unwrap_or(0));
    let (out, frames) = mpsc::channel::<WireFrame>(QUEUE);
    let subscription = Subscription {
        session: id,
        since,
        tail_turns: None,
        stream: state.registry.stream(id)?,
        db: state.registry.db().clone(),
        out,
    };
    let task = AbortOnDrop(tokio::spawn(subscription.run()));
    let events = futures::stream::unfold(
        (frames, task, false),
        |(mut frames, task, ended)| async move {
            if ended {
                return None;
            }
            let frame = frames.recv().await?;
            let (event, ends) = to_event(&frame);
            Some((Ok(event), (frames, task, ends)))
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One frame as an SSE event, and whether it ends the stream (the session was ended). The
/// frame's kind was read when it was encoded (once for every reader): no parsing here.
fn to_event(frame: &WireFrame) -> (Event, bool) {
    let data = Event::default().data(frame.text.as_str());
    match (frame.kind, frame.seq) {
        (WireKind::Event, Some(seq)) => (data.event("event").id(seq.0.to_string()), false),
        (WireKind::Patch { ended }, _) => (data.event("session"), ended),
        (WireKind::Error, _) => (data.event("error"), false),
        _ => (data.event("message"), false),
    }
}
