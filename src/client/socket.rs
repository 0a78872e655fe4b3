//! The one WebSocket of this browser tab (browser build only). It says `Hello` with the
//! open tabs' last seqs, feeds every `ServerFrame` to the reducer, queues frames until
//! `Connected` and flushes them in order, resends undelivered messages after a reconnect
//! (the server drops duplicates by `ClientMsgId`), tells the server which session the tab
//! shows (`View`), and reconnects with exponential backoff and jitter: a few quick
//! attempts, then the offline banner with Reconnect, still retrying slowly and at once
//! when the browser comes back online or the tab becomes visible.

use super::history::TAIL_TURNS;
use super::outbox::{Outbox, Outgoing, Unacked};
use super::reducer::apply;
use super::requests::Request;
use super::store::{ConnectionState, Store};
use super::sync::view_target;
use crate::protocol::{ClientFrame, ClientId, NewSession, ResumePoint, ServerFrame, SessionId};
use futures::channel::mpsc::{self, UnboundedReceiver, UnboundedSender};
use futures::future::Either;
use futures::{stream, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State};
use gloo_timers::future::{IntervalStream, TimeoutFuture};
use leptos::prelude::*;
use std::cell::RefCell;

/// First retry delay; it doubles per failure up to [`MAX_BACKOFF_MS`].
const BASE_BACKOFF_MS: u32 = 250;
/// Longest wait between attempts.
const MAX_BACKOFF_MS: u32 = 10_000;
/// Quick retries (with growing backoff) before the banner turns to Offline and offers
/// "Reconnect"; retries go on after that, further apart.
pub const QUICK_ATTEMPTS: u32 = 5;
/// Keep-alive interval; the server answers each `Ping` with a `Pong`.
const PING_MS: u32 = 20_000;
/// A socket silent for this long is treated as dead (a `Pong` should have come).
const SILENCE_MS: f64 = 45_000.0;
/// A handshake not done by then is given up: an unreachable host can otherwise keep an
/// attempt (and so the retry on `online`) waiting for the browser's own TCP timeout.
const HANDSHAKE_MS: u32 = 10_000;
/// A socket that stayed up this long after `Connected` resets the backoff; one the server
/// drops at once keeps counting failures, so such a server is not hammered.
const STABLE_MS: f64 = 5_000.0;

/// The connection's state: the socket's handles and the [`Outbox`]. The browser runs us
/// on one thread, so a thread-local `RefCell` is enough; borrows are kept short and never
/// span a call into the store.
struct Conn {
    started: bool,
    client_id: ClientId,
    /// Writer of the live socket, once `Hello` went out.
    tx: Option<UnboundedSender<ClientFrame>>,
    /// What is queued, unconfirmed, subscribed and viewed.
    outbox: Outbox,
    /// Wakes the reconnect loop early.
    kick: Option<UnboundedSender<()>>,
    /// Closes the live socket at once (the browser went offline: waiting for the socket to
    /// notice could take a keep-alive period, and sends meanwhile would vanish into it).
    hang_up: Option<UnboundedSender<()>>,
}

thread_local! {
    static CONN: RefCell<Conn> = RefCell::new(Conn {
        started: false,
        client_id: ClientId(super::ids::new_uuid()),
        tx: None,
        outbox: Outbox::default(),
        kick: None,
        hang_up: None,
    });
}

fn with_conn<T>(f: impl FnOnce(&mut Conn) -> T) -> T {
    CONN.with(|conn| f(&mut conn.borrow_mut()))
}

/// Starts the connection loop (once per page) and the listeners that retry early when the
/// browser comes back online or the tab becomes visible.
pub fn start(store: Store) {
    let (kick_tx, kick_rx) = mpsc::unbounded();
    let first = with_conn(|c| {
        if c.started {
            return false;
        }
        c.started = true;
        c.kick = Some(kick_tx);
        true
    });
    if !first {
        return;
    }
    // The server counts viewers per session: tell it whenever the tab in front changes.
    Effect::new(move |_| {
        store.active.track();
        sync_view(store);
    });
    // A hidden page shows nothing: what arrives there is not read.
    let _ = window_event_listener_untyped("visibilitychange", move |_| sync_view(store));
    let _ = window_event_listener_untyped("offline", move |_| {
        with_conn(|c| {
            if let Some(hang_up) = &c.hang_up {
                let _ = hang_up.unbounded_send(());
            }
        });
    });
    for event in ["online", "visibilitychange", "focus"] {
        // The handles are dropped on purpose: these listeners live as long as the page.
        let _ = window_event_listener_untyped(event, move |_| {
            let visible = !document().hidden();
            if visible && !store.connection.get_untracked().is_open() {
                kick();
            }
        });
    }
    leptos::task::spawn_local(run(store, kick_rx));
}

/// Retries now if the loop is waiting between attempts.
pub fn kick() {
    with_conn(|c| {
        if let Some(kick) = &c.kick {
            let _ = kick.unbounded_send(());
        }
    });
}

/// Sends a frame, or queues it until the server said `Connected`.
pub fn send(frame: ClientFrame) {
    with_conn(|c| {
        let Some(frame) = c.outbox.send(frame) else {
            return;
        };
        let unsent = match &c.tx {
            Some(tx) => tx.unbounded_send(frame).err().map(|e| e.into_inner()),
            None => Some(frame),
        };
        // The socket went between `Connected` and now: the frame waits for the next one.
        if let Some(frame) = unsent {
            c.outbox.lost();
            let _ = c.outbox.send(frame);
        }
    });
}

/// Tells the server which session this tab shows now ([`view_target`]), if that changed
/// since the live socket last said. Before `Connected` it waits: `Connected` calls it.
pub fn sync_view(store: Store) {
    let target = view_target(&store, page_visible());
    if with_conn(|c| c.outbox.views(target)) {
        send(ClientFrame::View { session: target });
    }
}

fn page_visible() -> bool {
    !document().hidden()
}

/// Sends a user message of `session`; the first one of a draft creates it on the server.
/// It is kept until echoed, and resent after a reconnect.
pub fn send_message(store: Store, message: Unacked) {
    if with_conn(|c| c.outbox.message(message.clone())) {
        transmit(store, &message);
    }
    // A draft counts as shown once its first message went out.
    sync_view(store);
}

/// Subscribes the live socket to `session` (from its last applied seq) unless it is
/// already. Before `Connected` this does nothing: `Connected` subscribes every open tab.
pub fn ensure_subscribed(store: Store, session: SessionId) {
    let Some(view) = store.view(session).filter(|v| !v.is_draft()) else {
        return;
    };
    if with_conn(|c| c.outbox.subscribes(session)) {
        let tag = Some(store.open_request(Request::Subscribe { session }));
        send(ClientFrame::Subscribe {
            session,
            since: view.applied_seq.get_untracked(),
            tail_turns: Some(TAIL_TURNS),
            tag,
        });
    }
}

fn transmit(store: Store, message: &Unacked) {
    let draft = store.view(message.session).filter(|v| v.is_draft());
    // Only the first Send of a draft on this socket carries `create`; later ones follow it
    // in order, so the session exists by then.
    let create = draft.and_then(|view| {
        with_conn(|c| c.outbox.creates(message.session)).then(|| {
            let (project, worktree, base_branch) = super::projects::draft_place(&store, &view);
            view.meta.with_untracked(|m| NewSession {
                agent: m.agent.clone(),
                cwd: None,
                project,
                worktree,
                base_branch,
                permission_mode: Some(m.permission_mode.clone()),
                // The composer keeps the model as typed; blank means the agent's default.
                model: m
                    .model
                    .as_deref()
                    .map(str::trim)
                    .filter(|model| !model.is_empty())
                    .map(str::to_string),
            })
        })
    });
    send(ClientFrame::Send {
        session: message.session,
        client_msg_id: message.client_msg_id,
        text: message.text.clone(),
        attachments: message.attachments.clone(),
        create,
        tag: Some(message.tag),
    });
}

/// Connects, and reconnects forever with backoff.
async fn run(store: Store, mut kick_rx: UnboundedReceiver<()>) {
    let mut failures: u32 = 0;
    loop {
        if let Some(connected_at) = connect(store).await {
            if js_sys::Date::now() - connected_at >= STABLE_MS {
                failures = 0;
            }
        }
        // The lost socket counts too, so `failures` is the number of the next attempt: the
        // banner turns to Offline once QUICK_ATTEMPTS retries have failed.
        failures = failures.saturating_add(1);
        store.connection.set(if failures > QUICK_ATTEMPTS {
            ConnectionState::Offline { attempt: failures }
        } else {
            ConnectionState::Reconnecting { attempt: failures }
        });
        // Kicks from before this wait are stale.
        while kick_rx.try_recv().is_ok() {}
        let delay = TimeoutFuture::new(backoff_ms(failures));
        futures::future::select(delay, kick_rx.next()).await;
    }
}

/// Exponential backoff with jitter: half the step fixed, half random, so many tabs that
/// lost the same server do not come back in lockstep.
fn backoff_ms(failures: u32) -> u32 {
    let step = BASE_BACKOFF_MS
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(MAX_BACKOFF_MS);
    let jitter = (js_sys::Math::random() * f64::from(step / 2)) as u32;
    step / 2 + jitter
}

enum Input {
    Received(Result<Message, gloo_net::websocket::WebSocketError>),
    Closed,
    Outgoing(ClientFrame),
    Ping,
    HangUp,
}

/// One socket's life. Returns when it reached `Connected` (`Date.now()` ms), if it did.
async fn connect(store: Store) -> Option<f64> {
    let (mut socket, received, said_hello) = match adopt_early_socket() {
        Some(early) => (early.socket, early.received, early.said_hello),
        None => (WebSocket::open(&ws_url()?).ok()?, Vec::new(), false),
    };
    // Wait for the handshake: writing to a socket that failed to open only logs errors.
    let handshake = futures::future::poll_fn(|cx| socket.poll_ready_unpin(cx));
    let timeout = TimeoutFuture::new(HANDSHAKE_MS);
    if let Either::Right(_) = futures::future::select(handshake, timeout).await {
        // Dropping the socket closes it.
        return None;
    }
    if !matches!(socket.state(), State::Open) {
        return None;
    }
    let (mut sink, source) = socket.split();
    if said_hello {
        // The head's `Hello` resumed nothing: `Connected` subscribes the open tabs.
        with_conn(|c| c.outbox.hello(std::iter::empty()));
    } else if sink
        .send(Message::Text(to_json(&hello(store))))
        .await
        .is_err()
    {
        forget_socket();
        return None;
    }
    let (tx, rx) = mpsc::unbounded();
    let (hang_up, hang_up_rx) = mpsc::unbounded();
    with_conn(|c| {
        c.tx = Some(tx);
        c.hang_up = Some(hang_up);
    });

    // What came before the app listened is read first, in order.
    let incoming = stream::iter(received.into_iter().map(|text| Ok(Message::Text(text))))
        .chain(source)
        .map(Input::Received)
        .chain(stream::once(futures::future::ready(Input::Closed)));
    let outgoing = rx.map(Input::Outgoing);
    let pings = IntervalStream::new(PING_MS).map(|_| Input::Ping);
    let hang_ups = hang_up_rx.map(|()| Input::HangUp);
    let mut inputs = stream::select(
        stream::select(incoming, outgoing),
        stream::select(pings, hang_ups),
    );
    let mut connected_at = None;
    let mut last_heard = js_sys::Date::now();
    while let Some(input) = inputs.next().await {
        match input {
            Input::Received(Ok(Message::Text(text))) => {
                last_heard = js_sys::Date::now();
                if receive(store, &text) && connected_at.is_none() {
                    connected_at = Some(last_heard);
                }
            }
            Input::Received(Ok(Message::Bytes(_))) => last_heard = js_sys::Date::now(),
            // An error event is followed by the close; wait for it.
            Input::Received(Err(_)) => {}
            Input::Closed | Input::HangUp => break,
            Input::Outgoing(frame) => {
                if sink.send(Message::Text(to_json(&frame))).await.is_err() {
                    break;
                }
            }
            Input::Ping => {
                if js_sys::Date::now() - last_heard > SILENCE_MS {
                    break;
                }
                if sink
                    .send(Message::Text(to_json(&ClientFrame::Ping)))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    forget_socket();
    connected_at
}

/// `Hello` with every open non-draft tab's last seq; those count as subscribed.
fn hello(store: Store) -> ClientFrame {
    let resume: Vec<ResumePoint> = store
        .tabs
        .get_untracked()
        .into_iter()
        .filter_map(|id| store.view(id))
        .filter(|view| !view.is_draft())
        .map(|view| ResumePoint {
            session: view.id,
            since: view.applied_seq.get_untracked(),
            tail_turns: Some(TAIL_TURNS),
        })
        .collect();
    with_conn(|c| {
        c.outbox.hello(resume.iter().map(|r| r.session));
        ClientFrame::Hello {
            client_id: c.client_id,
            resume,
        }
    })
}

fn forget_socket() {
    with_conn(|c| {
        c.tx = None;
        c.hang_up = None;
        c.outbox.lost();
    });
}

/// Handles one text frame; returns true for `Connected`.
fn receive(store: Store, text: &str) -> bool {
    let frame: ServerFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(error) => {
            leptos::logging::warn!("switchboard: unreadable server frame: {error}");
            return false;
        }
    };
    let connected = matches!(frame, ServerFrame::Connected { .. });
    with_conn(|c| c.outbox.received(&frame));
    apply(&store, frame);
    if connected {
        on_connected(store);
    }
    connected
}

/// Marks the page live once (hydrated, and the socket's `Connected` in): `data-live-at` on
/// the body holds the moment (ms since the epoch; the first-load bench subtracts
/// `performance.timeOrigin`).
fn mark_live() {
    let Some(body) = leptos::prelude::document().body() else {
        return;
    };
    if body.has_attribute("data-live-at") {
        return;
    }
    let _ = body.set_attribute("data-live-at", &(js_sys::Date::now() as u64).to_string());
}

/// After `Connected`: subscribe the open tabs `Hello` did not cover, write what the
/// outbox has waiting (unconfirmed messages first, then what was made meanwhile, in
/// order), then say which session the tab shows.
fn on_connected(store: Store) {
    mark_live();
    let outgoing = with_conn(|c| c.outbox.connected());
    for id in store.tabs.get_untracked() {
        ensure_subscribed(store, id);
    }
    for item in outgoing {
        match item {
            Outgoing::Frame(frame) => send(frame),
            Outgoing::Message(message) => transmit(store, &message),
        }
    }
    sync_view(store);
}

/// The socket the page's head opened (`app::EarlySocket`), as the app takes it over.
struct EarlySocket {
    socket: WebSocket,
    /// What the server sent before the app listened, oldest first (`Connected`, then list
    /// updates).
    received: Vec<String>,
    /// Whether the head said `Hello` on it (it does once the socket opens; taken over while
    /// still connecting, the app says it).
    said_hello: bool,
}

/// The socket the page's head opened, taken once: the first attempt uses it while it is
/// connecting or open; every later attempt opens its own. The tab's id becomes the one
/// the head's `Hello` gave.
fn adopt_early_socket() -> Option<EarlySocket> {
    use wasm_bindgen::JsCast;
    let window = window();
    let key = wasm_bindgen::JsValue::from_str(super::EARLY_SOCKET);
    let early = js_sys::Reflect::get(&window, &key).ok()?;
    let _ = js_sys::Reflect::delete_property(&window, &key);
    let field = |name: &str| js_sys::Reflect::get(&early, &wasm_bindgen::JsValue::from_str(name));
    let socket = field("socket")
        .ok()?
        .dyn_into::<web_sys::WebSocket>()
        .ok()?;
    // CONNECTING or OPEN; one closing or closed already is of no use.
    if socket.ready_state() > web_sys::WebSocket::OPEN {
        return None;
    }
    let received = field("received")
        .ok()
        .map(|list| {
            js_sys::Array::from(&list)
                .iter()
                .filter_map(|text| text.as_string())
                .collect()
        })
        .unwrap_or_default();
    let said_hello = field("hello").ok().and_then(|said| said.as_bool()) == Some(true);
    if let Some(client) = field("client")
        .ok()
        .and_then(|id| id.as_string())
        .and_then(|id| uuid::Uuid::parse_str(&id).ok())
    {
        with_conn(|c| c.client_id = ClientId(client));
    }
    // Not adopted: closed, so it does not hold a socket of this login open.
    let adopted = WebSocket::try_from(socket.clone())
        .inspect_err(|_| {
            let _ = socket.close();
        })
        .ok()?;
    Some(EarlySocket {
        socket: adopted,
        received,
        said_hello,
    })
}

fn ws_url() -> Option<String> {
    let location = window().location();
    let scheme = match location.protocol().ok()?.as_str() {
        "https:" => "wss",
        _ => "ws",
    };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

fn to_json(frame: &ClientFrame) -> String {
    // Serializing our own enum cannot fail; an empty frame would be refused, not crash.
    serde_json::to_string(frame).unwrap_or_default()
}
