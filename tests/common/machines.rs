//! Other machines in tests: a browser login for the Machines page's server functions, a
//! real `switchboard runner --server` process with its own data dir standing in for
//! another host, and a TCP path between that runner and the server that can be cut and
//! healed (the network going away).

use super::{http, Client, TEST_TOKEN, TIMEOUT};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchboard::protocol::{ClientFrame, MachineInfo, Project, RequestTag, ServerFrame};

/// A logged-in browser's cookie on `addr`.
pub async fn login(addr: &str) -> String {
    let (status, answer) = http(
        addr,
        &super::get(&format!("/?token={TEST_TOKEN}"), addr, ""),
    )
    .await;
    assert_eq!(status, 303, "{answer}");
    answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned()
}

/// A server function called as the browser calls it (with its login cookie), with a form
/// body; the status and the answer's body.
pub async fn server_fn(addr: &str, cookie: &str, name: &str, form: &str) -> (u16, String) {
    let request = format!(
        "POST /api/{name} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    let (status, answer) = http(addr, &request).await;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A new enrollment code for a machine named `name`, as the Machines page makes it.
pub async fn enrollment_code(addr: &str, cookie: &str, name: &str) -> String {
    let form = format!("name={}", name.replace(' ', "+"));
    let (status, body) = server_fn(addr, cookie, "create_enrollment", &form).await;
    assert_eq!(status, 200, "{body}");
    let made: serde_json::Value = serde_json::from_str(&body).expect("json");
    made["code"].as_str().expect("code").to_owned()
}

/// The Machines page's list.
pub async fn machines(addr: &str, cookie: &str) -> Vec<MachineInfo> {
    let (status, body) = server_fn(addr, cookie, "list_machines", "").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("machines json")
}

/// Waits until the machine named `name` is listed with `connected` as asked.
pub async fn wait_connected(addr: &str, cookie: &str, name: &str, connected: bool) -> MachineInfo {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let found = machines(addr, cookie)
            .await
            .into_iter()
            .find(|m| m.name == name && m.connected == connected);
        if let Some(machine) = found {
            return machine;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never became connected={connected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Another machine's runner: a `switchboard runner --server` process with its own data
/// dir. Its stderr goes to `runner.err` there.
pub struct MachineRunner {
    pub child: Child,
    pub data_dir: PathBuf,
}

impl MachineRunner {
    /// Starts a runner in `data_dir` dialling `server` (plain HTTP, as a test network is
    /// trusted), enrolling first with `code` when given.
    pub fn start(data_dir: &Path, server: &str, code: Option<&str>) -> MachineRunner {
        let mut args = vec!["--insecure-plain"];
        if let Some(code) = code {
            args.extend(["--enroll", code]);
        }
        Self::start_with(data_dir, server, &args)
    }

    /// Starts a runner in `data_dir` dialling `server` with the flags `args`.
    pub fn start_with(data_dir: &Path, server: &str, args: &[&str]) -> MachineRunner {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(data_dir).expect("machine dir");
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
            .expect("private");
        let config = data_dir.join("machine.toml");
        std::fs::write(&config, "").expect("config");
        let err = std::fs::File::create(data_dir.join("runner.err")).expect("stderr file");
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("runner")
            .arg("--server")
            .arg(server)
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(&config)
            .env("SWITCHBOARD_DEMO_DELAY_MS", "20")
            .env(
                "RUST_LOG",
                std::env::var("SWITCHBOARD_TEST_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("the runner starts");
        MachineRunner {
            child,
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Waits for the runner to exit; its status and what it printed.
    pub fn wait_exit(&mut self) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let err =
                    std::fs::read_to_string(self.data_dir.join("runner.err")).unwrap_or_default();
                return (status, err);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the runner never exited"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The agent processes this runner holds.
    pub fn agent_pids(&self) -> Vec<i32> {
        super::children_of(self.child.id() as i32)
    }
}

impl Drop for MachineRunner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test says what the runner did, as it does for its servers.
        if std::thread::panicking() {
            let err = std::fs::read_to_string(self.data_dir.join("runner.err")).unwrap_or_default();
            let lines: Vec<&str> = err.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!(
                "--- the last {} lines of the runner in {} ---",
                tail.len(),
                self.data_dir.display()
            );
            for line in tail {
                eprintln!("runner: {line}");
            }
        }
    }
}

/// Adds a project on `machine` at `path`; the new one, or the refusal's message.
pub async fn add_machine_project(
    client: &mut Client,
    path: &str,
    machine: &str,
) -> Result<Project, String> {
    let tag = RequestTag(u64::from(std::process::id()) + 7);
    client
        .send(&ClientFrame::AddProject {
            path: path.into(),
            name: None,
            machine: Some(machine.into()),
            tag: Some(tag),
        })
        .await;
    loop {
        match client.recv().await {
            ServerFrame::ProjectsChanged { projects } => {
                if let Some(project) = projects
                    .into_iter()
                    .find(|p| p.path == path && p.machine.as_deref() == Some(machine))
                {
                    return Ok(project);
                }
            }
            ServerFrame::Error {
                tag: Some(t),
                message,
                ..
            } if t == tag => return Err(message),
            _ => {}
        }
    }
}

/// A TCP path to `target` that can be cut (every connection dropped, new ones refused)
/// and healed: the network between a machine and its server.
pub struct Network {
    /// Where to connect instead of `target`.
    pub addr: String,
    open: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
    _task: tokio::task::JoinHandle<()>,
}

impl Network {
    /// Starts relaying to `target` (in the test's runtime, which must keep running: a
    /// multi-threaded one).
    pub async fn to(target: &str) -> Network {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("path listens");
        let addr = listener.local_addr().expect("addr").to_string();
        let open = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let target = target.to_owned();
        let is_open = Arc::clone(&open);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !is_open.load(Ordering::SeqCst) {
                    continue; // dropped: the network is down
                }
                let target = target.clone();
                let mut cuts = cuts.clone();
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Network {
            addr,
            open,
            cut,
            _task: task,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// A TLS terminator in front of `target`, as a load balancer would be: a test CA and a
/// certificate for `localhost` signed by it. Returns its address and the CA's PEM file
/// (in `dir`), for `--ca`.
pub async fn tls_terminator(target: &str, dir: &Path) -> (std::net::SocketAddr, PathBuf) {
    use tokio_rustls::rustls;
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Switchboard test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&leaf_key, &issuer)
        .expect("certificate");
    let ca_file = dir.join("test-ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).expect("CA written");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listens");
    let addr = listener.local_addr().expect("addr");
    let target = target.to_owned();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let (acceptor, target) = (acceptor.clone(), target.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(inbound).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (addr, ca_file)
}

/// What the demo agent's `/slow <seconds>` streams.
pub fn ticks(seconds: u32) -> String {
    (1..=seconds * 10).map(|t| format!("tick {t} ")).collect()
}
