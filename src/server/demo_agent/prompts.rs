//! The demo agent's prompts: what each one asks for (a pure parser) and how a turn plays
//! it out over ACP.

use super::{lock, Agent};
use agent_client_protocol_schema::v1 as acp;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// What a prompt asks the demo agent to do.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoCommand {
    /// Echo the text back in chunks.
    Echo(String),
    /// Stream a chunk every 100 ms for this many seconds.
    Slow(u64),
    /// Stream this many numbered chunks as fast as possible (load and fault tests).
    Burst(u64),
    /// Stream `count` chunks `every_ms` apart (default 5), each holding the microsecond it
    /// was written (`@<micros since the epoch> `): the relay and fan-out benchmarks read them.
    Stamp {
        /// How many chunks.
        count: u64,
        /// Milliseconds between chunks.
        every_ms: u64,
    },
    /// List the working directory as a tool call.
    Tool,
    /// Ask to write demo.txt, then do what the answer says.
    Permission,
    /// Ask to write `text` (and a newline) to `path` in the working directory, then do
    /// what the answer says: a real change for the Changes panel without a model.
    Write {
        /// A relative path inside the working directory.
        path: String,
        /// The file's new text.
        text: String,
    },
    /// Delete `path` in the working directory (no question asked, as `/tool` reads).
    Remove {
        /// A relative path inside the working directory.
        path: String,
    },
    /// Write to stderr and exit with status 3.
    Crash,
    /// Say one thing, then nothing, ignoring cancel, SIGINT and SIGTERM (for the silence
    /// watchdog and the whole signal ladder).
    Hang,
    /// Report the earlier prompts of this conversation.
    History,
    /// Stream a markdown reply with every kind of block, a link and literal markup.
    Markdown,
    /// Report (without touching any file) an Edit call with its diff and a test run with a
    /// long output, as a coding agent's turn would show them.
    Edit,
    /// Stream a code block, and report a tool call, that hold characters a page does not
    /// show (a bidi override, a zero-width space, a terminal escape): the browser shows
    /// them as marks and its Copy button leaves them out.
    Invisible,
    /// Print what a broken or hostile agent might (for the abuse tests): a 10 MB line, a
    /// line that is not UTF-8, JSON nested 64 deep, then markup as plain assistant text.
    Abuse,
}

/// What `/abuse` finally says: markup that must show as text and never run.
pub const ABUSE_MARKUP: &str =
    "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> survived";

/// What `/markdown` says: headings, a list, a table, a link, inline and fenced code, and a
/// script line that must show as text.
pub const MARKDOWN_REPLY: &str = "## Markdown demo

This reply shows what assistant text can hold: **bold**, *emphasis*, ~~struck~~ and `inline code`.

### Steps

- parse the text into blocks
- render them as views
  1. never as HTML
  2. links open in a new tab

| Language | Highlighter | Lines |
|:---------|:-----------:|------:|
| Rust | built in | 42 |
| Python | built in | 7 |

```rust
/// Adds two numbers.
fn add(a: i32, b: i32) -> i32 {
    let sum = a + b; // no overflow check
    sum
}
```

Read [the CommonMark spec](https://spec.commonmark.org/) for more.

<script>window.__pwned=1</script>

> Markup in agent text stays text.
";

/// What `/invisible`'s code block holds: `ls -la` as a page shows it, with a
/// RIGHT-TO-LEFT OVERRIDE, a ZERO WIDTH SPACE and an "erase line" escape after `ls`.
pub const INVISIBLE_CODE: &str = "ls\u{202E}\u{200B}\u{1b}[2K -la";

/// What `/invisible` says.
pub const INVISIBLE_REPLY: &str =
    "This block shows `ls -la`, and holds three characters you would not see:

```sh
ls\u{202E}\u{200B}\u{1b}[2K -la
```

Copy leaves them out.
";

/// The old and new text of `/edit`'s pretend edit of `src/lib.rs`.
const EDIT_OLD: &str = "pub fn last_index(items: &[u32]) -> usize {\n    items.len()\n}\n";
const EDIT_NEW: &str =
    "/// The index of the last item; `None` when there is none.\npub fn last_index(items: &[u32]) -> Option<usize> {\n    items.len().checked_sub(1)\n}\n";

/// Reads a prompt. Pure, so the rules are tested without a process.
pub fn parse_command(prompt: &str) -> DemoCommand {
    let trimmed = prompt.trim();
    let mut words = trimmed.split_whitespace();
    match words.next() {
        Some("/slow") => DemoCommand::Slow(
            words
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(5)
                .min(600),
        ),
        Some("/burst") => DemoCommand::Burst(
            words
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1000)
                .min(1_000_000),
        ),
        Some("/stamp") => {
            let mut number =
                |default: u64| words.next().and_then(|n| n.parse().ok()).unwrap_or(default);
            DemoCommand::Stamp {
                count: number(100).min(100_000),
                every_ms: number(5).clamp(1, 60_000),
            }
        }
        Some("/tool") => DemoCommand::Tool,
        Some("/permission") => DemoCommand::Permission,
        Some("/crash") => DemoCommand::Crash,
        Some("/hang") => DemoCommand::Hang,
        Some("/history") => DemoCommand::History,
        Some("/abuse") => DemoCommand::Abuse,
        Some("/markdown") => DemoCommand::Markdown,
        Some("/edit") => DemoCommand::Edit,
        Some("/invisible") => DemoCommand::Invisible,
        Some("/write") => match words.next() {
            Some(path) => {
                // The text is everything after the path, line breaks included.
                let rest = trimmed["/write".len()..].trim_start();
                let after = rest.get(path.len()..).unwrap_or_default();
                DemoCommand::Write {
                    path: path.to_owned(),
                    text: after.trim().to_owned(),
                }
            }
            None => DemoCommand::Echo(trimmed.to_owned()),
        },
        Some("/rm") => match words.next() {
            Some(path) => DemoCommand::Remove {
                path: path.to_owned(),
            },
            None => DemoCommand::Echo(trimmed.to_owned()),
        },
        _ => DemoCommand::Echo(trimmed.to_owned()),
    }
}

/// Splits a reply into at least three chunks (at char boundaries), so streaming is visible.
pub fn chunks(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let pieces = (text.split_whitespace().count() + 1).max(3);
    let size = chars.len().div_ceil(pieces).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

pub(super) fn word_count(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// One running prompt.
pub(super) struct Turn<'a> {
    pub(super) agent: &'a Agent,
    pub(super) session: &'a str,
    pub(super) cancel: watch::Receiver<bool>,
}

impl Turn<'_> {
    fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Waits `pause`; false when the turn was cancelled meanwhile.
    async fn pause(&mut self, pause: Duration) -> bool {
        let mut cancel = self.cancel.clone();
        tokio::select! {
            _ = tokio::time::sleep(pause) => !self.cancelled(),
            _ = cancel.wait_for(|c| *c) => false,
        }
    }

    /// Streams `text` in chunks; returns what was said and whether it was cut short.
    async fn stream(&mut self, text: &str) -> (String, bool) {
        let mut said = String::new();
        for (i, chunk) in chunks(text).into_iter().enumerate() {
            if i > 0 && !self.pause(self.agent.delay).await {
                return (said, true);
            }
            self.agent.say(self.session, &chunk);
            said.push_str(&chunk);
        }
        (said, false)
    }

    pub(super) async fn run(
        mut self,
        command: DemoCommand,
        cwd: &Path,
        earlier: &[String],
    ) -> (String, bool) {
        match command {
            DemoCommand::Echo(text) => self.stream(&format!("Echo: {text}")).await,
            DemoCommand::Slow(seconds) => {
                let mut said = String::new();
                for tick in 1..=seconds * 10 {
                    let chunk = format!("tick {tick} ");
                    self.agent.say(self.session, &chunk);
                    said.push_str(&chunk);
                    if tick % 10 == 0 {
                        // Each second is a "model call": its words are billed at once, so a
                        // budget can stop the turn in the middle.
                        self.agent.report_cost(self.session, 20);
                    }
                    if !self.pause(Duration::from_millis(100)).await {
                        return (said, true);
                    }
                }
                (said, false)
            }
            DemoCommand::Burst(count) => {
                let mut said = String::new();
                for n in 1..=count {
                    if self.cancelled() {
                        return (said, true);
                    }
                    let chunk = format!("{n} ");
                    self.agent.say(self.session, &chunk);
                    said.push_str(&chunk);
                    if n % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                (said, false)
            }
            DemoCommand::Stamp { count, every_ms } => {
                let mut said = String::new();
                for _ in 0..count {
                    let micros = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_micros());
                    let chunk = format!("@{micros} ");
                    self.agent.say(self.session, &chunk);
                    said.push_str(&chunk);
                    if !self.pause(Duration::from_millis(every_ms)).await {
                        return (said, true);
                    }
                }
                (said, false)
            }
            DemoCommand::Tool => self.list_directory(cwd).await,
            DemoCommand::Markdown => self.stream(MARKDOWN_REPLY).await,
            DemoCommand::Edit => self.pretend_edit().await,
            DemoCommand::Invisible => {
                self.report_tool(
                    ("Bash", acp::ToolKind::Execute),
                    "ls",
                    json!({"command": INVISIBLE_CODE, "description": "List the files"}),
                    "\u{1b}[34mnotes.txt\u{1b}[0m\nreadme\u{2066}.md".to_owned(),
                );
                self.stream(INVISIBLE_REPLY).await
            }
            DemoCommand::Permission => self.write_with_permission(cwd).await,
            DemoCommand::Write { path, text } => self.write_file(cwd, &path, &text).await,
            DemoCommand::Remove { path } => self.remove_file(cwd, &path).await,
            DemoCommand::Hang => {
                ignore_stop_signals();
                self.agent.say(self.session, "Thinking very hard...");
                std::future::pending().await
            }
            DemoCommand::Crash => {
                self.agent.say(self.session, "About to crash...");
                tokio::time::sleep(Duration::from_millis(50)).await;
                eprintln!("demo agent: crashing on purpose (/crash)");
                std::process::exit(3);
            }
            DemoCommand::Abuse => {
                let mut long = vec![b'x'; 10 * 1024 * 1024];
                long.push(b'\n');
                self.agent.send_raw(long);
                self.agent.send_raw(b"\xff\xfe\xfd not UTF-8\n".to_vec());
                let deep = format!("{}{}\n", "[".repeat(64), "]".repeat(64));
                self.agent.send_raw(deep.into_bytes());
                self.stream(ABUSE_MARKUP).await
            }
            DemoCommand::History => {
                let text = match earlier.first() {
                    Some(first) => format!(
                        "This conversation has {} earlier prompt(s). The first was: {first}",
                        earlier.len()
                    ),
                    None => "This conversation has 0 earlier prompts.".to_owned(),
                };
                self.stream(&text).await
            }
        }
    }

    async fn list_directory(&mut self, cwd: &Path) -> (String, bool) {
        let call_id = format!("list-{}", uuid::Uuid::new_v4());
        let call = acp::ToolCall::new(call_id.clone(), format!("List {}", cwd.display()))
            .kind(acp::ToolKind::Read)
            .status(acp::ToolCallStatus::InProgress)
            .raw_input(json!({"path": cwd.display().to_string()}));
        self.agent
            .update(self.session, acp::SessionUpdate::ToolCall(call));
        let (listing, status) = match std::fs::read_dir(cwd) {
            Ok(entries) => {
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                (names.join("\n"), acp::ToolCallStatus::Completed)
            }
            Err(e) => (format!("cannot list: {e}"), acp::ToolCallStatus::Failed),
        };
        let count = listing.lines().count();
        let fields = acp::ToolCallUpdateFields::new()
            .status(status)
            .content(vec![acp::ToolCallContent::from(acp::ContentBlock::Text(
                acp::TextContent::new(listing),
            ))]);
        self.agent.update(
            self.session,
            acp::SessionUpdate::ToolCallUpdate(acp::ToolCallUpdate::new(call_id, fields)),
        );
        self.stream(&format!("The directory has {count} entries."))
            .await
    }

    /// Reports a finished tool call. The `Name__` prefix of the id names the tool, as
    /// Claude's ACP adapter does, so the card presents it as that tool (a diff for Edit).
    fn report_tool(
        &self,
        (name, kind): (&str, acp::ToolKind),
        title: &str,
        input: Value,
        output: String,
    ) {
        let call = acp::ToolCall::new(format!("{name}__demo-{}", uuid::Uuid::new_v4()), title)
            .kind(kind)
            .status(acp::ToolCallStatus::Completed)
            .raw_input(input)
            .content(vec![acp::ToolCallContent::from(acp::ContentBlock::Text(
                acp::TextContent::new(output),
            ))]);
        self.agent
            .update(self.session, acp::SessionUpdate::ToolCall(call));
    }

    async fn pretend_edit(&mut self) -> (String, bool) {
        self.report_tool(
            ("Edit", acp::ToolKind::Edit),
            "Edit src/lib.rs",
            json!({"file_path": "src/lib.rs", "old_string": EDIT_OLD, "new_string": EDIT_NEW}),
            "The file src/lib.rs has been updated.".to_owned(),
        );
        if !self.pause(self.agent.delay).await {
            return (String::new(), true);
        }
        let mut log: Vec<String> = (1..=58)
            .map(|n| format!("test tests::case_{n:02} ... ok"))
            .collect();
        log.push("\ntest result: ok. 58 passed; 0 failed".to_owned());
        self.report_tool(
            ("Bash", acp::ToolKind::Execute),
            "cargo test",
            json!({"command": "cargo test", "description": "Run the tests"}),
            log.join("\n"),
        );
        self.stream("Fixed the off-by-one in `last_index`; all 58 tests pass.")
            .await
    }

    async fn write_with_permission(&mut self, cwd: &Path) -> (String, bool) {
        let target = cwd.join("demo.txt");
        let allowed = if self
            .agent
            .bypass_permissions
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            true
        } else {
            match self.ask(&target).await {
                Some(allowed) => allowed,
                None => return (String::new(), true),
            }
        };
        if !allowed {
            return self.stream("Permission denied; I wrote nothing.").await;
        }
        match std::fs::write(&target, "Written by the Switchboard demo agent.\n") {
            Ok(()) => self.stream("Permission granted; I wrote demo.txt.").await,
            Err(e) => {
                self.stream(&format!("I could not write demo.txt: {e}"))
                    .await
            }
        }
    }

    /// `/write`: asks, then writes the file and reports the Write call with its result.
    async fn write_file(&mut self, cwd: &Path, path: &str, text: &str) -> (String, bool) {
        let Some(target) = inside(cwd, path) else {
            return self
                .stream(&format!("I only write inside my folder, not {path}."))
                .await;
        };
        let bypass = self
            .agent
            .bypass_permissions
            .load(std::sync::atomic::Ordering::Relaxed);
        let allowed = match bypass {
            true => true,
            false => match self.ask(&target).await {
                Some(allowed) => allowed,
                None => return (String::new(), true),
            },
        };
        if !allowed {
            return self.stream("Permission denied; I wrote nothing.").await;
        }
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, format!("{text}\n")));
        let output = match &written {
            Ok(()) => format!("Wrote {path}."),
            Err(e) => format!("Could not write {path}: {e}"),
        };
        self.report_tool(
            ("Write", acp::ToolKind::Edit),
            &format!("Write {path}"),
            json!({"file_path": path, "content": format!("{text}\n")}),
            output.clone(),
        );
        self.stream(&output).await
    }

    /// `/rm`: deletes the file and reports the call.
    async fn remove_file(&mut self, cwd: &Path, path: &str) -> (String, bool) {
        let Some(target) = inside(cwd, path) else {
            return self
                .stream(&format!("I only delete inside my folder, not {path}."))
                .await;
        };
        let output = match std::fs::remove_file(&target) {
            Ok(()) => format!("Deleted {path}."),
            Err(e) => format!("Could not delete {path}: {e}"),
        };
        self.report_tool(
            ("Bash", acp::ToolKind::Delete),
            &format!("rm {path}"),
            json!({"command": format!("rm {path}")}),
            output.clone(),
        );
        self.stream(&output).await
    }

    /// Asks the client; Some(allowed) or None when the turn was cancelled first.
    async fn ask(&mut self, target: &Path) -> Option<bool> {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut next = lock(&self.agent.next_request);
            *next += 1;
            *next
        };
        lock(&self.agent.answers).insert(id, tx);
        let fields = acp::ToolCallUpdateFields::new()
            .title(format!("Write {}", target.display()))
            .kind(acp::ToolKind::Edit)
            .raw_input(json!({"path": target.display().to_string()}));
        let options = vec![
            acp::PermissionOption::new("allow", "Allow", acp::PermissionOptionKind::AllowOnce),
            acp::PermissionOption::new("deny", "Deny", acp::PermissionOptionKind::RejectOnce),
        ];
        let request = acp::RequestPermissionRequest::new(
            self.session.to_owned(),
            acp::ToolCallUpdate::new(format!("write-{id}"), fields),
            options,
        );
        let params = serde_json::to_value(request).unwrap_or(Value::Null);
        self.agent
            .send(json!({"jsonrpc": "2.0", "id": id, "method": "session/request_permission", "params": params}));
        let mut cancel = self.cancel.clone();
        let answer = tokio::select! {
            answer = rx => answer.ok()?,
            _ = cancel.wait_for(|c| *c) => return None,
        };
        let outcome = answer.get("outcome")?;
        if outcome.get("outcome").and_then(Value::as_str) != Some("selected") {
            return None;
        }
        Some(outcome.get("optionId").and_then(Value::as_str) == Some("allow"))
    }
}

/// `path` under `cwd` when it is relative and never climbs out (`..`), else `None`.
fn inside(cwd: &Path, path: &str) -> Option<std::path::PathBuf> {
    let relative = Path::new(path);
    let plain = relative
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_)));
    (plain && !path.is_empty()).then(|| cwd.join(relative))
}

/// Makes `/hang` a stubborn agent: only SIGKILL, the last step of the stop ladder, ends it.
fn ignore_stop_signals() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    for stop in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: SIG_IGN installs no handler code, so nothing can run at signal time.
        if let Err(e) = unsafe { signal(stop, SigHandler::SigIgn) } {
            eprintln!("demo agent: cannot ignore {stop}: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
