//! A runner on another machine (`switchboard runner --server URL [--enroll CODE]`): it
//! redeems an enrollment code once for the machine's credential (kept in
//! `<data_dir>/runner/machine.json`, 0600), then dials the server: `GET /runner/connect`
//! with the credential and `Upgrade: switchboard-runner`. After the `101` the server speaks
//! the runner protocol over the connection, exactly as over this host's unix socket.
//! `https://` is TLS (rustls: the system's trust store, plus `--ca`); plain `http://` sends
//! the credential in the clear and is refused unless asked for (`--insecure-plain`).

use super::wire::{CONNECT_PATH, ENROLL_PATH, HOST_HEADER, RUNNER_UPGRADE, VERSION_HEADER};
use super::RunnerStream;
use crate::protocol::{EnrollRequest, Enrolled};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls;

/// The file in the runner's folder that holds the machine's credential.
pub const MACHINE_FILE: &str = "machine.json";

/// What `machine.json` holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MachineFile {
    /// The server's URL(s), as given at enrollment (comma-separated).
    pub server: String,
    /// The machine's id.
    pub machine: String,
    /// The machine's name.
    pub name: String,
    /// The credential sent on every connection.
    pub credential: String,
}

/// Where the server is and how to reach it.
#[derive(Clone)]
pub struct Target {
    /// `host:port`, for the connection and the `Host` header.
    authority: String,
    /// The name the server's certificate must carry; `None` for plain HTTP.
    tls: Option<(
        rustls::pki_types::ServerName<'static>,
        tokio_rustls::TlsConnector,
    )>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("authority", &self.authority)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The server refused this runner (revoked, unknown): trying again will not help.
    #[error("the server refused this runner: {0}")]
    Refused(String),
    /// The server could not be reached, or the exchange failed: worth trying again.
    #[error("{0}")]
    Failed(String),
}

impl Target {
    /// The server at `url` (`https://host[:port]`, or `http://` when `plain` allows it),
    /// trusting the system's certificates and those in the PEM file `ca`.
    pub fn new(url: &str, ca: Option<&Path>, plain: bool) -> Result<Target, String> {
        let url = url.trim().trim_end_matches('/');
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("{url}: give the server as https://HOST[:PORT]"));
        };
        if rest.is_empty() || rest.contains('/') {
            return Err(format!(
                "{url}: give the server's address alone, without a path"
            ));
        }
        if !tls && !plain {
            return Err(format!(
                "{url} would send this machine's credential unencrypted; use https://, or \
                 --insecure-plain on a network you trust"
            ));
        }
        let default_port = if tls { 443 } else { 80 };
        // A port follows the last `:`, unless that `:` is inside an IPv6 address's brackets.
        let port_at = rest.rfind(':').filter(|at| !rest[*at..].contains(']'));
        let (host, authority) = match port_at {
            Some(at) => {
                if rest[at + 1..].parse::<u16>().is_err() {
                    return Err(format!("{url}: the port is not a number"));
                }
                (rest[..at].to_owned(), rest.to_owned())
            }
            None => (rest.to_owned(), format!("{rest}:{default_port}")),
        };
        let host = host.trim_matches(['[', ']']).to_owned();
        let tls = match tls {
            false => None,
            true => {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("{host}: not a server name: {e}"))?;
                Some((name, connector(ca)?))
            }
        };
        Ok(Target { authority, tls })
    }

    /// A new connection to the server, TLS when asked for.
    async fn open(&self) -> Result<RunnerStream, DialError> {
        let tcp = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| DialError::Failed(format!("cannot reach {}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((name, connector)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| DialError::Failed(format!("TLS with {}: {e}", self.authority)))?;
                Ok(Box::new(stream))
            }
        }
    }

    /// One HTTP/1.1 exchange on a new connection; the connection task is kept running
    /// (with upgrades), so an answered upgrade can be taken from the response.
    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, DialError> {
        let stream = self.open().await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| DialError::Failed(format!("HTTP: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!("runner's HTTP connection ended: {e}");
            }
        });
        sender
            .send_request(request)
            .await
            .map_err(|e| DialError::Failed(format!("HTTP: {e}")))
    }

    /// Redeems an enrollment code for this host's credential.
    pub async fn enroll(&self, code: &str, host: &str) -> Result<Enrolled, DialError> {
        let body = serde_json::to_vec(&EnrollRequest {
            code: code.trim().to_owned(),
            host: host.to_owned(),
        })
        .map_err(|e| DialError::Failed(e.to_string()))?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(ENROLL_PATH)
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| DialError::Failed(e.to_string()))?;
        let answer = self.exchange(request).await?;
        let status = answer.status();
        let body = answer
            .into_body()
            .collect()
            .await
            .map_err(|e| DialError::Failed(format!("HTTP: {e}")))?
            .to_bytes();
        if status != StatusCode::OK {
            let text = String::from_utf8_lossy(&body).trim().to_owned();
            return Err(DialError::Refused(format!("{status}: {text}")));
        }
        serde_json::from_slice(&body)
            .map_err(|e| DialError::Failed(format!("an enrollment answer that is not JSON: {e}")))
    }

    /// Connects as the machine with `credential`: the upgraded connection, over which the
    /// server speaks the runner protocol.
    pub async fn connect(&self, credential: &str, host: &str) -> Result<RunnerStream, DialError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(CONNECT_PATH)
            .header(header::HOST, &self.authority)
            .header(header::AUTHORIZATION, format!("Bearer {credential}"))
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, RUNNER_UPGRADE)
            .header(HOST_HEADER, host)
            .header(VERSION_HEADER, env!("CARGO_PKG_VERSION"))
            .body(Full::new(Bytes::new()))
            .map_err(|e| DialError::Failed(e.to_string()))?;
        let answer = self.exchange(request).await?;
        let status = answer.status();
        if status != StatusCode::SWITCHING_PROTOCOLS {
            let body = answer
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&body).trim().to_owned();
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    DialError::Refused(format!("{status}: {text}"))
                }
                _ => DialError::Failed(format!("{status}: {text}")),
            });
        }
        let upgraded = hyper::upgrade::on(answer)
            .await
            .map_err(|e| DialError::Failed(format!("upgrade: {e}")))?;
        Ok(Box::new(TokioIo::new(upgraded)))
    }
}

/// Redeems `code` with the first of `targets` that answers (several nodes of one server).
pub async fn enroll_with_any(
    targets: &[Target],
    code: &str,
    host: &str,
) -> Result<Enrolled, DialError> {
    let mut last = DialError::Failed("no server given".into());
    for target in targets {
        match target.enroll(code, host).await {
            Ok(enrolled) => return Ok(enrolled),
            Err(DialError::Refused(why)) => return Err(DialError::Refused(why)),
            Err(failed) => last = failed,
        }
    }
    Err(last)
}

/// A TLS client trusting the system's certificates and those in `ca`.
fn connector(ca: Option<&Path>) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(ca) = ca {
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(ca)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("{}: no certificate in it", ca.display()));
        }
    }
    if roots.is_empty() {
        return Err("no trusted certificates: install ca-certificates, or give --ca".into());
    }
    // ring rather than aws-lc (which has the post-quantum key exchange rustls now prefers):
    // it builds with the C compiler alone, on every machine a runner may be built on.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// Where `machine.json` is for the runner folder `dir`.
pub fn machine_file(dir: &Path) -> PathBuf {
    dir.join(MACHINE_FILE)
}

/// Reads `machine.json`, if the machine enrolled.
pub fn read_machine_file(dir: &Path) -> Result<Option<MachineFile>, String> {
    let path = machine_file(dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes `machine.json`, 0600, through a `.partial` file renamed over it.
pub fn write_machine_file(dir: &Path, file: &MachineFile) -> Result<(), String> {
    let text = serde_json::to_string_pretty(file).map_err(|e| e.to_string())?;
    crate::server::private_dir::write_private_file(&machine_file(dir), text.as_bytes())
}

/// This host's name, as the Machines page shows it.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown host".into())
}

/// This host's one-minute load average, where Linux reports it.
pub fn load_average() -> Option<f32> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_https_unless_plain_is_asked_for() {
        assert!(Target::new("https://build.example:8443", None, false).is_ok());
        assert!(Target::new("https://build.example", None, false).is_ok());
        let plain = Target::new("http://10.0.0.2:3000", None, false);
        assert!(plain.err().is_some_and(|e| e.contains("unencrypted")));
        let told = Target::new("http://10.0.0.2:3000", None, true).expect("plain when told");
        assert_eq!(told.authority, "10.0.0.2:3000");
        assert!(told.tls.is_none());
        let https = Target::new("https://build.example/", None, false).expect("https");
        assert_eq!(https.authority, "build.example:443");
        assert!(Target::new("build.example:3000", None, true).is_err());
        assert!(Target::new("https://build.example/x", None, false).is_err());
        let missing = Target::new(
            "https://a.example",
            Some(Path::new("/nonexistent.pem")),
            false,
        );
        assert!(missing.err().is_some_and(|e| e.contains("nonexistent")));
    }
}
