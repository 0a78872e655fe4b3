//! Server side (ssr only): configuration, storage, the session registry and its tasks,
//! agent drivers, the WebSocket, HTTP routes, and the built-in demo agent.

pub mod access;
pub mod agent;
pub mod agent_pool;
pub mod api;
pub mod api_client;
pub mod api_tokens;
pub mod assets;
pub mod catalog;
pub mod config;
pub mod data_lock;
pub mod db;
pub mod demo_agent;
pub mod doctor;
pub mod fuzzing;
pub mod git;
pub mod guard;
pub mod http;
pub mod import;
pub mod login_http;
pub mod logins;
pub mod machines;
pub mod private_dir;
pub mod projects;
pub mod rate;
pub mod registry;
pub mod remote;
pub mod replay;
pub mod runner;
pub mod seed;
pub mod session_stream;
pub mod session_task;
pub mod spending;
#[cfg(test)]
mod tests;
pub mod wire;
pub mod workspace;
pub mod ws;

use leptos::prelude::{use_context, LeptosOptions, ServerFnError};
use registry::Registry;
use std::sync::Arc;

/// Shared by every request handler.
#[derive(Clone)]
pub struct AppState {
    /// Leptos' site settings (paths of the compiled assets).
    pub leptos_options: LeptosOptions,
    /// Every live session.
    pub registry: Arc<Registry>,
    /// Who may come in.
    pub access: Arc<access::Access>,
    /// The HTTP API's tokens.
    pub api_tokens: Arc<api_tokens::ApiTokens>,
    /// Other machines' runners (`None` when agents run in the server's own process).
    pub machines: Option<Arc<machines::Machines>>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The session and project lists for server-side rendering and server functions.
pub fn sessions_from_context(
) -> Result<(Vec<crate::protocol::Session>, Vec<crate::protocol::Project>), ServerFnError> {
    let registry = use_context::<Arc<Registry>>()
        .ok_or_else(|| ServerFnError::new("the session registry is not available"))?;
    Ok((registry.sessions(), registry.project_list()))
}

/// The Doctor's report for server functions: every agent, with `--version` asked now.
pub async fn agent_report_from_context() -> Result<Vec<crate::protocol::AgentInfo>, ServerFnError> {
    let registry = use_context::<Arc<Registry>>()
        .ok_or_else(|| ServerFnError::new("the session registry is not available"))?;
    Ok(registry.doctor().await)
}

/// The Doctor's "Look again": the agents looked up anew, then the report.
pub async fn rescan_agents_from_context() -> Result<Vec<crate::protocol::AgentInfo>, ServerFnError>
{
    let registry = use_context::<Arc<Registry>>()
        .ok_or_else(|| ServerFnError::new("the session registry is not available"))?;
    Ok(registry.rescan_agents().await)
}

/// The browser logins for the settings view, the asking one marked.
pub async fn logins_from_context() -> Result<Vec<crate::protocol::LoginInfo>, ServerFnError> {
    let access = use_context::<Arc<access::Access>>()
        .ok_or_else(|| ServerFnError::new("the login list is not available"))?;
    let current = leptos_axum::extract::<axum::Extension<guard::CurrentLogin>>()
        .await
        .ok()
        .and_then(|axum::Extension(guard::CurrentLogin(login))| login);
    Ok(access
        .logins()
        .map(|logins| logins.list(current.as_deref()))
        .unwrap_or_default())
}

/// The API tokens, for the Settings page's server functions.
pub fn api_tokens_from_context() -> Result<Arc<api_tokens::ApiTokens>, ServerFnError> {
    use_context::<Arc<api_tokens::ApiTokens>>()
        .ok_or_else(|| ServerFnError::new("the API tokens are not available"))
}

/// Other machines' runners, for server functions; refused when agents run in the server.
pub fn machines_from_context() -> Result<Arc<machines::Machines>, ServerFnError> {
    use_context::<Option<Arc<machines::Machines>>>()
        .flatten()
        .ok_or_else(|| {
            ServerFnError::new(
                "Other machines need runner.mode = \"detached\" (this server runs its agents in its own process)",
            )
        })
}

/// The Doctor's runner section, for server functions.
pub async fn runner_report_from_context() -> Result<crate::protocol::RunnerHealth, ServerFnError> {
    let registry = use_context::<Arc<Registry>>()
        .ok_or_else(|| ServerFnError::new("the session registry is not available"))?;
    Ok(registry.runner_health().await)
}

/// The budgets that apply to a session and what was spent against each, for server
/// functions.
pub fn budget_lines_from_context(
    session: &str,
) -> Result<Vec<crate::protocol::BudgetLine>, ServerFnError> {
    let registry = use_context::<Arc<Registry>>()
        .ok_or_else(|| ServerFnError::new("the session registry is not available"))?;
    let id = crate::protocol::SessionId::parse(session)
        .ok_or_else(|| ServerFnError::new("not a session id"))?;
    registry
        .budget_lines(id)
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// The Doctor's line on git, for server functions.
pub fn git_report_from_context() -> Result<crate::protocol::GitInfo, ServerFnError> {
    let registry = use_context::<Arc<Registry>>()
        .ok_or_else(|| ServerFnError::new("the session registry is not available"))?;
    Ok(projects::git_info(registry.projects()))
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Storage could not be opened.
    #[error("{0}")]
    Db(#[from] db::DbError),
    /// The token could not be set up, or `--no-auth` was refused.
    #[error("{0}")]
    Access(#[from] access::AccessError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The data dir is not private to this user.
    #[error("{0}")]
    PrivateDir(#[from] private_dir::PrivateDirError),
    /// Another process uses the data dir.
    #[error("{0}")]
    Locked(#[from] data_lock::LockError),
    /// The runner could not be reached or started.
    #[error("runner: {0}")]
    Runner(String),
    /// The server failed while running.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// Leptos' site settings: from cargo-leptos' environment when it runs us (`cargo leptos
/// watch`), otherwise the layout the release build (scripts/build-release.sh) leaves in the repo root.
pub fn leptos_options(addr: std::net::SocketAddr) -> LeptosOptions {
    let from_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some();
    let configured = from_cargo_leptos
        .then(|| leptos::config::get_configuration(None).ok())
        .flatten();
    let mut options = match configured {
        Some(conf) => conf.leptos_options,
        None => LeptosOptions::builder()
            .output_name("switchboard")
            .site_root("target/site")
            .site_pkg_dir("pkg")
            .hash_files(assets::hashes().is_some())
            .build(),
    };
    options.site_addr = addr;
    options
}

/// Opens storage, loads the sessions, and serves until SIGINT or SIGTERM; then stops
/// every agent.
pub async fn run(config: config::Config) -> Result<(), StartError> {
    let config = Arc::new(config);
    private_dir::ensure_private_dir(&config.data_dir)?;
    private_dir::ensure_private_file(&config.data_dir.join(db::DB_FILE))?;
    let _lock = data_lock::DataDirLock::acquire(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    // The bound address: with port 0 the cookie's name must carry the real port.
    let (access, token_source) = access::Access::new(
        addr,
        &config.data_dir,
        config.token.clone().map(|t| t.0),
        config.no_auth,
        &config.allowed_hosts,
    )?;

    let db = db::Db::open_configured(&config).await?;
    db.claim(false).await?;
    let logins = Arc::new(logins::Logins::load(db.clone()).await?);
    access.attach_logins(Arc::clone(&logins));
    let api_tokens = Arc::new(api_tokens::ApiTokens::load(db.clone()).await?);
    if access.required() {
        // The command line on this machine reads the address and a token from here.
        let server = format!("http://{}", connect_addr(addr));
        if let Err(e) = api_tokens.write_cli_file(&config.data_dir, server).await {
            tracing::warn!("cannot write {}: {e}", api_tokens::CLI_FILE);
        }
    } else {
        // A `--no-auth` server: its address, no token needed.
        let file = api_tokens::CliFile {
            server: format!("http://{}", connect_addr(addr)),
            token: String::new(),
        };
        if let Err(e) = api_tokens::write_cli_json(&config.data_dir, file).await {
            tracing::warn!("cannot write {}: {e}", api_tokens::CLI_FILE);
        }
    }
    // On PostgreSQL this server is one node among any others on the database.
    let node = match &config.database_url {
        Some(url) => Some(
            registry::NodeSettings::for_data_dir(&config.data_dir, url.0.clone())
                .map_err(StartError::Serve)?,
        ),
        None => None,
    };
    let mut machines = None;
    let registry = if runner::detached(&config) {
        let catalog = Arc::new(catalog::AgentCatalog::load(&config));
        let known = machines::Machines::load(
            db.clone(),
            config.runner.protocol,
            config.runner.unreachable_after,
            node.as_ref().map(|node| node.id.clone()),
        )
        .await?;
        machines = Some(Arc::clone(&known));
        let runners = runner::Runners::start(&config, Arc::clone(&catalog), known)
            .await
            .map_err(StartError::Runner)?;
        Registry::load_detached(db, Arc::clone(&config), catalog, runners, node).await?
    } else {
        Registry::load_node(db, Arc::clone(&config), node).await?
    };
    registry.start_node();
    if let Some(changes) = registry.access_changes() {
        tokio::spawn(reload_access(
            changes,
            logins,
            Arc::clone(&api_tokens),
            machines.clone(),
        ));
    }

    // Streaming sends many small frames: without TCP_NODELAY, Nagle's algorithm and delayed
    // ACKs hold them back ~40 ms each round trip.
    let listener =
        axum::serve::ListenerExt::tap_io(listener, |stream: &mut tokio::net::TcpStream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY: {e}");
            }
        });
    let state = AppState {
        leptos_options: leptos_options(addr),
        registry: Arc::clone(&registry),
        access: Arc::new(access),
        api_tokens,
        machines,
    };
    // Tests and scripts read this line to find the port.
    println!("Switchboard listening on http://{addr}");
    print_login(&state.access, token_source, addr, &config.data_dir);
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "serving");
    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartError::Serve)?;
    registry.shutdown().await;
    Ok(())
}

/// Reads logins, API tokens and machines again whenever another node may have changed
/// them.
async fn reload_access(
    mut changes: tokio::sync::broadcast::Receiver<()>,
    logins: Arc<logins::Logins>,
    api_tokens: Arc<api_tokens::ApiTokens>,
    machines: Option<Arc<machines::Machines>>,
) {
    use tokio::sync::broadcast::error::RecvError;
    while let Ok(()) | Err(RecvError::Lagged(_)) = changes.recv().await {
        if let Err(e) = logins.reload().await {
            tracing::warn!("cannot read the logins again: {e}");
        }
        if let Err(e) = api_tokens.reload().await {
            tracing::warn!("cannot read the API tokens again: {e}");
        }
        if let Some(machines) = &machines {
            if let Err(e) = machines.reload().await {
                tracing::warn!("cannot read the machines again: {e}");
            }
        }
    }
}

/// The address a program on this machine connects to: loopback for a server on every
/// interface.
fn connect_addr(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// The address a browser should open for a server on `addr`: on loopback a `*.localhost`
/// name of its own, so its cookie is not sent to other `127.0.0.1` ports.
pub fn browser_host(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        format!("{}:{}", access::LOOPBACK_NAME, addr.port())
    } else {
        addr.to_string()
    }
}

/// Tells the user how to get in. The token goes to stdout only, never to the log, and only
/// when it was just made: a URL printed at every start ends up in log files.
fn print_login(
    access: &access::Access,
    source: Option<access::TokenSource>,
    addr: std::net::SocketAddr,
    data_dir: &std::path::Path,
) {
    let host = browser_host(addr);
    match (access.token(), source) {
        (None, _) => eprintln!(
            "WARNING: --no-auth: any program or user on this machine can drive your agents \
             through http://{host}/"
        ),
        (Some(token), Some(access::TokenSource::Generated)) => {
            println!("Log in at http://{host}/?token={token}");
            println!(
                "(a new token, kept in {}; `switchboard login-url` prints this address again)",
                data_dir.join(access::TOKEN_FILE).display()
            );
        }
        (Some(_), Some(access::TokenSource::Stored)) => println!(
            "Log in at http://{host}/ with the token in {} (`switchboard login-url` prints \
             the address with it)",
            data_dir.join(access::TOKEN_FILE).display()
        ),
        (Some(_), _) => println!("Log in at http://{host}/ with the token you set"),
    }
    if addr.ip().is_unspecified() {
        eprintln!(
            "note: listening on every interface; only the names in server.allowed_hosts \
             (and loopback) are answered, and traffic is not encrypted: put TLS in front"
        );
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
