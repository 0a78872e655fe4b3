//! The send queue and resend logic, natively: what goes out when, what a refusal or an
//! echo removes, and what a reconnect sends again.

use super::*;
use crate::client::outbox::{Outbox, Outgoing, Unacked};
use crate::protocol::{ClientFrame, ClientMsgId, ErrorCode, RequestTag};

fn message(session: u128, n: u128) -> Unacked {
    Unacked {
        session: sid(session),
        client_msg_id: ClientMsgId(Uuid::from_u128(n)),
        text: format!("message {n}"),
        attachments: vec![],
        tag: RequestTag(n as u64),
    }
}

fn stop(session: u128) -> ClientFrame {
    ClientFrame::Cancel {
        session: sid(session),
        tag: None,
    }
}

fn echo(session: u128, n: u128) -> ServerFrame {
    ServerFrame::Event {
        session: sid(session),
        seq: Seq(n as u64),
        event: SessionEvent::UserMessage {
            client_msg_id: ClientMsgId(Uuid::from_u128(n)),
            text: String::new(),
            attachments: vec![],
        },
    }
}

fn refusal(session: u128, tag: Option<u64>, code: ErrorCode) -> ServerFrame {
    ServerFrame::Error {
        session: Some(sid(session)),
        tag: tag.map(RequestTag),
        code,
        message: "no".into(),
    }
}

fn texts(out: &[Outgoing]) -> Vec<String> {
    out.iter()
        .map(|item| match item {
            Outgoing::Message(m) => m.text.clone(),
            Outgoing::Frame(ClientFrame::Cancel { .. }) => "stop".into(),
            Outgoing::Frame(other) => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn what_is_made_before_connected_goes_out_after_it_in_order() {
    let mut outbox = Outbox::default();
    assert!(!outbox.message(message(1, 1)), "not ready: queued");
    assert_eq!(outbox.send(stop(1)), None);
    assert!(!outbox.message(message(1, 2)));
    assert_eq!(
        outbox.send(ClientFrame::View {
            session: Some(sid(1))
        }),
        None,
        "a view is state: not queued"
    );
    let out = outbox.connected();
    assert_eq!(texts(&out), ["message 1", "stop", "message 2"]);
    assert!(outbox.is_ready());
    assert_eq!(outbox.send(stop(1)), Some(stop(1)), "ready: straight out");
}

#[test]
fn unechoed_messages_are_resent_after_a_reconnect_and_echoed_ones_are_not() {
    let mut outbox = Outbox::default();
    outbox.connected();
    assert!(outbox.message(message(1, 1)));
    assert!(outbox.message(message(1, 2)));
    outbox.received(&echo(1, 1));
    outbox.lost();
    assert!(!outbox.message(message(1, 3)), "made while reconnecting");
    outbox.hello([sid(1)]);
    let out = outbox.connected();
    assert_eq!(texts(&out), ["message 2", "message 3"]);
}

#[test]
fn a_refusal_drops_only_the_message_it_names() {
    let mut outbox = Outbox::default();
    outbox.connected();
    outbox.message(message(1, 1));
    outbox.message(message(1, 2));
    // A refused permission answer (another tag) leaves both messages to be resent.
    outbox.received(&refusal(1, Some(99), ErrorCode::InvalidState));
    outbox.received(&refusal(1, Some(2), ErrorCode::TooLarge));
    outbox.lost();
    assert_eq!(texts(&outbox.connected()), ["message 1"]);
}

#[test]
fn a_session_the_server_does_not_know_or_ended_takes_its_messages_with_it() {
    let mut outbox = Outbox::default();
    outbox.connected();
    outbox.message(message(1, 1));
    outbox.message(message(2, 2));
    outbox.message(message(3, 3));
    outbox.received(&refusal(1, None, ErrorCode::UnknownSession));
    outbox.received(&ServerFrame::SessionRemoved { session: sid(2) });
    // An untagged error of another kind (a log that could not be read) drops nothing.
    outbox.received(&refusal(3, None, ErrorCode::Internal));
    outbox.lost();
    assert_eq!(texts(&outbox.connected()), ["message 3"]);
}

#[test]
fn subscriptions_views_and_creates_happen_once_per_socket() {
    let mut outbox = Outbox::default();
    assert!(!outbox.subscribes(sid(1)), "not before Connected");
    outbox.hello([sid(1)]);
    outbox.connected();
    assert!(!outbox.subscribes(sid(1)), "Hello resumed it");
    assert!(outbox.subscribes(sid(2)));
    assert!(!outbox.subscribes(sid(2)));
    assert!(outbox.views(Some(sid(2))));
    assert!(!outbox.views(Some(sid(2))));
    assert!(outbox.creates(sid(3)));
    assert!(
        !outbox.creates(sid(3)),
        "later sends follow the creating one"
    );
    // A new socket starts over.
    outbox.lost();
    outbox.connected();
    assert!(outbox.subscribes(sid(2)));
    assert!(outbox.views(Some(sid(2))));
    assert!(outbox.creates(sid(3)));
}
