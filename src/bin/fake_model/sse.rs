//! Streaming a `Reply` as Anthropic server-sent events: `message_start`, per block
//! `content_block_start` / `content_block_delta`... / `content_block_stop`, then
//! `message_delta` and `message_stop`, each as `event: <type>\ndata: <json>\n\n`.
//!
//! A task writes the events into a small channel that the response body drains, so each
//! event goes out as soon as it is made (pauses included), stamps are taken at write time,
//! and a client that hangs up ends the task at its next write or pause.

use crate::reply::{json_pieces, Block, Reply, OUTPUT_TOKENS};
use axum::body::{Body, Bytes};
use serde_json::{json, Value};
use std::convert::Infallible;
use tokio::sync::mpsc;

/// Events buffered ahead of the socket: enough for fast bursts, small enough that stamps
/// are taken close to when they are sent.
const BUFFER: usize = 32;

/// The client went away; nothing more to send.
struct Gone;

/// The response body streaming `reply`.
pub fn body(reply: Reply) -> Body {
    let (tx, rx) = mpsc::channel::<Bytes>(BUFFER);
    tokio::spawn(async move {
        let id = reply.id.clone();
        match write_reply(&reply, &tx).await {
            Ok(()) => tracing::debug!(%id, "stream finished"),
            // Normal for an interrupted turn: stop quietly.
            Err(Gone) => tracing::debug!(%id, "client went away mid-stream"),
        }
    });
    Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    }))
}

/// Writes the whole event sequence of `reply`.
async fn write_reply(reply: &Reply, tx: &mpsc::Sender<Bytes>) -> Result<(), Gone> {
    send(
        tx,
        json!({
            "type": "message_start",
            "message": {
                "id": reply.id,
                "type": "message",
                "role": "assistant",
                "model": reply.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": reply.usage.to_json(1),
            },
        }),
    )
    .await?;
    for (index, block) in reply.blocks.iter().enumerate() {
        write_block(reply, index, block, tx).await?;
    }
    send(
        tx,
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": OUTPUT_TOKENS},
        }),
    )
    .await?;
    send(tx, json!({"type": "message_stop"})).await
}

/// Writes one content block: its start, its deltas (paced), its stop.
async fn write_block(
    reply: &Reply,
    index: usize,
    block: &Block,
    tx: &mpsc::Sender<Bytes>,
) -> Result<(), Gone> {
    let start = match block {
        Block::Text(_) => json!({"type": "text", "text": ""}),
        Block::Thinking { .. } => json!({"type": "thinking", "thinking": "", "signature": ""}),
        Block::ToolUse { id, name, .. } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": {}})
        }
    };
    send(
        tx,
        json!({"type": "content_block_start", "index": index, "content_block": start}),
    )
    .await?;

    let delta =
        |delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
    match block {
        Block::Text(pieces) => {
            for (i, piece) in pieces.iter().enumerate() {
                pause(reply, i, tx).await?;
                send(
                    tx,
                    delta(json!({"type": "text_delta", "text": piece.render()})),
                )
                .await?;
            }
        }
        Block::Thinking { pieces, signature } => {
            for (i, piece) in pieces.iter().enumerate() {
                pause(reply, i, tx).await?;
                let thinking = json!({"type": "thinking_delta", "thinking": piece.render()});
                send(tx, delta(thinking)).await?;
            }
            let signature = json!({"type": "signature_delta", "signature": signature});
            send(tx, delta(signature)).await?;
        }
        Block::ToolUse { input, .. } => {
            for (i, piece) in json_pieces(&input.to_string()).into_iter().enumerate() {
                pause(reply, i, tx).await?;
                let partial = json!({"type": "input_json_delta", "partial_json": piece});
                send(tx, delta(partial)).await?;
            }
        }
    }
    send(tx, json!({"type": "content_block_stop", "index": index})).await
}

/// Waits the reply's pace before every chunk but a block's first; a hang-up ends the wait.
async fn pause(reply: &Reply, chunk: usize, tx: &mpsc::Sender<Bytes>) -> Result<(), Gone> {
    if chunk == 0 || reply.pace.is_zero() {
        return Ok(());
    }
    tokio::select! {
        () = tokio::time::sleep(reply.pace) => Ok(()),
        () = tx.closed() => Err(Gone),
    }
}

/// Sends one event, named after its `type`.
async fn send(tx: &mpsc::Sender<Bytes>, event: Value) -> Result<(), Gone> {
    let name = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    let frame = format!("event: {name}\ndata: {event}\n\n");
    tx.send(Bytes::from(frame)).await.map_err(|_| Gone)
}
