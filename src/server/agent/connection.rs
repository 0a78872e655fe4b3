//! One connection loop for every agent protocol. An [`AgentConnection`] owns the child's
//! stdio and runs on a task whose handle its [`QueuedDriver`] holds; it reads stdout lines,
//! takes the session's commands and fires the protocol's timer, and reports the exit. A
//! [`Protocol`] only parses what the agent says and frames what it is told: it never does
//! I/O itself, it lists lines to write and outputs to report in [`Effects`].

use super::process::{self, AgentProcess, LineReader, OwnedTask, Spawned, StderrTail};
use super::{AgentDriver, AgentError, AgentOutput, DriverCommand, Numbered, TurnInput};
use crate::protocol::{RequestId, SessionEvent};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How many outputs may wait for the session task before the connection waits for it.
const OUTPUT_QUEUE: usize = 256;

/// One agent protocol: its state, its parsing of the agent's lines and its framing of the
/// session's commands. The methods are synchronous; what they ask for is done by the
/// connection, in order, before it reads anything else.
pub(crate) trait Protocol: Send + 'static {
    /// The agent's name in the log.
    const NAME: &'static str;

    /// The opening handshake, written before the first line is read.
    fn start(&mut self, effects: &mut Effects);

    /// One line the agent printed on stdout (never blank).
    fn on_line(&mut self, line: &str, effects: &mut Effects);

    /// One command from the session.
    fn on_command(&mut self, command: DriverCommand, effects: &mut Effects);

    /// When `on_timer` is due; `None` while the protocol waits for nothing.
    fn timer(&self) -> Option<Instant> {
        None
    }

    /// The time `timer` named has come.
    fn on_timer(&mut self, _effects: &mut Effects) {}

    /// The last output, once stdout has closed and the process has ended (or not, within
    /// `process::exit_code`'s wait).
    fn exited(&mut self, code: Option<i32>, stderr_tail: String) -> AgentOutput {
        AgentOutput::Exited { code, stderr_tail }
    }
}

/// What a protocol asks of its connection while it handles one input.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Lines for stdin and outputs for the session, in the order they were asked for.
    queue: Vec<Effect>,
    /// True once the protocol has nothing more to say (see `finish`).
    finished: bool,
}

/// One thing to do.
#[derive(Debug)]
enum Effect {
    /// A message for the agent, written as one JSON line.
    Write(Value),
    /// An output for the session.
    Output(AgentOutput),
}

impl Effects {
    /// Writes `message` to the agent's stdin, as one JSON line.
    pub(crate) fn write(&mut self, message: Value) {
        self.queue.push(Effect::Write(message));
    }

    /// Reports `output` to the session.
    pub(crate) fn output(&mut self, output: AgentOutput) {
        self.queue.push(Effect::Output(output));
    }

    /// Reports a transcript event.
    pub(crate) fn event(&mut self, event: SessionEvent) {
        self.output(AgentOutput::Event(event));
    }

    /// Ends the connection once these effects are done, without an exit report: the
    /// protocol has reported the end itself (a refused resume). Dropping stdin then ends
    /// the agent, and the session drops the process.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }

    /// True once `finish` was called.
    pub(crate) fn finished(&self) -> bool {
        self.finished
    }

    /// What was asked for so far, in order (for a protocol's unit tests).
    #[cfg(test)]
    pub(crate) fn take(&mut self) -> (Vec<Value>, Vec<AgentOutput>) {
        let mut writes = Vec::new();
        let mut outputs = Vec::new();
        for effect in self.queue.drain(..) {
            match effect {
                Effect::Write(message) => writes.push(message),
                Effect::Output(output) => outputs.push(output),
            }
        }
        (writes, outputs)
    }
}

/// Starts the connection task for a spawned agent speaking `protocol`. The returned driver
/// holds the task: dropping it kills the process group and aborts the task.
pub(crate) fn launch<P: Protocol>(
    protocol: P,
    spawned: Spawned,
) -> (QueuedDriver, mpsc::Receiver<Numbered>) {
    let (outputs, output_rx) = mpsc::channel(OUTPUT_QUEUE);
    let (commands, command_rx) = mpsc::unbounded_channel();
    let connection = AgentConnection {
        protocol,
        stdin: spawned.stdin,
        stdout: LineReader::new(spawned.stdout, process::MAX_LINE_BYTES),
        outputs,
        said: 0,
        exited: spawned.exited,
        stderr: spawned.stderr,
    };
    let task = OwnedTask::spawn(connection.run(command_rx));
    let driver = QueuedDriver {
        commands,
        process: spawned.process,
        _task: task,
    };
    (driver, output_rx)
}

/// A running agent's connection: the only writer of its stdin and reader of its stdout.
pub(crate) struct AgentConnection<P> {
    /// The protocol's state; the connection hands it every input.
    protocol: P,
    /// The agent's stdin, written only here.
    stdin: ChildStdin,
    /// The agent's stdout, read only here.
    stdout: LineReader<ChildStdout>,
    /// To the session task (or the runner that holds the agent).
    outputs: mpsc::Sender<Numbered>,
    /// Outputs numbered so far: the next is `said + 1`.
    said: u64,
    /// The stderr reader and reaper, awaited for the exit code.
    exited: OwnedTask<Option<i32>>,
    /// What that reader kept, for the exit report.
    stderr: StderrTail,
}

impl<P: Protocol> AgentConnection<P> {
    /// The connection task: the handshake, then lines, commands and the protocol's timer
    /// until stdout closes, then the exit report.
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<DriverCommand>) {
        let mut effects = Effects::default();
        self.protocol.start(&mut effects);
        if self.apply(&mut effects).await {
            return;
        }
        let mut driver_alive = true;
        loop {
            let timer = self.protocol.timer();
            tokio::select! {
                () = sleep_until_some(timer) => self.protocol.on_timer(&mut effects),
                // Cancel-safe: a line read in part when another branch wins stays in the
                // reader.
                line = self.stdout.next_line() => match line {
                    Some(Ok(line)) => self.protocol.on_line(&line, &mut effects),
                    Some(Err(message)) => effects.output(AgentOutput::Garbled(message)),
                    None => break,
                },
                command = commands.recv(), if driver_alive => match command {
                    Some(command) => self.protocol.on_command(command, &mut effects),
                    // The driver was dropped, which kills the process: stdout ends soon.
                    None => driver_alive = false,
                },
            }
            if self.apply(&mut effects).await {
                return;
            }
        }
        let code = process::exit_code(self.exited).await;
        let last = self.protocol.exited(code, self.stderr.text());
        // Said here field by field: `exited` has moved out of `self`.
        let numbered = Numbered {
            seq: self.said + 1,
            output: last,
        };
        let _ = self.outputs.send(numbered).await;
    }

    /// Reports one output under the next number. The session task gone means nobody
    /// listens; the process is being killed anyway.
    async fn say(&mut self, output: AgentOutput) {
        self.said += 1;
        let numbered = Numbered {
            seq: self.said,
            output,
        };
        let _ = self.outputs.send(numbered).await;
    }

    /// Does what the protocol asked for, in order; true when it has finished.
    async fn apply(&mut self, effects: &mut Effects) -> bool {
        for effect in effects.queue.drain(..) {
            match effect {
                Effect::Write(message) => {
                    let mut line = message.to_string();
                    line.push('\n');
                    if let Err(e) = self.stdin.write_all(line.as_bytes()).await {
                        // The exit is reported when stdout closes; a write failure adds
                        // nothing.
                        tracing::debug!("{} stdin closed: {e}", P::NAME);
                    }
                }
                Effect::Output(output) => self.say(output).await,
            }
        }
        effects.finished
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A running agent as its session holds it: a queue to the connection task that alone
/// speaks the agent's protocol, the process for signals, and the task itself. One type for
/// every protocol. Dropping it kills the process group and aborts the task.
pub struct QueuedDriver {
    /// To the connection task.
    commands: mpsc::UnboundedSender<DriverCommand>,
    /// The process group, for signals; killed when this is dropped.
    process: AgentProcess,
    /// The connection task, aborted with the driver: the session drops the driver and the
    /// outputs' receiver together, so nothing would read what the task still had to say.
    _task: OwnedTask<()>,
}

impl QueuedDriver {
    /// Queues `command`; the connection gone means the process has exited.
    fn command(&self, command: DriverCommand) -> Result<(), AgentError> {
        self.commands.send(command).map_err(|_| AgentError::Gone)
    }
}

impl AgentDriver for QueuedDriver {
    fn send_turn(&mut self, turn: TurnInput) -> Result<(), AgentError> {
        self.command(DriverCommand::Turn(turn))
    }

    fn answer_permission(
        &mut self,
        request: &RequestId,
        option_id: &str,
    ) -> Result<(), AgentError> {
        self.command(DriverCommand::Permission {
            request: request.clone(),
            option_id: option_id.to_owned(),
        })
    }

    fn interrupt(&mut self) -> Result<(), AgentError> {
        self.command(DriverCommand::Interrupt)
    }

    fn set_mode(&mut self, mode: &str) -> Result<(), AgentError> {
        self.command(DriverCommand::SetMode(mode.to_owned()))
    }

    fn pid(&self) -> Option<i32> {
        Some(self.process.pid())
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        self.process.signal(signal);
    }

    fn stderr_tail(&self) -> String {
        self.process.stderr_tail()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::time::Duration;

    /// A protocol that says hello, reports each line it reads as a notice, writes each
    /// turn's text, and ticks once when told to.
    #[derive(Default)]
    struct Echo {
        tick: Option<Instant>,
    }

    impl Protocol for Echo {
        const NAME: &'static str = "echo";

        fn start(&mut self, effects: &mut Effects) {
            effects.write(json!({"hello": 1}));
        }

        fn on_line(&mut self, line: &str, effects: &mut Effects) {
            if line.contains("tick") {
                self.tick = Some(Instant::now() + Duration::from_millis(10));
            }
            if line.contains("finish") {
                effects.output(AgentOutput::Failed("finished".into()));
                return effects.finish();
            }
            effects.event(SessionEvent::Notice {
                message: line.to_owned(),
            });
        }

        fn on_command(&mut self, command: DriverCommand, effects: &mut Effects) {
            if let DriverCommand::Turn(turn) = command {
                effects.write(json!({"text": turn.text}));
            }
        }

        fn timer(&self) -> Option<Instant> {
            self.tick
        }

        fn on_timer(&mut self, effects: &mut Effects) {
            self.tick = None;
            effects.event(SessionEvent::Notice {
                message: "ticked".into(),
            });
        }
    }

    fn run(script: &str) -> (QueuedDriver, mpsc::Receiver<Numbered>) {
        let argv = ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        let cwd = std::env::temp_dir();
        let spawned = process::spawn(&argv, &BTreeMap::new(), &cwd).expect("sh starts");
        launch(Echo::default(), spawned)
    }

    async fn next(outputs: &mut mpsc::Receiver<Numbered>) -> Option<AgentOutput> {
        tokio::time::timeout(Duration::from_secs(10), outputs.recv())
            .await
            .ok()
            .flatten()
            .map(|numbered| numbered.output)
    }

    fn turn(text: &str) -> TurnInput {
        TurnInput {
            text: text.to_owned(),
            attachments: Vec::new(),
            client_msg_id: None,
        }
    }

    fn notice(output: Option<AgentOutput>) -> String {
        match output {
            Some(AgentOutput::Event(SessionEvent::Notice { message })) => message,
            other => panic!("expected a notice, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn lines_commands_and_the_timer_run_in_one_loop_until_the_exit() {
        // Echoes the handshake (which sets the timer), then one turn, then exits with 3
        // after a line on stderr.
        let (mut driver, mut outputs) =
            run("read a; echo \"$a tick\"; read b; echo \"$b\"; echo oops >&2; exit 3");
        assert_eq!(notice(next(&mut outputs).await), r#"{"hello":1} tick"#);
        assert_eq!(notice(next(&mut outputs).await), "ticked");
        assert!(driver.send_turn(turn("hi")).is_ok());
        assert_eq!(notice(next(&mut outputs).await), r#"{"text":"hi"}"#);
        match next(&mut outputs).await {
            Some(AgentOutput::Exited { code, stderr_tail }) => {
                assert_eq!(code, Some(3));
                assert_eq!(stderr_tail, "oops");
            }
            other => panic!("expected the exit, got {other:?}"),
        }
        assert!(next(&mut outputs).await.is_none());
    }

    #[tokio::test]
    async fn a_finished_protocol_ends_the_connection_without_an_exit_report() {
        let (_driver, mut outputs) = run("echo finish; sleep 30");
        assert!(matches!(
            next(&mut outputs).await,
            Some(AgentOutput::Failed(_))
        ));
        assert!(next(&mut outputs).await.is_none());
    }

    #[tokio::test]
    async fn dropping_the_driver_ends_the_task_at_once() {
        let (driver, mut outputs) = run("cat; sleep 30");
        assert_eq!(notice(next(&mut outputs).await), r#"{"hello":1}"#);
        drop(driver);
        // The task is aborted, so its end of the channel goes without waiting for the
        // process to be reaped.
        let ended = tokio::time::timeout(Duration::from_secs(2), outputs.recv()).await;
        assert!(matches!(ended, Ok(None)));
    }
}
