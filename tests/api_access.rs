//! Who may use the HTTP API, against the real server: API tokens made and revoked through
//! Settings' server functions (stored hashed, last use recorded, refused once revoked), the
//! browser's cookie and the login token refused, a cross-site request and a rebinding Host
//! refused even with a valid token; a token over the rate limit refused with `Retry-After`;
//! and the OpenAPI description, valid and covering every route the server has.

mod common;

use common::api::{call, cli_file, client};
use common::machines::server_fn;
use common::{get, http, Server, TEST_TOKEN};
use hyper::Method;
use serde_json::{json, Value};

/// A request with the given extra header lines, raw.
fn raw(method: &str, path: &str, addr: &str, headers: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn only_valid_api_tokens_get_in_never_the_cookie_nor_another_site() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let addr = &server.addr;
    let list = "/api/v1/sessions";

    // A browser login, as the app's own pages get one.
    let (status, answer) = http(addr, &get(&format!("/?token={TEST_TOKEN}"), addr, "")).await;
    assert_eq!(status, 303, "{answer}");
    let cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();

    // Settings makes a token through its server function (cookie), shown once.
    let (status, made) = server_fn(addr, &cookie, "create_api_token", "name=ci+job").await;
    assert_eq!(status, 200, "{made}");
    let made: Value = serde_json::from_str(&made).expect("json");
    let secret = made["secret"].as_str().expect("secret").to_owned();
    let token_id = made["info"]["id"].as_str().expect("id").to_owned();
    let (_, listed) = server_fn(addr, &cookie, "list_api_tokens", "").await;
    assert!(
        listed.contains("ci job") && !listed.contains(&secret),
        "listed without its secret: {listed}"
    );
    let stored = std::fs::read(server.data_dir.join("switchboard.db")).expect("db");
    assert!(
        !String::from_utf8_lossy(&stored).contains(&secret),
        "stored hashed"
    );

    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    let (status, body) = http(addr, &raw("GET", list, addr, &bearer(&secret), "")).await;
    assert_eq!(status, 200, "{body}");
    let row = token_row(addr, &cookie, &token_id).await;
    assert!(
        row["last_used_ms"].as_i64().is_some(),
        "its use is recorded: {row}"
    );

    // Refusals: no token, a wrong one, the access token (not an API token), the cookie.
    for (headers, why) in [
        (String::new(), "no token"),
        (bearer("sbk_0000"), "unknown token"),
        (bearer(TEST_TOKEN), "the login token is not an API token"),
        (format!("Cookie: {cookie}\r\n"), "the browser's cookie"),
        (format!("Authorization: Basic {secret}\r\n"), "not Bearer"),
    ] {
        let (status, answer) = http(addr, &raw("GET", list, addr, &headers, "")).await;
        assert_eq!(status, 401, "{why}: {answer}");
        assert!(
            answer.contains("application/problem+json")
                && answer.contains("\"code\":\"unauthorized\""),
            "{why}: {answer}"
        );
    }
    let (_, answer) = http(
        addr,
        &raw(
            "POST",
            list,
            addr,
            &format!("Cookie: {cookie}\r\n"),
            r#"{"agent":"demo","text":"hi"}"#,
        ),
    )
    .await;
    assert!(answer.contains("cookie"), "says why: {answer}");

    // Another site, even with a valid token; and a rebinding Host.
    let (status, answer) = http(
        addr,
        &raw(
            "POST",
            list,
            addr,
            &format!("{}Origin: http://evil.example\r\n", bearer(&secret)),
            r#"{"agent":"demo","text":"hi"}"#,
        ),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("\"code\":\"not_allowed\""), "{answer}");
    let (status, _) = http(
        addr,
        &raw("GET", list, "evil.example", &bearer(&secret), ""),
    )
    .await;
    assert_eq!(status, 403);
    // Its own origin is fine (a page of the app may use a token it holds).
    let (status, _) = http(
        addr,
        &raw(
            "GET",
            list,
            addr,
            &format!("{}Origin: http://{addr}\r\n", bearer(&secret)),
            "",
        ),
    )
    .await;
    assert_eq!(status, 200);

    // Revoked: refused from then on; listed as revoked.
    let (status, body) =
        server_fn(addr, &cookie, "revoke_api_token", &format!("id={token_id}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(addr, &raw("GET", list, addr, &bearer(&secret), "")).await;
    assert_eq!(status, 401, "revoked");
    let row = token_row(addr, &cookie, &token_id).await;
    assert!(
        row["revoked_at_ms"].as_i64().is_some(),
        "listed as revoked: {row}"
    );

    // Server functions still want the login: an API token does not open them.
    let request = format!(
        "POST /api/list_api_tokens HTTP/1.1\r\nHost: {addr}\r\n{}Content-Length: 0\r\nConnection: close\r\n\r\n",
        bearer(&cli_file(&server).token)
    );
    let (status, _) = http(addr, &request).await;
    assert_eq!(status, 401, "an API token is not a login");
}

/// A token's burst (five seconds at `limits.max_frames_per_sec`) passes; the next request is
/// a 429 problem with `Retry-After` and does nothing; a second later the token is served
/// again. (That each token has a bucket of its own: `server::rate`'s unit tests.)
#[tokio::test]
async fn a_token_over_the_rate_limit_waits() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start_with_config(dir.path(), "[limits]\nmax_frames_per_sec = 2\n");
    let addr = &server.addr;
    let secret = cli_file(&server).token;
    let list = raw(
        "GET",
        "/api/v1/sessions",
        addr,
        &format!("Authorization: Bearer {secret}\r\n"),
        "",
    );
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(http(addr, &list).await.0);
    }
    // Ten in the burst, give or take what a slow machine earns back meanwhile.
    let passed = statuses.iter().take_while(|s| **s == 200).count();
    assert!((10..12).contains(&passed), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let (status, answer) = http(addr, &list).await;
    assert_eq!(status, 429, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("\"code\":\"rate_limited\""), "{answer}");
    assert!(answer.contains("limits.max_frames_per_sec"), "{answer}");
    // A create refused by the limit makes nothing.
    let create = json!({ "agent": "demo", "text": "not now" }).to_string();
    let (status, _) = http(
        addr,
        &raw(
            "POST",
            "/api/v1/sessions",
            addr,
            &format!("Authorization: Bearer {secret}\r\n"),
            &create,
        ),
    )
    .await;
    assert_eq!(status, 429);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (_, sessions) = call(&client(&server), Method::GET, "/api/v1/sessions", None).await;
    assert_eq!(
        sessions["sessions"].as_array().map(Vec::len),
        Some(0),
        "{sessions}"
    );
}

#[tokio::test]
async fn the_openapi_description_is_valid_and_covers_every_route() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let api = client(&server);
    let (status, doc) = call(&api, Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every route the server has (each answers, not 404/405, with a token), and no other.
    let routes = [
        ("get", "/api/v1/sessions"),
        ("post", "/api/v1/sessions"),
        ("get", "/api/v1/sessions/{id}"),
        ("patch", "/api/v1/sessions/{id}"),
        ("delete", "/api/v1/sessions/{id}"),
        ("post", "/api/v1/sessions/{id}/messages"),
        ("post", "/api/v1/sessions/{id}/stop"),
        ("post", "/api/v1/sessions/{id}/permissions/{request_id}"),
        ("get", "/api/v1/sessions/{id}/events"),
        ("get", "/api/v1/projects"),
        ("get", "/api/v1/openapi.json"),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let mut described: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    described.sort();
    let mut expected: Vec<(String, String)> = routes
        .iter()
        .map(|(m, p)| ((*m).into(), (*p).into()))
        .collect();
    expected.sort();
    assert_eq!(described, expected);
    for (method, path) in routes {
        let op = &paths[path][method];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} has responses"
        );
        // Each reference points at a described schema.
        for reference in op
            .to_string()
            .split("\"$ref\":\"#/components/schemas/")
            .skip(1)
        {
            let name = reference.split('"').next().expect("name");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{name} described"
            );
        }
        let concrete = path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{request_id}", "r1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let (status, body) = call(&api, method.clone(), &concrete, Some(json!({}))).await;
        assert!(
            ![404, 405].contains(&status.as_u16()) || body["code"] == "unknown_session",
            "{method} {path}: {status} {body}"
        );
    }
}

/// The Settings list's row of API token `id`, as the page reads it.
async fn token_row(addr: &str, cookie: &str, id: &str) -> Value {
    let (_, listed) = server_fn(addr, cookie, "list_api_tokens", "").await;
    let listed: Value = serde_json::from_str(&listed).expect("json");
    listed
        .as_array()
        .and_then(|l| l.iter().find(|t| t["id"] == id))
        .cloned()
        .expect("row")
}
