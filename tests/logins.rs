//! Browser logins against the real server: the cookie is a random server-side login, so a
//! cookie from one server is refused by another on another port (even with the same
//! token), signing out ends it (one browser or all), the login form posts its token, and
//! over https (a TLS proxy says so) the cookie is `Secure` with the `__Host-` prefix and
//! HSTS is sent.

mod common;

use common::{get, http, Server, TEST_TOKEN};

/// The `name=value` of the answer's Set-Cookie.
fn cookie_of(answer: &str) -> String {
    answer
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .and_then(|cookie| cookie.split(';').next())
        .expect("a Set-Cookie")
        .to_owned()
}

fn with_cookie(path: &str, addr: &str, cookie: &str) -> String {
    get(path, addr, &format!("Cookie: {cookie}\r\n"))
}

fn post(path: &str, addr: &str, headers: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n{headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn log_in(addr: &str) -> String {
    let (status, answer) = http(addr, &get(&format!("/?token={TEST_TOKEN}"), addr, "")).await;
    assert_eq!(status, 303, "{answer}");
    cookie_of(&answer)
}

#[tokio::test]
async fn a_login_is_good_on_its_own_server_only_and_until_signed_out() {
    let (one, two) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let (a, b) = (Server::start(one.path()), Server::start(two.path()));
    let cookie = log_in(&a.addr).await;
    assert!(!cookie.contains(TEST_TOKEN), "the cookie is not the token");
    let (status, _) = http(&a.addr, &with_cookie("/", &a.addr, &cookie)).await;
    assert_eq!(status, 200, "the login works where it was made");

    // The same value under the other server's cookie name (both have the same token).
    let port = |addr: &str| addr.rsplit(':').next().expect("port").to_owned();
    let secret = cookie.split_once('=').expect("pair").1;
    assert!(
        cookie.starts_with(&format!("switchboard_login_{}=", port(&a.addr))),
        "{cookie}"
    );
    let moved = format!("switchboard_login_{}={secret}", port(&b.addr));
    let (status, _) = http(&b.addr, &with_cookie("/", &b.addr, &moved)).await;
    assert_eq!(status, 401, "another server does not know this login");

    // The form posts the token; a wrong one is refused.
    let (status, _) = http(
        &a.addr,
        &post(
            "/login",
            &a.addr,
            "",
            "token=wrong-token-0123456789&next=%2F",
        ),
    )
    .await;
    assert_eq!(status, 401);
    let form = format!("token={TEST_TOKEN}&next=%2F%2Fevil.example%2F");
    let (status, answer) = http(&a.addr, &post("/login", &a.addr, "", &form)).await;
    assert_eq!(status, 303, "{answer}");
    assert!(
        answer.contains("location: /evil.example/\r\n"),
        "stays on this site: {answer}"
    );
    let second = cookie_of(&answer);
    assert_ne!(second, cookie, "every login has its own secret");

    // Sign out ends this browser's login only.
    let headers = format!("Cookie: {cookie}\r\n");
    let (status, answer) = http(&a.addr, &post("/logout", &a.addr, &headers, "")).await;
    assert_eq!(status, 303, "{answer}");
    assert!(
        answer.contains("Max-Age=0"),
        "the cookie is cleared: {answer}"
    );
    let (status, _) = http(&a.addr, &with_cookie("/", &a.addr, &cookie)).await;
    assert_eq!(status, 401, "signed out");
    let (status, _) = http(&a.addr, &with_cookie("/", &a.addr, &second)).await;
    assert_eq!(status, 200, "the other login stays");

    // Sign out everywhere ends every login, and a restart forgets none it kept.
    let third = log_in(&a.addr).await;
    let headers = format!("Cookie: {second}\r\n");
    let (status, _) = http(&a.addr, &post("/logout-all", &a.addr, &headers, "")).await;
    assert_eq!(status, 303);
    for gone in [&second, &third] {
        let (status, _) = http(&a.addr, &with_cookie("/", &a.addr, gone)).await;
        assert_eq!(status, 401, "signed out everywhere");
    }
    let kept = log_in(&a.addr).await;
    a.stop();
    let a = Server::start(one.path());
    let secret = kept.split_once('=').expect("pair").1;
    let renamed = format!("switchboard_login_{}={secret}", port(&a.addr));
    let (status, _) = http(&a.addr, &with_cookie("/", &a.addr, &renamed)).await;
    assert_eq!(status, 200, "a login outlives a restart");
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_hsts_is_sent() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path());
    let addr = &server.addr;
    let proxied = "X-Forwarded-Proto: https\r\n";
    let (status, answer) = http(addr, &get(&format!("/?token={TEST_TOKEN}"), addr, proxied)).await;
    assert_eq!(status, 303);
    let set = answer
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .expect("a cookie");
    assert!(set.starts_with("__Host-switchboard_login_"), "{set}");
    assert!(
        set.contains("; Secure") && set.contains("; Path=/") && !set.contains("Domain"),
        "{set}"
    );
    let cookie = cookie_of(&answer);
    let headers = format!("{proxied}Cookie: {cookie}\r\n");
    let (status, answer) = http(addr, &get("/", addr, &headers)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.contains("strict-transport-security: max-age=31536000"),
        "{answer}"
    );
    let (_, plain) = http(addr, &with_cookie("/", addr, &cookie)).await;
    assert!(
        !plain.contains("strict-transport-security"),
        "no HSTS over http"
    );
    // The loopback name of its own is answered.
    let port = addr.rsplit(':').next().expect("port");
    let host = format!("switchboard.localhost:{port}");
    let (status, _) = http(addr, &get("/", &host, "")).await;
    assert_eq!(
        status, 401,
        "allowed (the login page), not refused as a foreign Host"
    );
}

#[tokio::test]
async fn one_login_holds_a_capped_number_of_sockets() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start_with_config(dir.path(), "[limits]\nmax_sockets_per_login = 2\n");
    let cookie = log_in(&server.addr).await;
    let open = || async {
        let mut request = format!("ws://{}/ws", server.addr)
            .into_client_request()
            .expect("url");
        request
            .headers_mut()
            .insert("cookie", cookie.parse().expect("header"));
        tokio_tungstenite::connect_async(request).await
    };
    let first = open().await.expect("first socket");
    let _second = open().await.expect("second socket");
    match open().await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429);
        }
        other => panic!("the third socket is refused: {other:?}"),
    }
    // Closing one frees its place.
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if open().await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a closed socket frees its place"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
