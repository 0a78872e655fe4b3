//! Reading a session's log for sockets: a subscription's catch-up (the log after the
//! client's seq, then the session's snapshot, then its live stream, with no gap and nothing
//! twice) and pages of earlier turns. Beside the registry; the socket handler only routes.

use super::db::{Db, DbError};
use super::session_stream::SessionStream;
use super::wire::WireFrame;
use crate::protocol::{ErrorCode, LoggedEvent, Seq, ServerFrame, SessionId};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Events read from the log at a time while a subscription catches up.
const REPLAY_PAGE: u64 = 512;

/// The most turns one page (`tail_turns`, `LoadEarlier`) holds, whatever the client asks:
/// the whole log in one frame would hold the socket, and the memory of both sides.
pub const MAX_PAGE_TURNS: u32 = 100;

/// The whole turns before `before` (`None`: the newest), at most `turns` of them: the seq
/// of the first one sent (`Seq(1)` when the page reaches the log's beginning) and the
/// events from it on.
pub async fn read_page(
    db: &Db,
    session: SessionId,
    before: Option<Seq>,
    turns: u32,
) -> Result<(Seq, Vec<LoggedEvent>), DbError> {
    // (`turn_start` gives 0 when fewer turns remain: the page starts at the log's first seq.)
    let first = db.turn_start(session, before, turns).await?.max(Seq(1));
    let after = Seq(first.0 - 1);
    let events = match before {
        Some(before) => db.events_between(session, after, before).await?,
        None => db.events_since(session, after).await?,
    };
    Ok((first, events))
}

/// Where a page of earlier turns starts.
#[derive(Debug, Clone, Copy)]
pub enum PageStart {
    /// So many whole turns before the page's end.
    Turns(u32),
    /// At the turn holding this seq (a search result far back), however many turns that is.
    Holding(Seq),
}

/// The answer to `LoadEarlier`: a page, or why it could not be read (an answer of its own,
/// so the browser keeps its transcript and may ask again).
pub async fn earlier_page(
    db: &Db,
    session: SessionId,
    before: Seq,
    start: PageStart,
) -> ServerFrame {
    let page = match start {
        PageStart::Turns(turns) => read_page(db, session, Some(before), turns).await,
        PageStart::Holding(seq) if seq >= before => Ok((before, Vec::new())),
        PageStart::Holding(seq) => {
            async {
                let first = db
                    .turn_start(session, Some(seq.next()), 1)
                    .await?
                    .max(Seq(1));
                let events = db.events_between(session, Seq(first.0 - 1), before).await?;
                Ok((first, events))
            }
            .await
        }
    };
    match page {
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
                    "the session's log could not be read (details in the server log)".into(),
                ),
            }
        }
    }
}

/// One socket's subscription to one session: what it already holds, and where to send.
pub struct Subscription {
    /// The session.
    pub session: SessionId,
    /// The newest seq the client holds.
    pub since: Seq,
    /// With `since` 0: send only the newest this many turns first (a `HistoryStart`).
    pub tail_turns: Option<u32>,
    /// The session's stream.
    pub stream: Arc<SessionStream>,
    /// The log.
    pub db: Db,
    /// The socket's outbox.
    pub out: mpsc::Sender<WireFrame>,
}

impl Subscription {
    /// Catches the client up and then forwards the session's stream until the socket or
    /// the session goes. The stream is joined at a snapshot (seq N): the log up to N is
    /// replayed, then the snapshot itself as one patch, then every frame published after
    /// it, in order. A socket too slow for the stream's buffer is caught up the same way.
    pub async fn run(self) {
        let (mut snapshot, mut live) = self.stream.subscribe();
        let mut last = self.since;
        if let Some(turns) = self.tail_turns.filter(|_| self.since == Seq(0)) {
            match self.tail(turns, snapshot.last_seq).await {
                Some(newest) => last = newest,
                None => return,
            }
        }
        loop {
            if !self.catch_up(&mut last, &snapshot).await {
                return;
            }
            match self.forward(&mut live, &mut last).await {
                Forwarded::Closed => return,
                Forwarded::Lagged => (snapshot, live) = self.stream.subscribe(),
            }
        }
    }

    /// Sends the newest `turns` whole turns up to `upto` as one `HistoryStart`; the seq of
    /// the newest event sent, or `None` when the socket is gone.
    async fn tail(&self, turns: u32, upto: Seq) -> Option<Seq> {
        let turns = turns.clamp(1, MAX_PAGE_TURNS);
        match read_page(&self.db, self.session, None, turns).await {
            Ok((first_seq, mut events)) => {
                // The stream brings what is newer than the snapshot.
                events.retain(|e| e.seq <= upto);
                let before_page = Seq(first_seq.0.saturating_sub(1)).min(upto);
                let newest = events.last().map_or(before_page, |e| e.seq);
                let start = ServerFrame::HistoryStart {
                    session: self.session,
                    first_seq,
                    events,
                };
                send_frame(&self.out, &start).await.then_some(newest)
            }
            // The whole replay that follows reads the same table and reports the failure.
            Err(e) => {
                tracing::warn!(session = %self.session, "cannot read the last turns: {e}");
                Some(Seq(0))
            }
        }
    }

    /// Sends the log after `last` up to the snapshot's seq, then the snapshot. False when
    /// the socket or the log is gone. Read [`REPLAY_PAGE`] events at a time (seqs have no
    /// gaps, so a seq window bounds the count): a long log never sits in memory whole.
    async fn catch_up(&self, last: &mut Seq, snapshot: &crate::protocol::Session) -> bool {
        let upto = snapshot.last_seq;
        // A client ahead of the snapshot (it read seqs from the log, or from another node,
        // before they were published here) holds newer metadata than the snapshot's: it
        // gets neither, only what is published after what it holds.
        if *last > upto {
            return true;
        }
        while *last < upto {
            let page_end = Seq(last.0.saturating_add(REPLAY_PAGE).min(upto.0));
            let events = match self
                .db
                .events_between(self.session, *last, page_end.next())
                .await
            {
                Ok(events) => events,
                Err(e) => {
                    tracing::error!(session = %self.session, "cannot read the log: {e}");
                    let error = ServerFrame::error(
                        Some(self.session),
                        ErrorCode::Internal,
                        "the session's log could not be read",
                    );
                    send_frame(&self.out, &error).await;
                    return false;
                }
            };
            // A window with no rows (never, unless the log lost rows) ends the catch-up
            // instead of looping.
            let Some(newest) = events.last().map(|e| e.seq) else {
                break;
            };
            for stored in events {
                let frame = ServerFrame::Event {
                    session: self.session,
                    seq: stored.seq,
                    event: stored.event,
                };
                if !send_frame(&self.out, &frame).await {
                    return false;
                }
            }
            *last = newest.max(page_end);
        }
        let patch = ServerFrame::SessionUpdated {
            session: self.session,
            patch: snapshot.as_patch(),
        };
        send_frame(&self.out, &patch).await
    }

    /// Forwards live frames until the socket goes (`Closed`) or the client fell behind the
    /// stream's buffer (`Lagged`); `last` follows the events sent.
    async fn forward(
        &self,
        live: &mut broadcast::Receiver<Arc<WireFrame>>,
        last: &mut Seq,
    ) -> Forwarded {
        loop {
            match live.recv().await {
                Ok(frame) => {
                    if let Some(seq) = frame.seq {
                        // An event is stored before it is published, so a client may hold
                        // seqs the snapshot had not reached (read from the log, or sent by
                        // another node): those come by here once more and are not resent.
                        if seq <= *last {
                            continue;
                        }
                        *last = seq;
                    }
                    if self.out.send(WireFrame::clone(&frame)).await.is_err() {
                        return Forwarded::Closed;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(session = %self.session, skipped, "subscriber lagged; catching up from the log");
                    return Forwarded::Lagged;
                }
                Err(broadcast::error::RecvError::Closed) => return Forwarded::Closed,
            }
        }
    }
}

/// How forwarding a live stream ended.
enum Forwarded {
    /// The socket or the session is gone.
    Closed,
    /// The client fell behind: catch it up from the log and a new snapshot.
    Lagged,
}

/// Encodes and queues one frame; false when the socket is gone.
pub async fn send_frame(out: &mpsc::Sender<WireFrame>, frame: &ServerFrame) -> bool {
    match WireFrame::encode(frame) {
        Ok(wire) => out.send(wire).await.is_ok(),
        Err(e) => {
            tracing::error!("cannot encode a frame: {e}");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SessionEvent;
    use std::time::Duration;

    fn event_frame(session: SessionId, seq: u64) -> WireFrame {
        let frame = ServerFrame::Event {
            session,
            seq: Seq(seq),
            event: SessionEvent::AssistantDelta {
                message_id: "m".into(),
                text: format!("piece {seq}"),
            },
        };
        WireFrame::encode(&frame).expect("encodes")
    }

    /// A client that read seq 3 from the log while its publication was still on the way
    /// (stored, not yet published) subscribes from 3: it gets 4 next, never 3 again, nor
    /// the snapshot at 2 (which would roll its state back).
    #[tokio::test]
    async fn a_seq_stored_but_not_yet_published_is_not_sent_twice() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(dir.path()).await.expect("db");
        let id = crate::server::db::test_session(&db).await;
        let mut session = db.session(id).await.expect("read").expect("stored");
        session.last_seq = Seq(2);
        let stream = SessionStream::new(session);
        let (out, mut frames) = mpsc::channel(16);
        let subscription = Subscription {
            session: id,
            since: Seq(3),
            tail_turns: None,
            stream: stream.clone(),
            db,
            out,
        };
        let task = tokio::spawn(subscription.run());
        // The test's runtime has one thread: this lets the subscription join the stream
        // (at seq 2) and wait for frames before the publications below.
        tokio::task::yield_now().await;
        stream.publish_event(Seq(3), 3, None, event_frame(id, 3));
        stream.publish_event(Seq(4), 4, None, event_frame(id, 4));
        let next = tokio::time::timeout(Duration::from_secs(5), frames.recv())
            .await
            .expect("in time")
            .expect("a frame");
        assert_eq!(
            next.seq,
            Some(Seq(4)),
            "seq 3 was already held, and so was newer metadata than the snapshot's"
        );
        task.abort();
    }
}
