//! Agent child processes: started from argv (never a shell string) in their own process
//! group with piped stdio, signalled as a group, and killed when dropped so no agent
//! outlives its session. Every task started here is held by a handle that aborts it.

use super::AgentError;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::task::{JoinError, JoinHandle};

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
    /// The task that keeps its stderr tail and reaps it: ends with the exit code (None when
    /// killed by a signal) once stderr has closed and the process has ended.
    pub exited: OwnedTask<Option<i32>>,
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

/// Starts `argv` in `cwd` with the server's environment (less its secrets) plus `env`.
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
    for secret in crate::server::config::SECRET_ENV {
        command.env_remove(secret);
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
    // Reads stderr until it closes, then reaps the process. Held by the connection, which
    // awaits it for the exit code; when it is aborted first (the driver was dropped, which
    // kills the group), the dropped child is reaped by tokio's orphan queue.
    let exited = OwnedTask::spawn(async move {
        collect_stderr(stderr, pid, &tail).await;
        match child.wait().await {
            Ok(status) => status.code(),
            Err(e) => {
                tracing::warn!(pid, "waiting for agent failed: {e}");
                None
            }
        }
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
    let mut reader = LineReader::new(stderr, 64 * 1024);
    loop {
        match reader.read_line().await {
            Ok(LineRead::Eof) | Err(_) => break,
            Ok(LineRead::Line | LineRead::TooLong) => {
                let text = String::from_utf8_lossy(reader.line())
                    .trim_end()
                    .to_string();
                tracing::debug!(pid, "agent stderr: {text}");
                tail.push(text);
            }
        }
    }
}

/// What `LineReader::read_line` found.
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

/// Reads `\n`-terminated lines, holding at most `max` bytes of one in memory, so an agent
/// printing a huge line cannot exhaust the server. Cancel-safe: a line read in part stays
/// here for the next call, so the connection can read inside `select!` on its own task.
pub struct LineReader<R> {
    reader: BufReader<R>,
    max: usize,
    /// The line so far (its first `max` bytes).
    line: Vec<u8>,
    /// True when the line so far was longer than `max`.
    too_long: bool,
    /// True when `line` is complete: the next read starts a new one.
    complete: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of `input` that keeps at most `max` bytes of a line.
    pub fn new(input: R, max: usize) -> Self {
        LineReader {
            reader: BufReader::new(input),
            max,
            line: Vec::new(),
            too_long: false,
            complete: false,
        }
    }

    /// The line the last `read_line` found.
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Reads one line into `line()`. The only await is the buffer's fill, and everything
    /// read before it is kept in `self`, which makes this cancel-safe.
    pub async fn read_line(&mut self) -> std::io::Result<LineRead> {
        if self.complete {
            self.line.clear();
            self.too_long = false;
            self.complete = false;
        }
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                self.complete = true;
                return Ok(if self.too_long {
                    LineRead::TooLong
                } else if self.line.is_empty() {
                    LineRead::Eof
                } else {
                    LineRead::Line
                });
            }
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            let room = self.max.saturating_sub(self.line.len());
            if chunk.len() > room {
                self.too_long = true;
            }
            self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let consumed = done.unwrap_or(available.len());
            self.reader.consume(consumed);
            if done.is_some() {
                self.complete = true;
                return Ok(if self.too_long {
                    LineRead::TooLong
                } else {
                    LineRead::Line
                });
            }
        }
    }

    /// The next non-blank line as text, an error to report for a line that cannot be used
    /// (too long, not UTF-8), or `None` at the end of input (or a read error, which ends
    /// it too). Cancel-safe, as `read_line` is.
    pub async fn next_line(&mut self) -> Option<Result<String, String>> {
        loop {
            match self.read_line().await {
                Ok(LineRead::Eof) | Err(_) => return None,
                Ok(LineRead::TooLong) => {
                    let max = self.max;
                    return Some(Err(format!("agent line longer than {max} bytes skipped")));
                }
                Ok(LineRead::Line) => match std::str::from_utf8(&self.line) {
                    Ok(text) if text.trim().is_empty() => {}
                    Ok(text) => return Some(Ok(text.to_owned())),
                    Err(_) => return Some(Err("agent printed a line that is not UTF-8".into())),
                },
            }
        }
    }
}

/// How long a process whose stdout closed gets to report its exit status.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The exit status of a process whose stdout has closed: `None` when it was killed by a
/// signal or did not exit within `EXIT_WAIT` (the session's ladder deals with that).
pub async fn exit_code(exited: OwnedTask<Option<i32>>) -> Option<i32> {
    tokio::time::timeout(EXIT_WAIT, exited)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
}

/// A spawned task that is aborted when its handle is dropped, so it never outlives its
/// owner (a connection, a driver). Awaiting it gives the task's result.
#[derive(Debug)]
pub struct OwnedTask<T>(JoinHandle<T>);

impl<T: Send + 'static> OwnedTask<T> {
    /// Spawns `task` on the runtime, owned by the returned handle.
    pub fn spawn(task: impl Future<Output = T> + Send + 'static) -> Self {
        OwnedTask(tokio::spawn(task))
    }
}

impl<T> Future for OwnedTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for OwnedTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_the_next_line_survives() {
        let input = format!("{}\nshort\nlast", "x".repeat(100));
        // A small pipe, so lines arrive in pieces across reads.
        let (mut writer, pipe) = tokio::io::duplex(16);
        let feed = tokio::spawn(async move {
            tokio::io::AsyncWriteExt::write_all(&mut writer, input.as_bytes()).await
        });
        let mut reader = LineReader::new(pipe, 10);
        assert_eq!(reader.read_line().await.ok(), Some(LineRead::TooLong));
        assert_eq!(reader.line().len(), 10);
        assert_eq!(reader.read_line().await.ok(), Some(LineRead::Line));
        assert_eq!(reader.line(), b"short");
        assert_eq!(reader.read_line().await.ok(), Some(LineRead::Line));
        assert_eq!(reader.line(), b"last");
        assert_eq!(reader.read_line().await.ok(), Some(LineRead::Eof));
        assert!(matches!(feed.await, Ok(Ok(()))));
    }

    #[tokio::test]
    async fn a_read_cancelled_mid_line_loses_nothing() {
        let (mut writer, pipe) = tokio::io::duplex(64);
        let mut reader = LineReader::new(pipe, 1024);
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"first ha")
            .await
            .ok();
        // The half line is read, then the read is given up, as `select!` does.
        let cut = tokio::time::timeout(std::time::Duration::from_millis(50), reader.next_line());
        assert!(cut.await.is_err());
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"lf\n\n  \nsecond\n")
            .await
            .ok();
        drop(writer);
        assert_eq!(reader.next_line().await, Some(Ok("first half".to_owned())));
        assert_eq!(reader.next_line().await, Some(Ok("second".to_owned())));
        assert_eq!(reader.next_line().await, None);
    }
}
