//! Agents on other machines, against the real server: a real `switchboard runner --server`
//! process with its own data dir stands in for another host. It enrolls with a one-time
//! code from the Machines page's server function, dials the server, and runs the agents of
//! its machine's projects; a network cut makes its sessions unreachable until it heals,
//! and the turn goes on with nothing lost or doubled; a killed runner's sessions become
//! unreachable and work again when it is back; a revoked machine is disconnected and
//! refused; the same runner reaches a server behind TLS.

mod common;

use common::machines::{
    add_machine_project, enrollment_code, login, machines, server_fn, ticks, wait_connected,
    MachineRunner, Network,
};
use common::{assistant_text, events_of, streamed, Client, Server};
use std::path::Path;
use switchboard::protocol::{
    AgentId, NewSession, Project, ServerFrame, SessionEvent, SessionId, SessionState,
};

/// A server whose agents live in runners (the only mode other machines work in), telling
/// sessions their machine is unreachable after one second out of contact.
fn server(dir: &Path) -> Server {
    std::fs::create_dir_all(dir).expect("server dir");
    Server::start_with_env(
        dir,
        "",
        &[
            ("SWITCHBOARD_RUNNER", Some("detached")),
            ("SWITCHBOARD_RUNNER_UNREACHABLE_SECS", Some("1")),
        ],
    )
}

/// A folder on "the machine" (here: under its data dir).
fn machine_folder(machine_dir: &Path) -> String {
    let work = machine_dir.join("work");
    std::fs::create_dir_all(&work).expect("work folder");
    work.display().to_string()
}

/// A machine named `name` (data dir `dir`) enrolled on the server at `addr`, its runner
/// dialling `dial`, with a project in its folder, and a client holding the projects.
struct OnMachine {
    cookie: String,
    runner: MachineRunner,
    client: Client,
    project: Project,
}

async fn on_machine(addr: &str, dial: &str, dir: &Path, name: &str) -> OnMachine {
    let cookie = login(addr).await;
    let code = enrollment_code(addr, &cookie, name).await;
    let runner = MachineRunner::start(dir, &format!("http://{dial}"), Some(&code));
    let machine = wait_connected(addr, &cookie, name, true).await;
    let (mut client, _) = common::code::connect_with_projects(addr).await;
    let project = add_machine_project(&mut client, &machine_folder(dir), &machine.id)
        .await
        .expect("added");
    OnMachine {
        cookie,
        runner,
        client,
        project,
    }
}

/// Reads until the agent's first streamed words; the frames read.
async fn first_delta(client: &mut Client) -> Vec<ServerFrame> {
    client
        .until(|frame| {
            matches!(
                frame,
                ServerFrame::Event {
                    event: SessionEvent::AssistantDelta { .. },
                    ..
                }
            )
        })
        .await
}

/// Starts a session in `project` with `text`.
async fn start_in(client: &mut Client, project: &Project, text: &str) -> SessionId {
    let session = SessionId(uuid::Uuid::new_v4());
    let mut create = NewSession::defaults(AgentId::demo());
    create.project = Some(project.id);
    client.say_with(session, text, Some(create)).await;
    session
}

/// Waits for `session`'s state named `name`; the frames read meanwhile.
async fn until_state(client: &mut Client, session: SessionId, name: &str) -> Vec<ServerFrame> {
    client
        .until(|frame| match frame {
            ServerFrame::SessionUpdated { session: s, patch } if *s == session => patch
                .state
                .as_ref()
                .is_some_and(|state| state.name() == name),
            _ => false,
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrolled_machine_runs_its_projects_agents_until_revoked() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir.path().join("server"));
    let cookie = login(&server.addr).await;
    let url = format!("http://{}", server.addr);

    // A code works once: a second runner with the same code is refused, and says why.
    let code = enrollment_code(&server.addr, &cookie, "build box").await;
    let box_dir = dir.path().join("build-box");
    let runner = MachineRunner::start(&box_dir, &url, Some(&code));
    let machine = wait_connected(&server.addr, &cookie, "build box", true).await;
    assert!(
        machine.host.is_some(),
        "its host name is listed: {machine:?}"
    );
    assert!(machine.version.is_some());
    let mut again = MachineRunner::start(&dir.path().join("other"), &url, Some(&code));
    let (status, said) = again.wait_exit();
    assert!(!status.success());
    assert!(said.contains("unknown, used or expired"), "{said}");
    // Only the hash of the credential is stored; the machine keeps it private.
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(box_dir.join("runner/machine.json")).expect("credential"),
    )
    .expect("json");
    let credential = stored["credential"].as_str().expect("credential");
    let db = std::fs::read(server.data_dir.join("switchboard.db")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&db).contains(credential));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(box_dir.join("runner/machine.json"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // A project on the machine; its session's agent runs in the machine's runner.
    let (mut client, _) = common::code::connect_with_projects(&server.addr).await;
    let refused = add_machine_project(&mut client, "relative/path", &machine.id).await;
    assert!(refused.is_err_and(|e| e.contains("absolute")));
    let unknown = add_machine_project(&mut client, "/srv", "no-such-machine").await;
    assert!(unknown.is_err_and(|e| e.contains("no machine")));
    let folder = machine_folder(&box_dir);
    let project = add_machine_project(&mut client, &folder, &machine.id)
        .await
        .expect("added");
    assert!(project.worktree_unavailable.is_some());
    let session = start_in(&mut client, &project, "hello from afar").await;
    let events = client.turn(session).await;
    assert_eq!(assistant_text(&events), "Echo: hello from afar");
    assert_eq!(
        runner.agent_pids().len(),
        1,
        "the agent runs on the machine"
    );
    let listed = wait_connected(&server.addr, &cookie, "build box", true).await;
    assert_eq!(listed.agents, 1);

    // Revoked: disconnected at once, its runner stops and exits, and it is refused after.
    let (status, body) = server_fn(
        &server.addr,
        &cookie,
        "revoke_machine",
        &format!("id={}", machine.id),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut runner = runner;
    let (status, said) = runner.wait_exit();
    assert!(!status.success());
    assert!(said.contains("revoked"), "{said}");
    let mut later = MachineRunner::start(&box_dir, &url, None);
    let (status, said) = later.wait_exit();
    assert!(!status.success(), "a revoked machine is refused");
    assert!(said.contains("refused"), "{said}");
    let listed = machines(&server.addr, &cookie).await;
    assert!(listed[0].revoked_at_ms.is_some() && !listed[0].connected);
    // Its sessions take no new agent there.
    client.say(session, "still there?", false).await;
    let frames = client
        .until(|frame| match frame {
            ServerFrame::SessionUpdated { session: s, patch } if *s == session => {
                matches!(patch.state, Some(SessionState::Error { .. }))
            }
            _ => false,
        })
        .await;
    let Some(ServerFrame::SessionUpdated { patch, .. }) = frames.last() else {
        panic!("no state");
    };
    let state = format!("{:?}", patch.state);
    assert!(state.contains("build box was revoked"), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_network_makes_sessions_unreachable_and_the_turn_goes_on_when_it_heals() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir.path().join("server"));
    let network = Network::to(&server.addr).await;
    let laptop = dir.path().join("laptop");
    let OnMachine {
        cookie,
        runner: _runner,
        mut client,
        project,
        ..
    } = on_machine(&server.addr, &network.addr, &laptop, "laptop").await;

    // A 4-second turn; the network goes away for 3 seconds in its middle.
    let session = start_in(&mut client, &project, "/slow 4").await;
    let mut frames = first_delta(&mut client).await;
    network.cut();
    frames.extend(until_state(&mut client, session, "unreachable").await);
    let listed = wait_connected(&server.addr, &cookie, "laptop", false).await;
    assert!(listed.unreachable, "{listed:?}");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    network.heal();
    frames.extend(until_state(&mut client, session, "working").await);
    frames.extend(
        client
            .until(|frame| {
                matches!(
                    frame,
                    ServerFrame::Event {
                        event: SessionEvent::TurnCompleted { .. },
                        ..
                    }
                )
            })
            .await,
    );
    let events = events_of(&frames, session);
    assert_eq!(streamed(&events), ticks(4), "every word once, in order");
    assert_eq!(assistant_text(&events), ticks(4));
    // What the client saw is the log, gapless.
    let seqs: Vec<u64> = events.iter().map(|(seq, _)| seq.0).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_runner_s_sessions_are_unreachable_until_it_is_back_then_work_again() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir.path().join("server"));
    let desk = dir.path().join("desk");
    let OnMachine {
        runner,
        mut client,
        project,
        ..
    } = on_machine(&server.addr, &server.addr, &desk, "desk").await;
    let url = format!("http://{}", server.addr);
    let session = start_in(&mut client, &project, "/slow 30").await;
    first_delta(&mut client).await;
    drop(runner); // SIGKILL: the runner and its agent are gone
    until_state(&mut client, session, "unreachable").await;
    // Back (the machine restarted): the credential it stored gets it in again; the agent
    // it lost is said so, and the next message runs there.
    let runner = MachineRunner::start(&desk, &url, None);
    let frames = client
        .until(|frame| match frame {
            ServerFrame::SessionUpdated { session: s, patch } if *s == session => {
                matches!(patch.state, Some(SessionState::Interrupted { .. }))
            }
            _ => false,
        })
        .await;
    let said_gone = events_of(&frames, session).iter().any(|(_, event)| {
        matches!(event, SessionEvent::Notice { message } if message.contains("process is gone"))
    });
    assert!(
        said_gone,
        "the transcript says the agent was lost: {frames:?}"
    );
    client.say(session, "are you back?", false).await;
    let events = client.turn(session).await;
    assert_eq!(assistant_text(&events), "Echo: are you back?");
    assert_eq!(runner.agent_pids().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_reaches_a_server_behind_tls_and_refuses_plain_http_unless_told() {
    let dir = tempfile::tempdir().expect("dir");
    let server = server(&dir.path().join("server"));
    let cookie = login(&server.addr).await;
    let (tls_addr, ca) = common::machines::tls_terminator(&server.addr, dir.path()).await;
    let code = enrollment_code(&server.addr, &cookie, "secure box").await;
    let secure = dir.path().join("secure");
    // Without being told to trust the test CA, the certificate is refused.
    let mut untrusted = MachineRunner::start_with(
        &secure,
        &format!("https://localhost:{}", tls_addr.port()),
        &["--enroll", &code],
    );
    let (status, said) = untrusted.wait_exit();
    assert!(!status.success());
    assert!(said.to_lowercase().contains("certificate"), "{said}");
    // Plain HTTP without --insecure-plain is refused before anything is sent.
    let mut plain = MachineRunner::start_with(
        &dir.path().join("plain"),
        &format!("http://{}", server.addr),
        &["--enroll", &code],
    );
    let (status, said) = plain.wait_exit();
    assert!(!status.success());
    assert!(said.contains("unencrypted"), "{said}");
    // With the CA: enrolled and connected over TLS.
    let _runner = MachineRunner::start_with(
        &secure,
        &format!("https://localhost:{}", tls_addr.port()),
        &["--enroll", &code, "--ca", &ca.display().to_string()],
    );
    wait_connected(&server.addr, &cookie, "secure box", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_takes_a_machine_s_running_turn_back_when_its_runner_dials_in() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("server");
    std::fs::create_dir_all(&data).expect("server dir");
    // A fixed port: the runner dials the same address after the restart.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let start = || {
        Server::start_full(
            &data,
            "",
            &[("SWITCHBOARD_RUNNER", Some("detached"))],
            &["--addr", &addr],
        )
    };
    let server = start();
    let far = dir.path().join("far");
    let OnMachine {
        runner: _runner,
        mut client,
        project,
        ..
    } = on_machine(&server.addr, &addr, &far, "far box").await;
    let session = start_in(&mut client, &project, "/slow 4").await;
    first_delta(&mut client).await;

    // Stopped mid-turn and started again: the turn goes on on the machine meanwhile, and
    // the new server takes it back when the runner dials in.
    server.stop();
    let server = start();
    let (mut client, _) = Client::connect(&server).await;
    client
        .subscribe(session, switchboard::protocol::Seq(0))
        .await;
    let frames = client
        .until(|frame| {
            matches!(
                frame,
                ServerFrame::Event {
                    event: SessionEvent::TurnCompleted { .. },
                    ..
                }
            )
        })
        .await;
    let events = events_of(&frames, session);
    assert_eq!(
        streamed(&events),
        ticks(4),
        "every word once, in order, across the restart"
    );
    assert!(
        !events.iter().any(|(_, e)| matches!(e, SessionEvent::Notice { message } if message.contains("interrupted"))),
        "not interrupted"
    );
    let seqs: Vec<u64> = events.iter().map(|(seq, _)| seq.0).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    server.stop_with_runner();
}
