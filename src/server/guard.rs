//! The checks every HTTP request and WebSocket upgrade passes before any handler runs, and
//! the security headers on every answer.
//!
//! Order matters: the Host check comes first (a DNS-rebinding page sends a foreign Host and
//! no cookie, but the check must not depend on that), then Origin when present, then the
//! login cookie or token, which is required for everything except the public build assets,
//! Origin or not.

use super::access::{hex, Access};
use super::login_http;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The nonce of this response's Content-Security-Policy; SSR puts it on the app's own
/// inline scripts (Leptos' hydration bootstrap), so nothing else inline can run.
#[derive(Debug, Clone)]
pub struct CspNonce(pub Arc<str>);

/// What the guard needs: who may come in, and the port of `cargo leptos watch`'s reload
/// socket when it runs us (so the page may connect to it).
#[derive(Clone)]
pub struct GuardState {
    /// Token, cookie and hosts.
    pub access: Arc<Access>,
    /// `cargo leptos watch`'s live-reload port, if any.
    pub reload_port: Option<u16>,
}

/// The middleware: refuse or pass, then add the headers.
pub async fn guard(State(state): State<GuardState>, mut request: Request, next: Next) -> Response {
    let host = request_host(&request);
    // The API checks its own callers (an API token, never the cookie: `api::tokens`), and
    // says why it refuses as problem details. Only under its prefix: the app's server
    // functions live under `/api/` too, and they keep the cookie.
    let api = request.uri().path().starts_with("/api/v1/");
    // Other machines' runners check their credential in their handler (`machines::http`).
    let runner = request.uri().path().starts_with("/runner/");
    let refuse = |status, message| match api {
        true => refuse_problem(status, message),
        false => refuse(status, message),
    };
    if !state.access.host_allowed(&host) {
        tracing::warn!(host = %host, path = %request.uri().path(), "refused: Host not allowed");
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Host '{host}' is not allowed. Switchboard answers only to its own names (this \
                 stops DNS rebinding); add the name to server.allowed_hosts in Leptos.toml."
            ),
        );
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        if !same_origin(origin, &host) {
            let origin = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            tracing::warn!(origin = %origin, path = %request.uri().path(), "refused: cross-origin");
            return refuse(
                StatusCode::FORBIDDEN,
                format!("cross-origin request from '{origin}' refused"),
            );
        }
    }
    let https = is_https(request.headers());
    let mut login = None;
    if state.access.required() && !is_public_asset(&request) && !api && !runner {
        if request.method() == Method::POST && request.uri().path() == login_http::LOGIN_PATH {
            return login_http::post_login(&state.access, request, https).await;
        }
        let has_token = request.uri().query().is_some_and(|q| q.contains("token="));
        if has_token {
            // Owned copies: the request itself must not be held across the await.
            let (method, uri) = (request.method().clone(), request.uri().clone());
            let headers = request.headers().clone();
            let login = login_http::login_with_token(&state.access, &method, &uri, &headers, https);
            if let Some(answer) = login.await {
                return answer;
            }
        }
        match authenticated(&state.access, request.headers()) {
            Some(who) => login = who,
            None => return login_http::unauthenticated(&request),
        }
    }
    request.extensions_mut().insert(CurrentLogin(login));
    let nonce = new_nonce();
    request
        .extensions_mut()
        .insert(CspNonce(Arc::clone(&nonce)));
    let mut response = next.run(request).await;
    if is_code_or_style(response.headers()) {
        add_static_headers(response.headers_mut());
    } else {
        add_security_headers(response.headers_mut(), &host, &nonce, state.reload_port);
    }
    if https {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The browser login a request came with (`None`: the bearer token, or `--no-auth`).
#[derive(Debug, Clone)]
pub struct CurrentLogin(pub Option<String>);

/// Whether the browser reached us over https, as a TLS proxy in front says. Trusting the
/// header is safe here: it only makes the cookie stricter (`Secure`, `__Host-`) and adds
/// HSTS, which can lock out nobody but whoever sends it.
pub(super) fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The Host the client asked for: the Host header (HTTP/1.1) or the URI's authority (HTTP/2).
fn request_host(request: &Request) -> String {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default()
}

/// Whether an Origin header names this very host (`null` and other hosts do not).
fn same_origin(origin: &HeaderValue, host: &str) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// The compiled WASM/JS/CSS and the icon: public code, no data, needed by the login page.
fn is_public_asset(request: &Request) -> bool {
    let path = request.uri().path();
    matches!(*request.method(), Method::GET | Method::HEAD)
        && (path.starts_with("/pkg/") || path == "/favicon.svg")
}

/// Who a request comes from: `Some(Some(login))` with a live login cookie, `Some(None)`
/// with the bearer token, `None` when neither.
fn authenticated(access: &Access, headers: &HeaderMap) -> Option<Option<String>> {
    let login = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| access.login_of(v));
    if login.is_some() {
        return Some(login);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| access.token_matches(t.trim()));
    bearer.then_some(None)
}

/// A plain-text refusal with the static headers.
pub(super) fn refuse(status: StatusCode, message: String) -> Response {
    let mut response = (status, message).into_response();
    add_static_headers(response.headers_mut());
    response
}

/// A refusal of an API request: problem details (`not_allowed`) with the static headers.
fn refuse_problem(status: StatusCode, message: String) -> Response {
    let problem = super::api::Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: message,
        code: super::api::code_name(crate::protocol::ErrorCode::NotAllowed),
    };
    let mut response = problem.into_response();
    add_static_headers(response.headers_mut());
    response
}

fn new_nonce() -> Arc<str> {
    let mut bytes = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut bytes) {
        // Without randomness the nonce is guessable; the page then fails closed (its inline
        // bootstrap is refused) instead of running with a weak policy.
        tracing::error!("no randomness for the CSP nonce: {e}");
    }
    hex(&bytes).into()
}

/// Headers for every answer: no sniffing, no referrer, no framing, no DNS prefetch (a link
/// in agent output such as `http://<secret>.attacker.example/` would otherwise have its
/// host resolved, and the secret sent to a DNS server, as soon as it renders).
pub(super) fn add_static_headers(headers: &mut HeaderMap) {
    headers.insert(
        HeaderName::from_static("x-dns-prefetch-control"),
        HeaderValue::from_static("off"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: under it browsers send `Origin: null` on the app's own form
        // posts (log in, sign out), which the Origin check must refuse. `same-origin`
        // still sends nothing to other sites.
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Whether an answer is the app's WASM, a script or a stylesheet: a browser applies no
/// Content-Security-Policy sent with those (only with documents and workers, and the app
/// starts no worker), so theirs is left out: about 330 bytes, uncompressed, on each of the
/// five files the first load fetches before it is live.
fn is_code_or_style(headers: &HeaderMap) -> bool {
    let Some(kind) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let kind = kind.split(';').next().unwrap_or("").trim();
    matches!(
        kind,
        "application/wasm" | "text/javascript" | "application/javascript" | "text/css"
    )
}

/// The policy: the app's own scripts, styles and WASM, its inline bootstrap by nonce, its
/// own socket, and images from itself or data:/blob: URLs (pasted images); nothing else.
fn add_security_headers(headers: &mut HeaderMap, host: &str, nonce: &str, reload: Option<u16>) {
    add_static_headers(headers);
    let mut connect = format!("'self' ws://{host} wss://{host}");
    if let Some(port) = reload {
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        connect.push_str(&format!(" ws://{name}:{port}"));
    }
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: blob:; connect-src {connect}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// `%XX` escapes in a query value (a token set by hand may contain any character).
pub(super) fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| value.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_name_this_host() {
        let ok = HeaderValue::from_static("http://127.0.0.1:3000");
        assert!(same_origin(&ok, "127.0.0.1:3000"));
        assert!(same_origin(
            &HeaderValue::from_static("HTTPS://LocalHost:3000"),
            "localhost:3000"
        ));
        for bad in [
            "null",
            "http://evil.example",
            "http://127.0.0.1:3001",
            "http://127.0.0.1:3000.evil",
        ] {
            assert!(
                !same_origin(&HeaderValue::from_static(bad), "127.0.0.1:3000"),
                "{bad}"
            );
        }
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(percent_decode("a%2Fb+c%zz"), "a/b c%zz");
        assert_eq!(percent_decode("%"), "%");
    }

    #[test]
    fn only_wasm_scripts_and_stylesheets_go_without_a_policy() {
        let with_type = |kind: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            headers
        };
        for kind in [
            "application/wasm",
            "text/javascript",
            "text/css; charset=utf-8",
        ] {
            assert!(is_code_or_style(&with_type(kind)), "{kind}");
        }
        for kind in [
            "text/html; charset=utf-8",
            "image/svg+xml",
            "application/json",
        ] {
            assert!(!is_code_or_style(&with_type(kind)), "{kind}");
        }
        assert!(!is_code_or_style(&HeaderMap::new()));
    }
}
