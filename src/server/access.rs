//! Who may talk to this server: the access token (generated on first start, kept 0600 in
//! the data dir), the login cookie it is traded for, and the allowed Host names.
//!
//! Anyone who reaches the socket can make agents run commands on this machine, so the
//! token is required even on loopback (other users and processes are not the user), as
//! Jupyter does. The checks themselves run in [`super::guard`].

use super::logins::{Logins, LOGIN_DAYS};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Name of the token file in the data dir.
pub const TOKEN_FILE: &str = "token";

/// Where the token in use came from (decides what is printed at start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `SWITCHBOARD_TOKEN` or `server.token`: the user knows it.
    Given,
    /// Read from the data dir's token file.
    Stored,
    /// Made now and written to the token file.
    Generated,
}

/// How requests are let in.
#[derive(Debug, Clone)]
pub struct Access {
    /// None: `--no-auth` (loopback only).
    secret: Option<Secret>,
    /// Lowercase host names (no port) a request's Host header may name.
    allowed_hosts: Vec<String>,
    /// The login cookie's name; it carries the port, because browsers share cookies
    /// between ports of one host and two servers must not log each other out.
    cookie_name: String,
    /// The live browser logins (set once storage is open).
    logins: std::sync::OnceLock<std::sync::Arc<Logins>>,
}

#[derive(Debug, Clone)]
struct Secret {
    token: String,
}

/// The browser's own name for a loopback server: browsers resolve every `*.localhost` to
/// loopback, and a cookie set for it is not sent to other `127.0.0.1` ports.
pub const LOOPBACK_NAME: &str = "switchboard.localhost";

/// Why access could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// `--no-auth` on an address other machines can reach.
    #[error("--no-auth is only allowed when listening on a loopback address, not {0}")]
    NoAuthOffLoopback(SocketAddr),
    /// The token file could not be read or written.
    #[error("token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The token file is not private to this user.
    #[error("{0}")]
    NotPrivate(super::private_dir::PrivateDirError),
    /// The given token is too short to be a secret.
    #[error("the access token must be at least 16 characters")]
    WeakToken,
    /// No randomness was available to make a token.
    #[error("cannot generate a token: {0}")]
    Random(String),
}

impl Access {
    /// Sets up access for a server listening on `addr`. `given` is SWITCHBOARD_TOKEN or
    /// `server.token`; without one the data dir's token file is used, or made.
    pub fn new(
        addr: SocketAddr,
        data_dir: &Path,
        given: Option<String>,
        no_auth: bool,
        extra_hosts: &[String],
    ) -> Result<(Access, Option<TokenSource>), AccessError> {
        let mut allowed_hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]", LOOPBACK_NAME]
            .into_iter()
            .map(str::to_owned)
            .collect();
        if !addr.ip().is_unspecified() && !addr.ip().is_loopback() {
            allowed_hosts.push(host_of_ip(addr));
        }
        allowed_hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        let cookie_name = format!("switchboard_login_{}", addr.port());
        if no_auth {
            if !addr.ip().is_loopback() {
                return Err(AccessError::NoAuthOffLoopback(addr));
            }
            let access = Access {
                secret: None,
                allowed_hosts,
                cookie_name,
                logins: std::sync::OnceLock::new(),
            };
            return Ok((access, None));
        }
        let (token, source) = match given.filter(|t| !t.is_empty()) {
            Some(token) if token.len() < 16 => return Err(AccessError::WeakToken),
            Some(token) => (token, TokenSource::Given),
            None => stored_or_generated(data_dir)?,
        };
        let access = Access {
            secret: Some(Secret { token }),
            allowed_hosts,
            cookie_name,
            logins: std::sync::OnceLock::new(),
        };
        Ok((access, Some(source)))
    }

    /// Whether requests need the cookie or token at all.
    pub fn required(&self) -> bool {
        self.secret.is_some()
    }

    /// The token (to print the login URL once at start; never logged).
    pub fn token(&self) -> Option<&str> {
        self.secret.as_ref().map(|s| s.token.as_str())
    }

    /// Whether a Host header's name (port removed, any case) is one of ours, with no port
    /// or a numeric one (the header's text reaches the CSP header).
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        let port = &host[name.len()..];
        let port_ok = port.is_empty()
            || port.strip_prefix(':').is_some_and(|digits| {
                digits.parse::<u16>().is_ok() && digits.bytes().all(|b| b.is_ascii_digit())
            });
        port_ok && self.allowed_hosts.contains(&name.to_ascii_lowercase())
    }

    /// Whether `candidate` is the token.
    pub fn token_matches(&self, candidate: &str) -> bool {
        self.secret
            .as_ref()
            .is_some_and(|s| same_secret(s.token.as_bytes(), candidate.as_bytes()))
    }

    /// Hands over the browser logins, once storage is open.
    pub fn attach_logins(&self, logins: std::sync::Arc<Logins>) {
        let _ = self.logins.set(logins);
    }

    /// The browser logins.
    pub fn logins(&self) -> Option<&std::sync::Arc<Logins>> {
        self.logins.get()
    }

    /// The live login a Cookie header carries (ours, by name, with a known secret).
    pub fn login_of(&self, cookie_header: &str) -> Option<String> {
        let logins = self.logins.get()?;
        cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| {
                *name == self.cookie_name || name.strip_prefix("__Host-") == Some(&self.cookie_name)
            })
            .find_map(|(_, secret)| logins.check(secret))
    }

    /// The Set-Cookie value that logs a browser in with login `secret`. Over https (as a
    /// TLS proxy in front says) it is `Secure` with the `__Host-` prefix (no Domain, path /).
    pub fn login_cookie(&self, secret: &str, https: bool) -> String {
        let max_age = LOGIN_DAYS * 24 * 60 * 60;
        match https {
            true => format!(
                "__Host-{}={secret}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}",
                self.cookie_name
            ),
            false => format!(
                "{}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}",
                self.cookie_name
            ),
        }
    }

    /// The Set-Cookie value that removes the login cookie.
    pub fn logout_cookie(&self, https: bool) -> String {
        match https {
            true => format!(
                "__Host-{}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
                self.cookie_name
            ),
            false => format!(
                "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
                self.cookie_name
            ),
        }
    }
}

fn stored_or_generated(data_dir: &Path) -> Result<(String, TokenSource), AccessError> {
    let path = data_dir.join(TOKEN_FILE);
    let file_error = |source| AccessError::TokenFile {
        path: path.clone(),
        source,
    };
    // A token file others can read (or that someone else wrote) is not a secret.
    if path.exists() {
        super::private_dir::check_private(&path, 0o600).map_err(AccessError::NotPrivate)?;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 16 => {
            return Ok((text.trim().to_owned(), TokenSource::Stored))
        }
        Ok(_) => {
            return Err(file_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "shorter than 16 characters; delete it to make a new one",
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(file_error)?;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| AccessError::Random(e.to_string()))?;
    let token = hex(&bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(file_error)?;
    file.write_all(token.as_bytes()).map_err(file_error)?;
    Ok((token, TokenSource::Generated))
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
fn same_secret(expected: &[u8], candidate: &[u8]) -> bool {
    if expected.len() != candidate.len() {
        return false;
    }
    expected
        .iter()
        .zip(candidate)
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Host header without its port: `example.com:3000` -> `example.com`, `[::1]:3000` -> `[::1]`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.split_once(':').map_or(host, |(name, _)| name)
}

fn host_of_ip(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback() -> SocketAddr {
        "127.0.0.1:3000".parse().expect("addr")
    }

    #[test]
    fn a_token_is_generated_once_with_owner_only_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let (first, source) = Access::new(loopback(), dir.path(), None, false, &[]).expect("ok");
        assert_eq!(source, Some(TokenSource::Generated));
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, source) = Access::new(loopback(), dir.path(), None, false, &[]).expect("ok");
        assert_eq!(source, Some(TokenSource::Stored));
        assert_eq!(first.token(), again.token());
        assert_eq!(first.token().map(str::len), Some(48));
    }

    #[tokio::test]
    async fn a_login_cookie_is_checked_by_name_and_live_secret() {
        let dir = tempfile::tempdir().expect("dir");
        let token = Some("0123456789abcdef0123".to_owned());
        let (access, _) = Access::new(loopback(), dir.path(), token, false, &[]).expect("ok");
        let db = crate::server::db::Db::open(dir.path()).await.expect("db");
        let logins = std::sync::Arc::new(Logins::load(db).await.expect("logins"));
        access.attach_logins(std::sync::Arc::clone(&logins));
        let secret = logins.create("test").await.expect("login");
        let set = access.login_cookie(&secret, false);
        let pair = set.split(';').next().expect("pair");
        let id = access
            .login_of(&format!("other=1; {pair}"))
            .expect("a live login");
        assert!(access.login_of(&pair.replace("_3000=", "_4000=")).is_none());
        assert!(access.login_of(&format!("{pair}x")).is_none());
        assert!(
            !pair.contains("0123456789abcdef0123"),
            "the cookie is not the token"
        );
        let secure = access.login_cookie(&secret, true);
        assert!(
            secure.starts_with("__Host-switchboard_login_3000=") && secure.contains("; Secure")
        );
        logins.sign_out(Some(&id)).await.expect("signed out");
        assert!(access.login_of(pair).is_none(), "signed out");
        assert!(access.token_matches("0123456789abcdef0123"));
        assert!(!access.token_matches("0123456789abcdef0124"));
    }

    #[test]
    fn hosts_are_loopback_names_the_bound_ip_and_configured_names() {
        let dir = tempfile::tempdir().expect("dir");
        let token = Some("0123456789abcdef0123".to_owned());
        let addr = "10.1.2.3:80".parse().expect("addr");
        let extra = ["Box.Example".to_owned()];
        let (access, _) = Access::new(addr, dir.path(), token, false, &extra).expect("ok");
        for ok in [
            "localhost:3000",
            "127.0.0.1",
            "[::1]:3000",
            "10.1.2.3",
            "box.example:80",
        ] {
            assert!(access.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:3000",
            "127.0.0.1.evil.example",
            "",
            "[::2]",
            // A port that is not a number (its text would reach the CSP header).
            "localhost:abc",
            "localhost:3000 'unsafe-inline'",
            "localhost:",
            "[::1]:x",
            "[::1]junk",
            "localhost:99999",
        ] {
            assert!(!access.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn no_auth_is_refused_off_loopback_and_short_tokens_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let any = "0.0.0.0:3000".parse().expect("addr");
        assert!(matches!(
            Access::new(any, dir.path(), None, true, &[]),
            Err(AccessError::NoAuthOffLoopback(_))
        ));
        let (open, source) = Access::new(loopback(), dir.path(), None, true, &[]).expect("ok");
        assert!(!open.required() && source.is_none());
        assert!(matches!(
            Access::new(loopback(), dir.path(), Some("short".into()), false, &[]),
            Err(AccessError::WeakToken)
        ));
    }
}
