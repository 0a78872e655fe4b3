//! Images in messages: base64, type sniffing, size limits, `data:` URLs, and the actions
//! that keep them in the composer and send them.

use super::*;
use crate::client::actions;
use crate::client::attachments::{
    check_file, check_frame, encode_base64, encoded_len, human_size, image_attachment,
    image_data_url, is_base64, sniff_image_type, MAX_IMAGE_BYTES,
};
use crate::client::store::EntryBody;
use crate::protocol::{
    Attachment, ClientLimits, ClientMsgId, SessionEvent, MAX_CLIENT_FRAME_BYTES,
};
use leptos::prelude::*;
use uuid::Uuid;

const PNG_HEAD: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn png(len: usize) -> Vec<u8> {
    let mut bytes = PNG_HEAD.to_vec();
    bytes.resize(len.max(PNG_HEAD.len()), 7);
    bytes
}

fn attachment(name: &str, data_len: usize) -> Attachment {
    Attachment {
        name: name.into(),
        mime_type: "image/png".into(),
        data_base64: "A".repeat(data_len),
    }
}

/// A plain decoder, to check the encoder against.
fn decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).expect("alphabet") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[test]
fn base64_matches_the_rfc_vectors() {
    for (input, expected) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(encode_base64(input.as_bytes()), expected, "{input:?}");
    }
    assert_eq!(encode_base64(&[0xFB, 0xFF]), "+/8=", "the last two symbols");
}

#[test]
fn base64_round_trips_every_byte_and_length() {
    let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    for len in [0, 1, 2, 3, 4, 5, 100, 511, 512] {
        let slice = &bytes[..len];
        let text = encode_base64(slice);
        assert_eq!(text.len(), encoded_len(len));
        assert!(is_base64(&text), "{text}");
        assert_eq!(decode(&text), slice, "length {len}");
    }
}

#[test]
fn base64_check_refuses_what_could_break_a_data_url() {
    assert!(is_base64("Zm9vYmFy"));
    assert!(is_base64("Zg=="));
    assert!(!is_base64("Zg="), "length not a multiple of 4");
    assert!(!is_base64("Z==="), "too much padding");
    assert!(!is_base64("Zm9v\"><"), "not the alphabet");
    assert!(!is_base64("Zg==Zg=="), "padding only at the end");
}

#[test]
fn images_are_recognised_by_their_bytes() {
    assert_eq!(sniff_image_type(&png(16)), Some("image/png"));
    assert_eq!(
        sniff_image_type(&[0xFF, 0xD8, 0xFF, 0xE0]),
        Some("image/jpeg")
    );
    assert_eq!(sniff_image_type(b"GIF89a...."), Some("image/gif"));
    assert_eq!(sniff_image_type(b"GIF87a...."), Some("image/gif"));
    assert_eq!(
        sniff_image_type(b"RIFF\x10\0\0\0WEBPVP8 "),
        Some("image/webp")
    );
    assert_eq!(sniff_image_type(b"RIFF\x10\0\0\0WAVEfmt "), None, "audio");
    assert_eq!(sniff_image_type(b"<svg xmlns="), None, "SVG is refused");
    assert_eq!(sniff_image_type(&[]), None);
}

#[test]
fn files_are_checked_for_type_and_size_before_reading() {
    assert!(check_file("a.png", "image/png", 1000).is_ok());
    assert!(
        check_file("paste", "", 1000).is_ok(),
        "no declared type: the bytes decide"
    );
    assert!(check_file("a.png", "image/png", MAX_IMAGE_BYTES).is_ok());
    let too_big = check_file("big.png", "image/png", MAX_IMAGE_BYTES + 1).expect_err("too big");
    assert!(
        too_big.contains("big.png") && too_big.contains("700 KB"),
        "{too_big}"
    );
    let svg = check_file("logo.svg", "image/svg+xml", 10).expect_err("svg");
    assert!(svg.contains("logo.svg"), "{svg}");
    assert!(check_file("", "text/plain", 10)
        .expect_err("text")
        .starts_with("The pasted image"));
}

#[test]
fn an_attachment_takes_its_type_from_its_bytes() {
    let made = image_attachment("shot.jpg", &png(20)).expect("a png");
    assert_eq!(made.mime_type, "image/png", "the bytes win over the name");
    assert_eq!(made.name, "shot.jpg");
    assert_eq!(decode(&made.data_base64), png(20));
    assert_eq!(
        image_attachment("", &png(20)).expect("png").name,
        "image.png"
    );
    assert!(image_attachment("notes.png", b"hello").is_err());
    let big = png(MAX_IMAGE_BYTES as usize + 1);
    assert!(image_attachment("big.png", &big).is_err());
}

#[test]
fn only_the_four_image_types_become_data_urls() {
    let mut a = attachment("a.png", 8);
    assert_eq!(
        image_data_url(&a).as_deref(),
        Some("data:image/png;base64,AAAAAAAA")
    );
    a.mime_type = "image/svg+xml".into();
    assert_eq!(image_data_url(&a), None);
    a.mime_type = "text/html".into();
    assert_eq!(image_data_url(&a), None);
    a.mime_type = "image/webp".into();
    a.data_base64 = "AAAA\" onerror=\"x".into();
    assert_eq!(image_data_url(&a), None, "malformed data is not a URL");
}

#[test]
fn a_message_must_fit_one_frame() {
    let limits = ClientLimits::default();
    let one = attachment("a.png", encoded_len(MAX_IMAGE_BYTES as usize));
    assert!(check_frame(&limits, "hello", std::slice::from_ref(&one)).is_ok());
    let two = vec![one.clone(), one];
    let error = check_frame(&limits, "", &two).expect_err("two large images");
    assert!(error.contains("one by one"), "{error}");
    let text = "x".repeat(MAX_CLIENT_FRAME_BYTES);
    assert!(check_frame(&limits, &text, &[]).is_err());
}

#[test]
fn a_message_is_checked_against_the_limits_the_server_sent() {
    let small = ClientLimits {
        max_frame_bytes: 10_000,
        max_message_bytes: 100,
        max_attachments: 1,
        max_attachment_bytes: 1_000,
    };
    assert!(check_frame(&small, "short", &[]).is_ok());
    let error = check_frame(&small, &"x".repeat(101), &[]).expect_err("text over the limit");
    assert!(error.contains("too long"), "{error}");
    let image = attachment("a.png", 400);
    let error = check_frame(&small, "", &[image.clone(), image]).expect_err("two images");
    assert!(error.contains("At most 1"), "{error}");
    let error =
        check_frame(&small, "", &[attachment("big.png", 4_000)]).expect_err("a large image");
    assert!(error.contains("big.png"), "{error}");
}

#[test]
fn sizes_read_like_a_file_manager() {
    assert_eq!(human_size(0), "0 B");
    assert_eq!(human_size(1023), "1023 B");
    assert_eq!(human_size(700 * 1024), "700 KB");
    assert_eq!(human_size(1536 * 1024), "1.5 MB");
}

#[test]
fn composer_images_are_kept_per_session_and_sent_with_the_message() {
    let store = connected(2);
    actions::show(store, Some(sid(1)));
    let image = image_attachment("shot.png", &png(64)).expect("png");
    actions::add_attachment(store, sid(1), image.clone()).expect("fits");
    actions::add_attachment(store, sid(1), image.clone()).expect("fits");
    assert_eq!(
        view(&store, 1).draft_attachments.with_untracked(Vec::len),
        2
    );
    assert_eq!(
        view(&store, 2).draft_attachments.with_untracked(Vec::len),
        0
    );
    actions::remove_attachment(store, sid(1), 0);
    actions::remove_attachment(store, sid(1), 9);
    assert_eq!(
        view(&store, 1).draft_attachments.with_untracked(Vec::len),
        1
    );

    assert!(
        actions::send_message(store, sid(1)),
        "an image alone is a message"
    );
    let v = view(&store, 1);
    assert!(v.draft_attachments.with_untracked(Vec::is_empty), "sent");
    v.entries.with_untracked(|entries| match &entries[0].body {
        EntryBody::User {
            text, attachments, ..
        } => {
            assert_eq!(text, "");
            assert_eq!(attachments.as_ref(), [image.clone()].as_slice());
        }
        other => panic!("unexpected {other:?}"),
    });
}

#[test]
fn an_image_that_would_overflow_the_frame_is_refused() {
    let store = connected(1);
    let big = attachment("big.png", encoded_len(MAX_IMAGE_BYTES as usize));
    actions::add_attachment(store, sid(1), big.clone()).expect("one fits");
    let error = actions::add_attachment(store, sid(1), big).expect_err("two do not");
    assert!(error.contains("one by one"), "{error}");
    assert_eq!(
        view(&store, 1).draft_attachments.with_untracked(Vec::len),
        1
    );

    // Text pasted after the image can still overflow: Send refuses and keeps both.
    view(&store, 1)
        .draft_text
        .set("x".repeat(MAX_CLIENT_FRAME_BYTES / 4));
    assert!(!actions::send_message(store, sid(1)));
    assert!(store.toast.get_untracked().is_some(), "a toast says why");
    assert_eq!(len(&store, 1), 0);
    assert_eq!(
        view(&store, 1).draft_attachments.with_untracked(Vec::len),
        1
    );
}

#[test]
fn a_draft_sent_with_only_an_image_is_named_after_it() {
    let store = connected(0);
    let id = actions::new_draft(store);
    let image = image_attachment("diagram.png", &png(32)).expect("png");
    actions::add_attachment(store, id, image).expect("fits");
    actions::send_message(store, id);
    let draft = store.view(id).expect("draft");
    assert_eq!(draft.meta.get_untracked().title, "diagram.png");
}

#[test]
fn images_from_the_server_show_in_the_user_row() {
    let store = connected(1);
    let image = image_attachment("from-phone.png", &png(16)).expect("png");
    event(
        &store,
        1,
        1,
        SessionEvent::UserMessage {
            client_msg_id: ClientMsgId(Uuid::from_u128(5)),
            text: "look".into(),
            attachments: vec![image.clone()],
        },
    );
    view(&store, 1)
        .entries
        .with_untracked(|entries| match &entries[0].body {
            EntryBody::User { attachments, .. } => {
                assert_eq!(attachments.as_ref(), [image].as_slice())
            }
            other => panic!("unexpected {other:?}"),
        });
}
