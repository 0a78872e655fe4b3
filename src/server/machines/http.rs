//! The two HTTP routes another machine's runner calls: `POST /runner/enroll` (a one-time
//! code for a credential) and `GET /runner/connect` (an HTTP upgrade, after which the
//! server speaks the runner protocol over the connection). Both check their callers
//! themselves (the code, the credential), never the browser's cookie.

use crate::protocol::EnrollRequest;
use crate::server::runner::wire::{HOST_HEADER, RUNNER_UPGRADE, VERSION_HEADER};
use crate::server::runner::RunnerStream;
use crate::server::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The answer of a server whose agents run in its own process.
fn no_machines() -> Response {
    refuse(
        StatusCode::NOT_FOUND,
        "this server runs its agents in its own process (runner.mode = \"embedded\"); \
         other machines' runners need runner.mode = \"detached\"",
    )
}

/// A refusal as plain text, which the runner prints.
fn refuse(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// `POST /runner/enroll`: redeems a one-time code for the machine's credential.
pub async fn enroll(State(state): State<AppState>, Json(request): Json<EnrollRequest>) -> Response {
    let Some(machines) = state.machines.clone() else {
        return no_machines();
    };
    match machines.enroll(request.code.trim(), &request.host).await {
        Ok(Some(enrolled)) => Json(enrolled).into_response(),
        Ok(None) => {
            tracing::warn!(host = %request.host, "refused an enrollment: unknown, used or expired code");
            refuse(
                StatusCode::FORBIDDEN,
                "the enrollment code is unknown, used or expired; make a new one on the Machines page",
            )
        }
        Err(e) => {
            tracing::error!("cannot enroll a machine: {e}");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "storage failed")
        }
    }
}

/// `GET /runner/connect`: a machine's runner connecting. A valid credential and the
/// runner's `Upgrade` get `101`; the upgraded connection goes to the machine's link.
pub async fn connect(State(state): State<AppState>, mut request: Request) -> Response {
    let Some(machines) = state.machines.clone() else {
        return no_machines();
    };
    let headers = request.headers();
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(machine) = credential.and_then(|c| machines.check(c)) else {
        tracing::warn!("refused a runner: unknown or revoked credential");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "this runner's credential is unknown or was revoked; enroll it again with a new code",
        );
    };
    let upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(RUNNER_UPGRADE.as_bytes()));
    if !upgrade {
        return refuse(
            StatusCode::BAD_REQUEST,
            "expected `Upgrade: switchboard-runner` (only `switchboard runner` connects here)",
        );
    }
    let host = text_header(headers, HOST_HEADER);
    let version = text_header(headers, VERSION_HEADER);
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let stream: RunnerStream = Box::new(hyper_util::rt::TokioIo::new(upgraded));
                tracing::info!(%machine, host = ?host, "a machine's runner connected");
                if let Err(e) = machines.accept(&machine, stream, host, version).await {
                    tracing::warn!(%machine, "dropped a runner connection: {e}");
                }
            }
            Err(e) => tracing::warn!(%machine, "a runner's upgrade failed: {e}"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, RUNNER_UPGRADE)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A short header's text, if it is one.
fn text_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.chars().take(100).collect())
}
