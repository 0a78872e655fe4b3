//! The session endpoints: list, read (with a range of events), create, send, stop, answer a
//! permission request, change (rename, permission mode) and end. Each one parses, calls the
//! same registry service the WebSocket calls, and answers; nothing here knows a session's
//! rules.

use super::dto::{
    Accepted, ApiEvent, ApiProject, ApiSession, CreateSession, Decision, EndQuery, EventsQuery,
    ListQuery, PermissionAnswer, ProjectList, SendMessage, SessionDetail, SessionList,
    UpdateSession,
};
use super::problem::{ApiError, ApiJson, ApiQuery, Problem};
use crate::protocol::{
    AgentId, ClientMsgId, NewSession, PermissionOptionKind, ProjectId, RequestId, Seq,
    SessionEvent, SessionId, WorktreeEnd,
};
use crate::server::registry::ServiceError;
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

/// Most events one read answers with.
const MAX_EVENTS: u32 = 1000;

/// A session id from the path; not a UUID is `malformed`.
pub(super) fn session_id(text: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(text)
        .ok_or_else(|| ApiError::Malformed(format!("'{text}' is not a session id (a UUID)")))
}

/// A UUID given in a body field, or a new one when absent.
fn uuid_or_new(field: &str, text: Option<&str>) -> Result<uuid::Uuid, ApiError> {
    match text {
        None => Ok(uuid::Uuid::new_v4()),
        Some(text) => uuid::Uuid::parse_str(text)
            .map_err(|_| ApiError::Malformed(format!("{field} '{text}' is not a UUID"))),
    }
}

/// The session as it is now.
fn snapshot(state: &AppState, id: SessionId) -> Result<ApiSession, ApiError> {
    Ok(ApiSession::from(&state.registry.stream(id)?.snapshot()))
}

/// A live session's snapshot, else an ended one's stored record: an ended session leaves
/// the registry, but what it did stays readable.
async fn live_or_ended(state: &AppState, id: SessionId) -> Result<ApiSession, ApiError> {
    match snapshot(state, id) {
        Err(ApiError::Service(ServiceError::UnknownSession(_))) => {
            let stored = state
                .registry
                .db()
                .session(id)
                .await
                .map_err(ServiceError::from)?;
            stored
                .map(|session| ApiSession::from(&session))
                .ok_or(ApiError::Service(ServiceError::UnknownSession(id)))
        }
        other => other,
    }
}

/// The sessions that are not ended, newest activity first, filtered.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(ListQuery),
    responses((status = 200, body = SessionList), (status = 401, body = Problem)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Json<SessionList> {
    let sessions = state
        .registry
        .sessions()
        .iter()
        .filter(|s| {
            query
                .project
                .as_deref()
                .is_none_or(|p| s.project.is_some_and(|id| id.to_string() == p))
        })
        .filter(|s| query.agent.as_deref().is_none_or(|a| s.agent.0 == a))
        .filter(|s| query.state.as_deref().is_none_or(|st| s.state.name() == st))
        .map(ApiSession::from)
        .collect();
    Json(SessionList { sessions })
}

/// The projects, for naming one when creating a session.
#[utoipa::path(get, path = "/api/v1/projects", tag = "sessions",
    responses((status = 200, body = ProjectList), (status = 401, body = Problem)))]
pub async fn list_projects(State(state): State<AppState>) -> Json<ProjectList> {
    let projects = state
        .registry
        .project_list()
        .iter()
        .map(ApiProject::from)
        .collect();
    Json(ProjectList { projects })
}

/// One session (live or ended) with the events after `since` and before `until`, at most
/// `limit`.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session's id"), EventsQuery),
    responses((status = 200, body = SessionDetail), (status = 404, body = Problem),
        (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn get_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<SessionDetail>, ApiError> {
    let id = session_id(&id)?;
    let session = live_or_ended(&state, id).await?;
    let since = Seq(query.since.unwrap_or(0));
    let limit = u64::from(query.limit.unwrap_or(MAX_EVENTS).clamp(1, MAX_EVENTS));
    // Seqs have no gaps, so a window of `limit` seqs holds at most `limit` events.
    let window_end = Seq(since.0.saturating_add(limit).saturating_add(1));
    let until = query
        .until
        .map_or(window_end, |until| window_end.min(Seq(until)));
    let events = state
        .registry
        .db()
        .events_between(id, since, until)
        .await
        .map_err(ServiceError::from)?;
    let last_wanted = query.until.map_or(session.last_seq, |u| {
        u.saturating_sub(1).min(session.last_seq)
    });
    let next_since = events
        .last()
        .map(|e| e.seq.0)
        .filter(|&newest| newest < last_wanted);
    Ok(Json(SessionDetail {
        session,
        events: events.into_iter().map(ApiEvent::from).collect(),
        next_since,
    }))
}

/// Makes a session and sends its first message (the turn starts at once).
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = CreateSession,
    responses((status = 201, body = Accepted), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 429, body = Problem),
        (status = 401, body = Problem), (status = 413, body = Problem)))]
pub async fn create_session(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateSession>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let id = SessionId(uuid_or_new("id", body.id.as_deref())?);
    let client_msg_id = ClientMsgId(uuid_or_new("client_msg_id", body.client_msg_id.as_deref())?);
    let project = match body.project.as_deref() {
        None => None,
        Some(text) => Some(ProjectId::parse(text).ok_or_else(|| {
            ApiError::Malformed(format!("project '{text}' is not a project id (a UUID)"))
        })?),
    };
    let new = NewSession {
        project,
        cwd: body.cwd,
        worktree: body.worktree,
        permission_mode: body.permission_mode,
        model: body.model,
        ..NewSession::defaults(AgentId(body.agent))
    };
    state
        .registry
        .send(id, client_msg_id, body.text, Vec::new(), Some(new))
        .await?;
    let answer = Accepted {
        session: snapshot(&state, id)?,
        client_msg_id: client_msg_id.0.to_string(),
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Sends a message; it runs after any turn before it. The same `client_msg_id` twice makes
/// one turn.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/messages", tag = "sessions",
    params(("id" = String, Path, description = "The session's id")), request_body = SendMessage,
    responses((status = 202, body = Accepted), (status = 404, body = Problem),
        (status = 400, body = Problem), (status = 409, body = Problem),
        (status = 402, body = Problem), (status = 413, body = Problem),
        (status = 429, body = Problem), (status = 401, body = Problem)))]
pub async fn send_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SendMessage>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let id = session_id(&id)?;
    let client_msg_id = ClientMsgId(uuid_or_new("client_msg_id", body.client_msg_id.as_deref())?);
    state
        .registry
        .send(id, client_msg_id, body.text, Vec::new(), None)
        .await?;
    let answer = Accepted {
        session: snapshot(&state, id)?,
        client_msg_id: client_msg_id.0.to_string(),
    };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// Stops the running turn (and drops the messages waiting behind it), as Stop does.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/stop", tag = "sessions",
    params(("id" = String, Path, description = "The session's id")),
    responses((status = 202, description = "Stopping"), (status = 404, body = Problem),
        (status = 401, body = Problem)))]
pub async fn stop_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.cancel(session_id(&id)?).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Answers a permission request with one of its options, or with `allow` / `deny`.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/permissions/{request_id}", tag = "sessions",
    params(("id" = String, Path, description = "The session's id"),
        ("request_id" = String, Path, description = "The request's id, from its `permission_requested` event")),
    request_body = PermissionAnswer,
    responses((status = 204, description = "Answered"), (status = 404, body = Problem),
        (status = 400, body = Problem), (status = 409, body = Problem),
        (status = 401, body = Problem)))]
pub async fn answer_permission(
    State(state): State<AppState>,
    Path((id, request_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<PermissionAnswer>,
) -> Result<StatusCode, ApiError> {
    let id = session_id(&id)?;
    state.registry.check_known(id)?;
    let request_id = RequestId(request_id);
    let option_id = match (body.option_id, body.decision) {
        (Some(option), _) => option,
        (None, Some(decision)) => option_for(&state, id, &request_id, decision).await?,
        (None, None) => {
            return Err(ApiError::Malformed(
                "give option_id or decision (allow or deny)".into(),
            ))
        }
    };
    state
        .registry
        .answer_permission(id, request_id, option_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The option of a stored permission request that allows (or denies), once before always.
async fn option_for(
    state: &AppState,
    id: SessionId,
    request_id: &RequestId,
    decision: Decision,
) -> Result<String, ApiError> {
    let asked = state
        .registry
        .db()
        .permission_request(id, request_id)
        .await
        .map_err(ServiceError::from)?;
    let Some(SessionEvent::PermissionRequested { options, .. }) = asked else {
        return Err(ServiceError::InvalidState(format!(
            "no permission request {} in this session",
            request_id.0
        ))
        .into());
    };
    let order = match decision {
        Decision::Allow => [
            PermissionOptionKind::AllowOnce,
            PermissionOptionKind::AllowAlways,
        ],
        Decision::Deny => [
            PermissionOptionKind::RejectOnce,
            PermissionOptionKind::RejectAlways,
        ],
    };
    order
        .iter()
        .find_map(|kind| options.iter().find(|o| o.kind == *kind))
        .map(|o| o.id.clone())
        .ok_or_else(|| {
            ServiceError::InvalidState(format!(
                "request {} offers no option to {}",
                request_id.0,
                if decision == Decision::Allow {
                    "allow"
                } else {
                    "deny"
                }
            ))
            .into()
        })
}

/// Renames a session or changes its permission mode; the answer is the session with the
/// change applied.
#[utoipa::path(patch, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session's id")), request_body = UpdateSession,
    responses((status = 200, body = ApiSession), (status = 404, body = Problem),
        (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn update_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateSession>,
) -> Result<Json<ApiSession>, ApiError> {
    let id = session_id(&id)?;
    state.registry.check_known(id)?;
    if let Some(mode) = body.permission_mode {
        state.registry.set_permission_mode(id, mode).await?;
    }
    if let Some(title) = body.title {
        state.registry.rename(id, title).await?;
    }
    Ok(Json(snapshot(&state, id)?))
}

/// Ends a session: stops its agent and archives it (its worktree kept unless asked).
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session's id"), EndQuery),
    responses((status = 204, description = "Ended"), (status = 404, body = Problem),
        (status = 400, body = Problem), (status = 409, body = Problem),
        (status = 401, body = Problem)))]
pub async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EndQuery>,
) -> Result<StatusCode, ApiError> {
    let id = session_id(&id)?;
    let end = match query.worktree.as_deref() {
        None | Some("keep") => WorktreeEnd::Keep,
        Some("remove_worktree") => WorktreeEnd::RemoveWorktree,
        Some("remove_both") => WorktreeEnd::RemoveBoth,
        Some(other) => {
            return Err(ApiError::Malformed(format!(
                "worktree '{other}': keep, remove_worktree or remove_both"
            )))
        }
    };
    state
        .registry
        .end_session(id, Some(end), query.discard_unmerged.unwrap_or(false))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
