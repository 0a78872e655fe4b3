//! The `/doctor` pane: every agent the server knows, whether its program was found, its
//! path and version, and for a missing one the exact command that installs it (the same
//! report as `switchboard doctor`).

use super::use_store;
use crate::app::{agent_report, git_report, rescan_agents, runner_report};
use crate::protocol::{AgentInfo, GitInfo, RunnerHealth};
use leptos::prelude::*;

/// The Doctor page: a loading line while the server asks each agent for its version, then
/// the table.
#[component]
pub fn DoctorPane() -> impl IntoView {
    // Not blocking: the page paints at once and the table streams in when the checks end.
    let report = OnceResource::new(agent_report());
    let git = OnceResource::new(git_report());
    let runner = OnceResource::new(runner_report());
    // "Look again": the server looks for the programs anew; the picker gets what it found.
    let store = use_store();
    let rescan = Action::new(|_: &()| rescan_agents());
    Effect::new(move |_| {
        if let Some(Ok(agents)) = rescan.value().get() {
            store.agents.set(agents);
        }
    });
    view! {
        <section class="doctor-pane" data-testid="doctor">
            <div class="doctor-card">
                <h1>"Agent Doctor"</h1>
                <p class="doctor-intro">
                    "The agents this server can run. Agents are looked up when the server \
                     starts: after installing one, press Look again. "
                    <code>"switchboard doctor"</code>
                    " prints the same report in a terminal."
                </p>
                <button
                    type="button"
                    class="secondary doctor-rescan"
                    data-testid="doctor-rescan"
                    disabled=move || rescan.pending().get()
                    on:click=move |_| {
                        rescan.dispatch(());
                    }
                >
                    {move || if rescan.pending().get() { "Looking…" } else { "Look again" }}
                </button>
                {move || {
                    rescan
                        .value()
                        .get()
                        .map(report_view)
                }}
                <Suspense fallback=|| {
                    view! {
                        <p class="doctor-loading" data-testid="doctor-loading" role="status">
                            <span class="state-dot spinner" aria-hidden="true"></span>
                            "Checking agents…"
                        </p>
                    }
                }>
                    {move || Suspend::new(async move {
                        // A rescan's report replaces this one (above).
                        if rescan.value().with(Option::is_some) {
                            return ().into_any();
                        }
                        report_view(report.await)
                    })}
                </Suspense>
                <h2 class="doctor-subhead">"Git"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match git.await {
                            Ok(info) => view! { <GitLine info/> }.into_any(),
                            Err(error) => view! {
                                <p class="doctor-error" role="alert">
                                    {format!("Could not check git: {error}")}
                                </p>
                            }
                            .into_any(),
                        }
                    })}
                </Suspense>
                <h2 class="doctor-subhead">"Runner"</h2>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match runner.await {
                            Ok(health) => view! { <RunnerLine health/> }.into_any(),
                            Err(error) => view! {
                                <p class="doctor-error" role="alert">
                                    {format!("Could not ask the runner: {error}")}
                                </p>
                            }
                            .into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </section>
    }
}

/// The agents' table, or why there is none.
fn report_view(report: Result<Vec<AgentInfo>, ServerFnError>) -> AnyView {
    match report {
        Ok(agents) => view! { <DoctorTable agents/> }.into_any(),
        Err(error) => view! {
            <p class="doctor-error" data-testid="doctor-error" role="alert">
                {format!("Could not check the agents: {error}")}
            </p>
        }
        .into_any(),
    }
}

/// Where agents run and how that runner is: its pid, version, agents and backlog, or what
/// is wrong with it.
#[component]
fn RunnerLine(health: RunnerHealth) -> impl IntoView {
    let healthy = health.connected && health.problem.is_none();
    let text = if health.mode == "embedded" {
        "Agents run inside the server process (runner.mode = \"embedded\"): a server \
         restart interrupts running turns."
            .to_owned()
    } else if let Some(problem) = health.problem.as_ref().filter(|_| !health.connected) {
        format!("The server cannot reach its runner: {problem}")
    } else {
        let mut text = format!(
            "Agents run in runner pid {} (version {}, protocol {}), which outlives server \
             restarts: {} agent(s), {} output(s) not yet stored",
            health.pid.map_or("?".into(), |p| p.to_string()),
            health.version.as_deref().unwrap_or("?"),
            health.protocol.map_or("?".into(), |p| p.to_string()),
            health.agents,
            health.unacknowledged,
        );
        if health.spilled_bytes > 0 {
            text.push_str(&format!(", {} bytes spilled to disk", health.spilled_bytes));
        }
        if health.paused > 0 {
            text.push_str(&format!(", {} paused (backlog full)", health.paused));
        }
        if health.draining > 0 {
            text.push_str(&format!(
                "; {} older runner(s) finishing their turns",
                health.draining
            ));
        }
        text.push('.');
        text
    };
    view! {
        <p class="doctor-git" data-testid="doctor-runner" data-healthy=healthy.to_string()>
            {text}
        </p>
    }
}

/// Git's line: its version and path, or why projects have no worktrees and no Changes.
#[component]
fn GitLine(info: GitInfo) -> impl IntoView {
    let found = info.problem.is_none();
    let text = match (&info.version, &info.path, &info.problem) {
        (_, _, Some(problem)) => format!(
            "{problem}. Projects still work; worktrees and the Changes panel need git \
             (Debian: apt-get install git)."
        ),
        (version, path, None) => format!(
            "git {} at {}: worktrees and the Changes panel are available.",
            version.as_deref().unwrap_or("(version unknown)"),
            path.as_deref().unwrap_or("-")
        ),
    };
    view! {
        <p class="doctor-git" data-testid="doctor-git" data-found=found.to_string()>
            {text}
        </p>
    }
}

/// One row per agent, then how many are installed.
#[component]
fn DoctorTable(agents: Vec<AgentInfo>) -> impl IntoView {
    let installed = agents.iter().filter(|info| info.installed).count();
    let summary = format!("{installed} of {} agents installed.", agents.len());
    view! {
        <table class="doctor-table" data-testid="doctor-table">
            <thead>
                <tr>
                    <th scope="col">"Agent"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Version"</th>
                    <th scope="col">"Path"</th>
                    <th scope="col">"How to install"</th>
                </tr>
            </thead>
            <tbody>
                {agents.into_iter().map(|info| view! { <DoctorRow info/> }).collect_view()}
            </tbody>
        </table>
        <p class="doctor-summary" data-testid="doctor-summary">{summary}</p>
    }
}

/// What a row says of its agent: the CSS hook and the word shown.
fn status(info: &AgentInfo) -> (&'static str, &'static str) {
    match (info.installed, info.path.is_some()) {
        (true, _) => ("found", "Found"),
        // The program exists but `--version` failed.
        (false, true) => ("broken", "Not working"),
        (false, false) => ("missing", "Not found"),
    }
}

/// A path that may wrap after each `/` rather than anywhere in a name.
fn breakable_path(path: &str) -> AnyView {
    let parts: Vec<String> = path.split_inclusive('/').map(str::to_owned).collect();
    parts
        .into_iter()
        .map(|part| view! { {part}<wbr/> })
        .collect_view()
        .into_any()
}

#[component]
fn DoctorRow(info: AgentInfo) -> impl IntoView {
    let (status_key, status_word) = status(&info);
    let missing = (!info.installed).then_some(());
    let hint = missing.and(info.install_hint.clone());
    let problem = missing.and(info.problem.clone());
    view! {
        <tr
            class="doctor-row"
            data-testid="doctor-agent"
            data-agent=info.id.0.clone()
            data-installed=info.installed.to_string()
            data-status=status_key
        >
            <td class="doctor-name" data-label="Agent">
                <span class="doctor-label">{info.label.clone()}</span>
                <span class="doctor-key">{info.id.0.clone()}</span>
            </td>
            <td data-label="Status">
                <span class="doctor-status" data-testid="doctor-status">{status_word}</span>
            </td>
            <td class="doctor-version" data-label="Version" data-testid="doctor-version">
                {info.version.clone().unwrap_or_else(|| "—".into())}
            </td>
            <td class="doctor-path" data-label="Path" data-testid="doctor-path">
                {info.path.as_deref().map_or_else(|| view! { "—" }.into_any(), breakable_path)}
            </td>
            <td class="doctor-fix" data-label="How to install">
                {hint.map(|hint| view! { <code class="doctor-install" data-testid="doctor-install">{hint}</code> })}
                {problem.map(|problem| view! { <p class="doctor-problem" data-testid="doctor-problem">{problem}</p> })}
            </td>
        </tr>
    }
}
