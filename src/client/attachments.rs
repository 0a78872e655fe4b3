//! Images attached to a message: which kinds are accepted, how large they may be, their
//! base64 form and the `data:` URL a thumbnail shows. Pure, so it is tested natively; the
//! browser-only reading of files is in `files.rs`.

use crate::protocol::{Attachment, ClientLimits};

/// The image types agents accept and browsers show safely in `<img>` (not SVG: it can
/// carry script, and agents do not read it as an image anyway).
pub const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Largest image, in bytes. Its base64 form is a third larger, and must fit the server's
/// 1 MiB frame together with the message text.
pub const MAX_IMAGE_BYTES: u64 = 700 * 1024;

/// Room in a `Send` frame for everything but the attachments' data and the text: the JSON
/// keys, the ids and a `create` block.
const FRAME_OVERHEAD_BYTES: usize = 4 * 1024;

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// True for the four image types [`IMAGE_TYPES`] lists.
pub fn is_image_type(mime: &str) -> bool {
    IMAGE_TYPES.contains(&mime)
}

/// The image type the first bytes of a file show, if it is one we accept. The browser's
/// idea of a file's type comes from its name (or nothing, for some pastes); the bytes
/// decide what the agent is told.
pub fn sniff_image_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        _ => None,
    }
}

/// Standard base64 (RFC 4648, with `=` padding), as the protocol's `data_base64` expects.
pub fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // Each output character carries 6 bits; a short last chunk pads with '='.
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (n >> (18 - 6 * i)) & 0x3F;
                out.push(char::from(BASE64_ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Length of the base64 form of `n` bytes.
pub fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Whether `text` looks like standard padded base64 (alphabet, length, padding only at the
/// end). Attachments from the server are checked before they go into a `data:` URL.
pub fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body = text.trim_end_matches('=');
    bytes.len() - body.len() <= 2 && body.bytes().all(|b| BASE64_ALPHABET.contains(&b))
}

/// The `data:` URL of an image attachment for `<img src>`, or `None` for other types and
/// malformed data, which are shown by name only.
pub fn image_data_url(attachment: &Attachment) -> Option<String> {
    let mime = attachment.mime_type.as_str();
    (is_image_type(mime) && is_base64(&attachment.data_base64))
        .then(|| format!("data:{mime};base64,{}", attachment.data_base64))
}

/// Whether a file the user picked may be read at all: its declared type (when the browser
/// gives one) must be an accepted image type, and it must not be too large. Checked before
/// reading, so a huge file is refused without loading it.
pub fn check_file(name: &str, declared_type: &str, size: u64) -> Result<(), String> {
    let subject = subject(name);
    if !declared_type.is_empty() && !is_image_type(declared_type) {
        return Err(format!("{subject} is not a PNG, JPEG, GIF or WebP image."));
    }
    if size > MAX_IMAGE_BYTES {
        return Err(format!(
            "{subject} is {}; images can be at most {}.",
            human_size(size),
            human_size(MAX_IMAGE_BYTES)
        ));
    }
    Ok(())
}

/// An attachment from a file's bytes, after checking what they really are.
pub fn image_attachment(name: &str, bytes: &[u8]) -> Result<Attachment, String> {
    check_file(name, "", bytes.len() as u64)?;
    let Some(mime) = sniff_image_type(bytes) else {
        return Err(format!(
            "{} is not a PNG, JPEG, GIF or WebP image.",
            subject(name)
        ));
    };
    let name = if name.trim().is_empty() {
        // Pasted screenshots may come without a name.
        format!("image.{}", mime.trim_start_matches("image/"))
    } else {
        name.to_string()
    };
    Ok(Attachment {
        name,
        mime_type: mime.to_string(),
        data_base64: encode_base64(bytes),
    })
}

/// Bytes a `Send` frame with this text and these attachments takes, about (a little more,
/// never less).
pub fn frame_estimate(text: &str, attachments: &[Attachment]) -> usize {
    // JSON escapes quotes, backslashes and control characters; the serialized form counts
    // them exactly.
    let text_len = serde_json::to_string(text).map_or(text.len() * 6, |json| json.len());
    let attached: usize = attachments
        .iter()
        .map(|a| a.data_base64.len() + a.name.len() * 6 + a.mime_type.len() + 64)
        .sum();
    FRAME_OVERHEAD_BYTES + text_len + attached
}

/// Refuses a message the server would refuse, with words for the user: checked against the
/// limits the server sent (`Connected`), not compiled-in copies of its defaults.
pub fn check_frame(
    limits: &ClientLimits,
    text: &str,
    attachments: &[Attachment],
) -> Result<(), String> {
    if text.len() > limits.max_message_bytes {
        return Err(format!(
            "The message is too long to send (at most {} of text).",
            human_size(limits.max_message_bytes as u64)
        ));
    }
    if attachments.len() > limits.max_attachments {
        return Err(format!(
            "At most {} images go with one message.",
            limits.max_attachments
        ));
    }
    if let Some(large) = attachments
        .iter()
        .find(|a| a.data_base64.len() / 4 * 3 > limits.max_attachment_bytes)
    {
        return Err(format!(
            "{} is too large (at most {} an image).",
            subject(&large.name),
            human_size(limits.max_attachment_bytes as u64)
        ));
    }
    if frame_estimate(text, attachments) <= limits.max_frame_bytes {
        return Ok(());
    }
    let most = human_size(limits.max_frame_bytes as u64);
    Err(if attachments.len() > 1 {
        format!(
            "Too much for one message (at most about {most} in all). Send the images one by one."
        )
    } else {
        format!("The message is too large to send (at most about {most} in all).")
    })
}

/// Sizes as people read them: `512 B`, `640 KB`, `1.2 MB` (binary units, as file
/// managers on most systems show them).
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    if bytes < KB {
        format!("{bytes} B")
    } else if bytes < KB * KB {
        format!("{} KB", (bytes + KB / 2) / KB)
    } else {
        let tenths = (bytes * 10 + KB * KB / 2) / (KB * KB);
        format!("{} MB", super::format::decimal(tenths, 1))
    }
}

/// How messages name a file: quoted and short enough for a toast; pastes may have no name.
fn subject(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return "The pasted image".to_string();
    }
    let mut short: String = name.chars().take(40).collect();
    if name.chars().count() > 40 {
        short.push('…');
    }
    format!("\u{201c}{short}\u{201d}")
}
