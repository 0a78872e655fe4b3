//! The runner's connections: one server (or control command) per WebSocket, over this
//! host's unix socket or, for another machine's runner, over the connection it dialled
//! to its server; and that dialling.

use super::*;

/// Another machine's runner: dials its server again whenever the connection drops, the
/// next of its nodes each time (after a pause growing to 5 s once every node failed); the
/// server then speaks to it as over the unix socket. A refusal (a revoked machine) stops
/// the runner and its agents.
pub(super) async fn dial_server(host: Arc<Host>, remote: RemoteServer) {
    let name = crate::server::runner::dial::host_name();
    let mut pause = Duration::from_millis(100);
    let mut next = 0;
    loop {
        let target = &remote.targets[next % remote.targets.len()];
        next += 1;
        match target.connect(&remote.credential, &name).await {
            Ok(stream) => {
                tracing::info!("connected to the server");
                pause = Duration::from_millis(100);
                connection(Arc::clone(&host), stream).await;
                tracing::warn!("the connection to the server dropped; dialling again");
            }
            Err(crate::server::runner::dial::DialError::Refused(why)) => {
                tracing::error!("the server refused this runner: {why}; stopping its agents");
                *lock(&host.refused) = Some(format!("the server refused this runner: {why}"));
                host.stop.notify_one();
                return;
            }
            Err(crate::server::runner::dial::DialError::Failed(why)) => {
                tracing::warn!("cannot connect to the server: {why}");
                if next % remote.targets.len() != 0 {
                    continue; // the next node at once
                }
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// One connection: a server (launches, attaches, commands, acks) or a control command.
pub(super) async fn connection<S>(host: Arc<Host>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let ws = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(e) => return tracing::debug!("runner handshake failed: {e}"),
    };
    let (mut sink, mut frames) = ws.split();
    let Some(ToRunner::Hello { version, role }) = read_frame::<ToRunner, _>(&mut frames).await
    else {
        return tracing::warn!("a connection opened without a hello; closed");
    };
    let (info, agents) = host.snapshot();
    let hello = FromRunner::Hello {
        version: info.protocol,
        info,
        agents,
    };
    if send(&mut sink, &hello).await.is_err() {
        return;
    }
    let id = host.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let (to_conn, mut outgoing) = mpsc::unbounded_channel::<String>();
    if role == Role::Server {
        tracing::info!(version, connection = id, "server connected");
        host.server.store(id, Ordering::SeqCst);
        *lock(&host.server_tx) = Some(to_conn.clone());
        *lock(&host.alone_since) = None;
        // A new server attaches what it wants; nothing goes to the old one any more.
        for slot in lock(&host.agents).values() {
            lock(&slot.outbox).to = None;
        }
    }
    let writer = tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(frame) = read_frame::<ToRunner, _>(&mut frames).await {
        if role == Role::Server && host.server.load(Ordering::SeqCst) != id {
            break; // replaced by a newer server connection
        }
        if !handle(&host, frame, id, &to_conn) {
            break;
        }
    }
    drop(to_conn);
    if role == Role::Server
        && host
            .server
            .compare_exchange(id, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    {
        tracing::info!(connection = id, "server disconnected");
        lock(&host.server_tx).take();
        *lock(&host.alone_since) = Some(Instant::now());
        for slot in lock(&host.agents).values() {
            let mut outbox = lock(&slot.outbox);
            if outbox.to.as_ref().is_some_and(|(conn, _)| *conn == id) {
                outbox.to = None;
            }
        }
    }
    let _ = writer.await;
}

/// Handles one frame; false to close the connection.
fn handle(host: &Arc<Host>, frame: ToRunner, id: u64, to: &mpsc::UnboundedSender<String>) -> bool {
    let reply = |frame: &FromRunner| match serde_json::to_string(frame) {
        Ok(text) => {
            let _ = to.send(text);
        }
        Err(e) => tracing::error!("cannot encode a runner frame: {e}"),
    };
    match frame {
        ToRunner::Hello { .. } => {}
        ToRunner::Launch { agent, start } => reply(&host.launch(agent, start, (id, to))),
        ToRunner::Attach { agent, after } => match host.slot(&agent) {
            None => reply(&FromRunner::Unknown { agent }),
            Some(slot) => {
                let mut outbox = lock(&slot.outbox);
                if let Err(e) = outbox.backlog.ack(after) {
                    tracing::error!(%agent, "cannot read the spill file: {e}");
                }
                slot.room.notify_one();
                reply(&FromRunner::Attached {
                    agent,
                    commands_applied: slot.commands_applied.load(Ordering::SeqCst),
                });
                // Under the outbox's lock, so no live output slips between the resent ones.
                match outbox.backlog.after(after) {
                    Ok(kept) => kept.into_iter().for_each(|(_, text)| {
                        let _ = to.send(text);
                    }),
                    Err(e) => tracing::error!(%agent, "cannot read the spill file: {e}"),
                }
                outbox.to = Some((id, to.clone()));
            }
        },
        ToRunner::Command { agent, n, command } => match host.slot(&agent) {
            Some(slot) => slot.apply(n, command),
            None => reply(&FromRunner::Unknown { agent }),
        },
        ToRunner::Ack { agent, through } => {
            if let Some(slot) = host.slot(&agent) {
                let done = {
                    let mut outbox = lock(&slot.outbox);
                    if let Err(e) = outbox.backlog.ack(through) {
                        tracing::error!(%agent, "cannot read the spill file: {e}");
                    }
                    outbox.exit_seq.is_some_and(|exit| through >= exit)
                };
                slot.room.notify_one();
                if done {
                    // Its exit is stored: nothing more will come from it.
                    host.release(&agent);
                }
            }
        }
        ToRunner::Release { agent } => host.release(&agent),
        ToRunner::Drain => {
            tracing::info!("told to drain");
            host.drain();
        }
        ToRunner::Status => {
            let (info, agents) = host.snapshot();
            reply(&FromRunner::Status { info, agents });
        }
        ToRunner::Stop { now } => {
            tracing::info!(now, "told to stop");
            if now {
                host.stop.notify_one();
            } else {
                host.drain();
            }
            let (info, agents) = host.snapshot();
            reply(&FromRunner::Status { info, agents });
        }
    }
    true
}

async fn send<S>(sink: &mut S, frame: &FromRunner) -> Result<(), ()>
where
    S: futures::Sink<Message> + Unpin,
{
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(Message::text(text)).await.map_err(|_| ())
}
