//! `switchboard doctor`, the real binary: with only the system's PATH it finds the demo
//! agent and prints the pinned install command of every other built-in; pointed at the
//! project-local Codex it finds it and reports its version.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every built-in agent but the demo, with the npm package the install command names.
const MISSING: [(&str, &str); 4] = [
    ("claude", "@anthropic-ai/claude-code@2.1.330"),
    ("codex", "@openai/codex@0.169.0"),
    ("gemini", "@google/gemini-cli@0.61.0"),
    (
        "claude-acp",
        "@agentclientprotocol/claude-agent-acp@0.101.0",
    ),
];

/// `switchboard doctor` in `dir` with PATH limited to the system's directories and no
/// agent program or config file named by the environment.
fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .arg("doctor")
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("CODEX_HOME", dir.join(".codex"))
        .env_remove("SWITCHBOARD_CONFIG");
    for (key, _) in std::env::vars() {
        if key.starts_with("SWITCHBOARD_") && key.ends_with("_BIN") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs the doctor with an empty config file plus `env`.
fn doctor(dir: &Path, env: &[(&str, &Path)]) -> Output {
    let config = dir.join("empty.toml");
    std::fs::write(&config, "").expect("config written");
    let mut command = command(dir);
    command.arg("--config").arg(&config);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("switchboard doctor runs")
}

/// The report's line of `key` (its first line; the install and problem lines follow).
fn row<'a>(stdout: &'a str, key: &str) -> &'a str {
    let name = format!("({key})");
    stdout
        .lines()
        .find(|line| line.split_whitespace().any(|word| word == name))
        .unwrap_or_else(|| panic!("no row for {key} in:\n{stdout}"))
}

/// The lines under `key`'s row, up to the next row.
fn details<'a>(stdout: &'a str, key: &str) -> Vec<&'a str> {
    let first = row(stdout, key);
    stdout
        .lines()
        .skip_while(|line| *line != first)
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .collect()
}

#[test]
fn system_path_finds_demo_only_and_names_install_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = doctor(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "doctor failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let demo = row(&stdout, "demo");
    assert!(demo.starts_with("found "), "{demo}");
    assert!(demo.contains("Demo agent (demo)"), "{demo}");
    assert!(
        demo.contains(env!("CARGO_PKG_VERSION")),
        "demo version: {demo}"
    );
    for (key, package) in MISSING {
        let line = row(&stdout, key);
        assert!(line.starts_with("not found "), "{key}: {line}");
        // The data dir's `agents`, absolute: the line works from any folder.
        let install = format!(
            "install: npm install --prefix {}/data/agents {package}",
            dir.path().display()
        );
        assert!(
            details(&stdout, key)
                .iter()
                .any(|detail| detail.trim() == install),
            "{key} has no `{install}` line in:\n{stdout}"
        );
    }
    assert!(stdout.contains("\n1 of 5 agents installed.\n"), "{stdout}");
}

#[test]
fn codex_named_by_the_environment_is_found_with_its_version() {
    let codex = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("agents/node_modules/.bin/codex");
    assert!(
        codex.is_file(),
        "{} is missing: run scripts/install-tools.sh",
        codex.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let output = doctor(dir.path(), &[("SWITCHBOARD_CODEX_BIN", &codex)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "doctor failed:\n{stdout}");
    let line = row(&stdout, "codex");
    assert!(line.starts_with("found "), "{line}");
    assert!(line.contains("codex-cli 0.169.0"), "{line}");
    assert!(line.contains(&codex.display().to_string()), "{line}");
    assert!(details(&stdout, "codex").is_empty(), "{stdout}");
    assert!(stdout.contains("\n2 of 5 agents installed.\n"), "{stdout}");
}

#[test]
fn a_broken_demo_command_fails_the_doctor() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("broken.toml");
    std::fs::write(
        &config,
        "[agents.demo]\ncommand = [\"/nonexistent/demo-agent\"]\n",
    )
    .expect("config written");
    // The flag's environment variable names the file this time.
    let output = command(dir.path())
        .env("SWITCHBOARD_CONFIG", &config)
        .output()
        .expect("switchboard doctor runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(row(&stdout, "demo").starts_with("not found "), "{stdout}");
    assert!(stdout.contains("The demo agent does not work"), "{stdout}");
}

/// What the install line puts in the data dir's `agents` prefix is found there, with no PATH
/// entry and no restart of anything but the doctor: the printed line works as printed.
#[test]
fn an_agent_installed_as_the_install_line_says_is_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("data/agents/node_modules/.bin");
    std::fs::create_dir_all(&bin).expect("prefix made");
    let codex = bin.join("codex");
    std::fs::write(&codex, "#!/bin/sh\necho 'codex-cli 0.169.0'\n").expect("script written");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&codex, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let output = doctor(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = row(&stdout, "codex");
    assert!(line.starts_with("found "), "{line}");
    assert!(line.contains("codex-cli 0.169.0"), "{line}");
    assert!(line.contains(&codex.display().to_string()), "{line}");
    assert!(stdout.contains("\n2 of 5 agents installed.\n"), "{stdout}");
}
