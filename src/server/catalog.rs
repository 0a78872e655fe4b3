//! The agents this server can run: the built-ins plus every `[agents.<key>]` ACP agent in
//! Leptos.toml, each with the program that runs it (found once at start, so the picker can
//! list only installed agents; again when the Doctor's "Look again" asks) and, for the
//! Doctor, its version.
//!
//! Lookup order for a built-in's program: `SWITCHBOARD_<KEY>_BIN` > `agents.<key>.command`
//! (a full argv) > the program on PATH > `<data dir>/agents/node_modules/.bin` (where the
//! Doctor's install line puts it).

use super::config::{AgentCommand, Config};
use crate::protocol::{
    AgentId, AgentInfo, AgentProtocol, BUILTIN_AGENTS, CLAUDE, CLAUDE_ACP, CODEX, DEMO, GEMINI,
};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// One agent: what people see, and how to start it.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// What the picker and Doctor show.
    pub info: AgentInfo,
    /// The argv that starts it (program first); None when not installed.
    pub argv: Option<Vec<String>>,
    /// Extra environment (`agents.<key>.env`).
    pub env: BTreeMap<String, String>,
    /// The environment variable that names its program, for error messages.
    pub env_var: String,
}

/// Every agent, in picker order. Built at start-up and again by [`AgentCatalog::rescan`]
/// (the Doctor's "Look again", after the user installed an agent).
#[derive(Debug)]
pub struct AgentCatalog {
    /// The current entries; a rescan replaces them whole, so a reader sees one or the other.
    entries: RwLock<Arc<Vec<CatalogEntry>>>,
    /// What the entries are built from: the configuration and the PATH of the start.
    config: Config,
    search_path: Option<OsString>,
}

/// How a built-in is found and installed.
struct Install {
    /// The program looked up on PATH.
    program: &'static str,
    /// Arguments after the program (e.g. the ACP switch).
    args: &'static [&'static str],
    /// The npm package and exact version the tests pin (agents/package.json).
    npm: &'static str,
}

fn install_of(id: &str) -> Option<Install> {
    let (program, args, npm): (&str, &[&str], &str) = match id {
        CLAUDE => ("claude", &[], "@anthropic-ai/claude-code@2.1.330"),
        CODEX => ("codex", &[], "@openai/codex@0.169.0"),
        GEMINI => ("gemini", &["--acp"], "@google/gemini-cli@0.61.0"),
        CLAUDE_ACP => (
            "claude-agent-acp",
            &[],
            "@agentclientprotocol/claude-agent-acp@0.101.0",
        ),
        _ => return None,
    };
    Some(Install { program, args, npm })
}

impl AgentCatalog {
    /// Builds the catalog from the configuration and the environment (PATH lookups only;
    /// no program is run).
    pub fn load(config: &Config) -> AgentCatalog {
        Self::load_with_path(config, std::env::var_os("PATH"))
    }

    /// [`AgentCatalog::load`] with programs looked up on `search_path` instead of PATH.
    pub fn load_with_path(config: &Config, search_path: Option<OsString>) -> AgentCatalog {
        AgentCatalog {
            entries: RwLock::new(Arc::new(Self::build(config, search_path.as_deref()))),
            config: config.clone(),
            search_path,
        }
    }

    /// Looks for every agent's program again (PATH, the agents prefix, the environment and
    /// the configuration as it was at start-up).
    pub fn rescan(&self) {
        let fresh = Arc::new(Self::build(&self.config, self.search_path.as_deref()));
        *self.entries.write().unwrap_or_else(PoisonError::into_inner) = fresh;
    }

    fn current(&self) -> Arc<Vec<CatalogEntry>> {
        Arc::clone(&self.entries.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn build(config: &Config, search_path: Option<&OsStr>) -> Vec<CatalogEntry> {
        let mut entries: Vec<CatalogEntry> = BUILTIN_AGENTS
            .iter()
            .map(|builtin| {
                let settings = config.agents.get(builtin.id).cloned().unwrap_or_default();
                let info = AgentInfo {
                    id: AgentId(builtin.id.into()),
                    label: settings
                        .label
                        .clone()
                        .unwrap_or_else(|| builtin.label.into()),
                    protocol: builtin.protocol,
                    modes: builtin.modes.iter().map(|m| (*m).to_owned()).collect(),
                    models: builtin.models,
                    installed: false,
                    path: None,
                    version: None,
                    install_hint: None,
                    problem: None,
                };
                resolve(info, settings, config, search_path)
            })
            .collect();
        for (key, settings) in &config.agents {
            if BUILTIN_AGENTS.iter().any(|b| b.id == key) {
                continue;
            }
            let info = AgentInfo {
                id: AgentId(key.clone()),
                label: settings.label.clone().unwrap_or_else(|| key.clone()),
                protocol: AgentProtocol::Acp,
                modes: if settings.modes.is_empty() {
                    vec!["default".into()]
                } else {
                    settings.modes.clone()
                },
                models: false,
                installed: false,
                path: None,
                version: None,
                install_hint: None,
                problem: None,
            };
            entries.push(resolve(info, settings.clone(), config, search_path));
        }
        entries
    }

    /// The entry of an agent.
    pub fn get(&self, id: &AgentId) -> Option<CatalogEntry> {
        self.current().iter().find(|e| e.info.id == *id).cloned()
    }

    /// What the picker shows (installed or not; the client lists the installed ones).
    pub fn infos(&self) -> Vec<AgentInfo> {
        self.current().iter().map(|e| e.info.clone()).collect()
    }

    /// The Doctor's report: every agent, with `--version` asked of each installed one
    /// (at once, 10 s each at most).
    pub async fn doctor(&self) -> Vec<AgentInfo> {
        let entries = self.current();
        let checks = entries.iter().map(|entry| async move {
            let mut info = entry.info.clone();
            if let (Some(argv), true) = (&entry.argv, info.id.as_str() != DEMO) {
                match version_of(&argv[0], &entry.env).await {
                    Ok(version) => info.version = Some(version),
                    Err(problem) => {
                        info.problem = Some(problem);
                        info.installed = false;
                    }
                }
            } else if info.id.as_str() == DEMO {
                info.version = Some(env!("CARGO_PKG_VERSION").into());
            }
            info
        });
        futures::future::join_all(checks).await
    }
}

/// Finds the program of an agent and fills `installed`, `path` and the install hint.
fn resolve(
    mut info: AgentInfo,
    settings: AgentCommand,
    config: &Config,
    search_path: Option<&OsStr>,
) -> CatalogEntry {
    let key = info.id.as_str().to_owned();
    let env_var = format!(
        "SWITCHBOARD_{}_BIN",
        key.to_ascii_uppercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let install = install_of(&key);
    let from_env = std::env::var(&env_var).ok().filter(|p| !p.is_empty());
    let argv: Option<Vec<String>> = if key == DEMO && settings.command.is_empty() {
        std::env::current_exe()
            .ok()
            .map(|exe| vec![exe.display().to_string(), "demo-agent".into()])
    } else if let Some(program) = from_env {
        let args = install.as_ref().map_or(&[][..], |i| i.args);
        Some(
            std::iter::once(program)
                .chain(args.iter().map(|a| (*a).to_owned()))
                .collect(),
        )
    } else if !settings.command.is_empty() {
        Some(settings.command.clone())
    } else {
        install.as_ref().and_then(|i| {
            super::agent::find_in(search_path, i.program)
                .or_else(|| find_installed_here(config, i.program))
                .map(|path| {
                    std::iter::once(path)
                        .chain(i.args.iter().map(|a| (*a).to_owned()))
                        .collect()
                })
        })
    };
    let mut env = settings.env;
    if key == DEMO {
        env.entry("SWITCHBOARD_DEMO_STATE_DIR".into())
            .or_insert_with(|| config.data_dir.join("demo-agent").display().to_string());
    }
    // A configured program may be a bare name: it must be on PATH or an existing file.
    let argv = argv.and_then(|argv| {
        let program = &argv[0];
        let found = if program.contains('/') {
            std::path::Path::new(program)
                .is_file()
                .then(|| program.clone())
        } else {
            super::agent::find_in(search_path, program)
        };
        found.map(|path| {
            let mut argv = argv.clone();
            argv[0] = path;
            argv
        })
    });
    match &argv {
        Some(argv) => {
            info.installed = true;
            info.path = Some(argv[0].clone());
        }
        None => {
            let program = install.as_ref().map_or_else(
                || settings.command.first().cloned().unwrap_or_default(),
                |i| i.program.to_owned(),
            );
            info.install_hint = install.as_ref().map(|i| {
                format!(
                    "npm install --prefix {} {}",
                    shell_word(&agents_prefix(config).display().to_string()),
                    i.npm
                )
            });
            info.problem = Some(if program.is_empty() {
                format!("no command configured: set agents.{key}.command in Leptos.toml")
            } else {
                format!(
                    "`{program}` was not found on PATH or in {} (or set {env_var} to its path)",
                    agents_prefix(config).display()
                )
            });
        }
    }
    CatalogEntry {
        info,
        argv,
        env,
        env_var,
    }
}

/// The npm prefix the Doctor's install line names: `agents` in the data dir, as an absolute
/// path, so the printed line installs where this server looks (after PATH) from whatever
/// folder it is run in.
pub fn agents_prefix(config: &Config) -> std::path::PathBuf {
    let prefix = config.data_dir.join("agents");
    std::path::absolute(&prefix).unwrap_or(prefix)
}

/// `program` as `npm install --prefix <agents_prefix>` put it, if it is there.
fn find_installed_here(config: &Config, program: &str) -> Option<String> {
    let path = agents_prefix(config)
        .join("node_modules/.bin")
        .join(program);
    super::agent::is_executable(&path).then(|| path.display().to_string())
}

/// `text` as one shell word: as is when it needs no quoting, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@".contains(&b));
    if plain && !text.is_empty() {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The first line `program --version` prints.
async fn version_of(program: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    let mut command = tokio::process::Command::new(program);
    for secret in super::config::SECRET_ENV {
        command.env_remove(secret);
    }
    command
        .arg("--version")
        .envs(env)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(10), command.output())
        .await
        .map_err(|_| format!("`{program} --version` did not answer in 10 s"))?
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if !output.status.success() || line.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr
            .lines()
            .last()
            .unwrap_or("no output")
            .trim()
            .to_owned();
        return Err(format!(
            "`{program} --version` failed ({}): {why}",
            output.status
        ));
    }
    Ok(line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{shell_word, AgentCatalog};
    use crate::protocol::AgentId;

    #[test]
    fn a_rescan_finds_an_agent_installed_since_the_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = crate::server::config::Config::for_tests(dir.path());
        // A PATH without the agent CLIs the suite installs.
        let catalog = AgentCatalog::load_with_path(&config, Some("/usr/bin:/bin".into()));
        let gemini = AgentId("gemini".into());
        assert!(
            catalog.get(&gemini).is_some_and(|e| e.argv.is_none()),
            "not found at first"
        );
        let bin = dir.path().join("agents/node_modules/.bin");
        std::fs::create_dir_all(&bin).expect("prefix made");
        std::fs::write(bin.join("gemini"), "#!/bin/sh\necho 0.61.0\n").expect("written");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("gemini"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        assert!(
            catalog.get(&gemini).is_some_and(|e| e.argv.is_none()),
            "found only on rescan"
        );
        catalog.rescan();
        let after = catalog.get(&gemini).expect("a built-in");
        assert_eq!(
            after.argv.as_ref().map(|argv| argv[0].clone()),
            Some(bin.join("gemini").display().to_string())
        );
        assert!(catalog
            .infos()
            .iter()
            .any(|i| i.id == gemini && i.installed));
    }

    #[test]
    fn an_install_prefix_is_one_shell_word() {
        assert_eq!(
            shell_word("/home/ana/sb/data/agents"),
            "/home/ana/sb/data/agents"
        );
        assert_eq!(
            shell_word("/home/ana/my data/agents"),
            "'/home/ana/my data/agents'"
        );
        assert_eq!(shell_word("/tmp/it's/agents"), "'/tmp/it'\\''s/agents'");
        assert_eq!(shell_word("/tmp/$(x)"), "'/tmp/$(x)'");
    }
}
