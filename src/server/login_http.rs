//! Logging in and out over HTTP. The login form posts the token (a GET would put it in the
//! history); the printed login URL's `?token=` still works once and leaves the address bar
//! by a redirect. Either makes a server-side login ([`super::logins`]) whose random secret
//! is the cookie. Sign out ends this browser's login; Sign out everywhere ends them all.

use super::access::Access;
use super::guard::{add_static_headers, refuse, CurrentLogin};
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;

/// Where the login form posts.
pub const LOGIN_PATH: &str = "/login";
/// Where "Sign out" posts.
pub const LOGOUT_PATH: &str = "/logout";
/// Where "Sign out everywhere" posts.
pub const LOGOUT_ALL_PATH: &str = "/logout-all";
/// Largest login form read.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// `POST /login` with `token` (and `next`, the page to return to).
pub async fn post_login(access: &Access, request: Request, https: bool) -> Response {
    let agent = user_agent(request.headers());
    let body = match axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES).await {
        Ok(body) => body,
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "login form too large".into()),
    };
    let form = String::from_utf8_lossy(&body);
    let field = |name: &str| {
        form.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| super::guard::percent_decode(value))
    };
    let token = field("token").unwrap_or_default();
    if !access.token_matches(&token) {
        tracing::warn!("refused: wrong token in the login form");
        return login_page(StatusCode::UNAUTHORIZED, true, "/");
    }
    let next = field("next").unwrap_or_else(|| "/".into());
    logged_in(access, &agent, local_path(&next), https).await
}

/// `GET /any/page?token=...`: the right token logs the browser in and redirects to the same
/// address without the token; a wrong one shows the login page again. `None`: no token in
/// the query.
pub async fn login_with_token(
    access: &Access,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    https: bool,
) -> Option<Response> {
    if method != Method::GET {
        return None;
    }
    let query = uri.query()?;
    let (with_token, rest): (Vec<&str>, Vec<&str>) = query
        .split('&')
        .partition(|pair| pair.split('=').next() == Some("token"));
    let given = with_token.first()?.split_once('=').map_or("", |(_, v)| v);
    if !access.token_matches(&super::guard::percent_decode(given)) {
        tracing::warn!(path = %uri.path(), "refused: wrong login token");
        return Some(login_page(StatusCode::UNAUTHORIZED, true, uri.path()));
    }
    let mut target = local_path(uri.path());
    if !rest.is_empty() {
        target = format!("{target}?{}", rest.join("&"));
    }
    let agent = user_agent(headers);
    Some(logged_in(access, &agent, target, https).await)
}

/// Makes the login and sends the browser on with its cookie.
async fn logged_in(access: &Access, agent: &str, target: String, https: bool) -> Response {
    let Some(logins) = access.logins() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting; try again".into(),
        );
    };
    let secret = match logins.create(agent).await {
        Ok(secret) => secret,
        Err(e) => {
            tracing::error!("cannot store a login: {e}");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot log in: {e}"),
            );
        }
    };
    redirect(&target, &access.login_cookie(&secret, https))
}

/// `POST /logout`: ends this browser's login.
pub async fn logout(
    State(state): State<AppState>,
    Extension(CurrentLogin(login)): Extension<CurrentLogin>,
    headers: HeaderMap,
) -> Response {
    sign_out(&state.access, login.as_deref().map(Some), &headers).await
}

/// `POST /logout-all`: ends every login, this one too.
pub async fn logout_all(State(state): State<AppState>, headers: HeaderMap) -> Response {
    sign_out(&state.access, Some(None), &headers).await
}

/// `which`: `Some(Some(id))` one login, `Some(None)` all, `None` none (a bearer request).
async fn sign_out(access: &Access, which: Option<Option<&str>>, headers: &HeaderMap) -> Response {
    if let (Some(which), Some(logins)) = (which, access.logins()) {
        if let Err(e) = logins.sign_out(which).await {
            tracing::error!("cannot sign out: {e}");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot sign out: {e}"),
            );
        }
    }
    redirect("/", &access.logout_cookie(super::guard::is_https(headers)))
}

fn redirect(target: &str, cookie: &str) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_owned())],
    )
        .into_response();
    if let Ok(cookie) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// A path on this site: one leading slash (`//other.example/` would leave it).
fn local_path(path: &str) -> String {
    format!("/{}", path.trim_start_matches(['/', '\\']))
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Pages get the login form; the socket, server functions and the rest get a plain 401.
pub fn unauthenticated(request: &Request) -> Response {
    let wants_page = request.method() == Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    if wants_page {
        return login_page(StatusCode::UNAUTHORIZED, false, request.uri().path());
    }
    refuse(
        StatusCode::UNAUTHORIZED,
        "not logged in: open the login URL Switchboard printed at start \
         (or send Authorization: Bearer <token>)"
            .into(),
    )
}

/// The page that asks for the token: a form that posts it, then returns to `next`.
fn login_page(status: StatusCode, wrong: bool, next: &str) -> Response {
    let error = if wrong {
        r#"<p class="login-error" data-testid="login-error">That token is not right.</p>"#
    } else {
        ""
    };
    let stylesheet = super::assets::stylesheet_href();
    let next = html_attribute(&local_path(next));
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="x-dns-prefetch-control" content="off">
<title>Switchboard: log in</title><link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{stylesheet}"></head>
<body class="login-body"><main class="login">
<h1>Switchboard</h1>
<p>Open the login URL Switchboard printed when it made its token (<code>switchboard
login-url</code> prints it again), or paste the token here. It is also in the file
<code>token</code> in the data directory.</p>{error}
<form method="post" action="{LOGIN_PATH}" data-testid="login-form">
<input type="hidden" name="next" value="{next}">
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

/// Text safe inside a double-quoted HTML attribute.
fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(local_path("//evil.example/x"), "/evil.example/x");
        assert_eq!(local_path("/\\evil.example"), "/evil.example");
        assert_eq!(local_path("/s/abc"), "/s/abc");
        assert_eq!(
            html_attribute("/a\"><script>"),
            "/a&quot;&gt;&lt;script&gt;"
        );
    }
}
