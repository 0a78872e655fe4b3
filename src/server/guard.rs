//! The checks every HTTP request and WebSocket upgrade passes before any handler runs, and
//! the security headers on every answer.
//!
//! Order matters: the Host check comes first (a DNS-rebinding page sends a foreign Host and
//! no cookie, but the check must not depend on that), then Origin when present, then the
//! login cookie or token, which is required for everything except the public build assets,
//! Origin or not.

use super::access::{hex, Access};
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
    if state.access.required() && !is_public_asset(&request) {
        if let Some(login) = login_with_token(&state.access, &request) {
            return login;
        }
        if !authenticated(&state.access, request.headers()) {
            return unauthenticated(&request);
        }
    }
    let nonce = new_nonce();
    request
        .extensions_mut()
        .insert(CspNonce(Arc::clone(&nonce)));
    let mut response = next.run(request).await;
    add_security_headers(response.headers_mut(), &host, &nonce, state.reload_port);
    response
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

fn authenticated(access: &Access, headers: &HeaderMap) -> bool {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| access.cookie_matches(v));
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| access.token_matches(t.trim()));
    cookie || bearer
}

/// `GET /any/page?token=...`: the right token sets the login cookie and redirects to the
/// same address without the token (so it leaves the address bar and the history); a wrong
/// one shows the login page again. None: no token in the query.
fn login_with_token(access: &Access, request: &Request) -> Option<Response> {
    if request.method() != Method::GET {
        return None;
    }
    let query = request.uri().query()?;
    let (with_token, rest): (Vec<&str>, Vec<&str>) = query
        .split('&')
        .partition(|pair| pair.split('=').next() == Some("token"));
    let given = with_token.first()?.split_once('=').map_or("", |(_, v)| v);
    if !access.token_matches(&percent_decode(given)) {
        tracing::warn!(path = %request.uri().path(), "refused: wrong login token");
        return Some(login_page(StatusCode::UNAUTHORIZED, true));
    }
    // One leading slash: `//other.example/` would send the browser to another site.
    let mut target = format!("/{}", request.uri().path().trim_start_matches('/'));
    if !rest.is_empty() {
        target = format!("{target}?{}", rest.join("&"));
    }
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
    if let Some(cookie) = access
        .login_cookie()
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Some(response)
}

/// Pages get the login form; the socket, server functions and the rest get a plain 401.
fn unauthenticated(request: &Request) -> Response {
    let wants_page = request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    if wants_page {
        return login_page(StatusCode::UNAUTHORIZED, false);
    }
    refuse(
        StatusCode::UNAUTHORIZED,
        "not logged in: open the login URL Switchboard printed at start \
         (or send Authorization: Bearer <token>)"
            .into(),
    )
}

fn refuse(status: StatusCode, message: String) -> Response {
    let mut response = (status, message).into_response();
    add_static_headers(response.headers_mut());
    response
}

/// The page that asks for the token; a GET form, so it works without scripts.
fn login_page(status: StatusCode, wrong: bool) -> Response {
    let error = if wrong {
        r#"<p class="login-error" data-testid="login-error">That token is not right.</p>"#
    } else {
        ""
    };
    let stylesheet = super::assets::stylesheet_href();
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard: log in</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{stylesheet}"></head>
<body class="login-body"><main class="login">
<h1>Switchboard</h1>
<p>Open the login URL Switchboard printed when it started, or paste its token here. It is
also in the file <code>token</code> in the data directory.</p>{error}
<form method="get" data-testid="login-form">
<input type="password" name="token" autocomplete="current-password" autofocus required
 aria-label="Access token" placeholder="Access token" data-testid="login-token">
<button type="submit">Log in</button></form></main></body></html>"#
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    add_static_headers(response.headers_mut());
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(LOGIN_CSP),
    );
    response
}

const LOGIN_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                         form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

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
fn add_static_headers(headers: &mut HeaderMap) {
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
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
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
fn percent_decode(value: &str) -> String {
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
}
