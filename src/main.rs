//! The `switchboard` binary: `serve` (the default) runs the web app; `doctor` reports which
//! agents are installed; `demo-agent` is the built-in offline ACP agent that sessions start
//! as a child process.

#[cfg(feature = "ssr")]
mod cli {
    use clap::{Args, Parser, Subcommand};
    use std::net::SocketAddr;
    use std::path::PathBuf;

    /// Run many AI coding-agent sessions side by side in browser tabs.
    #[derive(Parser)]
    #[command(version, about)]
    pub struct Cli {
        #[command(subcommand)]
        pub command: Option<Command>,
        #[command(flatten)]
        pub serve: ServeArgs,
    }

    #[derive(Subcommand)]
    pub enum Command {
        /// Serve the web app (the default).
        Serve(ServeArgs),
        /// Show which agents are installed (path, version) and how to install the others.
        Doctor(DoctorArgs),
        /// Print the address that logs a browser in (with the access token): keep it private.
        LoginUrl(ServeArgs),
        /// Import the sessions Claude Code (~/.claude or CLAUDE_CONFIG_DIR) and Codex
        /// (~/.codex or CODEX_HOME) stored, into a data dir no server is using; again later
        /// to add what they gained.
        Import(ImportArgs),
        /// The runner that holds agent processes so they outlive a server restart (`serve`
        /// starts it); `status` and `stop` ask the running one.
        Runner(RunnerArgs),
        /// List a running server's sessions (through its HTTP API).
        Sessions(SessionsArgs),
        /// Send a message to a session of a running server (or make one with --new); with
        /// --wait, print the reply as it streams and fail when the agent fails.
        Send(SendArgs),
        /// Stop a session's running turn.
        Stop(StopArgs),
        /// Allow a permission request.
        Approve(AnswerArgs),
        /// Deny a permission request.
        Deny(AnswerArgs),
        /// Print a session's events after --since, then follow it live.
        Tail(TailArgs),
        /// Run the built-in offline demo agent on stdio (ACP); started by the server.
        DemoAgent,
        /// Write a long generated demo session into a data dir (benchmarks, tests); run it
        /// before the server starts. Prints the session's id.
        #[command(hide = true)]
        SeedTranscript(SeedArgs),
    }

    /// Where the server is: flags, else the environment, else `<data dir>/cli.json`, which
    /// a server writes at start (same machine).
    #[derive(Args, Clone, Default)]
    pub struct RemoteArgs {
        /// The server's address, http://host:port (plain HTTP only)
        #[arg(long, env = "SWITCHBOARD_SERVER")]
        pub server: Option<String>,
        /// An API token (Settings > API tokens)
        #[arg(long, env = "SWITCHBOARD_API_TOKEN", hide_env_values = true)]
        pub token: Option<String>,
        /// The server's data dir, for its cli.json [default: ./data]
        #[arg(long, env = "SWITCHBOARD_DATA_DIR")]
        pub data_dir: Option<PathBuf>,
        /// Print JSON instead of text
        #[arg(long)]
        pub json: bool,
    }

    #[derive(Args, Clone, Default)]
    pub struct SessionsArgs {
        #[command(flatten)]
        pub remote: RemoteArgs,
    }

    #[derive(Args, Clone, Default)]
    pub struct SendArgs {
        /// SESSION and the text, or with --new the text alone
        #[arg(num_args = 1..=2, required = true, value_names = ["SESSION", "TEXT"])]
        pub words: Vec<String>,
        /// Make a new session for the message
        #[arg(long)]
        pub new: bool,
        /// The new session's agent [default: demo]
        #[arg(long, requires = "new")]
        pub agent: Option<String>,
        /// The new session's project (name or id)
        #[arg(long, requires = "new")]
        pub project: Option<String>,
        /// The new session's folder (instead of a project)
        #[arg(long, requires = "new")]
        pub cwd: Option<String>,
        /// Print the reply as it streams; exit non-zero when the agent fails
        #[arg(long)]
        pub wait: bool,
        #[command(flatten)]
        pub remote: RemoteArgs,
    }

    #[derive(Args, Clone, Default)]
    pub struct StopArgs {
        /// The session
        pub session: String,
        #[command(flatten)]
        pub remote: RemoteArgs,
    }

    #[derive(Args, Clone, Default)]
    pub struct AnswerArgs {
        /// The session
        pub session: String,
        /// The permission request's id (printed by `send --wait` and `tail`)
        pub request: String,
        #[command(flatten)]
        pub remote: RemoteArgs,
    }

    #[derive(Args, Clone, Default)]
    pub struct TailArgs {
        /// The session
        pub session: String,
        /// Start after this seq [default: 0, the whole log]
        #[arg(long, default_value_t = 0)]
        pub since: u64,
        /// End when a turn ends instead of following on
        #[arg(long)]
        pub until_turn_end: bool,
        #[command(flatten)]
        pub remote: RemoteArgs,
    }

    #[derive(Args, Clone)]
    pub struct SeedArgs {
        /// Directory of the database to write to.
        #[arg(long)]
        pub data_dir: PathBuf,
        /// Transcript rows to generate (whole turns of four rows).
        #[arg(long, default_value_t = 10_000)]
        pub entries: usize,
        /// The session's title.
        #[arg(long, default_value = "Long session")]
        pub title: String,
    }

    #[derive(Args, Clone, Default)]
    pub struct ImportArgs {
        /// Claude Code's sessions (with --codex: both; neither: both).
        #[arg(long)]
        pub claude: bool,
        /// Codex's sessions.
        #[arg(long)]
        pub codex: bool,
        /// Only sessions started on or after this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        pub since: Option<String>,
        /// List what would be imported; change nothing.
        #[arg(long)]
        pub dry_run: bool,
        /// Directory of the database [default: ./data]
        #[arg(long, env = "SWITCHBOARD_DATA_DIR")]
        pub data_dir: Option<PathBuf>,
        /// Runtime configuration file [default: ./Leptos.toml]
        #[arg(long, env = "SWITCHBOARD_CONFIG")]
        pub config: Option<PathBuf>,
    }

    #[derive(Args, Clone, Default)]
    pub struct RunnerArgs {
        #[command(subcommand)]
        pub action: Option<RunnerAction>,
        /// Run as another machine's runner, dialling this server (https://HOST[:PORT]);
        /// several nodes' URLs, comma-separated, are tried in turn
        #[arg(long, value_name = "URL", value_delimiter = ',')]
        pub server: Vec<String>,
        /// Enroll this machine first with a one-time code from the Machines page
        #[arg(long, value_name = "CODE", requires = "server")]
        pub enroll: Option<String>,
        /// Trust the certificates in this PEM file too (a private CA, a self-signed server)
        #[arg(long, value_name = "FILE", requires = "server")]
        pub ca: Option<PathBuf>,
        /// Allow http:// (the credential travels unencrypted): only on a network you trust
        #[arg(long, requires = "server")]
        pub insecure_plain: bool,
        /// Directory for the database and agent state [default: ./data]
        #[arg(long, global = true, env = "SWITCHBOARD_DATA_DIR")]
        pub data_dir: Option<PathBuf>,
        /// Runtime configuration file [default: ./Leptos.toml]
        #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
        pub config: Option<PathBuf>,
    }

    #[derive(Subcommand, Clone)]
    pub enum RunnerAction {
        /// Show the running runner: pid, version, agents and what it keeps for the server.
        Status,
        /// Stop it: running turns finish first, unless --now.
        Stop {
            /// Stop every agent at once.
            #[arg(long)]
            now: bool,
        },
    }

    #[derive(Args, Clone, Default)]
    pub struct DoctorArgs {
        /// Runtime configuration file [default: ./Leptos.toml]
        #[arg(long, env = "SWITCHBOARD_CONFIG")]
        pub config: Option<PathBuf>,
    }

    #[derive(Args, Clone, Default)]
    pub struct ServeArgs {
        /// Listen address [default: 127.0.0.1:3000, or Leptos.toml's server.addr]
        #[arg(long, env = "SWITCHBOARD_ADDR")]
        pub addr: Option<SocketAddr>,
        /// Directory for the database and agent state [default: ./data]
        #[arg(long, env = "SWITCHBOARD_DATA_DIR")]
        pub data_dir: Option<PathBuf>,
        /// Runtime configuration file [default: ./Leptos.toml]
        #[arg(long, env = "SWITCHBOARD_CONFIG")]
        pub config: Option<PathBuf>,
        /// Access token [default: Leptos.toml's server.token, else the data dir's `token`
        /// file, made on first start]
        #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
        pub token: Option<String>,
        /// Serve without a token: anyone who can reach the port controls your agents.
        /// Refused unless the address is loopback.
        #[arg(long)]
        pub no_auth: bool,
    }
}

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    use cli::{Cli, Command};

    let cli = Cli::parse();
    match cli.command {
        Some(Command::DemoAgent) => match switchboard::server::demo_agent::run().await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo agent: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Some(Command::Doctor(args)) => doctor(args).await,
        Some(
            command @ (Command::Sessions(_)
            | Command::Send(_)
            | Command::Stop(_)
            | Command::Approve(_)
            | Command::Deny(_)
            | Command::Tail(_)),
        ) => remote(command).await,
        Some(Command::Runner(args)) => runner(args).await,
        Some(Command::LoginUrl(args)) => login_url(args),
        Some(Command::Import(args)) => import(args).await,
        Some(Command::SeedTranscript(args)) => {
            let seeded = switchboard::server::seed::seed_transcript(
                &args.data_dir,
                args.entries,
                &args.title,
            )
            .await;
            match seeded {
                Ok(id) => {
                    println!("{id}");
                    std::process::ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("switchboard: cannot seed {}: {e}", args.data_dir.display());
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Some(Command::Serve(args)) => serve(args).await,
        None => serve(cli.serve).await,
    }
}

#[cfg(feature = "ssr")]
async fn serve(args: cli::ServeArgs) -> std::process::ExitCode {
    use switchboard::server::config::Overrides;
    use tracing_subscriber::EnvFilter;

    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let flag_given = std::env::args_os().any(|arg| {
        let arg = arg.to_string_lossy();
        arg == "--token" || arg.starts_with("--token=")
    });
    if flag_given {
        eprintln!(
            "WARNING: --token puts the token in the process list (`ps`), readable by every \
             local user; set SWITCHBOARD_TOKEN or server.token instead"
        );
    }
    let config = match load_config(Overrides {
        addr: args.addr,
        data_dir: args.data_dir,
        config_file: args.config,
        token: args.token,
        no_auth: args.no_auth,
    }) {
        Ok(config) => config,
        Err(code) => return code,
    };
    exit_with(switchboard::server::run(config).await, "switchboard")
}

/// The commands that drive a running server through its HTTP API.
#[cfg(feature = "ssr")]
async fn remote(command: cli::Command) -> std::process::ExitCode {
    use cli::Command;
    use switchboard::server::remote::{self, RemoteError, SendRequest, Target};
    let remote_args = match &command {
        Command::Sessions(a) => &a.remote,
        Command::Send(a) => &a.remote,
        Command::Stop(a) => &a.remote,
        Command::Approve(a) | Command::Deny(a) => &a.remote,
        Command::Tail(a) => &a.remote,
        _ => return std::process::ExitCode::FAILURE,
    };
    let target = Target {
        server: remote_args.server.clone(),
        token: remote_args.token.clone(),
        data_dir: remote_args.data_dir.clone(),
    };
    let json = remote_args.json;
    let client = match target.client() {
        Ok(client) => client,
        Err(e) => return exit_with(Err::<(), _>(e), "switchboard"),
    };
    let result = match command {
        Command::Sessions(_) => remote::sessions(&client, json).await,
        Command::Send(args) => {
            // With --new the one positional argument is the text.
            let (session, text) = match (args.new, args.words.as_slice()) {
                (true, [text]) => (None, text.clone()),
                (false, [session, text]) => (Some(session.clone()), text.clone()),
                _ => {
                    eprintln!("switchboard send: give SESSION and the text, or --new and the text");
                    return std::process::ExitCode::from(2);
                }
            };
            let request = SendRequest {
                session,
                agent: args.agent,
                project: args.project,
                cwd: args.cwd,
                text,
                wait: args.wait,
                json,
            };
            remote::send(&client, request).await
        }
        Command::Stop(args) => remote::stop(&client, &args.session).await,
        Command::Approve(args) => remote::answer(&client, &args.session, &args.request, true).await,
        Command::Deny(args) => remote::answer(&client, &args.session, &args.request, false).await,
        Command::Tail(args) => {
            remote::tail(
                &client,
                &args.session,
                args.since,
                json,
                args.until_turn_end,
            )
            .await
        }
        _ => Ok(()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e @ RemoteError::Stopped) => {
            eprintln!("switchboard: {e}");
            std::process::ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("switchboard: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `switchboard runner [status|stop [--now]]`.
#[cfg(feature = "ssr")]
async fn runner(args: cli::RunnerArgs) -> std::process::ExitCode {
    use switchboard::server::config::Overrides;
    use switchboard::server::runner::cli::Action;
    let config = match load_config(Overrides::files(args.data_dir, args.config)) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let remote = (!args.server.is_empty()).then_some(switchboard::server::runner::RemoteArgs {
        servers: args.server,
        enroll: args.enroll,
        ca: args.ca,
        insecure_plain: args.insecure_plain,
    });
    let action = match args.action {
        None => Action::Run(remote),
        Some(cli::RunnerAction::Status) => Action::Status,
        Some(cli::RunnerAction::Stop { now }) => Action::Stop { now },
    };
    exit_with(
        switchboard::server::runner::cli::run(&config, action).await,
        "switchboard runner",
    )
}

/// `switchboard import`: imports the CLIs' stored sessions into the data dir.
#[cfg(feature = "ssr")]
async fn import(args: cli::ImportArgs) -> std::process::ExitCode {
    use switchboard::protocol::ImportSource;
    use switchboard::server::config::Overrides;
    let config = match load_config(Overrides::files(args.data_dir, args.config)) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let mut sources = Vec::new();
    if args.claude {
        sources.push(ImportSource::Claude);
    }
    if args.codex {
        sources.push(ImportSource::Codex);
    }
    let options = switchboard::server::import::cli::ImportOptions {
        sources,
        since: args.since,
        dry_run: args.dry_run,
    };
    exit_with(
        switchboard::server::import::cli::run(config, options).await,
        "switchboard import",
    )
}

/// Prints the agent report; fails only when the demo agent does not work.
#[cfg(feature = "ssr")]
/// `switchboard login-url`: the configured address with the token (given, or the data
/// dir's token file; none is made here).
fn login_url(args: cli::ServeArgs) -> std::process::ExitCode {
    use switchboard::server::access::Access;
    use switchboard::server::config::Overrides;
    let config = match load_config(Overrides {
        addr: args.addr,
        data_dir: args.data_dir,
        config_file: args.config,
        token: args.token,
        no_auth: false,
    }) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let token_file = config
        .data_dir
        .join(switchboard::server::access::TOKEN_FILE);
    if config.token.is_none() && !token_file.exists() {
        eprintln!(
            "switchboard: no token yet ({} is missing); `switchboard serve` makes one",
            token_file.display()
        );
        return std::process::ExitCode::FAILURE;
    }
    let given = config.token.clone().map(|t| t.0);
    match Access::new(config.addr, &config.data_dir, given, false, &[]) {
        Ok((access, _)) => {
            let host = switchboard::server::browser_host(config.addr);
            println!(
                "http://{host}/?token={}",
                access.token().unwrap_or_default()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn doctor(args: cli::DoctorArgs) -> std::process::ExitCode {
    use switchboard::server::config::Overrides;

    let config = match load_config(Overrides {
        config_file: args.config,
        ..Overrides::default()
    }) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if switchboard::server::doctor::run(&config).await {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Reads the configuration; a bad file is reported and ends the command.
#[cfg(feature = "ssr")]
fn load_config(
    overrides: switchboard::server::config::Overrides,
) -> Result<switchboard::server::config::Config, std::process::ExitCode> {
    switchboard::server::config::Config::load(overrides).map_err(|e| {
        eprintln!("switchboard: {e}");
        std::process::ExitCode::FAILURE
    })
}

/// The exit status of a command's result; an error is printed after `who`.
#[cfg(feature = "ssr")]
fn exit_with<E: std::fmt::Display>(result: Result<(), E>, who: &str) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{who}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build has no binary; `cargo leptos` builds the server with `ssr`.
}
