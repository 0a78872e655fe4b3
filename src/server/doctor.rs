//! `switchboard doctor`: which agents this machine can run, their paths and versions, and
//! the exact command that installs each missing one. Starts no server and uses no network.

use super::catalog::AgentCatalog;
use super::config::Config;
use crate::protocol::{AgentInfo, DEMO};

/// What the Doctor says of one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its program was found and answered `--version`.
    Found,
    /// Its program was found but does not work (`--version` failed).
    Broken,
    /// No program was found.
    NotFound,
}

impl Status {
    /// The status of one report row.
    pub fn of(info: &AgentInfo) -> Status {
        match (info.installed, info.path.is_some()) {
            (true, _) => Status::Found,
            (false, true) => Status::Broken,
            (false, false) => Status::NotFound,
        }
    }

    /// The word the table shows.
    pub fn word(self) -> &'static str {
        match self {
            Status::Found => "found",
            Status::Broken => "broken",
            Status::NotFound => "not found",
        }
    }
}

/// Loads the catalog from `config`, asks every installed agent for its version, prints the
/// table to stdout, and answers whether the demo agent works (the exit status).
pub async fn run(config: &Config) -> bool {
    let report = AgentCatalog::load(config).doctor().await;
    print!("{}", format_report(&report));
    match super::git::Git::detect().await {
        Ok(git) => println!("git: {} at {}", git.version(), git.path().display()),
        Err(e) => println!(
            "git: not available ({e}); projects work, worktrees and changes need it \
             (Debian: apt-get install git)"
        ),
    }
    demo_works(&report)
}

/// Whether the built-in demo agent can run (every other agent is optional).
pub fn demo_works(report: &[AgentInfo]) -> bool {
    report
        .iter()
        .any(|info| info.id.as_str() == DEMO && info.installed)
}

/// The table: one line per agent (status, label and key, version, path), under a missing
/// or broken one its install command and what is wrong, then "N of M agents installed".
pub fn format_report(report: &[AgentInfo]) -> String {
    let names: Vec<String> = report
        .iter()
        .map(|info| format!("{} ({})", info.label, info.id))
        .collect();
    let versions: Vec<&str> = report
        .iter()
        .map(|info| info.version.as_deref().unwrap_or("-"))
        .collect();
    let name_width = names.iter().map(|n| n.chars().count()).fold(5, usize::max);
    let version_width = versions
        .iter()
        .map(|v| v.chars().count())
        .fold(7, usize::max);
    let mut out = format!(
        "{:<9}  {:<name_width$}  {:<version_width$}  PATH\n",
        "STATUS", "AGENT", "VERSION"
    );
    for ((info, name), version) in report.iter().zip(&names).zip(&versions) {
        let status = Status::of(info);
        let path = info.path.as_deref().unwrap_or("-");
        let line = format!(
            "{:<9}  {name:<name_width$}  {version:<version_width$}  {path}",
            status.word()
        );
        out.push_str(line.trim_end());
        out.push('\n');
        if status != Status::Found {
            if let Some(hint) = &info.install_hint {
                out.push_str(&format!("           install: {hint}\n"));
            }
            if let Some(problem) = &info.problem {
                out.push_str(&format!("           problem: {problem}\n"));
            }
        }
    }
    let installed = report.iter().filter(|info| info.installed).count();
    out.push_str(&format!(
        "\n{installed} of {} agents installed.\n",
        report.len()
    ));
    if !demo_works(report) {
        out.push_str("The demo agent does not work: check agents.demo in the configuration.\n");
    }
    if installed < report.len() {
        out.push_str(
            "Run install commands from the Switchboard checkout; restart the server afterwards.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AgentId, AgentProtocol};

    fn info(id: &str, installed: bool, path: Option<&str>) -> AgentInfo {
        AgentInfo {
            id: AgentId(id.into()),
            label: id.to_uppercase(),
            protocol: AgentProtocol::Acp,
            modes: vec!["default".into()],
            models: false,
            installed,
            path: path.map(str::to_owned),
            version: installed.then(|| "1.2.3".to_owned()),
            install_hint: (!installed).then(|| format!("npm install --prefix agents {id}@1")),
            problem: (!installed).then(|| "missing".to_owned()),
        }
    }

    #[test]
    fn rows_hints_and_summary() {
        let report = [
            info("demo", true, Some("/bin/switchboard")),
            info("codex", false, None),
            info("gemini", false, Some("/bin/gemini")),
        ];
        let text = format_report(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "STATUS     AGENT            VERSION  PATH");
        assert_eq!(
            lines[1],
            "found      DEMO (demo)      1.2.3    /bin/switchboard"
        );
        assert_eq!(lines[2], "not found  CODEX (codex)    -        -");
        assert!(text.contains("           install: npm install --prefix agents codex@1\n"));
        assert!(text.contains("broken     GEMINI (gemini)"));
        assert!(text.contains("1 of 3 agents installed."));
        assert!(demo_works(&report));
        assert!(!demo_works(&report[1..]));
    }
}
