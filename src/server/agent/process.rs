//! Agent child processes: started from argv (never a shell string) in their own process
//! group with piped stdio, signalled as a group, and killed when dropped so no agent
//! outlives its session.

use super::AgentError;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::sync::oneshot;

/// Lines of stderr kept for error reports.
const STDERR_TAIL_LINES: usize = 20;
/// Longest stdout line a driver accepts; longer ones are reported and skipped.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// A running agent's process group. Dropping it kills the group.
#[derive(Debug)]
pub struct AgentProcess {
    pid: i32,
    stderr: StderrTail,
}

/// The last lines an agent wrote to stderr; shared by the process and its driver.
#[derive(Debug, Clone, Default)]
pub struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    /// The kept lines, joined.
    pub fn text(&self) -> String {
        match self.0.lock() {
            Ok(lines) => lines.iter().cloned().collect::<Vec<_>>().join("\n"),
            Err(_) => String::new(),
        }
    }

    fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == STDERR_TAIL_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }
}

/// A freshly started agent: the process and its pipes.
pub struct Spawned {
    /// The process group owner.
    pub process: AgentProcess,
    /// Its stdin.
    pub stdin: ChildStdin,
    /// Its stdout.
    pub stdout: ChildStdout,
    /// Resolves with the exit code once the process ends (None when killed by a signal).
    pub exited: oneshot::Receiver<Option<i32>>,
    /// Its stderr tail.
    pub stderr: StderrTail,
}

impl AgentProcess {
    /// The process id, which is also its process group id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends a signal to the whole group; a group that is already gone is not an error.
    pub fn signal(&self, signal: Signal) {
        match killpg(Pid::from_raw(self.pid), signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => tracing::warn!(pid = self.pid, ?signal, "cannot signal agent group: {e}"),
        }
    }

    /// The last lines the agent wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr.text()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// Starts `argv` in `cwd` with the server's environment plus `env`.
pub fn spawn(
    argv: &[String],
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Result<Spawned, AgentError> {
    let (program, args) = argv.split_first().ok_or(AgentError::NoCommand)?;
    let mut command = Command::new(program);
    // SAFETY: between fork and exec only prctl(2), which is async-signal-safe, runs.
    // The agent dies with the server even when the server is SIGKILLed (some agents,
    // e.g. claude-code-acp 0.16, do not exit on stdin EOF). Agents are spawned from the
    // runtime's worker threads, which live as long as the server.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
    let mut child = command
        .args(args)
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so signals reach the agent's children too (npx, node launchers).
        .process_group(0)
        .spawn()
        .map_err(|source| AgentError::Spawn {
            program: program.clone(),
            source,
        })?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .ok_or(AgentError::Gone)?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(AgentError::Gone);
    };
    let stderr_tail = StderrTail::default();
    let tail = stderr_tail.clone();
    let (exit_tx, exited) = oneshot::channel();
    // Owned by the child: ends when stderr closes, then reaps the process.
    tokio::spawn(async move {
        collect_stderr(stderr, pid, &tail).await;
        let code = match child.wait().await {
            Ok(status) => status.code(),
            Err(e) => {
                tracing::warn!(pid, "waiting for agent failed: {e}");
                None
            }
        };
        let _ = exit_tx.send(code);
    });
    Ok(Spawned {
        process: AgentProcess {
            pid,
            stderr: stderr_tail.clone(),
        },
        stdin,
        stdout,
        exited,
        stderr: stderr_tail,
    })
}

async fn collect_stderr(stderr: impl AsyncRead + Unpin, pid: i32, tail: &StderrTail) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        match read_line_limited(&mut reader, &mut line, 64 * 1024).await {
            Ok(LineRead::Eof) | Err(_) => break,
            Ok(LineRead::Line | LineRead::TooLong) => {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                tracing::debug!(pid, "agent stderr: {text}");
                tail.push(text);
            }
        }
    }
}

/// What `read_line_limited` found.
#[derive(Debug, PartialEq, Eq)]
pub enum LineRead {
    /// A whole line is in the buffer (without its newline).
    Line,
    /// The line was longer than the limit: the buffer holds its first `max` bytes, the
    /// rest was read and dropped.
    TooLong,
    /// End of input.
    Eof,
}

/// Reads one `\n`-terminated line into `buf`, holding at most `max` bytes in memory, so an
/// agent printing a huge line cannot exhaust the server.
pub async fn read_line_limited<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                LineRead::Eof
            } else if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            too_long = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = done.unwrap_or(available.len());
        reader.consume(consumed);
        if done.is_some() {
            return Ok(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
    }
}

/// How long a process whose stdout closed gets to report its exit status.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The exit status of a process whose stdout has closed: `None` when it was killed by a
/// signal or did not exit within `EXIT_WAIT` (the session's ladder deals with that).
pub async fn exit_code(exited: tokio::sync::oneshot::Receiver<Option<i32>>) -> Option<i32> {
    tokio::time::timeout(EXIT_WAIT, exited)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
}

/// Reads stdout lines on their own task, so a half-read line is never lost to `select!`.
pub fn spawn_line_reader(stdout: ChildStdout) -> mpsc::Receiver<Result<String, String>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            let item = match read_line_limited(&mut reader, &mut buf, MAX_LINE_BYTES).await {
                Ok(LineRead::Eof) | Err(_) => break,
                Ok(LineRead::TooLong) => Err(format!(
                    "agent line longer than {MAX_LINE_BYTES} bytes skipped"
                )),
                Ok(LineRead::Line) => match std::str::from_utf8(&buf) {
                    Ok(text) if text.trim().is_empty() => continue,
                    Ok(text) => Ok(text.to_owned()),
                    Err(_) => Err("agent printed a line that is not UTF-8".into()),
                },
            };
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_the_next_line_survives() {
        let input = format!("{}\nshort\nlast", "x".repeat(100));
        let mut reader = BufReader::with_capacity(16, input.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_limited(&mut reader, &mut buf, 10).await.ok(),
            Some(LineRead::TooLong)
        );
        assert_eq!(buf.len(), 10);
        assert_eq!(
            read_line_limited(&mut reader, &mut buf, 10).await.ok(),
            Some(LineRead::Line)
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            read_line_limited(&mut reader, &mut buf, 10).await.ok(),
            Some(LineRead::Line)
        );
        assert_eq!(buf, b"last");
        assert_eq!(
            read_line_limited(&mut reader, &mut buf, 10).await.ok(),
            Some(LineRead::Eof)
        );
    }
}
