//! A small client of the HTTP API, for the command line (`switchboard sessions`, `send`,
//! `tail`, ...) and the tests: plain HTTP/1.1 over hyper (already in the build through
//! axum; no TLS: the API is for this machine, or for a TLS proxy's other side), one
//! connection per request, and a reader of Server-Sent Events.

use super::api::Problem;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached.
    #[error("cannot reach the server at {addr}: {cause}")]
    Connect {
        /// Where.
        addr: String,
        /// Why.
        cause: String,
    },
    /// The exchange failed half-way.
    #[error("HTTP: {0}")]
    Http(String),
    /// The server refused, with a problem.
    #[error("{} ({})", .0.detail, .0.code)]
    Problem(Problem),
    /// An answer that is not what the API sends.
    #[error("unexpected answer ({status}): {body}")]
    Unexpected {
        /// Its status.
        status: u16,
        /// Its start.
        body: String,
    },
}

/// Where the API is and how to be let in.
#[derive(Debug, Clone)]
pub struct ApiClient {
    /// `host:port`.
    authority: String,
    /// The API token; `None` for a `--no-auth` server.
    token: Option<String>,
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// Its `event:` name (`message` when none).
    pub event: String,
    /// Its `id:`, if it had one.
    pub id: Option<String>,
    /// Its `data:` lines, joined by newlines.
    pub data: String,
}

/// An open event stream.
pub struct SseStream {
    /// The answer's body.
    body: Incoming,
    /// Bytes read and not yet made into events.
    pending: Vec<u8>,
}

impl ApiClient {
    /// A client of the server at `server` (`http://host:port`, or `host:port`).
    pub fn new(server: &str, token: Option<String>) -> Result<ApiClient, ClientError> {
        let rest = server.trim().trim_end_matches('/');
        if rest.starts_with("https://") {
            return Err(ClientError::Http(
                "https is not supported: this client speaks plain HTTP (use the server's \
                 loopback address)"
                    .into(),
            ));
        }
        let authority = rest.strip_prefix("http://").unwrap_or(rest);
        if authority.is_empty() || authority.contains('/') {
            return Err(ClientError::Http(format!(
                "'{server}' is not http://host:port"
            )));
        }
        Ok(ApiClient {
            authority: authority.to_owned(),
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// Sends one request; the answer's status and body stream.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<hyper::Response<Incoming>, ClientError> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| ClientError::Connect {
                addr: self.authority.clone(),
                cause: e.to_string(),
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?;
        // The connection is driven by a task of its own; it ends with the answer's body.
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("API connection ended: {e}");
            }
        });
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.authority);
        if let Some(token) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(json.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request
            .body(body)
            .map_err(|e| ClientError::Http(e.to_string()))?;
        sender
            .send_request(request)
            .await
            .map_err(|e| ClientError::Http(e.to_string()))
    }

    /// Sends one request and reads the whole answer: its status and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let answer = self.send(method, path, body, &[]).await?;
        let status = answer.status();
        Ok((status, whole_body(answer).await?))
    }

    /// Sends one request and reads a JSON answer; an error answer becomes its problem.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ClientError> {
        let (status, bytes) = self.call(method, path, body).await?;
        decode(status, &bytes)
    }

    /// Sends one request whose success has no body to read.
    pub async fn act(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(), ClientError> {
        let (status, bytes) = self.call(method, path, body).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(refusal(status, &bytes))
    }

    /// Opens a session's event stream after `since`.
    pub async fn events(&self, session: &str, since: u64) -> Result<SseStream, ClientError> {
        let path = format!("/api/v1/sessions/{session}/events?since={since}");
        let answer = self
            .send(Method::GET, &path, None, &[("accept", "text/event-stream")])
            .await?;
        let status = answer.status();
        if !status.is_success() {
            return Err(refusal(status, &whole_body(answer).await?));
        }
        Ok(SseStream {
            body: answer.into_body(),
            pending: Vec::new(),
        })
    }
}

/// Reads an answer's whole body.
async fn whole_body(answer: hyper::Response<Incoming>) -> Result<Bytes, ClientError> {
    Ok(answer
        .into_body()
        .collect()
        .await
        .map_err(|e| ClientError::Http(e.to_string()))?
        .to_bytes())
}

/// A JSON answer, or its problem.
fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, ClientError> {
    if !status.is_success() {
        return Err(refusal(status, bytes));
    }
    serde_json::from_slice(bytes).map_err(|e| ClientError::Unexpected {
        status: status.as_u16(),
        body: format!(
            "{e}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        ),
    })
}

/// The problem an error answer holds (or what it held instead).
fn refusal(status: StatusCode, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<Problem>(bytes) {
        Ok(problem) => ClientError::Problem(problem),
        Err(_) => ClientError::Unexpected {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
        },
    }
}

impl SseStream {
    /// The stream of an answer already checked to be one.
    pub fn from_response(answer: hyper::Response<Incoming>) -> SseStream {
        SseStream {
            body: answer.into_body(),
            pending: Vec::new(),
        }
    }

    /// The next event (comments skipped), or `None` when the stream ended.
    pub async fn next(&mut self) -> Result<Option<SseEvent>, ClientError> {
        loop {
            if let Some(event) = take_event(&mut self.pending) {
                return Ok(Some(event));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(ClientError::Http(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

/// Takes the first whole event (ended by a blank line) out of `pending`, skipping blocks
/// that hold only comments.
fn take_event(pending: &mut Vec<u8>) -> Option<SseEvent> {
    loop {
        let end = pending.windows(2).position(|w| w == b"\n\n")?;
        let block: Vec<u8> = pending.drain(..end + 2).collect();
        let text = String::from_utf8_lossy(&block);
        let mut event = SseEvent::default();
        let mut data: Vec<&str> = Vec::new();
        let mut any = false;
        for line in text.lines() {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => (event.event, any) = (value.to_owned(), true),
                "id" => (event.id, any) = (Some(value.to_owned()), true),
                "data" => {
                    data.push(value);
                    any = true;
                }
                _ => {}
            }
        }
        if any {
            if event.event.is_empty() {
                event.event = "message".into();
            }
            event.data = data.join("\n");
            return Some(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_cut_at_blank_lines_and_comments_skipped() {
        let mut pending = b": keep-alive\n\nevent: event\nid: 7\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\nevent: par".to_vec();
        let first = take_event(&mut pending).expect("one");
        assert_eq!(
            first,
            SseEvent {
                event: "event".into(),
                id: Some("7".into()),
                data: "{\"a\":1}".into()
            }
        );
        let second = take_event(&mut pending).expect("two");
        assert_eq!(
            (second.event.as_str(), second.data.as_str()),
            ("message", "x\ny")
        );
        assert!(
            take_event(&mut pending).is_none(),
            "the rest is not whole yet"
        );
        assert_eq!(pending, b"event: par");
    }

    #[test]
    fn only_plain_http_addresses_are_taken() {
        assert!(ApiClient::new("http://127.0.0.1:3000/", None).is_ok());
        assert!(ApiClient::new("127.0.0.1:3000", None).is_ok());
        assert!(ApiClient::new("https://example.com", None).is_err());
        assert!(ApiClient::new("http://a/b", None).is_err());
    }
}
