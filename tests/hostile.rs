//! The hostile-request battery against the real server on port 0: foreign Origins, missing
//! cookies, rebinding Hosts, cross-site server-function calls, wrong tokens on a public bind,
//! oversized and flooding frames, unknown sessions and working directories outside the roots,
//! and the HTTP API's share (malformed and oversized bodies, missing and wrong tokens).
//! Each is refused with the right status or Error frame while a well-behaved client on the
//! same server keeps completing turns.

mod common;

use common::{get, http, new_session, ws_request, Client, Server, TEST_TOKEN};
use futures::{SinkExt, StreamExt};
use leptos::server_fn::ServerFn;
use switchboard::protocol::{
    AgentId, ClientFrame, ClientMsgId, ErrorCode, NewSession, ServerFrame, SessionId,
};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{self, Message};
use uuid::Uuid;

/// The HTTP status a WebSocket upgrade is refused with (101 when it is accepted).
async fn upgrade_status(addr: &str, edit: impl FnOnce(&mut tungstenite::http::HeaderMap)) -> u16 {
    use tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("url");
    edit(request.headers_mut());
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected upgrade failure: {e}"),
    }
}

fn bearer() -> tungstenite::http::HeaderValue {
    format!("Bearer {TEST_TOKEN}").parse().expect("header")
}

/// A client that keeps doing demo turns until told to stop; returns how many completed.
/// Resolves once its first turn is done, so the battery runs while it is being served.
async fn well_behaved(server: &Server) -> (oneshot::Sender<()>, tokio::task::JoinHandle<u32>) {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let (first_done, first) = oneshot::channel::<()>();
    let mut first_done = Some(first_done);
    let addr = server.addr.clone();
    let task = tokio::spawn(async move {
        let (mut client, _) = Client::connect_to(&addr).await;
        let session = new_session();
        let mut turns = 0;
        loop {
            let text = format!("steady {turns}");
            client.say(session, &text, turns == 0).await;
            client.turn(session).await;
            turns += 1;
            if let Some(first_done) = first_done.take() {
                let _ = first_done.send(());
            }
            if stopped.try_recv().is_ok() {
                return turns;
            }
        }
    });
    first
        .await
        .expect("the good client completes its first turn");
    (stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_are_refused_while_a_good_client_is_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let roots = dir.path().join("roots");
    let inside = roots.join("project");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&inside).expect("inside");
    std::fs::create_dir_all(&outside).expect("outside");
    std::os::unix::fs::symlink(&outside, inside.join("escape")).expect("symlink");
    let config = format!(
        "[server]\nroots = [\"{}\"]\n[limits]\nmax_frames_per_sec = 100\n",
        roots.display()
    );
    let server = Server::start_full(
        dir.path(),
        &config,
        &[("SWITCHBOARD_DEFAULT_CWD", inside.to_str())],
        &["--addr", "127.0.0.1:0"],
    );
    let addr = server.addr.clone();
    let (stop_good, good) = well_behaved(&server).await;

    // The socket: foreign Origin (even with the token), no Origin and no cookie, a
    // rebinding Host; the same request done right is accepted.
    let foreign = upgrade_status(&addr, |h| {
        h.insert("authorization", bearer());
        h.insert("origin", "http://evil.example".parse().expect("v"));
    })
    .await;
    assert_eq!(foreign, 403, "foreign Origin");
    assert_eq!(
        upgrade_status(&addr, |_| {}).await,
        401,
        "no Origin, no cookie"
    );
    let rebinding = upgrade_status(&addr, |h| {
        h.insert("authorization", bearer());
        h.insert("host", "evil.example".parse().expect("v"));
    })
    .await;
    assert_eq!(rebinding, 403, "rebinding Host");
    let same_origin = upgrade_status(&addr, |h| {
        h.insert("authorization", bearer());
        h.insert("origin", format!("http://{addr}").parse().expect("v"));
    })
    .await;
    assert_eq!(same_origin, 101, "same Origin with the token");

    // Pages: a rebinding Host gets nothing, not even the login page; no cookie gets the login page.
    let (status, body) = http(&addr, &get("/", "evil.example", "")).await;
    assert_eq!(status, 403, "{body}");
    assert!(!body.contains("login-form"));
    // A port that is not a number is refused (its text would reach the CSP header).
    let (status, body) = http(&addr, &get("/", "localhost:x-evil", "")).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        !body.to_lowercase().contains("content-security-policy"),
        "{body}"
    );
    let (status, body) = http(&addr, &get("/", &addr, "")).await;
    assert_eq!(status, 401);
    assert!(body.contains("login-form"), "{body}");
    assert!(body.contains("Content-Security-Policy") || body.contains("content-security-policy"));
    assert!(
        body.contains("x-dns-prefetch-control: off"),
        "no DNS prefetch: {body}"
    );

    // Server functions: cross-site refused even with the token; no token refused; same
    // origin with the token answers with the API tokens' list.
    let path = <switchboard::app::ListApiTokens as ServerFn>::PATH;
    let call = |origin: &str, auth: bool| {
        let auth = if auth {
            format!("Authorization: Bearer {TEST_TOKEN}\r\n")
        } else {
            String::new()
        };
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    let (status, _) = http(&addr, &call("http://evil.example", true)).await;
    assert_eq!(status, 403, "cross-site server function");
    let (status, _) = http(&addr, &call(&format!("http://{addr}"), false)).await;
    assert_eq!(status, 401, "server function without the token");
    let (status, body) = http(&addr, &call(&format!("http://{addr}"), true)).await;
    assert_eq!(status, 200, "{body}");

    // Frames: unknown session, oversized frame, a cwd outside the roots (plainly, via `..`
    // and via a symlink); each an Error frame and nothing stored. The socket stays usable,
    // but for the oversized frame: it cannot be read past, so that socket is closed.
    let (mut client, _) = Client::connect(&server).await;
    client.say(SessionId(Uuid::new_v4()), "hello?", false).await;
    expect_error(&mut client, ErrorCode::UnknownSession).await;
    let (frames, close) = client
        .send_refused(format!(
            "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
            "x".repeat(2 << 20)
        ))
        .await;
    assert!(
        frames.iter().any(|f| matches!(
            f,
            ServerFrame::Error {
                code: ErrorCode::TooLarge,
                ..
            }
        )),
        "{frames:?}"
    );
    assert_eq!(close, Some(1009), "an oversized frame closes its socket");
    let (mut client, _) = Client::connect(&server).await;
    let dotdot = inside.join("../../outside");
    let escape = inside.join("escape");
    for cwd in [&outside, &dotdot, &escape] {
        let session = new_session();
        let mut create = NewSession::defaults(AgentId::demo());
        create.cwd = Some(cwd.display().to_string());
        client
            .send(&ClientFrame::Send {
                session,
                client_msg_id: ClientMsgId(Uuid::new_v4()),
                text: "run here".into(),
                attachments: vec![],
                create: Some(create),
                tag: None,
            })
            .await;
        let message = expect_error(&mut client, ErrorCode::NotAllowed).await;
        assert!(message.contains("outside the allowed roots"), "{message}");
    }
    let (_, sessions) = Client::connect(&server).await;
    assert_eq!(sessions.len(), 1, "only the good client's session exists");

    api_requests_are_refused(&server, &inside, &outside).await;

    // A flood: 10,000 frames as fast as one socket can send them. The socket is told why
    // and closed; nothing else notices.
    let (mut flood, _) = tokio_tungstenite::connect_async(ws_request(&addr))
        .await
        .expect("connects");
    let ping = serde_json::to_string(&ClientFrame::Ping).expect("json");
    for _ in 0..10_000 {
        if flood
            .send(Message::Text(ping.clone().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut rate_limited = false;
    while let Some(Ok(message)) = flood.next().await {
        if let Message::Text(text) = message {
            if let Ok(ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            }) = serde_json::from_str(text.as_str())
            {
                rate_limited = true;
            }
        }
    }
    assert!(
        rate_limited,
        "the flooding socket was told it is rate limited"
    );

    let _ = stop_good.send(());
    let turns = tokio::time::timeout(common::TIMEOUT, good)
        .await
        .expect("the good client finishes its turn")
        .expect("good client task");
    eprintln!("the well-behaved client completed {turns} turns meanwhile");
    assert!(
        turns >= 2,
        "the well-behaved client kept being served ({turns} turns)"
    );
    server.stop();
}

/// The HTTP API's share of the battery: malformed and oversized bodies, unknown sessions,
/// missing and wrong tokens, ids that are not ids, folders outside the roots; each a
/// problem with the socket's code, nothing made.
async fn api_requests_are_refused(
    server: &Server,
    inside: &std::path::Path,
    outside: &std::path::Path,
) {
    let addr = &server.addr;
    let cli: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(server.data_dir.join("cli.json")).expect("cli.json"),
    )
    .expect("json");
    let token = cli["token"].as_str().expect("token").to_owned();
    let auth = format!("Authorization: Bearer {token}\r\n");
    let request = |method: &str, path: &str, headers: &str, length: usize, body: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}"
        )
    };
    let expect = |answer: (u16, String), status: u16, code: &str, why: &str| {
        assert_eq!(answer.0, status, "{why}: {}", answer.1);
        assert!(
            answer.1.contains("application/problem+json")
                && answer.1.contains(&format!("\"code\":\"{code}\"")),
            "{why}: {}",
            answer.1
        );
    };
    let post = |path: &str, body: &str| request("POST", path, &auth, body.len(), body);
    expect(
        http(
            addr,
            &post("/api/v1/sessions", "{\"agent\": \"demo\", \"text\": "),
        )
        .await,
        400,
        "malformed",
        "truncated JSON",
    );
    expect(
        http(addr, &post("/api/v1/sessions", "[1, 2, 3]")).await,
        400,
        "malformed",
        "not an object",
    );
    expect(
        http(
            addr,
            &post("/api/v1/sessions", "{\"agent\": 7, \"text\": \"x\"}"),
        )
        .await,
        400,
        "malformed",
        "wrong types",
    );
    let no_type = format!("POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}");
    expect(
        http(addr, &no_type).await,
        400,
        "malformed",
        "no content type",
    );
    // Over the body limit (the socket's frame limit, 1 MiB): refused from its header.
    let huge = request("POST", "/api/v1/sessions", &auth, 8 << 20, "{}");
    expect(http(addr, &huge).await, 413, "too_large", "an 8 MiB body");
    let unknown = Uuid::new_v4();
    expect(
        http(
            addr,
            &post(
                &format!("/api/v1/sessions/{unknown}/messages"),
                "{\"text\":\"hi\"}",
            ),
        )
        .await,
        404,
        "unknown_session",
        "unknown session",
    );
    expect(
        http(
            addr,
            &request(
                "GET",
                &format!("/api/v1/sessions/{unknown}/events"),
                &auth,
                0,
                "",
            ),
        )
        .await,
        404,
        "unknown_session",
        "unknown session's events",
    );
    expect(
        http(
            addr,
            &request(
                "GET",
                "/api/v1/sessions/..%2F..%2Fetc%2Fpasswd",
                &auth,
                0,
                "",
            ),
        )
        .await,
        400,
        "malformed",
        "an id that is a path",
    );
    expect(
        http(addr, &request("GET", "/api/v1/sessions", "", 0, "")).await,
        401,
        "unauthorized",
        "no token",
    );
    expect(
        http(
            addr,
            &request(
                "GET",
                "/api/v1/sessions",
                "Authorization: Bearer sbk_guess\r\n",
                0,
                "",
            ),
        )
        .await,
        401,
        "unauthorized",
        "a wrong token",
    );
    expect(
        http(
            addr,
            &request(
                "GET",
                "/api/v1/sessions",
                &format!("Authorization: Bearer {TEST_TOKEN}\r\n"),
                0,
                "",
            ),
        )
        .await,
        401,
        "unauthorized",
        "the login token",
    );
    expect(
        http(
            addr,
            &request("GET", "/api/v1/sessions", "", 0, "")
                .replace("Host: ", "Host: evil.example\r\nX-Was: "),
        )
        .await,
        403,
        "not_allowed",
        "a rebinding Host",
    );
    let escape = inside.join("escape");
    let dotdot = inside.join("../../outside");
    for cwd in [outside, dotdot.as_path(), escape.as_path()] {
        let body =
            serde_json::json!({ "agent": "demo", "text": "run here", "cwd": cwd }).to_string();
        expect(
            http(addr, &post("/api/v1/sessions", &body)).await,
            403,
            "not_allowed",
            "a folder outside the roots",
        );
    }
    for (query, why) in [
        ("limit=99999999999", "a limit over u32"),
        ("since=-1", "a negative seq"),
    ] {
        let path = format!("/api/v1/sessions/{unknown}?{query}");
        expect(
            http(addr, &request("GET", &path, &auth, 0, "")).await,
            400,
            "malformed",
            why,
        );
    }
}

/// Reads until an Error frame; asserts its code and returns its message.
async fn expect_error(client: &mut Client, code: ErrorCode) -> String {
    let frames = client
        .until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    match frames.last() {
        Some(ServerFrame::Error {
            code: got, message, ..
        }) => {
            assert_eq!(*got, code, "{message}");
            message.clone()
        }
        other => panic!("expected an Error frame, got {other:?}"),
    }
}

/// On an address other machines can reach, the token is the only way in; `--no-auth` is
/// refused there outright.
/// A frame whose header announces 2 MiB is refused before its payload is read: only 64 KiB
/// of it is ever sent, and the refusal still comes (a server that buffered the frame first
/// would wait for the rest).
#[tokio::test]
async fn an_oversized_frame_is_refused_from_its_header_unread() {
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::MaybeTlsStream;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_request(&server.addr))
        .await
        .expect("connects");
    let announced: u64 = 2 << 20;
    // FIN + text; masked, 64-bit length; a zero mask key leaves the payload as it is.
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&announced.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend(std::iter::repeat_n(b'x', 64 << 10));
    match socket.get_mut() {
        MaybeTlsStream::Plain(tcp) => tcp.write_all(&frame).await.expect("written"),
        _ => unreachable!("the test server is plain http"),
    }
    let mut client = Client::from_socket(socket);
    let refusal = client.recv().await;
    assert!(
        matches!(refusal, ServerFrame::Error { code: ErrorCode::TooLarge, ref message, .. } if message.contains("limit")),
        "{refusal:?}"
    );
    // And the server goes on serving others.
    let (mut other, _) = Client::connect(&server).await;
    other.send(&ClientFrame::Ping).await;
    assert_eq!(other.recv().await, ServerFrame::Pong);
}

#[tokio::test]
async fn a_public_bind_needs_the_token_and_refuses_no_auth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_full(dir.path(), "", &[], &["--addr", "0.0.0.0:0"]);
    let addr = server.addr.clone();
    assert_eq!(upgrade_status(&addr, |_| {}).await, 401, "missing token");
    let wrong = upgrade_status(&addr, |h| {
        h.insert(
            "authorization",
            "Bearer wrong-token-0123456789".parse().expect("v"),
        );
    })
    .await;
    assert_eq!(wrong, 401, "wrong token");
    let (status, _) = http(&addr, &get("/?token=wrong-token-0123456789", &addr, "")).await;
    assert_eq!(status, 401, "wrong token in the login URL");
    let (status, answer) = http(&addr, &get(&format!("/s/x?token={TEST_TOKEN}"), &addr, "")).await;
    assert_eq!(status, 303, "right token in the login URL");
    assert!(answer.contains("location: /s/x\r\n"), "{answer}");
    // `//other.example/` after login stays on this site.
    let (status, answer) = http(
        &addr,
        &get(&format!("//evil.example/?token={TEST_TOKEN}"), &addr, ""),
    )
    .await;
    assert_eq!(status, 303);
    assert!(answer.contains("location: /evil.example/\r\n"), "{answer}");
    assert!(answer.contains("HttpOnly; SameSite=Strict"), "{answer}");
    assert!(!answer.contains(TEST_TOKEN), "the cookie is not the token");
    assert_eq!(
        upgrade_status(&addr, |h| {
            h.insert("authorization", bearer());
        })
        .await,
        101
    );
    server.stop();

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--no-auth", "--addr", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--no-auth is only allowed"), "{stderr}");
}

/// An agent's environment holds none of Switchboard's secrets (an `env` tool call would
/// show them in the transcript).
#[tokio::test]
async fn agents_do_not_inherit_the_access_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seen = dir.path().join("agent-env.txt");
    let config = format!(
        "[agents.demo]\ncommand = [\"sh\", \"-c\", \"env > {}; exec {} demo-agent\"]\n",
        seen.display(),
        env!("CARGO_BIN_EXE_switchboard")
    );
    let server = Server::start_with_config(dir.path(), &config);
    let (mut client, _) = Client::connect(&server).await;
    let session = new_session();
    client.say(session, "hello", true).await;
    client.turn(session).await;
    let env = std::fs::read_to_string(&seen).expect("the agent wrote its environment");
    assert!(
        env.contains("SWITCHBOARD_DEMO_DELAY_MS="),
        "the environment was captured"
    );
    assert!(!env.contains("SWITCHBOARD_TOKEN"), "no token in: {env}");
    assert!(
        !env.contains(TEST_TOKEN),
        "no token value in the agent's environment"
    );
}

/// Runs `serve` on `data_dir` (with `args`) until it says how to log in: its stdout and
/// stderr so far (`Ok`), or its stderr when it exits first (`Err`).
fn serve_once_with(data_dir: &std::path::Path, args: &[&str]) -> Result<String, String> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_remove("SWITCHBOARD_TOKEN")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("piped");
    let mut seen = String::new();
    let mut started = false;
    for line in std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
    {
        started |= line.starts_with("Switchboard listening");
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("Log in") {
            break;
        }
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match started {
        true => Ok(seen + &stderr),
        false => Err(stderr),
    }
}

fn serve_once(data_dir: &std::path::Path) -> Result<String, String> {
    serve_once_with(data_dir, &[])
}

/// The login URL (with the token) is printed when the token is made, not at every start
/// (it ends up in log files); `switchboard login-url` prints it on request, and `--token`
/// (visible in `ps`) is warned about.
#[test]
fn the_token_is_printed_once_and_on_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let first = serve_once(&data).expect("serves");
    let token = std::fs::read_to_string(data.join("token")).expect("token made");
    assert!(first.contains(&format!("?token={token}")), "{first}");
    let again = serve_once(&data).expect("serves again");
    assert!(!again.contains(&token), "not printed again: {again}");
    assert!(again.contains("switchboard login-url"), "{again}");
    let asked = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["login-url", "--data-dir"])
        .arg(&data)
        .env_remove("SWITCHBOARD_TOKEN")
        .output()
        .expect("runs");
    assert!(asked.status.success());
    let url = String::from_utf8_lossy(&asked.stdout);
    assert_eq!(
        url.trim(),
        format!("http://switchboard.localhost:3000/?token={token}")
    );
    let flagged = serve_once_with(&data, &["--token", "a-token-of-sixteen-chars"]).expect("serves");
    assert!(
        flagged.contains("WARNING: --token puts the token in the process list"),
        "{flagged}"
    );
    assert!(!flagged.contains("a-token-of-sixteen-chars"), "{flagged}");
}

/// The data dir is made private (0700, the database and token 0600), and one that other
/// users can read, or that someone else owns, is refused at start with the fix.
#[test]
fn the_data_dir_is_private_and_an_open_one_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("new/data");
    serve_once(&data).expect("a fresh data dir serves");
    let mode = |path: &std::path::Path| std::fs::metadata(path).expect("exists").mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(mode(&data.join("switchboard.db")), 0o600, "database");
    assert_eq!(mode(&data.join("token")), 0o600, "token");

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let refused = serve_once(&data).expect_err("an open data dir is refused");
    assert!(refused.contains("open to other users"), "{refused}");
    assert!(
        refused.contains(&format!("chmod 700 {}", data.display())),
        "{refused}"
    );

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let token = data.join("token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let refused = serve_once(&data).expect_err("a readable token file is refused");
    assert!(
        refused.contains(&format!("chmod 600 {}", token.display())),
        "{refused}"
    );
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    serve_once(&data).expect("private again, it serves");

    // Someone else's data dir (only root can give a folder away: this suite runs as root
    // in CI; elsewhere this part is skipped).
    if std::os::unix::fs::chown(&data, Some(4242), None).is_ok() {
        let refused = serve_once(&data).expect_err("another user's data dir is refused");
        assert!(refused.contains("belongs to user 4242"), "{refused}");
    }
}

/// The page opens its socket before its app has loaded; a socket whose app never says
/// Hello is closed after `limits.hello_wait_secs`, saying why, and one that says Hello in
/// time is served.
#[tokio::test]
async fn a_socket_that_never_says_hello_is_closed_in_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with_config(dir.path(), "[limits]\nhello_wait_secs = 1\n");
    let (mut silent, _) = tokio_tungstenite::connect_async(ws_request(&server.addr))
        .await
        .expect("connects");
    let started = std::time::Instant::now();
    let close = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            match silent.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a Close, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 10 s");
    let frame = close.expect("a close frame with a reason");
    assert_eq!(frame.reason.as_str(), "no Hello in time");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "not before the wait"
    );

    // A socket that said Hello outlives the wait.
    let (mut client, _) = Client::connect(&server).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    client.send(&ClientFrame::Ping).await;
    assert_eq!(client.recv().await, ServerFrame::Pong);
}
